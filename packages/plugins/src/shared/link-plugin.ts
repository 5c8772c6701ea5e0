// Floor 3 (plugins/shared): what the single-interface plugins (macvlan, ipvlan, vlan, dummy, tap,
// host-device) share, as in the reference: the default-route interface as master, the master-MTU
// bound, the container MAC from `mac` < CNI_ARGS MAC < runtimeConfig.mac, IPAM ADD applied to the
// one container interface (index 0), and CHECK of that interface against prevResult.
import { CURRENT_VERSION, CniError, ErrorCode, loadCniArgs } from '@tscni/spec';
import type { Interface, NetConf, Result } from '@tscni/spec';
import { AF_INET, AF_INET6, RT_TABLE } from '@tscni/netlink';
import type { Link, RtNetlink } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { GoObject, checkMac, dnsOverride, ipamType, requirePrevResult } from './conf.js';
import { configureIface } from './iface.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from './ipam.js';
import type { IpamContext } from './ipam.js';
import { defaultOpener, isMissingLink, kernelError, openNetnsIfPresent, using } from './kernel.js';
import type { RtOpener } from './kernel.js';
import { ifaceSysctl, trySetSysctl } from './sysctl.js';
import { checkInterfaceIPs, checkLink, checkRoutes, containerInterface, ipsOfInterface } from './validate.js';
import type { LinkExpectations } from './validate.js';

