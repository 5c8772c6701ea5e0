// Floor 3 (ipam/host-local): the host-local verbs. ADD/DEL/CHECK behave as the reference plugin;
// GC and STATUS, which the reference lacks, follow the spec: GC frees every reservation whose
// (containerID, ifname) is not in `cni.dev/valid-attachments`; STATUS answers 50 when ADD must fail.
import { CURRENT_VERSION, CniError, ErrorCode, SPEC_VERSIONS, parseGcAttachments, toCniError } from '@tscni/spec';
import type { IPConfig, NetConf, Result } from '@tscni/spec';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { readResolvConf } from '../conf.js';
import { formatCIDR, formatIP, ipEqual } from '@tscni/ip';
import type { IP } from '@tscni/ip';
import { allocate } from './allocator.js';
import type { Allocated } from './allocator.js';
import { loadHostLocalConfig, loadStoreLocation } from './config.js';
import type { StoreLocation } from './config.js';
import { DiskStore } from './disk-store.js';
import { allocatableCount, rangeFor, rangeSetContains, rangeSetToString } from './range.js';
import type { Store } from './store.js';

/** The cniVersions host-local accepts: every spec version, as the reference. */
export const HOST_LOCAL_VERSIONS: readonly string[] = SPEC_VERSIONS;

/** How the plugin gets the store of a network; the default is the disk store under `dataDir`. */
export type StoreFactory = (where: StoreLocation) => Store;

export const diskStoreFactory: StoreFactory = (conf) => new DiskStore(conf.dataDir, conf.name);

async function withStore<T>(factory: StoreFactory, conf: StoreLocation, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = factory(conf);
  try {
    return await fn(store);
  } catch (e) {
    throw asStoreError(e);
  } finally {
    await store.close();
  }
}

/** File-system failures become code 5 naming the operation; CNI errors pass through. */
function asStoreError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err instanceof Error && typeof err.code === 'string') {
    return new CniError(ErrorCode.IOFailure, `host-local: ${err.message}`, undefined, { cause: e });
  }
  return toCniError(e);
}

export async function hostLocalAdd(args: CmdArgs, factory: StoreFactory = diskStoreFactory): Promise<Result> {
  const conf = loadHostLocalConfig(args.netconf, args.args);
  const dns = conf.resolvConf === undefined ? undefined : readResolvConf(conf.resolvConf, ['ipam', 'resolvConf']);

  const ips = await withStore(factory, conf, (store) =>
    store.withLock(async () => {
      const pending = [...conf.requestedIPs];
      const taken: IP[] = [];
      const out: IPConfig[] = [];
      try {
        for (const [idx, set] of conf.rangeSets.entries()) {
          // The first still-pending requested address that falls into this range set.
          const i = pending.findIndex((ip) => rangeSetContains(set, ip));
          const requested = i >= 0 ? pending.splice(i, 1)[0] : undefined;
          let got: Allocated;
          try {
            got = await allocate(store, set, idx, args.containerId, args.ifName, requested);
          } catch (e) {
            const err = asStoreError(e);
            throw new CniError(err.code, `failed to allocate for range ${idx}: ${err.msg}`, err.details, { cause: e });
          }
          taken.push(got.address.ip);
          out.push({ address: formatCIDR(got.address), gateway: formatIP(got.gateway) });
        }
        if (pending.length > 0) {
          throw new CniError(ErrorCode.InvalidNetworkConfig, `failed to allocate all requested IPs: ${pending.map(formatIP).join(' ')}`);
        }
      } catch (e) {
        // Undo only what this ADD reserved: an earlier allocation of the same attachment stays.
        for (const ip of taken) await store.release(ip);
        throw e;
      }
      return out;
    }),
  );

  const result: Result = { cniVersion: CURRENT_VERSION, ips };
  if (conf.routes !== undefined) result.routes = conf.routes;
  if (dns !== undefined) result.dns = dns;
  return result;
}

/**
 * Releases what (containerID, ifname) holds in this network; releasing nothing is success. Only the
 * store's location is read, so a DEL still frees addresses after the ranges were edited.
 */
export async function hostLocalDel(args: CmdArgs, factory: StoreFactory = diskStoreFactory): Promise<void> {
  const conf = loadStoreLocation(args.netconf);
  await withStore(factory, conf, (store) => store.withLock(() => store.releaseById(args.containerId, args.ifName)));
}

/** Succeeds when some address is recorded for (containerID, ifname), whatever the address. */
export async function hostLocalCheck(args: CmdArgs, factory: StoreFactory = diskStoreFactory): Promise<void> {
  const conf = loadHostLocalConfig(args.netconf, args.args, { allowNoRanges: true });
  const held = await withStore(factory, conf, (store) => store.withLock(() => store.getById(args.containerId, args.ifName)));
  if (held.length === 0) {
    throw new CniError(ErrorCode.UnknownContainer, `host-local: Failed to find address added by container ${args.containerId}`);
  }
}

/** Frees every reservation of the network whose owner is not a valid attachment. */
export async function hostLocalGc(args: CmdArgs, factory: StoreFactory = diskStoreFactory): Promise<IP[]> {
  const conf = loadStoreLocation(args.netconf);
  const valid = parseGcAttachments(args.netconf);
  const exact = new Set(valid.map((a) => `${a.containerID.trim()}\r\n${a.ifname}`));
  const ids = new Set(valid.map((a) => a.containerID.trim()));
  return withStore(factory, conf, (store) =>
    store.withLock(async () => {
      const freed: IP[] = [];
      for (const a of await store.list()) {
        // A legacy record (no ifname) is kept while any attachment of its container is valid.
        const keep = a.ifname === undefined ? ids.has(a.containerId) : exact.has(`${a.containerId}\r\n${a.ifname}`);
        if (!keep && (await store.release(a.ip))) freed.push(a.ip);
      }
      return freed;
    }),
  );
}

/**
 * ADD needs one free address in every range set, so any exhausted set makes the plugin unable to
 * serve ADD: code 50 (PluginNotAvailable). Code 51 (LimitedConnectivity) does not apply to address
 * exhaustion and is never returned. Ranges that only come from the ipRanges capability are unknown
 * at STATUS time and cannot be judged.
 */
export async function hostLocalStatus(args: CmdArgs, factory: StoreFactory = diskStoreFactory): Promise<void> {
  const conf = loadHostLocalConfig(args.netconf, args.args, { allowNoRanges: true });
  if (conf.rangeSets.length === 0) return;
  const store = factory(conf);
  let records;
  try {
    records = await store.list();
  } catch (e) {
    throw asStoreError(e);
  } finally {
    await store.close();
  }
  for (const [idx, set] of conf.rangeSets.entries()) {
    let used = 0n;
    for (const a of records) {
      const r = rangeFor(set, a.ip);
      if (r !== undefined && !ipEqual(r.gateway, a.ip)) used++;
    }
    const total = allocatableCount(set);
    if (used >= total) {
      throw new CniError(
        ErrorCode.PluginNotAvailable,
        `no IP addresses available in range set ${idx}: ${rangeSetToString(set)}`,
        `${used} of ${total} addresses in use`,
      );
    }
  }
}

/** host-local as skel callbacks (disk store unless a factory is given). */
export function hostLocalPlugin(factory: StoreFactory = diskStoreFactory): PluginFuncs {
  return {
    add: (a) => hostLocalAdd(a, factory),
    del: (a) => hostLocalDel(a, factory),
    check: (a) => hostLocalCheck(a, factory),
    gc: async (a) => {
      await hostLocalGc(a, factory);
    },
    status: (a) => hostLocalStatus(a, factory),
  };
}
