// tc encoders against what iproute2-6.1's `tc` sent to the kernel (fixtures/*.json, captured with
// strace by fixtures/capture.mjs), decoders against the kernel's dump replies, and the tick math.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessages } from '../codec/message.js';
import type { NlMessage } from '../codec/message.js';
import { NLM_F } from '../codec/netlink.js';
import { RTM } from '../codec/rtnetlink.js';
import { TC_H_INGRESS, TC_H_ROOT, tcHandle } from './consts.js';
import {
  decodeFilter,
  decodeQdisc,
  encodeFilter,
  encodeFilterDelete,
  encodeQdisc,
  encodeQdiscDelete,
  encodeTcDump,
} from './messages.js';
import { calcRateTable, calcXmitsize, calcXmittime, computeTbf, TbfSpecError, tbfLimitFor } from './tbf.js';
import { mirredRedirect, u32MatchAll, INGRESS_HANDLE } from './tc.js';

interface Fixture {
  readonly command: string;
  readonly ifindex: { readonly d0: number; readonly ifb0: number };
  readonly sent: readonly string[];
  readonly received: readonly string[];
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixture;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function msg(h: string): NlMessage {
  const m = decodeMessages(Uint8Array.from(Buffer.from(h, 'hex')))[0];
  if (m === undefined) throw new TypeError('empty fixture message');
  return m;
}

const ADD = NLM_F.REQUEST | NLM_F.ACK | NLM_F.EXCL | NLM_F.CREATE;
const REPLACE = NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE;
const DEL = NLM_F.REQUEST | NLM_F.ACK;
const DUMP = NLM_F.REQUEST | NLM_F.DUMP;

// Units as tc parses them: rate "1mbit" = 10^6 bit/s = 125000 B/s; sizes "32kbit" = 32*1024 bit.
const cases: Array<{ name: string; flags: number; tbf: Parameters<typeof computeTbf>[0] }> = [
  { name: 'tbf-add-1mbit', flags: ADD, tbf: { rate: 125_000, burst: 4096, latency: 25_000 } },
  // 40gbit exceeds 32 bits of bytes/s: TCA_TBF_RATE64, a saturated u32 rate, no rate table of use.
  { name: 'tbf-replace-40gbit', flags: REPLACE, tbf: { rate: 5_000_000_000, burst: 5 * 1024 * 1024, latency: 25_000 } },
  { name: 'tbf-replace-limit', flags: REPLACE, tbf: { rate: 12_500_000, burst: 64 * 1024, limit: 100_000, mtu: 2000 } },
  {
    name: 'tbf-replace-peakrate',
    flags: REPLACE,
    tbf: { rate: 1_000_000, burst: 10 * 1024, latency: 50_000, peakrate: 1_250_000, mtu: 1600 },
  },
];

describe('qdisc messages match tc byte for byte', () => {
  for (const c of cases) {
    it(c.name, () => {
      const fx = fixture(c.name);
      const ours = encodeQdisc(RTM.NEWQDISC, c.flags, { kind: 'tbf', ifindex: fx.ifindex.d0, tbf: c.tbf });
      expect(hex(ours)).toBe(fx.sent[0]);
    });
  }

  it('ingress add and delete, root delete, dump requests', () => {
    const d0 = fixture('ingress-add').ifindex.d0;
    expect(hex(encodeQdisc(RTM.NEWQDISC, ADD, { kind: 'ingress', ifindex: d0 }))).toBe(fixture('ingress-add').sent[0]);
    expect(
      hex(encodeQdiscDelete(RTM.DELQDISC, DEL, { ifindex: d0, parent: TC_H_INGRESS, handle: INGRESS_HANDLE, kind: 'ingress' })),
    ).toBe(fixture('ingress-del').sent[0]);
    expect(hex(encodeQdiscDelete(RTM.DELQDISC, DEL, { ifindex: d0, parent: TC_H_ROOT }))).toBe(fixture('qdisc-del-root').sent[0]);
    expect(hex(encodeTcDump(RTM.GETQDISC, DUMP, { ifindex: d0 }))).toBe(fixture('qdisc-show').sent[0]);
    expect(hex(encodeTcDump(RTM.GETTFILTER, DUMP, { ifindex: d0, parent: INGRESS_HANDLE }))).toBe(fixture('filter-show').sent[0]);
  });
});

describe('filter messages match tc byte for byte', () => {
  it('u32 match-all with a mirred egress redirect to the ifb', () => {
    const fx = fixture('u32-mirred-add');
    const ours = encodeFilter(RTM.NEWTFILTER, ADD, {
      ifindex: fx.ifindex.d0,
      parent: tcHandle(0xffff, 0),
      protocol: 'all',
      kind: 'u32',
      u32: { keys: u32MatchAll(), actions: [mirredRedirect(fx.ifindex.ifb0)] },
    });
    expect(hex(ours)).toBe(fx.sent[0]);
  });

  it('filter delete by priority and protocol', () => {
    const fx = fixture('filter-del');
    const ours = encodeFilterDelete(RTM.DELTFILTER, DEL, {
      ifindex: fx.ifindex.d0,
      parent: INGRESS_HANDLE,
      prio: 49152,
      protocol: 'all',
      kind: 'u32',
    });
    expect(hex(ours)).toBe(fx.sent[0]);
  });
});

describe('decoders read kernel dumps as tc shows them', () => {
  it('tbf 1mbit: rate 125000, burst 4096, lat 25ms (tc -j: {"rate":125000,"burst":4096,"lat":25000})', () => {
    const fx = fixture('qdisc-show');
    const qdiscs = fx.received.map(msg).filter((m) => m.header.type === RTM.NEWQDISC).map(decodeQdisc);
    const tbf = qdiscs.find((q) => q.kind === 'tbf');
    expect(tbf).toMatchObject({ ifindex: fx.ifindex.d0, parent: TC_H_ROOT });
    expect(tbf?.tbf).toMatchObject({ rate: 125_000, burst: 4096, limit: 7221, buffer: 512_000, latency: 25_000 });
    // What we would send for the same spec holds the same rate/limit/buffer: CHECK can compare them.
    const expected = computeTbf({ rate: 125_000, burst: 4096, latency: 25_000 }).params;
    expect([tbf?.tbf?.rate, tbf?.tbf?.limit, tbf?.tbf?.buffer]).toEqual([expected.rate, expected.limit, expected.buffer]);
  });

  it('tbf 40gbit: the rate comes from TCA_TBF_RATE64 and the burst from the kernel-computed buffer', () => {
    const fx = fixture('qdisc-show-40gbit');
    const tbf = fx.received
      .map(msg)
      .filter((m) => m.header.type === RTM.NEWQDISC)
      .map(decodeQdisc)
      .find((q) => q.kind === 'tbf');
    expect(tbf?.tbf?.rate).toBe(5_000_000_000);
    expect(tbf?.tbf?.rateSpec.rate).toBe(0xffffffff);
    // The kernel recomputed the bucket from TCA_TBF_BURST at the 64-bit rate and keeps it in
    // whole 64 ns ticks: the burst reads back within one tick's worth of bytes (320 at 5 GB/s).
    expect(Math.abs((tbf?.tbf?.burst ?? 0) - 5 * 1024 * 1024)).toBeLessThanOrEqual(320);
  });

  it('u32 filter dump: hash table heads, then the node with its selector and mirred action', () => {
    const fx = fixture('filter-show');
    const filters = fx.received.map(msg).filter((m) => m.header.type === RTM.NEWTFILTER).map(decodeFilter);
    expect(filters).toHaveLength(3);
    for (const f of filters) expect(f).toMatchObject({ kind: 'u32', prio: 49152, protocol: 0x0003, parent: INGRESS_HANDLE });
    const node = filters.find((f) => (f.u32?.keys.length ?? 0) > 0);
    expect(node?.u32).toMatchObject({
      terminal: true,
      keys: [{ value: 0, mask: 0, off: 0, offmask: 0 }],
      actions: [{ kind: 'mirred', action: 'redirect', direction: 'egress', ifindex: fx.ifindex.ifb0 }],
    });
    expect(filters.find((f) => f.u32?.divisor !== undefined)?.u32?.divisor).toBe(1);
  });

  it('decode -> encode: a decoded u32/mirred filter re-encodes to the bytes tc sent', () => {
    const fx = fixture('u32-mirred-add');
    const f = decodeFilter(msg(fx.sent[0] ?? ''));
    const again = encodeFilter(RTM.NEWTFILTER, ADD, {
      ifindex: f.ifindex,
      parent: f.parent,
      protocol: f.protocol,
      prio: f.prio,
      kind: 'u32',
      u32: { keys: f.u32?.keys ?? [], actions: f.u32?.actions ?? [] },
    });
    expect(hex(again)).toBe(fx.sent[0]);
  });

  it('decode -> encode: tbf parameters read from tc requests reproduce those requests', () => {
    for (const c of cases) {
      const fx = fixture(c.name);
      const q = decodeQdisc(msg(fx.sent[0] ?? ''));
      expect(q.tbf?.rate).toBe(c.tbf.rate);
      expect(q.tbf?.burst).toBe(c.tbf.burst);
      const limit = q.tbf?.limit ?? 0;
      const again = encodeQdisc(RTM.NEWQDISC, c.flags, {
        kind: 'tbf',
        ifindex: q.ifindex,
        tbf: {
          rate: q.tbf?.rate ?? 0,
          burst: q.tbf?.burst ?? 0,
          limit,
          ...(c.tbf.mtu === undefined ? {} : { mtu: c.tbf.mtu }),
          ...(q.tbf?.peakrate ? { peakrate: q.tbf.peakrate } : {}),
        },
      });
      expect(hex(again), c.name).toBe(fx.sent[0]);
    }
  });
});

describe('tbf arithmetic (tc_core.c / q_tbf.c)', () => {
  it('converts bytes at a rate to ticks of 64 ns, rounding up', () => {
    // 4096 B at 125000 B/s = 32.768 ms = 512000 ticks of 64 ns.
    expect(calcXmittime(125_000, 4096)).toBe(512_000);
    expect(calcXmitsize(125_000, 512_000)).toBe(4096);
    // 1 byte at 3 B/s is 333333.33 µs. iproute2 <= 6.14 truncates the µs, then the ticks:
    // 333333 * 15.625 = 5208328.125 -> 5208328; iproute2 >= 6.15 rounds 5208333.33 up.
    expect(calcXmittime(3, 1)).toBe(5_208_328);
    expect(calcXmittime(3, 1, 'ceil')).toBe(5_208_334);
    expect(calcXmittime(1, 2 ** 40)).toBe(0xffffffff);
    expect(calcXmittime(1, 2 ** 40, 'ceil')).toBe(0xffffffff);
    expect(calcXmitsize(3, 5_208_328, 'truncate')).toBe(0);
    expect(computeTbf({ rate: 3, burst: 1, latency: 1, rounding: 'ceil' }).params.buffer).toBe(5_208_334);
  });

  it('derives the limit from latency as tc does: rate * latency + burst, truncated', () => {
    expect(tbfLimitFor({ rate: 125_000, burst: 4096 }, 25_000)).toBe(7221);
    expect(tbfLimitFor({ rate: 333, burst: 10 }, 1000)).toBe(10); // 0.333 + 10
    expect(tbfLimitFor({ rate: 1_000_000, burst: 10_240, peakrate: 1_250_000, mtu: 1600 }, 50_000)).toBe(60_240);
  });

  it('sizes rate-table cells from the MTU (2047 by default: cell_log 3)', () => {
    const r = calcRateTable(125_000);
    expect(r.cellLog).toBe(3);
    expect(r.table[0]).toBe(1000); // 8 bytes = 64 µs = 1000 ticks
    expect(calcRateTable(125_000, { mtu: 9000 }).cellLog).toBe(6);
    // ATM cells: 48 payload bytes travel in 53.
    expect(calcRateTable(125_000, { linklayer: 'atm', cellLog: 0 }).table[0]).toBe(calcXmittime(125_000, 53));
  });

  it('refuses what tc refuses, naming the parameter', () => {
    const err = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(err(() => computeTbf({ rate: 0, burst: 1, latency: 1 }))).toMatchObject({ field: 'rate' });
    expect(err(() => computeTbf({ rate: 1, burst: 0, latency: 1 }))).toMatchObject({ field: 'burst' });
    expect(err(() => computeTbf({ rate: 1, burst: 1 }))).toMatchObject({ field: 'limit' });
    expect(err(() => computeTbf({ rate: 1, burst: 1, limit: 1, latency: 1 }))).toBeInstanceOf(TbfSpecError);
    expect(err(() => computeTbf({ rate: 1, burst: 1, latency: 1, peakrate: 2 }))).toMatchObject({ field: 'mtu' });
    expect(err(() => computeTbf({ rate: 1, burst: 2 ** 33, latency: 1 }))).toMatchObject({ field: 'burst' });
    expect(err(() => computeTbf({ rate: 1.5, burst: 1, latency: 1 }))).toMatchObject({ field: 'rate' });
  });
});

describe('explicit tbf (the kernel values, sent as the Go netlink library sends them)', () => {
  const REPLACE = NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE;

  it('sends TCA_TBF_PARMS only (no burst, no rate table) for a 32-bit rate', () => {
    const bytes = encodeQdisc(RTM.NEWQDISC, REPLACE, { kind: 'tbf', ifindex: 7, handle: tcHandle(1, 0), tbf: { rate: 125000, limit: 13125, buffer: 1250000 } });
    const [m] = decodeMessages(bytes);
    expect(m?.header.type).toBe(RTM.NEWQDISC);
    const q = decodeQdisc(m!);
    expect(q).toMatchObject({ kind: 'tbf', ifindex: 7, handle: tcHandle(1, 0), parent: TC_H_ROOT });
    expect(q.tbf).toMatchObject({ rate: 125000, limit: 13125, buffer: 1250000, mtu: 0, peakrate: 0 });
    expect(q.tbf?.rateSpec).toEqual({ rate: 125000, cellLog: 0, linklayer: 0, overhead: 0, cellAlign: 0, mpu: 0 });
    // tcmsg (20) + KIND "tbf" (8) + OPTIONS header (4) + PARMS (4 + 36) after the 16-byte nlmsghdr.
    expect(bytes.length).toBe(16 + 20 + 8 + 4 + 40);
  });

  it('adds TCA_TBF_RATE64 above 32 bits; the u32 field keeps the low bits', () => {
    const bytes = encodeQdisc(RTM.NEWQDISC, REPLACE, { kind: 'tbf', ifindex: 3, tbf: { rate: 12_500_000_000, limit: 1312500000, buffer: 1250000 } });
    const q = decodeQdisc(decodeMessages(bytes)[0]!);
    expect(q.tbf?.rate).toBe(12_500_000_000);
    expect(q.tbf?.rateSpec.rate).toBe(12_500_000_000 % 2 ** 32);
  });

  it('refuses values the kernel cannot hold, naming the field', () => {
    const enc = (tbf: { rate: number; limit: number; buffer: number }) => () => encodeQdisc(RTM.NEWQDISC, REPLACE, { kind: 'tbf', ifindex: 1, tbf });
    expect(enc({ rate: 0, limit: 1, buffer: 1 })).toThrow(TbfSpecError);
    expect(enc({ rate: 0, limit: 1, buffer: 1 })).toThrow(expect.objectContaining({ field: 'rate' }));
    expect(enc({ rate: 1, limit: 2 ** 32, buffer: 1 })).toThrow(expect.objectContaining({ field: 'limit' }));
    expect(enc({ rate: 1, limit: 1, buffer: -1 })).toThrow(expect.objectContaining({ field: 'buffer' }));
    expect(enc({ rate: 1.5, limit: 1, buffer: 1 })).toThrow(expect.objectContaining({ field: 'rate' }));
  });
});
