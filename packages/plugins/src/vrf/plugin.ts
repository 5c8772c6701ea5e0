// Floor 3 (plugins/vrf): puts the container interface into a VRF (l3mdev) inside the container
// namespace, as the reference's plugins/meta/vrf: the VRF is created when missing (with the given
// or a free table), the interface enslaved with its global IPv6 addresses and its routes kept (now
// in the VRF's table); DEL releases the interface and deletes the VRF with its last port.
import { setTimeout as sleep } from 'node:timers/promises';
import { CniError, ErrorCode, versionsFrom } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { AF_INET6, IFA_F, RT_SCOPE, RT_TABLE, isNetlinkError } from '@tscni/netlink';
import type { Link, RtNetlink } from '@tscni/netlink';
import { GoObject, requirePrevResult } from '../shared/conf.js';
import { defaultOpener, isExists, isMissingLink, kernelError, openContainerNetns, openNetnsIfPresent } from '../shared/kernel.js';
import type { RtOpener } from '../shared/kernel.js';
import { orKernelError } from '../shared/kernel-call.js';
import { routeInTable } from '../shared/routes.js';

/** The spec versions the reference vrf plugin accepts (0.3.1 on). */
export const VRF_VERSIONS: readonly string[] = versionsFrom('0.3.1');

export interface VrfConfig {
  vrfName: string;
  /** The VRF's routing table; absent: a table no other VRF of the namespace uses. */
  table?: number;
}

export interface VrfOptions {
  /** Opens rtnetlink in a namespace (tests pass a fake). */
  open?: RtOpener;
  /** Waits between polls for a re-added IPv6 address's local route (tests shorten it). */
  pollMs?: (attempt: number) => number;
}

