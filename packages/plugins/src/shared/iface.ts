// Floor 3 (plugins/shared): applying an IPAM result to an interface inside the container namespace,
// as the reference's ipam.ConfigureIface: IPv6 enabled where an IPv6 address goes (disable_ipv6=0 on
// lo and the interface, keep_addr_on_down=1), addresses added, link up, DAD awaited when an IPv6
// gateway will be used, then the routes with the gateway falling back to the family's gateway.
import { setTimeout as sleep } from 'node:timers/promises';
import { CniError, ErrorCode } from '@tscni/spec';
import type { Result, Route } from '@tscni/spec';
import { AF_INET6, IFA_F } from '@tscni/netlink';
import type { RouteSpec, RtNetlink } from '@tscni/netlink';
import { formatIP, parseCIDR, parseIP } from '@tscni/ip';
import type { IPNet } from '@tscni/ip';
import { kernelError } from './kernel.js';
import { ifaceSysctl, setSysctl, tryReadSysctl, trySetSysctl } from './sysctl.js';
import type { Family } from './sysctl.js';

/** How long to wait for IPv6 duplicate address detection before adding routes (reference: 5 s). */
export const DAD_SETTLE_MS = 5_000;

export interface ConfigureOptions {
  /** Override the DAD wait (tests). */
  settleTimeoutMs?: number;
}

/** A result address (CIDR with host bits); a malformed one is the IPAM plugin's fault (code 999). */
export function resultNet(address: string): IPNet {
  const n = parseCIDR(address);
  if (n === undefined) throw new CniError(ErrorCode.Internal, `invalid IP address in IPAM result: ${JSON.stringify(address)}`);
  return n;
}

/** "10.1.2.3/24" -> "10.1.2.3" */
export function addressOf(cidr: string): string {
  return formatIP(resultNet(cidr).ip);
}

export function familyOfCidr(cidr: string): Family {
  return resultNet(cidr).ip.family;
}

/** A route destination's family (routes carry a CIDR `dst`). */
export function routeFamily(r: Route): Family {
  const n = parseCIDR(r.dst);
  if (n === undefined) throw new CniError(ErrorCode.Internal, `invalid route destination in IPAM result: ${JSON.stringify(r.dst)}`);
  return n.ip.family;
}

function gatewayFamily(gw: string): Family | undefined {
  return parseIP(gw)?.family;
}

/** Enables IPv6 on lo and the interface (the reference's disable_ipv6 handling), keeps addresses on down. */
function enableIpv6(netnsPath: string, ifName: string): void {
  for (const name of ['lo', ifName]) {
    const key = ifaceSysctl(6, name, 'disable_ipv6');
    const value = tryReadSysctl(key, netnsPath);
    // Unreadable: IPv6 is absent from this kernel; adding the address reports the real problem.
    if (value === undefined || value === '0') continue;
    setSysctl(key, '0', netnsPath);
  }
  trySetSysctl(ifaceSysctl(6, ifName, 'keep_addr_on_down'), '1', netnsPath);
}

/** Waits until none of `addresses` (IPv6) on the link is tentative; a DAD failure is an error. */
export async function settleAddresses(rt: RtNetlink, index: number, addresses: readonly string[], timeoutMs: number): Promise<void> {
  if (addresses.length === 0) return;
  const wanted = new Set(addresses);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = (await rt.listAddresses({ link: index, family: AF_INET6 })).filter((a) => wanted.has(a.address));
    const failed = pending.find((a) => (a.flags & IFA_F.DADFAILED) !== 0);
    if (failed) throw new CniError(ErrorCode.Internal, `address ${failed.cidr} failed duplicate address detection`);
    if (!pending.some((a) => a.tentative) || Date.now() >= deadline) return;
    await sleep(50);
  }
}

/** The kernel request for a result route on `dev`, with the gateway fallback already applied. */
export function routeSpec(r: Route, dev: number, familyGateway: ReadonlyMap<Family, string>): RouteSpec {
  const gateway = r.gw ?? familyGateway.get(routeFamily(r));
  const spec: RouteSpec = { dst: r.dst, dev };
  if (gateway !== undefined) spec.gateway = gateway;
  if (r.priority !== undefined) spec.metric = r.priority;
  if (r.table !== undefined) spec.table = r.table;
  if (r.scope !== undefined) spec.scope = r.scope;
  if (r.mtu !== undefined) spec.mtu = r.mtu;
  if (r.advmss !== undefined) spec.advmss = r.advmss;
  return spec;
}

/**
 * Configures `ifName` (in the namespace `rt` is bound to, at `netnsPath`) from `result`. Only the
 * IPs whose `interface` index names `ifName` are applied; an index that names another interface is
 * an error, as in the reference. Route `mtu`/`advmss` (1.1.0) are applied too.
 */
export async function configureIface(
  rt: RtNetlink,
  netnsPath: string,
  ifName: string,
  result: Result,
  o: ConfigureOptions = {},
): Promise<void> {
  const interfaces = result.interfaces ?? [];
  if (interfaces.length === 0) throw new CniError(ErrorCode.Internal, 'no interfaces to configure');
  let index: number;
  try {
    index = (await rt.getLink(ifName)).index;
  } catch (e) {
    throw kernelError(`failed to lookup "${ifName}"`, e);
  }

  const gateways = new Map<Family, string>();
  const v6Added: string[] = [];
  let ipv6Enabled = false;
  for (const ipc of result.ips ?? []) {
    if (ipc.interface === undefined) continue;
    if (ipc.interface < 0 || ipc.interface >= interfaces.length || interfaces[ipc.interface]?.name !== ifName) {
      throw new CniError(ErrorCode.Internal, `failed to add IP addr ${ipc.address} to "${ifName}": invalid interface index`);
    }
    const net = resultNet(ipc.address);
    const family = net.ip.family;
    if (family === 6 && !ipv6Enabled) {
      enableIpv6(netnsPath, ifName);
      ipv6Enabled = true;
    }
    try {
      // Like Go's AddrAdd, IPv4 addresses get their broadcast derived from the prefix.
      await rt.addAddress(index, ipc.address, family === 4 && net.prefix < 31 ? { broadcast: 'auto' } : {});
    } catch (e) {
      throw kernelError(`failed to add IP addr ${ipc.address} to "${ifName}"`, e);
    }
    if (family === 6) v6Added.push(formatIP(net.ip));
    if (ipc.gateway !== undefined) {
      const gwFamily = gatewayFamily(ipc.gateway);
      if (gwFamily !== undefined && !gateways.has(gwFamily)) gateways.set(gwFamily, ipc.gateway);
    }
  }

  try {
    await rt.setLinkUp(index);
  } catch (e) {
    throw kernelError(`failed to set "${ifName}" UP`, e);
  }

  // Routes through an IPv6 gateway need a usable (non-tentative) source address.
  if (gateways.has(6)) await settleAddresses(rt, index, v6Added, o.settleTimeoutMs ?? DAD_SETTLE_MS);

  for (const r of result.routes ?? []) {
    const spec = routeSpec(r, index, gateways);
    try {
      await rt.addRoute(spec);
    } catch (e) {
      throw kernelError(`failed to add route '${r.dst} via ${spec.gateway ?? '<nil>'} dev ${ifName}'`, e);
    }
  }
}