/** Injected kernel and IPAM access; the defaults reach our own (the host) namespace and CNI_PATH. */
export interface LinkPluginDeps {
  open?: RtOpener;
  ipam?: IpamContext;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/** The interface of the first default route (IPv4, then IPv6) in `rt`'s namespace. */
export async function defaultRouteInterface(rt: RtNetlink): Promise<string> {
  for (const family of [AF_INET, AF_INET6] as const) {
    let routes;
    try {
      routes = await rt.listRoutes({ family, table: RT_TABLE.MAIN });
    } catch (e) {
      throw kernelError('failed to list routes', e);
    }
    const route = routes.find((r) => /^(0\.0\.0\.0|::)\/0$/.test(r.dst) && r.oif !== undefined);
    if (route?.oif !== undefined) return (await rt.getLink(route.oif)).name;
  }
  throw new CniError(ErrorCode.Internal, 'no default route interface found');
}

/** The master link by name (or the default-route interface), in `rt`'s namespace. */
export async function findMaster(rt: RtNetlink, name: string | undefined): Promise<Link> {
  const master = name ?? (await defaultRouteInterface(rt));
  try {
    return await rt.getLink(master);
  } catch (e) {
    if (isMissingLink(e)) throw new CniError(ErrorCode.Internal, `failed to lookup master "${master}": link not found`);
    throw kernelError(`failed to lookup master "${master}"`, e);
  }
}

/**
 * Runs `fn` with rtnetlink where the master lives: the container's handle (`linkInContainer`) or a
 * host handle, closed afterwards.
 */
export async function onMasterSide<T>(open: RtOpener, cont: RtNetlink, inContainer: boolean, fn: (rt: RtNetlink) => Promise<T>): Promise<T> {
  if (inContainer) return fn(cont);
  const host = open(null);
  try {
    return await fn(host);
  } finally {
    host.close();
  }
}

/** Where a link on a master goes: the master's name (undefined: the default-route interface), its side, the MTU asked for. */
export interface MasterPlacement {
  master: string | undefined;
  linkInContainer: boolean;
  mtu: number | undefined;
}

/**
 * The ADD steps macvlan, ipvlan and vlan share before their link exists: the master looked up where
 * it lives (the host, or the container with `linkInContainer`), the MTU bounded by the master's,
 * CNI_IFNAME still free in the container; then `create` makes the link from the master's side.
 */
export async function createOnMaster(
  open: RtOpener,
  cont: RtNetlink,
  ifName: string,
  p: MasterPlacement,
  create: (side: RtNetlink, master: Link) => Promise<void>,
): Promise<void> {
  await onMasterSide(open, cont, p.linkInContainer, async (side) => {
    const master = await findMaster(side, p.master);
    checkMtuWithin(p.mtu, master);
    await requireFreeName(cont, ifName);
    await create(side, master);
  });
}

/** `mtu` must lie in [0, master MTU] (the reference's check); 0 or absent means the kernel's choice. */
export function checkMtuWithin(mtu: number | undefined, master: Link): void {
  if (mtu === undefined) return;
  const max = master.mtu ?? 0;
  if (mtu < 0 || mtu > max) throw invalid(`mtu: invalid MTU ${mtu}, must be [0, master MTU(${max})]`);
}

/**
 * The container MAC of macvlan and tap: the `mac` key, overridden by CNI_ARGS `MAC`, overridden by
 * `runtimeConfig.mac` (capability `mac`). Empty strings are "not set"; other CNI_ARGS keys are
 * refused unless IgnoreUnknown is set, as Go's LoadArgs does.
 */
export function macFromConfig(netconf: NetConf, cniArgs: string): string | undefined {
  const o = new GoObject(netconf);
  let mac = o.string('mac');
  let field = 'mac';
  if (cniArgs !== '') {
    const env = loadCniArgs(cniArgs, ['MAC']).MAC;
    if (env !== undefined && env !== '') {
      mac = env;
      field = 'CNI_ARGS MAC';
    }
  }
  const fromRuntime = o.object('runtimeConfig')?.string('mac');
  if (fromRuntime !== undefined && fromRuntime !== '') {
    mac = fromRuntime;
    field = 'runtimeConfig.mac';
  }
  return mac === undefined || mac === '' ? undefined : checkMac(mac, field);
}

/** `ifName` must not exist in the container yet (a clear error instead of the kernel's EEXIST). */
export async function requireFreeName(cont: RtNetlink, ifName: string): Promise<void> {
  if ((await cont.findLink(ifName)) !== undefined) {
    throw new CniError(ErrorCode.Internal, `container interface name provided (${ifName}) already exists`);
  }
}

/** The result entry of a link in the container. */
export function containerIface(link: Link, sandbox: string): Interface {
  return { name: link.name, ...(link.mac === undefined ? {} : { mac: link.mac }), sandbox };
}

/** A result with only the interface (L2, no IPAM). */
export function l2Result(intf: Interface, netconf: NetConf): Result {
  const r: Result = { cniVersion: CURRENT_VERSION, interfaces: [intf] };
  const dns = dnsOverride(netconf);
  if (dns !== undefined) r.dns = dns;
  return r;
}

/**
 * The ADD steps after a plugin made CNI_IFNAME in the container: the link read back as the result's
 * interface, then `configure` (IPAM, or L2 only); when that fails the link is deleted again, so a
 * failed ADD leaves nothing behind.
 */
export async function configureNewLink(a: CmdArgs, cont: RtNetlink, configure: (intf: Interface) => Promise<Result>): Promise<Result> {
  try {
    return await configure(containerIface(await cont.getLink(a.ifName), a.netns));
  } catch (e) {
    await deleteIfPresent(cont, a.ifName).catch(() => undefined);
    throw e;
  }
}

export interface AttachOptions {
  /** Per-interface sysctls the reference sets (ignoring failures) before addressing, e.g. arp_notify. */
  notify?: { arp?: boolean; ndisc?: boolean };
  /** Addresses to use instead of asking IPAM (ipvlan chained after a plugin that allocated them). */
  given?: Result;
}

/**
 * Runs IPAM ADD (unless addresses are `given`) and configures the container interface from its
 * result: every IP on interface 0, IPAM's routes, `dns` from the config when set. A failure after
 * IPAM ADD releases the addresses again.
 */
export async function attachIpam(a: CmdArgs, ipam: IpamContext | undefined, cont: RtNetlink, intf: Interface, o: AttachOptions = {}): Promise<Result> {
  const fromIpam = o.given === undefined;
  const got = o.given ?? (await ipamAdd(a, ipam));
  try {
    const ips = got.ips ?? [];
    if (ips.length === 0) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
    const result: Result = { cniVersion: CURRENT_VERSION, interfaces: [intf], ips: ips.map((ip) => ({ ...ip, interface: 0 })) };
    if (got.routes !== undefined) result.routes = got.routes;
    if (got.dns !== undefined) result.dns = got.dns;
    if (o.notify?.arp) trySetSysctl(ifaceSysctl(4, a.ifName, 'arp_notify'), '1', a.netns);
    if (o.notify?.ndisc) trySetSysctl(ifaceSysctl(6, a.ifName, 'ndisc_notify'), '1', a.netns);
    await configureIface(cont, a.netns, a.ifName, result);
    const dns = dnsOverride(a.netconf);
    if (dns !== undefined) result.dns = dns;
    return result;
  } catch (e) {
    if (fromIpam) await ipamDel(a, ipam).catch(() => undefined);
    throw e;
  }
}

/** Brings the L2-only interface up. */
export async function bringUp(cont: RtNetlink, ifName: string): Promise<void> {
  try {
    await cont.setLinkUp(ifName);
  } catch (e) {
    throw kernelError(`failed to set "${ifName}" UP`, e);
  }
}

/** Deletes CNI_IFNAME in the container; a missing link is fine (DEL runs more than once). */
export async function deleteIfPresent(cont: RtNetlink, ifName: string): Promise<void> {
  try {
    await cont.deleteLink(ifName);
  } catch (e) {
    if (!isMissingLink(e)) throw kernelError(`failed to delete "${ifName}"`, e);
  }
}

/**
 * DEL of a single-interface plugin: IPAM released first (when `releaseIpam`), also when the
 * namespace is gone; then, if the namespace still exists, `remove` (default: delete CNI_IFNAME; null:
 * nothing in the container is ours to remove).
 */
export async function delContainerLink(
  a: CmdArgs,
  deps: LinkPluginDeps,
  releaseIpam: boolean,
  remove: ((cont: RtNetlink) => Promise<void>) | null = (cont) => deleteIfPresent(cont, a.ifName),
): Promise<void> {
  if (releaseIpam) await ipamDel(a, deps.ipam);
  if (remove === null || a.netns === '') return;
  const cont = openNetnsIfPresent(a.netns, deps.open ?? defaultOpener);
  if (cont !== undefined) await using(cont, remove);
}

/** GC and STATUS of a plugin whose only state outside the container is IPAM's: IPAM's, when one is configured. */
export function ipamGcStatus(ipam: IpamContext | undefined): Required<Pick<PluginFuncs, 'gc' | 'status'>> {
  return {
    async gc(a) {
      if (ipamType(a.netconf) !== '') await ipamGc(a, ipam);
    },
    async status(a) {
      if (ipamType(a.netconf) !== '') await ipamStatus(a, ipam);
    },
  };
}

export interface CheckOptions extends LinkExpectations {
  /** Plugin name for "Required prevResult missing". */
  plugin: string;
  /** Extra comparison of the container link with the configuration (mode, VLAN id, ...). */
  validate?: (link: Link) => void;
  /** Compare routes too (dummy compares only addresses, as its reference). */
  routes?: boolean;
}

/**
 * CHECK of a single-interface plugin: IPAM CHECK (when IPAM is configured), then prevResult's
 * container interface in CNI_NETNS with its kind and MAC (and up), the plugin's own comparison,
 * its addresses and (by default) the routes.
 */
export async function checkContainerLink(a: CmdArgs, ipam: IpamContext | undefined, cont: RtNetlink, o: CheckOptions): Promise<Link> {
  if (ipamType(a.netconf) !== '') await ipamCheck(a, ipam);
  const prev = requirePrevResult(a.netconf, o.plugin);
  const { index, intf } = containerInterface(prev, a.ifName, a.netns);
  const link = await checkLink(cont, intf, 'container', o);
  o.validate?.(link);
  await checkInterfaceIPs(cont, a.ifName, ipsOfInterface(prev, index));
  if (o.routes ?? true) await checkRoutes(cont, prev.routes ?? []);
  return link;
}

/** A CHECK mismatch (code 999, as the reference's plain errors). */
export function checkMismatch(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/** `linkInContainer` and `master`, read the same way by macvlan, ipvlan and vlan. */
export function readMaster(o: GoObject): { master: string | undefined; linkInContainer: boolean } {
  const master = o.string('master');
  return { master: master === undefined || master === '' ? undefined : master, linkInContainer: o.bool('linkInContainer') };
}

/** Interface names (CNI_IFNAME rules) for keys that name a link, e.g. `master` or `bridge`. */
export function checkIfName(name: string, field: string): string {
  if (name === '' || name.length > 15 || /[/\s:]/.test(name) || name === '.' || name === '..') {
    throw invalid(`${field}: invalid interface name ${JSON.stringify(name)}`);
  }
  return name;
}
