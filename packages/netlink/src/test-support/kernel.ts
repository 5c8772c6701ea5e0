// Test support for netlink's *.kernel.test.ts (not built, not exported): the helpers shared with the
// other suites (@tscni/testing) with namespaces made through our own netns.ts, plus netlink's own checks.
import { NetnsPool as SharedNetnsPool } from '@tscni/testing';
import { createNetns, deleteNetns, netnsPath } from '../netns.js';
import { NetlinkError } from '../codec/errors.js';

export { bridgeJson, ip, ipJson, link, links, runId, uniq } from '@tscni/testing';
export type { IpLink, TestNetns } from '@tscni/testing';

/** Namespaces created for a test through this package's createNetns; `cleanup()` removes them. */
export class NetnsPool extends SharedNetnsPool {
  constructor() {
    super({ create: createNetns, remove: deleteNetns, path: netnsPath }, 'tscnl');
  }
}

/** The kernel does not know this link kind (or this feature): the test must be skipped, not passed. */
export function kernelLacks(e: unknown): boolean {
  return (
    e instanceof NetlinkError &&
    (e.code === 'EOPNOTSUPP' || /Unknown device type/i.test(e.extAck?.msg ?? ''))
  );
}
