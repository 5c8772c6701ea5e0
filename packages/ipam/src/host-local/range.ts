// Floor 3 (ipam/host-local): address ranges and range sets, mirroring the reference host-local's
// Range/RangeSet: a range is [rangeStart, rangeEnd] inside one subnet, with a gateway never handed out.
import { canonicalIP, cidrContains, compareIP, formatIP, ipEqual, ipSpan } from '@tscni/ip';
import type { IP, IPNet } from '@tscni/ip';

export interface Range {
  /** The subnet, host bits clear, canonical family (IPv4 written as v4-mapped becomes IPv4). */
  readonly subnet: IPNet;
  readonly rangeStart: IP;
  readonly rangeEnd: IP;
  readonly gateway: IP;
}

/** Pools tried in order; ADD takes one address from each range set. */
export type RangeSet = readonly Range[];

/** Is `ip` inside the subnet and between rangeStart and rangeEnd (inclusive)? */
export function rangeContains(r: Range, ip: IP): boolean {
  const c = canonicalIP(ip);
  return cidrContains(r.subnet, c) && compareIP(c, r.rangeStart) >= 0 && compareIP(c, r.rangeEnd) <= 0;
}

/** The range of the set that holds `ip`, if any. */
export function rangeFor(set: RangeSet, ip: IP): Range | undefined {
  return set.find((r) => rangeContains(r, ip));
}

export function rangeSetContains(set: RangeSet, ip: IP): boolean {
  return rangeFor(set, ip) !== undefined;
}

/** Do two ranges share an address? (Ranges of different families never do.) */
export function rangesOverlap(a: Range, b: Range): boolean {
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) || rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r) => b.some((r1) => rangesOverlap(r, r1)));
}

/** `10.0.0.2-10.0.0.254`, as the reference prints a range in its messages. */
export function rangeToString(r: Range): string {
  return `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`;
}

export function rangeSetToString(set: RangeSet): string {
  return set.map(rangeToString).join(',');
}

/** How many addresses the set can hand out: every address of every range except the gateways. */
export function allocatableCount(set: RangeSet): bigint {
  let n = 0n;
  for (const r of set) {
    n += ipSpan(r.rangeStart, r.rangeEnd);
    if (rangeContains(r, r.gateway)) n -= 1n;
  }
  return n;
}

/** Is `ip` the gateway of the range of `set` that holds it? */
export function isGatewayOf(set: RangeSet, ip: IP): boolean {
  const r = rangeFor(set, ip);
  return r !== undefined && ipEqual(r.gateway, ip);
}