function invalid(field: string, text: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${text}`);
}

function failed(msg: string, cause?: unknown): CniError {
  return new CniError(ErrorCode.Internal, msg, undefined, cause === undefined ? undefined : { cause });
}

/** A link name the kernel accepts (IFNAMSIZ, no '/', ':' or whitespace, not '.' or '..'). */
function validLinkName(name: string): boolean {
  return name.length > 0 && name.length <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

export function loadVrfConfig(netconf: NetConf): VrfConfig {
  const o = new GoObject(netconf);
  const vrfName = o.string('vrfname') ?? '';
  if (vrfName === '') throw invalid('vrfname', 'required: the name of the VRF to put the interface in');
  if (!validLinkName(vrfName)) throw invalid('vrfname', `${JSON.stringify(vrfName)} is not a valid interface name`);
  const conf: VrfConfig = { vrfName };
  const table = o.int('table');
  if (table !== undefined && table !== 0) {
    if (table < 0 || table > 0xffff_ffff) throw invalid('table', `must be a routing table id between 1 and 4294967295, got ${table}`);
    conf.table = table;
  }
  return conf;
}

/** The table of a VRF link (IFLA_VRF_TABLE). */
export function vrfTable(link: Link): number | undefined {
  return link.data?.kind === 'vrf' ? link.data.table : undefined;
}

/** The first table from 1 on that no VRF uses (the reference's findFreeRoutingTableID), never a kernel table. */
export function freeVrfTable(vrfs: readonly Link[]): number {
  const taken = new Set(vrfs.map(vrfTable));
  let t = 1;
  while (taken.has(t) || t === RT_TABLE.DEFAULT || t === RT_TABLE.MAIN || t === RT_TABLE.LOCAL) t++;
  return t;
}

/** The VRF named in the config, if it exists; another kind of link by that name is an error. */
async function findVrf(rt: RtNetlink, name: string): Promise<Link | undefined> {
  const link = await orKernelError(`failed to look up ${name}`, rt.findLink(name));
  if (link !== undefined && link.kind !== 'vrf') throw failed(`Netlink ${name} is not a VRF`);
  return link;
}

async function createVrf(rt: RtNetlink, conf: VrfConfig): Promise<Link> {
  const table = conf.table ?? freeVrfTable(await orKernelError('createVRF: failed to list links', rt.listLinks({ kind: 'vrf' })));
  try {
    await rt.createLink({ name: conf.vrfName, kind: 'vrf', table, up: true });
  } catch (e) {
    if (isNetlinkError(e, 'EOPNOTSUPP')) {
      throw failed(`could not add VRF ${conf.vrfName}: this kernel has no VRF support (CONFIG_NET_VRF / the vrf module)`, e);
    }
    // Another ADD in the namespace created it first: use it, as if it had been there.
    if (!isExists(e)) throw kernelError(`could not add VRF ${conf.vrfName}`, e);
  }
  const vrf = await findVrf(rt, conf.vrfName);
  if (vrf === undefined) throw failed(`VRF ${conf.vrfName} vanished right after it was created`);
  checkTable(vrf, conf);
  return vrf;
}

function checkTable(vrf: Link, conf: VrfConfig): void {
  if (conf.table !== undefined && vrfTable(vrf) !== conf.table) {
    throw failed(`VRF ${conf.vrfName} already exist with different routing table ${vrfTable(vrf) ?? 'unknown'}`);
  }
}

/** Global (scope universe) IPv6 addresses: they are dropped on enslaving unless keep_addr_on_down is set. */
async function globalV6(rt: RtNetlink, index: number): Promise<Array<{ cidr: string; address: string; nodad: boolean }>> {
  const addrs = await orKernelError('failed getting global ipv6 addresses', rt.listAddresses({ link: index, family: AF_INET6 }));
  return addrs
    .filter((a) => a.scope === RT_SCOPE.UNIVERSE)
    .map((a) => ({ cidr: a.cidr, address: a.address, nodad: (a.flags & IFA_F.NODAD) !== 0 }));
}

const defaultPoll = (attempt: number): number => 10 * 2 ** attempt;
const POLL_ATTEMPTS = 8;

async function enslave(rt: RtNetlink, vrf: Link, ifName: string, poll: (attempt: number) => number): Promise<void> {
  let link: Link;
  try {
    link = await rt.getLink(ifName);
  } catch (e) {
    if (isMissingLink(e)) throw failed(`could not get link by name ${ifName}`, e);
    throw kernelError(`failed to look up ${ifName}`, e);
  }
  // A retried ADD: already done.
  if (link.master === vrf.index) return;
  if (link.master !== undefined && link.master !== 0) {
    const master = await rt.findLink(link.master).catch(() => undefined);
    throw failed(`interface ${ifName} has already a master set: ${master?.name ?? `ifindex ${link.master}`}`);
  }
  const table = vrfTable(vrf) ?? 0;
  const before = await globalV6(rt, link.index);
  // Routes other than local and connected ones are lost when the interface changes master.
  const routes = (await orKernelError(`failed getting all routes for ${ifName}`, rt.listRoutes({ dev: link.index }))).filter(
    (r) => r.scope === RT_SCOPE.UNIVERSE,
  );

  await orKernelError(`could not set vrf ${vrf.name} as master of ${ifName}`, rt.setLink(link.index, { master: vrf.index }));

  const after = new Set((await globalV6(rt, link.index)).map((a) => a.cidr));
  for (const a of before) {
    if (after.has(a.cidr)) continue;
    await orKernelError(`could not restore address ${a.cidr} to ${ifName} @ ${vrf.name}`, rt.addAddress(link.index, a.cidr, { nodad: a.nodad }));
    // The address's local route appears in the VRF's table once the kernel has set it up.
    for (let attempt = 0; ; attempt++) {
      const local = await orKernelError(
        `failed getting routes for ${ifName} table ${table}`,
        rt.listRoutes({ table: 'all', dev: link.index, dst: `${a.address}/128` }),
      );
      if (local.some((r) => r.table === table)) break;
      if (attempt === POLL_ATTEMPTS) throw failed(`failed getting local/host addresses for ${ifName} in table ${table} with dst ${a.cidr}`);
      await sleep(poll(attempt));
    }
  }
  for (const r of routes) {
    await orKernelError(`could not add route '${r.dst}' to table ${table}`, rt.replaceRoute(routeInTable(r, table)));
  }
}

export async function vrfAdd(args: CmdArgs, opts: VrfOptions = {}): Promise<Result> {
  const conf = loadVrfConfig(args.netconf);
  const prev = requirePrevResult(args.netconf, 'vrf');
  const rt = openContainerNetns(args.netns, opts.open ?? defaultOpener);
  try {
    const existing = await findVrf(rt, conf.vrfName);
    if (existing !== undefined) checkTable(existing, conf);
    const vrf = existing ?? (await createVrf(rt, conf));
    await enslave(rt, vrf, args.ifName, opts.pollMs ?? defaultPoll);
  } finally {
    rt.close();
  }
  return prev;
}

export async function vrfDel(args: CmdArgs, opts: VrfOptions = {}): Promise<void> {
  const conf = loadVrfConfig(args.netconf);
  if (args.netns === '') return;
  const rt = openNetnsIfPresent(args.netns, opts.open ?? defaultOpener);
  if (rt === undefined) return;
  try {
    const vrf = await findVrf(rt, conf.vrfName);
    if (vrf === undefined) return;
    const link = await orKernelError(`failed to look up ${args.ifName}`, rt.findLink(args.ifName));
    // Release only our interface, and only from this VRF.
    if (link !== undefined && link.master === vrf.index) {
      await orKernelError(`resetMaster: could not reset master of ${args.ifName}`, rt.setLink(link.index, { master: null }));
    }
    const ports = await orKernelError('failed to list links', rt.listLinks({ master: vrf.index }));
    if (ports.length === 0) {
      try {
        await rt.deleteLink(vrf.index);
      } catch (e) {
        // A concurrent DEL of the VRF's other last port got there first.
        if (!isMissingLink(e)) throw kernelError(`failed to delete VRF ${conf.vrfName}`, e);
      }
    }
  } finally {
    rt.close();
  }
}

export async function vrfCheck(args: CmdArgs, opts: VrfOptions = {}): Promise<void> {
  const conf = loadVrfConfig(args.netconf);
  requirePrevResult(args.netconf, 'vrf');
  const rt = openContainerNetns(args.netns, opts.open ?? defaultOpener);
  try {
    const vrf = await findVrf(rt, conf.vrfName);
    if (vrf === undefined) throw failed(`VRF ${conf.vrfName} not found`);
    checkTable(vrf, conf);
    const link = await orKernelError(`failed to look up ${args.ifName}`, rt.findLink(args.ifName));
    if (link === undefined) throw failed(`interface ${args.ifName} not found`);
    if (link.master !== vrf.index) throw failed(`failed to find ${args.ifName} associated to vrf ${conf.vrfName}`);
  } finally {
    rt.close();
  }
}

export function vrfPlugin(opts: VrfOptions = {}): PluginFuncs {
  return {
    add: (a) => vrfAdd(a, opts),
    del: (a) => vrfDel(a, opts),
    check: (a) => vrfCheck(a, opts),
    // The VRF lives inside the container's namespace and goes with it; the host holds nothing.
    gc: async () => {},
    // No daemon and no host resource to wait for.
    status: async () => {},
  };
}
