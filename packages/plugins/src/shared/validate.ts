// Floor 3 (plugins/shared): CHECK's comparison of prevResult with what the kernel holds, as the
// reference's interface validation plus ip.ValidateExpectedInterfaceIPs / ValidateExpectedRoute:
// the interface exists with the recorded kind and MAC (and is up), every recorded address is on it
// with its prefix, every recorded route is in its table.
import { CniError, ErrorCode } from '@tscni/spec';
import type { IPConfig, Interface, Result, Route } from '@tscni/spec';
import { AF_INET, AF_INET6, RT_TABLE } from '@tscni/netlink';
import type { Link, RtNetlink } from '@tscni/netlink';
import { ipEqual, networkAddress, parseCIDR, parseIP } from '@tscni/ip';
import type { IPNet } from '@tscni/ip';
import { isMissingLink, kernelError } from './kernel.js';

function checkFailed(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/** Index and entry of the interface named `name` (in `sandbox`, when given) in a result. */
export function findInterface(result: Result, name: string, sandbox?: string): { index: number; intf: Interface } | undefined {
  const list = result.interfaces ?? [];
  for (let index = 0; index < list.length; index++) {
    const intf = list[index];
    if (intf === undefined || intf.name !== name) continue;
    if (sandbox !== undefined && intf.sandbox !== sandbox) continue;
    return { index, intf };
  }
  return undefined;
}

/** The prevResult entry of the container interface: CNI_IFNAME inside CNI_NETNS. */
export function containerInterface(result: Result, ifName: string, netns: string): { index: number; intf: Interface } {
  const found = findInterface(result, ifName, netns);
  if (found === undefined) {
    const named = findInterface(result, ifName);
    throw checkFailed(`Sandbox in prevResult ${named?.intf.sandbox ?? ''} doesn't match configured netns: ${netns}`);
  }
  return found;
}

/** The IPs of a result that belong to interface `index` (or to no interface in particular). */
export function ipsOfInterface(result: Result, index: number): IPConfig[] {
  return (result.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === index);
}

export interface LinkExpectations {
  /** rtnetlink link kind, e.g. 'veth' or 'bridge'. */
  kind?: string;
  /** The link must be administratively up. */
  up?: boolean;
}

/** The link recorded as `intf` exists in `rt`'s namespace with the recorded MAC and expectations. */
export async function checkLink(rt: RtNetlink, intf: Interface, what: string, expect: LinkExpectations = {}): Promise<Link> {
  if (intf.name === '') throw checkFailed(`${what} interface name missing in prevResult`);
  let link: Link;
  try {
    link = await rt.getLink(intf.name);
  } catch (e) {
    if (isMissingLink(e)) throw checkFailed(`${what} interface ${intf.name} not found`);
    throw kernelError(`failed to look up ${intf.name}`, e);
  }
  if (expect.kind !== undefined && link.kind !== expect.kind) {
    throw checkFailed(`${what} interface ${intf.name} is not of type ${expect.kind} (found ${link.kind ?? 'unknown'})`);
  }
  if (intf.mac !== undefined && intf.mac !== '' && intf.mac.toLowerCase() !== (link.mac ?? '')) {
    throw checkFailed(`${what} interface ${intf.name} MAC ${intf.mac} doesn't match the link's MAC ${link.mac ?? ''}`);
  }
  if (expect.up === true && !link.up) throw checkFailed(`${what} interface ${intf.name} is down`);
  return link;
}

function sameNet(a: IPNet, b: IPNet): boolean {
  return a.prefix === b.prefix && ipEqual(a.ip, b.ip);
}

/** Every IP of `ips` is on the link `ifName` with the same prefix length. */
export async function checkInterfaceIPs(rt: RtNetlink, ifName: string, ips: readonly IPConfig[]): Promise<void> {
  if (ips.length === 0) return;
  let present: IPNet[];
  try {
    present = (await rt.listAddresses({ link: ifName })).flatMap((a) => {
      const n = parseCIDR(a.cidr);
      return n === undefined ? [] : [n];
    });
  } catch (e) {
    throw kernelError(`failed to list addresses of ${ifName}`, e);
  }
  for (const ip of ips) {
    const want = parseCIDR(ip.address);
    if (want === undefined) throw checkFailed(`invalid address ${JSON.stringify(ip.address)} in prevResult`);
    if (!present.some((p) => sameNet(p, want))) throw checkFailed(`Failed to match addr ${ip.address} on interface ${ifName}`);
  }
}

/** Every route is in its table (default main): same destination, and the same gateway when one is recorded. */
export async function checkRoutes(rt: RtNetlink, routes: readonly Route[]): Promise<void> {
  for (const r of routes) {
    const dst = parseCIDR(r.dst);
    if (dst === undefined) throw checkFailed(`invalid route destination ${JSON.stringify(r.dst)} in prevResult`);
    const gw = r.gw === undefined ? undefined : parseIP(r.gw);
    const family = dst.ip.family === 4 ? AF_INET : AF_INET6;
    let found;
    try {
      found = await rt.listRoutes({ family, table: r.table ?? RT_TABLE.MAIN });
    } catch (e) {
      throw kernelError('failed to list routes', e);
    }
    const wantNet = networkAddress(dst);
    const match = found.some((k) => {
      const kdst = parseCIDR(k.dst);
      if (kdst === undefined || kdst.prefix !== dst.prefix || !ipEqual(networkAddress(kdst), wantNet)) return false;
      if (gw === undefined) return true;
      const kgw = k.gateway === undefined ? undefined : parseIP(k.gateway);
      return kgw !== undefined && ipEqual(kgw, gw);
    });
    if (!match) throw checkFailed(`Expected Route {dst: ${r.dst}${r.gw === undefined ? '' : `, gw: ${r.gw}`}} not found in routing table`);
  }
}
