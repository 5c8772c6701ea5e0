// Floor 3 (ipam/dhcp): the dhcp IPAM plugin. It holds no state: ADD asks the daemon to acquire a
// lease (which the daemon then keeps renewing), DEL to release it, CHECK whether it is still held;
// GC releases this network's leases of vanished attachments and STATUS asks whether the daemon is up.
import { CURRENT_VERSION, CniError, ErrorCode, SPEC_VERSIONS, parseGcAttachments, parseResult, toCurrentResult } from '@tscni/spec';
import type { DNS, Result, Route } from '@tscni/spec';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { parseCIDR, parseIP, ipEqual } from '@tscni/ip';
import { loadDhcpConfig } from './config.js';
import type { DhcpConfig } from './config.js';
import { Opt } from './message.js';
import { callDaemon, leaseKey, toHex, unwrap } from './protocol.js';
import type { DaemonRequest, WireLease } from './protocol.js';

/** The cniVersions the dhcp plugin accepts: every spec version, as the reference. */
export const DHCP_VERSIONS: readonly string[] = SPEC_VERSIONS;

/** How long the plugin waits for the daemon: above the daemon's default acquire timeout (10 s)
 * with room for a slow -timeout setting; the runtime's own timeout usually ends things first. */
const CALL_TIMEOUT_MS = 120_000;

export interface DhcpPluginOptions {
  /** Overrides every config's daemonSocketPath (tests). */
  socketPath?: string;
  callTimeoutMs?: number;
}

function call(conf: DhcpConfig, req: DaemonRequest, o: DhcpPluginOptions) {
  return callDaemon(o.socketPath ?? conf.socketPath, req, o.callTimeoutMs ?? CALL_TIMEOUT_MS).then(unwrap);
}

/**
 * The CNI result for a lease: the address with the first router as gateway; routes from option 121
 * when present (RFC 3442 §3: it supersedes options 3 and 33), else option 33 plus a default route
 * via the first router; `priority` as every route's metric; DNS from options 6 and 15 (the
 * reference leaves `dns` empty).
 */
export function resultFromLease(lease: WireLease, priority: number): Result {
  const gateway = lease.routers[0];
  const ip: Result['ips'] = [{ address: `${lease.address}/${lease.prefix}`, ...(gateway === undefined ? {} : { gateway }) }];
  const raw =
    lease.classlessRoutes.length > 0
      ? lease.classlessRoutes
      : [...lease.staticRoutes, ...(gateway === undefined ? [] : [{ dst: '0.0.0.0/0', gw: gateway }])];
  const routes: Route[] = raw.map((r) => {
    const route: Route = { dst: r.dst };
    if (r.gw !== '0.0.0.0') route.gw = r.gw;
    if (priority !== 0) route.priority = priority;
    return route;
  });
  // Like the reference, `dns` is always there, empty when the server sent neither option.
  const dns: DNS = {};
  if (lease.dnsServers.length > 0) dns.nameservers = lease.dnsServers;
  if (lease.domainName !== undefined) dns.domain = lease.domainName;
  return { cniVersion: CURRENT_VERSION, ips: ip, routes, dns };
}

export async function dhcpAdd(args: CmdArgs, o: DhcpPluginOptions = {}): Promise<Result> {
  const conf = loadDhcpConfig(args.netconf, args.args, args.containerId, args.ifName);
  if (args.netns === '') throw new CniError(ErrorCode.InvalidNetNS, 'dhcp needs CNI_NETNS: the lease is acquired inside the container namespace');
  const reply = await call(
    conf,
    {
      method: 'allocate',
      key: leaseKey(args.containerId, conf.name, args.ifName),
      containerId: args.containerId,
      netName: conf.name,
      ifName: args.ifName,
      netns: args.netns,
      options: [
        { code: Opt.ParameterRequestList, hex: toHex(Uint8Array.from(conf.requestList)) },
        ...conf.provide.map(([code, v]) => ({ code, hex: toHex(v) })),
      ],
    },
    o,
  );
  if (reply.lease === undefined) throw new CniError(ErrorCode.Internal, 'DHCP daemon granted no lease');
  return resultFromLease(reply.lease, conf.priority);
}

export async function dhcpDel(args: CmdArgs, o: DhcpPluginOptions = {}): Promise<void> {
  const conf = loadDhcpConfig(args.netconf, args.args, args.containerId, args.ifName);
  await call(conf, { method: 'release', key: leaseKey(args.containerId, conf.name, args.ifName) }, o);
}

/** The daemon must still hold a lease for this attachment, and prevResult must carry its address. */
export async function dhcpCheck(args: CmdArgs, o: DhcpPluginOptions = {}): Promise<void> {
  const conf = loadDhcpConfig(args.netconf, args.args, args.containerId, args.ifName);
  const key = leaseKey(args.containerId, conf.name, args.ifName);
  const { lease } = await call(conf, { method: 'lease', key }, o);
  if (lease === undefined) throw new CniError(ErrorCode.UnknownContainer, `dhcp: no lease held for ${key}`);
  if (args.netconf.prevResult === undefined) return;
  const prev = toCurrentResult(parseResult(args.netconf.prevResult, conf.cniVersion || undefined));
  const want = parseIP(lease.address);
  const found = (prev.ips ?? []).some((c) => {
    const n = parseCIDR(c.address);
    return n !== undefined && want !== undefined && ipEqual(n.ip, want) && n.prefix === lease.prefix;
  });
  if (!found) {
    throw new CniError(ErrorCode.Internal, `dhcp: the lease for ${key} is ${lease.address}/${lease.prefix}, which prevResult does not carry`);
  }
}

export async function dhcpGc(args: CmdArgs, o: DhcpPluginOptions = {}): Promise<string[]> {
  const conf = loadDhcpConfig(args.netconf, args.args, args.containerId, args.ifName);
  const keep = parseGcAttachments(args.netconf).map((a) => leaseKey(a.containerID, conf.name, a.ifname));
  const { released } = await call(conf, { method: 'gc', netName: conf.name, keep }, o);
  return released ?? [];
}

export async function dhcpStatus(args: CmdArgs, o: DhcpPluginOptions = {}): Promise<void> {
  const conf = loadDhcpConfig(args.netconf, args.args, args.containerId, args.ifName);
  try {
    await call(conf, { method: 'ping' }, o);
  } catch (e) {
    const why = e instanceof CniError ? e.msg : String(e);
    throw new CniError(ErrorCode.PluginNotAvailable, `DHCP daemon is not available: ${why}`, undefined, { cause: e });
  }
}

export function dhcpPlugin(o: DhcpPluginOptions = {}): PluginFuncs {
  return {
    add: (a) => dhcpAdd(a, o),
    del: (a) => dhcpDel(a, o),
    check: (a) => dhcpCheck(a, o),
    gc: async (a) => {
      await dhcpGc(a, o);
    },
    status: (a) => dhcpStatus(a, o),
  };
}
