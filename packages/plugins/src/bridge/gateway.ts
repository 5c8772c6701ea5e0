// Floor 3 (plugins/bridge): what the bridge derives from an IPAM result before touching the kernel,
// as the reference's calcGateways: every IP belongs to the container veth (interface 2), a missing
// gateway becomes the subnet's first address when the bridge is the gateway, and isDefaultGateway adds
// a default route per family unless IPAM already gave one with a gateway.
import { CniError, ErrorCode } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { formatIP, networkAddress, nextIP, parseCIDR } from '@tscni/ip';
import { resultNet } from '../shared/iface.js';
import type { Family } from '../shared/sysctl.js';

/** Index of the container veth in the bridge's result (after the bridge and the host veth). */
export const CONTAINER_INDEX = 2;

export interface Gateways {
  /** Per family, the gateway addresses with the prefix of their subnet ("10.1.0.1/24"), for the bridge. */
  byFamily: Map<Family, string[]>;
}

const DEFAULT_DST: Readonly<Record<Family, string>> = { 4: '0.0.0.0/0', 6: '::/0' };

/** Rewrites `result` in place (interface index, gateways, default routes) and returns the bridge's gateways. */
export function calcGateways(result: Result, o: { isGateway: boolean; isDefaultGateway: boolean }): Gateways {
  const byFamily = new Map<Family, string[]>();
  const defaultFound = new Set<Family>();
  for (const ipc of result.ips ?? []) {
    const net = resultNet(ipc.address);
    const family = net.ip.family;
    ipc.interface = CONTAINER_INDEX;
    if (ipc.gateway === undefined && o.isGateway) {
      const gw = nextIP(networkAddress(net));
      if (gw === undefined) throw new CniError(ErrorCode.Internal, `no gateway address in ${ipc.address}`);
      ipc.gateway = formatIP(gw);
    }
    if (o.isDefaultGateway && !defaultFound.has(family)) {
      const routes = result.routes ?? [];
      const given = routes.some((r) => {
        if (r.gw === undefined) return false;
        const dst = parseCIDR(r.dst);
        return dst !== undefined && dst.prefix === 0 && dst.ip.family === family;
      });
      if (!given) {
        routes.push({ dst: DEFAULT_DST[family], ...(ipc.gateway === undefined ? {} : { gw: ipc.gateway }) });
        result.routes = routes;
      }
      defaultFound.add(family);
    }
    if (o.isGateway && ipc.gateway !== undefined) {
      const list = byFamily.get(family) ?? [];
      list.push(`${ipc.gateway}/${net.prefix}`);
      byFamily.set(family, list);
    }
  }
  return { byFamily };
}
