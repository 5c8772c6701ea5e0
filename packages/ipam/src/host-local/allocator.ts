// Floor 3 (ipam/host-local): picks one address from a range set, as the reference allocator does:
// a requested address if given, else round-robin from the address after `last_reserved_ip.<idx>`
// through every range of the set in order, wrapping around, never handing out a gateway.
import { CniError, ErrorCode } from '@tscni/spec';
import { addIP, canonicalIP, compareIP, formatIP, ipEqual } from '@tscni/ip';
import type { IP, IPNet } from '@tscni/ip';
import { rangeFor, rangeSetToString } from './range.js';
import type { Range, RangeSet } from './range.js';
import type { Store } from './store.js';

export interface Allocated {
  /** The address with the subnet's prefix length. */
  readonly address: IPNet;
  readonly gateway: IP;
}

/**
 * Candidate addresses in round-robin order: after `last` when it lies in the set, else from the
 * first range's start; each address of the set once, gateways skipped.
 */
export function* candidates(set: RangeSet, last: IP | undefined): Generator<{ ip: IP; range: Range }> {
  let idx = 0;
  let cur: IP | undefined;
  if (last !== undefined) {
    const r = rangeFor(set, last);
    if (r !== undefined) {
      idx = set.indexOf(r);
      cur = canonicalIP(last);
    }
  }
  // Position after `cur` (or the first range's start); `start` marks where one full turn ends.
  const advance = (): IP => {
    const r = set[idx] as Range;
    if (cur === undefined) return r.rangeStart;
    if (compareIP(cur, r.rangeEnd) >= 0) {
      idx = (idx + 1) % set.length;
      return (set[idx] as Range).rangeStart;
    }
    return addIP(cur, 1n) as IP; // below rangeEnd, so never past the family's last address
  };
  cur = advance();
  const start = cur;
  for (;;) {
    const r = set[idx] as Range;
    if (!ipEqual(cur, r.gateway)) yield { ip: cur, range: r };
    cur = advance();
    if (ipEqual(cur, start)) return;
  }
}

/**
 * Reserves one address of `set` for (id, ifname). Call with the store's lock held.
 * Errors: requested address outside the set or the gateway (7), taken (999), a second allocation
 * for the same (id, ifname) in this set (999), no free address (11: frees up when others leave).
 */
export async function allocate(
  store: Store,
  set: RangeSet,
  rangeIdx: number,
  id: string,
  ifname: string,
  requested: IP | undefined,
): Promise<Allocated> {
  const rangeId = String(rangeIdx);
  if (requested !== undefined) {
    const ip = canonicalIP(requested);
    const r = rangeFor(set, ip);
    if (r === undefined) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `${formatIP(ip)} not in range set ${rangeSetToString(set)}`);
    }
    if (ipEqual(ip, r.gateway)) throw new CniError(ErrorCode.InvalidNetworkConfig, `requested ip ${formatIP(ip)} is subnet's gateway`);
    if (!(await store.reserve(id, ifname, ip, rangeId))) {
      throw new CniError(ErrorCode.Internal, `requested IP address ${formatIP(ip)} is not available in range set ${rangeSetToString(set)}`);
    }
    return { address: { ip, prefix: r.subnet.prefix }, gateway: r.gateway };
  }

  // The spec forbids a second ADD for the same attachment; host-local refuses it per range set.
  for (const held of await store.getById(id, ifname)) {
    if (rangeFor(set, held) !== undefined) {
      throw new CniError(ErrorCode.Internal, `${formatIP(held)} has been allocated to ${id}, duplicate allocation is not allowed`);
    }
  }

  for (const { ip, range } of candidates(set, await store.lastReservedIP(rangeId))) {
    if (await store.reserve(id, ifname, ip, rangeId)) return { address: { ip, prefix: range.subnet.prefix }, gateway: range.gateway };
  }
  throw new CniError(ErrorCode.TryAgainLater, `no IP addresses available in range set: ${rangeSetToString(set)}`);
}
