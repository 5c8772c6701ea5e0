// Rule helpers: protocol dependencies per table family, prefix lowering, ranges, NAT registers,
// and the user-data / raw-expression round trips.
import { describe, expect, it } from 'vitest';
import { NlWriter } from '../codec/writer.js';
import { NF_NAT_RANGE, NFT_REG_1 } from './consts.js';
import { decodeExpr, encodeExpr } from './expr.js';
import type { NftExpr } from './expr.js';
import {
  dnatTo,
  masquerade,
  matchCtState,
  matchDaddr,
  matchIifname,
  matchInSet,
  matchL4Dport,
  matchMark,
  matchSaddr,
  redirectTo,
  resolveRuleItems,
  sel,
  val,
} from './helpers.js';
import { decodeComment, decodeUdata, encodeComment, encodeUdata } from './udata.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('protocol dependencies', () => {
  it('adds `meta nfproto` once per rule in inet tables, nothing in ip tables', () => {
    const items = [matchSaddr('10.0.0.1'), matchDaddr('10.0.0.0/8')];
    const inet = resolveRuleItems('inet', items);
    expect(inet.slice(0, 2)).toEqual([
      { kind: 'meta', key: 'nfproto', dreg: NFT_REG_1 },
      { kind: 'cmp', sreg: NFT_REG_1, op: 'eq', data: bytes(2) },
    ]);
    expect(inet.filter((e) => e.kind === 'meta')).toHaveLength(1);
    expect(resolveRuleItems('ip', items).filter((e) => e.kind === 'meta')).toHaveLength(0);
  });

  it('uses the ethertype in bridge and netdev tables', () => {
    const [meta, cmp] = resolveRuleItems('bridge', [matchDaddr('fd00::1')]);
    expect(meta).toEqual({ kind: 'meta', key: 'protocol', dreg: NFT_REG_1 });
    expect(cmp).toMatchObject({ kind: 'cmp', data: bytes(0x86, 0xdd) });
  });

  it('refuses matches that cannot meet in one rule or table', () => {
    expect(() => resolveRuleItems('ip', [matchDaddr('fd00::1')])).toThrow(/ip6 match/);
    expect(() => resolveRuleItems('inet', [matchSaddr('10.0.0.1'), matchDaddr('fd00::1')])).toThrow(/cannot follow/);
    expect(() => resolveRuleItems('ip', [matchL4Dport('tcp', 1), matchL4Dport('udp', 2)])).toThrow(/two different transport/);
    expect(() => resolveRuleItems('arp', [matchDaddr('10.0.0.1')])).toThrow(/arp table/);
  });

  it('loads the l4proto dependency once for several matches on the same protocol', () => {
    const exprs = resolveRuleItems('ip', [matchL4Dport('tcp', 80), { ...matchL4Dport('tcp', 8080), exprs: [] }]);
    expect(exprs.filter((e) => e.kind === 'meta' && e.key === 'l4proto')).toHaveLength(1);
  });
});

describe('matches', () => {
  it('lowers prefixes like nft: whole bytes shorten the load, other lengths mask', () => {
    expect(matchDaddr('10.1.2.3').exprs[0]).toMatchObject({ kind: 'payload', offset: 16, len: 4 });
    expect(matchDaddr('10.1.0.0/16').exprs).toEqual([
      { kind: 'payload', base: 'network', offset: 16, len: 2, dreg: NFT_REG_1 },
      { kind: 'cmp', sreg: NFT_REG_1, op: 'eq', data: bytes(10, 1) },
    ]);
    // Host bits of the given address are cleared before comparing.
    expect(matchSaddr('10.1.2.3/20').exprs[1]).toMatchObject({ kind: 'bitwise', mask: bytes(255, 255, 240, 0) });
    expect(matchSaddr('10.1.2.3/20').exprs[2]).toMatchObject({ kind: 'cmp', data: bytes(10, 1, 0, 0) });
    expect(matchSaddr('fd00::/64').exprs[0]).toMatchObject({ offset: 8, len: 8 });
    expect(() => matchDaddr('0.0.0.0/0')).toThrow(/matches everything/);
  });

  it('port ranges: gte/lte for equality, a range expression for inequality', () => {
    expect(matchL4Dport('udp', [1000, 2000]).exprs.slice(1)).toEqual([
      { kind: 'cmp', sreg: NFT_REG_1, op: 'gte', data: bytes(0x03, 0xe8) },
      { kind: 'cmp', sreg: NFT_REG_1, op: 'lte', data: bytes(0x07, 0xd0) },
    ]);
    expect(matchL4Dport('tcp', [1, 2], 'neq').exprs[1]).toMatchObject({ kind: 'range', op: 'neq' });
    expect(matchL4Dport('tcp', 22).l4).toBe(6);
    expect(() => matchL4Dport('tcp', 70000)).toThrow(RangeError);
  });

  it('ct state: any-of is (state & bits) != 0, none-of is == 0', () => {
    expect(matchCtState(['new']).exprs[2]).toMatchObject({ op: 'neq' });
    expect(matchCtState(['invalid', 'untracked'], 'neq').exprs[2]).toMatchObject({ op: 'eq' });
  });

  it('marks with and without a mask, interface names padded to IFNAMSIZ', () => {
    expect(matchMark(0x10, { mask: 0xf0 }).exprs.map((e) => e.kind)).toEqual(['meta', 'bitwise', 'cmp']);
    expect(matchIifname('eth0').exprs[1]).toMatchObject({ data: new Uint8Array([101, 116, 104, 48, ...new Array<number>(12).fill(0)]) });
    expect(() => matchIifname('a-very-long-ifname')).toThrow(/longer than 15/);
  });

  it('set lookups place concatenated fields in consecutive 4-byte registers', () => {
    const g = matchInSet('s', [sel.ip6Daddr, sel.tcpDport, sel.mark], { op: 'neq' });
    const loads = g.exprs.filter((e) => e.kind === 'payload' || e.kind === 'meta');
    expect(loads.map((e) => ('dreg' in e ? e.dreg : -1))).toEqual([1, 2, 13]);
    expect(g.exprs.at(-1)).toMatchObject({ kind: 'lookup', set: 's', sreg: 1, invert: true });
    expect(g).toMatchObject({ l3: 'ip6', l4: 6 });
    expect(val.concat(val.proto('udp'), val.port(53))).toEqual(bytes(17, 0, 0, 0, 0, 53, 0, 0));
  });
});

