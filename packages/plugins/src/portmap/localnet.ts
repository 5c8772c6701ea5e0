// Floor 3 (plugins/portmap): `route_localnet=1` on the host interface that routes to the container,
// as the reference's enableLocalnetRouting: after DNAT, a connection to 127.0.0.1:hostPort leaves
// that interface with a 127.0.0.1 source, which the kernel drops as a martian unless it is allowed.
import { AF_INET, NLM_F, RTM, decodeRouteBody, encodeRouteMessage, messageBody } from '@tscni/netlink';
import type { RtNetlink } from '@tscni/netlink';
import { kernelError } from '../shared/kernel.js';
import { ensureSysctl, ifaceSysctl } from '../shared/sysctl.js';

/** The interface the kernel would send a packet for `ip` out of (RTM_GETROUTE, like `ip route get`). */
export async function routeInterface(rt: RtNetlink, ip: string): Promise<string | undefined> {
  const req = encodeRouteMessage(RTM.GETROUTE, NLM_F.REQUEST | NLM_F.ACK, {
    family: AF_INET,
    dstLen: 32,
    srcLen: 0,
    tos: 0,
    table: 0,
    protocol: 0,
    scope: 0,
    type: 0,
    flags: 0,
    dst: ip,
  });
  let replies: Uint8Array[];
  try {
    replies = await rt.transport.request(req, { operation: `route get ${ip}` });
  } catch {
    // Unroutable: the reference then leaves route_localnet alone.
    return undefined;
  }
  const first = replies[0];
  if (first === undefined) return undefined;
  const oif = decodeRouteBody(messageBody(first)).oif;
  if (oif === undefined) return undefined;
  return (await rt.findLink(oif))?.name;
}

/** Sets route_localnet=1 on the host interface towards `containerIPv4`; returns that interface. */
export async function enableLocalnet(rt: RtNetlink, containerIPv4: string, hostNetns: string | null): Promise<string | undefined> {
  let ifName: string | undefined;
  try {
    ifName = await routeInterface(rt, containerIPv4);
  } catch (e) {
    throw kernelError(`portmap: unable to find the interface routing to ${containerIPv4}`, e);
  }
  if (ifName === undefined) return undefined;
  ensureSysctl(ifaceSysctl(4, ifName, 'route_localnet'), '1', hostNetns);
  return ifName;
}
