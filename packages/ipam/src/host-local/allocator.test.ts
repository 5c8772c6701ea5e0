import { CniError } from '@tscni/spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCIDR, formatIP, ipFromBigInt, parseIP } from '@tscni/ip';
import type { IP } from '@tscni/ip';
import { allocate, candidates } from './allocator.js';
import { parseRangeSet } from './config.js';
import { rangeContains } from './range.js';
import type { RangeSet } from './range.js';
import { MemoryStore } from './store.js';

const set = (...ranges: Array<Record<string, string>>): RangeSet => parseRangeSet(ranges, ['ranges', 0], 0);
const ip = (s: string): IP => parseIP(s) as IP;

async function take(store: MemoryStore, rs: RangeSet, id: string, ifname = 'eth0', requested?: string): Promise<string> {
  const got = await store.withLock(() => allocate(store, rs, 0, id, ifname, requested === undefined ? undefined : ip(requested)));
  return formatCIDR(got.address);
}

async function failure(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

describe('allocate', () => {
  it('hands out addresses round-robin after the last reserved one, skipping the gateway, then runs dry (code 11)', async () => {
    const store = new MemoryStore();
    const rs = set({ subnet: '10.0.0.0/29' }); // .1 (gateway) .. .6
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await take(store, rs, `c${i}`));
    expect(got).toEqual(['10.0.0.2/29', '10.0.0.3/29', '10.0.0.4/29', '10.0.0.5/29', '10.0.0.6/29']);
    const e = await failure(take(store, rs, 'c5'));
    expect(e.code).toBe(11);
    expect(e.msg).toBe('no IP addresses available in range set: 10.0.0.1-10.0.0.6');
    // After a release the search starts after the last reserved (.6), wraps and finds .3.
    await store.releaseById('c1', 'eth0');
    expect(await take(store, rs, 'c6')).toBe('10.0.0.3/29');
    expect(formatIP((await store.lastReservedIP('0'))!)).toBe('10.0.0.3');
  });

  it('continues in the next range of the set and wraps to the first', async () => {
    const store = new MemoryStore();
    const rs = set({ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30', gateway: '10.0.1.2' });
    expect(await take(store, rs, 'a')).toBe('10.0.0.2/30');
    expect(await take(store, rs, 'b')).toBe('10.0.1.1/30');
    expect((await failure(take(store, rs, 'c'))).code).toBe(11);
    await store.releaseById('a', 'eth0');
    expect(await take(store, rs, 'd')).toBe('10.0.0.2/30');
  });

  it('starts from rangeStart when the last reserved address is outside the set (ranges changed)', async () => {
    const store = new MemoryStore();
    await store.reserve('old', 'eth0', ip('192.168.0.9'), '0');
    const rs = set({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.100' });
    expect(await take(store, rs, 'a')).toBe('10.0.0.100/24');
  });

  it('gives a requested address or says why not', async () => {
    const store = new MemoryStore();
    const rs = set({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' });
    expect(await take(store, rs, 'a', 'eth0', '10.0.0.15')).toBe('10.0.0.15/24');
    expect(await take(store, rs, 'a2', 'eth0', '::ffff:10.0.0.16')).toBe('10.0.0.16/24');
    const taken = await failure(take(store, rs, 'b', 'eth0', '10.0.0.15'));
    expect(taken.msg).toBe('requested IP address 10.0.0.15 is not available in range set 10.0.0.10-10.0.0.20');
    const outside = await failure(take(store, rs, 'b', 'eth0', '10.0.0.5'));
    expect([outside.code, outside.msg]).toEqual([7, '10.0.0.5 not in range set 10.0.0.10-10.0.0.20']);
    const gw = set({ subnet: '10.0.0.0/24' });
    expect((await failure(take(store, gw, 'b', 'eth0', '10.0.0.1'))).msg).toBe("requested ip 10.0.0.1 is subnet's gateway");
  });

  it('refuses a second allocation for the same container and ifname in one range set', async () => {
    const store = new MemoryStore();
    const rs = set({ subnet: '10.0.0.0/24' });
    await take(store, rs, 'a', 'eth0');
    const e = await failure(take(store, rs, 'a', 'eth0'));
    expect(e.msg).toBe('10.0.0.2 has been allocated to a, duplicate allocation is not allowed');
    expect(await take(store, rs, 'a', 'eth1')).toBe('10.0.0.3/24');
    // A legacy record (container ID only) counts as the same attachment.
    store.putLegacy(ip('10.0.0.50'), 'legacy');
    expect((await failure(take(store, rs, 'legacy', 'eth0'))).msg).toContain('10.0.0.50 has been allocated to legacy');
    // Another range set is independent.
    expect(await take(store, set({ subnet: '10.9.0.0/24' }), 'a', 'eth0')).toBe('10.9.0.2/24');
  });
});

describe('candidates', () => {
  // Random small IPv4 range sets: 1-3 disjoint ranges inside consecutive /27s of 10.0.0.0/24.
  const smallSet = fc
    .array(
      fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 29 }), fc.integer({ min: 0, max: 31 })),
      { minLength: 1, maxLength: 3 },
    )
    .map((parts) =>
      set(
        ...parts.map(([a, len, gw], i) => {
          const base = i * 32;
          const start = base + a;
          const end = Math.min(base + 30, start + len);
          return { subnet: `10.0.0.${base}/27`, rangeStart: `10.0.0.${start}`, rangeEnd: `10.0.0.${end}`, gateway: `10.0.0.${base + gw}` };
        }),
      ),
    );

  it('visits every non-gateway address of the set exactly once, starting after the last reserved one', () => {
    fc.assert(
      fc.property(smallSet, fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }), (rs, lastOctet) => {
        const last = lastOctet === undefined ? undefined : ipFromBigInt(0x0a000000n + BigInt(lastOctet), 4);
        const seen = [...candidates(rs, last)].map((c) => c.ip.value);
        const all: bigint[] = [];
        for (const r of rs) for (let v = r.rangeStart.value; v <= r.rangeEnd.value; v++) if (v !== r.gateway.value) all.push(v);
        expect([...seen].sort((a, b) => (a < b ? -1 : 1))).toEqual(all);
        // Oracle for the starting point: the next address after `last` in set order, cyclically.
        if (seen.length > 0) {
          const inSet = last !== undefined && rs.some((r) => rangeContains(r, last));
          const order: bigint[] = [];
          for (const r of rs) for (let v = r.rangeStart.value; v <= r.rangeEnd.value; v++) order.push(v);
          const startAt = inSet ? (order.indexOf(last.value) + 1) % order.length : 0;
          const rotated = [...order.slice(startAt), ...order.slice(0, startAt)];
          // Each gateway lies in its own range's /27, so it can only coincide with its own range.
          const gateways = new Set(rs.map((r) => r.gateway.value));
          expect(seen).toEqual(rotated.filter((v) => !gateways.has(v)));
        }
      }),
    );
  });
});