describe('statements', () => {
  it('NAT to an IPv6 address and port range uses the ip6 family and three registers', () => {
    const nat = dnatTo('fd00::2', [8000, 8080]).exprs;
    expect(nat.at(-1)).toEqual({
      kind: 'nat',
      type: 'dnat',
      family: 'ip6',
      addrMin: 1,
      protoMin: 2,
      protoMax: 3,
      flags: NF_NAT_RANGE.PROTO_SPECIFIED,
    });
  });

  it('masquerade flags and redirect', () => {
    expect(masquerade({ fullyRandom: true, persistent: true }).exprs).toEqual([
      { kind: 'masq', flags: NF_NAT_RANGE.PROTO_RANDOM_FULLY | NF_NAT_RANGE.PERSISTENT },
    ]);
    expect(redirectTo(8080).exprs[1]).toEqual({ kind: 'redir', protoMin: 1, flags: NF_NAT_RANGE.PROTO_SPECIFIED });
  });
});

describe('round trips', () => {
  const roundTrip = (e: NftExpr): NftExpr => {
    const w = new NlWriter();
    encodeExpr(w, e);
    // Strip the NFTA_LIST_ELEM header the encoder wraps each expression in.
    return decodeExpr(w.finish().subarray(4));
  };

  it('every modelled expression decodes to what was encoded', () => {
    const all: NftExpr[] = [
      ...resolveRuleItems('inet', [matchIifname('eth0'), matchSaddr('10.0.0.0/9'), matchL4Dport('tcp', [1, 9], 'neq')]),
      ...matchCtState(['established']).exprs,
      ...dnatTo('10.0.0.1', 80).exprs,
      ...masquerade({ ports: [1, 2] }).exprs,
      ...redirectTo(1).exprs,
      ...matchInSet('x', [sel.iifname], { setId: 4 }).exprs,
      { kind: 'meta-set', key: 'mark', sreg: 1 },
      { kind: 'counter', bytes: 10n, packets: 1n },
      { kind: 'ct', key: 'dst_ip6', dreg: 1, direction: 'reply' },
      { kind: 'fib', dreg: 1, result: 'oif', flags: 3 },
      { kind: 'verdict', verdict: { code: 'goto', chain: 'c' } },
      { kind: 'verdict', verdict: { code: 'continue' } },
      { kind: 'raw', name: 'limit', data: bytes(8, 0, 1, 0, 0, 0, 0, 1) },
    ];
    for (const e of all) expect(roundTrip(e)).toEqual(e);
  });

  it('user data: comments and arbitrary TLVs, with the kernel limit enforced', () => {
    expect(decodeComment(encodeComment('cid-1'))).toBe('cid-1');
    expect(encodeComment('ab')).toEqual(bytes(0, 3, 97, 98, 0));
    expect(decodeUdata(encodeUdata([{ type: 7, value: bytes(1) }, { type: 0, value: bytes(104, 0) }]))).toEqual([
      { type: 7, value: bytes(1) },
      { type: 0, value: bytes(104, 0) },
    ]);
    expect(decodeComment(encodeUdata([{ type: 7, value: bytes(1) }]))).toBeUndefined();
    expect(() => encodeComment('x'.repeat(300))).toThrow(RangeError);
    expect(() => encodeComment('a\u0000b')).toThrow(/NUL/);
  });
});
