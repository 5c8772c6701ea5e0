// Floor 3 (plugins/shared): turning a route read back from the kernel into a request again, for
// the meta plugins that move an interface's routes to another table (sbr, vrf), as the reference
// does by re-adding the netlink.Route it listed with another Table.
import type { RouteInfo, RouteSpec } from '@tscni/netlink';

/** The same route in `table` (flags cleared: the kernel refuses cloned/dynamic flags on add). */
export function routeInTable(r: RouteInfo, table: number): RouteSpec {
  const spec: RouteSpec = { dst: r.dst, table, scope: r.scope, protocol: r.protocol, type: r.type, family: r.family };
  if (r.oif !== undefined) spec.dev = r.oif;
  if (r.gateway !== undefined) spec.gateway = r.gateway;
  if (r.prefsrc !== undefined) spec.prefsrc = r.prefsrc;
  if (r.priority !== undefined) spec.metric = r.priority;
  if (r.metrics !== undefined) spec.metrics = r.metrics;
  return spec;
}

/** Exactly this route (table, device, gateway, metric), for RTM_DELROUTE. */
export function routeToDelete(r: RouteInfo): RouteSpec {
  const spec: RouteSpec = { dst: r.dst, table: r.table, family: r.family };
  if (r.oif !== undefined) spec.dev = r.oif;
  if (r.gateway !== undefined) spec.gateway = r.gateway;
  if (r.priority !== undefined) spec.metric = r.priority;
  return spec;
}
