// Test support for the plugins' *.kernel.test.ts (not built, not exported): the helpers shared with
// the other suites (@tscni/testing) with namespaces made through @tscni/netlink, plus netfilter access.
import { NETLINK_NETFILTER, SocketTransport, createNetns, deleteNetns, netnsPath } from '@tscni/netlink';
import { NetnsPool as SharedNetnsPool } from '@tscni/testing';
import type { TestNetns } from '@tscni/testing';
import type { NftOpener } from '../shared/netfilter.js';

export {
  addrs,
  globalCidrs,
  ip,
  ipJson,
  ipQuiet,
  link,
  links,
  ping,
  routes,
  runId,
  sysctl,
  tcpSourceSeen,
  uniq,
} from '@tscni/testing';
export type { IpAddrInfo, IpLink, IpRoute, TestNetns } from '@tscni/testing';

/** Namespaces created for a test through @tscni/netlink; `cleanup()` removes those still present. */
export class NetnsPool extends SharedNetnsPool {
  constructor() {
    super({ create: createNetns, remove: deleteNetns, path: netnsPath }, 'tscpl');
  }
}

/** NETLINK_NETFILTER inside a test namespace standing in for the host. */
export function netfilterIn(ns: TestNetns): NftOpener {
  return () => SocketTransport.open(NETLINK_NETFILTER, ns.path);
}
