// nftables layer: high-level rule building blocks (the nft(8) phrases CNI plugins use — `iifname`,
// `ip daddr`, `tcp dport`, `ct state`, `fib daddr type local`, `dnat to`, `masquerade`, verdicts,
// set lookups and verdict maps) lowered to expressions exactly as nft lowers them.

import { parseIp } from '../codec/ip.js';
import { NF_CT_STATE, NF_NAT_RANGE, NFPROTO, NFTA_FIB_F, NFT_REG_1, RTN } from './consts.js';
import type { CtState, NftFamily } from './consts.js';
import { be16, concat, ifnameBytes, prefixBytes, u32, u8 } from './data.js';
import { reg32 } from './expr.js';
import type { NftExpr, Verdict } from './expr.js';

/**
 * A group of expressions plus the protocol context it needs. When a rule is built, the context
 * becomes a dependency match (`meta nfproto ipv4` in inet tables, `meta l4proto tcp` before a
 * tcp header load), emitted once per rule, as nft does.
 */
export interface ExprGroup {
  readonly exprs: readonly NftExpr[];
  /** Needs this network protocol. */
  readonly l3?: 'ip' | 'ip6';
  /** Needs this transport protocol. */
  readonly l4?: number;
  /** Establishes a context itself (an explicit `meta nfproto` / `meta l4proto` match). */
  readonly provides?: { readonly l3?: 'ip' | 'ip6'; readonly l4?: number };
}

/** What a rule's expression list accepts: plain expressions and helper groups, in order. */
export type RuleItem = NftExpr | ExprGroup;

const IPPROTO: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, dccp: 33, udplite: 136 };
const ETH_P = { ip: 0x0800, ip6: 0x86dd } as const;

export type L4Proto = 'tcp' | 'udp' | 'sctp' | 'dccp' | 'udplite';

export function protoNumber(p: string | number): number {
  if (typeof p === 'number') return p;
  const n = IPPROTO[p];
  if (n === undefined) throw new RangeError(`unknown protocol "${p}"`);
  return n;
}

function isGroup(x: RuleItem): x is ExprGroup {
  return (x as ExprGroup).exprs !== undefined;
}

/**
 * Flatten rule items for a table family, inserting protocol dependencies where nft would:
 * `meta nfproto` for l3 matches in inet tables, `meta protocol` in bridge/netdev tables, and
 * `meta l4proto` for transport header matches.
 */
export function resolveRuleItems(family: NftFamily, items: readonly RuleItem[]): NftExpr[] {
  const out: NftExpr[] = [];
  let l3: 'ip' | 'ip6' | undefined = family === 'ip' ? 'ip' : family === 'ip6' ? 'ip6' : undefined;
  let l4: number | undefined;
  for (const item of items) {
    if (!isGroup(item)) {
      out.push(item);
      continue;
    }
    if (item.l3 !== undefined && item.l3 !== l3) {
      if (l3 !== undefined) {
        throw new RangeError(`an ${item.l3} match cannot follow an ${l3} match in one rule (family ${family})`);
      }
      if (family === 'inet') out.push(...matchNfproto(item.l3 === 'ip' ? 'ipv4' : 'ipv6').exprs);
      else if (family === 'bridge' || family === 'netdev') out.push(...metaCmp('protocol', be16(ETH_P[item.l3])));
      else throw new RangeError(`an ${item.l3} match cannot be used in a ${family} table`);
      l3 = item.l3;
    }
    if (item.l4 !== undefined && item.l4 !== l4) {
      if (l4 !== undefined) throw new RangeError('matches on two different transport protocols in one rule');
      out.push(...matchL4proto(item.l4).exprs);
      l4 = item.l4;
    }
    out.push(...item.exprs);
    if (item.provides?.l3 !== undefined) l3 = item.provides.l3;
    if (item.provides?.l4 !== undefined) l4 = item.provides.l4;
  }
  return out;
}

function metaCmp(key: 'iifname' | 'oifname' | 'mark' | 'nfproto' | 'l4proto' | 'protocol', data: Uint8Array, op: 'eq' | 'neq' = 'eq'): NftExpr[] {
  return [
    { kind: 'meta', key, dreg: NFT_REG_1 },
    { kind: 'cmp', sreg: NFT_REG_1, op, data },
  ];
}

// ---------------------------------------------------------------------------------------------
// Matches

export function matchIifname(name: string, op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return { exprs: metaCmp('iifname', ifnameBytes(name), op) };
}

export function matchOifname(name: string, op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return { exprs: metaCmp('oifname', ifnameBytes(name), op) };
}

/** `meta mark == mark`, or `meta mark & mask == mark` with a mask. */
export function matchMark(mark: number, opts: { mask?: number; op?: 'eq' | 'neq' } = {}): ExprGroup {
  const load: NftExpr = { kind: 'meta', key: 'mark', dreg: NFT_REG_1 };
  const masked: NftExpr[] =
    opts.mask === undefined
      ? []
      : [{ kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: 4, mask: u32(opts.mask), xor: u32(0) }];
  return { exprs: [load, ...masked, { kind: 'cmp', sreg: NFT_REG_1, op: opts.op ?? 'eq', data: u32(mark) }] };
}

export function matchNfproto(p: 'ipv4' | 'ipv6'): ExprGroup {
  const l3 = p === 'ipv4' ? 'ip' : 'ip6';
  return { exprs: metaCmp('nfproto', u8(NFPROTO[l3])), provides: { l3 } };
}

export function matchL4proto(p: L4Proto | 'icmp' | 'icmpv6' | number): ExprGroup {
  const l4 = protoNumber(p);
  return { exprs: metaCmp('l4proto', u8(l4)), provides: { l4 } };
}

/** Offsets of the addresses in the IPv4 / IPv6 header. */
const ADDR_OFFSET = { ip: { saddr: 12, daddr: 16 }, ip6: { saddr: 8, daddr: 24 } } as const;

function matchAddr(which: 'saddr' | 'daddr', addr: string, op: 'eq' | 'neq'): ExprGroup {
  const cidr = addr.includes('/') ? addr : `${addr}/${parseIp(addr).length * 8}`;
  const p = prefixBytes(cidr);
  const l3 = p.addr.length === 4 ? 'ip' : 'ip6';
  const offset = ADDR_OFFSET[l3][which];
  const prefixLen = Number(cidr.slice(cidr.indexOf('/') + 1));
  if (prefixLen % 8 === 0) {
    // nft loads only the prefix bytes when the prefix is byte aligned.
    const len = prefixLen / 8;
    if (len === 0) throw new RangeError(`a /0 prefix matches everything: ${addr}`);
    return {
      l3,
      exprs: [
        { kind: 'payload', base: 'network', offset, len, dreg: NFT_REG_1 },
        { kind: 'cmp', sreg: NFT_REG_1, op, data: p.addr.slice(0, len) },
      ],
    };
  }
  const len = p.addr.length;
  return {
    l3,
    exprs: [
      { kind: 'payload', base: 'network', offset, len, dreg: NFT_REG_1 },
      { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len, mask: p.mask, xor: new Uint8Array(len) },
      { kind: 'cmp', sreg: NFT_REG_1, op, data: p.addr },
    ],
  };
}

/** `ip saddr A` / `ip6 saddr A` (family from the address); a CIDR matches the prefix. */
export function matchSaddr(addr: string, op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return matchAddr('saddr', addr, op);
}

export function matchDaddr(addr: string, op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return matchAddr('daddr', addr, op);
}

function matchPort(which: 'sport' | 'dport', proto: L4Proto | undefined, port: number | readonly [number, number], op: 'eq' | 'neq'): ExprGroup {
  const load: NftExpr = { kind: 'payload', base: 'transport', offset: which === 'sport' ? 0 : 2, len: 2, dreg: NFT_REG_1 };
  let exprs: NftExpr[];
  if (typeof port === 'number') {
    exprs = [load, { kind: 'cmp', sreg: NFT_REG_1, op, data: be16(port) }];
  } else if (op === 'eq') {
    exprs = [
      load,
      { kind: 'cmp', sreg: NFT_REG_1, op: 'gte', data: be16(port[0]) },
      { kind: 'cmp', sreg: NFT_REG_1, op: 'lte', data: be16(port[1]) },
    ];
  } else {
    exprs = [load, { kind: 'range', sreg: NFT_REG_1, op: 'neq', from: be16(port[0]), to: be16(port[1]) }];
  }
  return proto === undefined ? { exprs } : { exprs, l4: protoNumber(proto) };
}

/** `tcp dport 8080`, `udp dport 53`, `tcp dport 1000-2000` (a [lo, hi] tuple). */
export function matchL4Dport(proto: L4Proto, port: number | readonly [number, number], op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return matchPort('dport', proto, port, op);
}

export function matchL4Sport(proto: L4Proto, port: number | readonly [number, number], op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return matchPort('sport', proto, port, op);
}

/** `th dport P`: the transport header's destination port whatever the protocol. */
export function matchThDport(port: number | readonly [number, number], op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return matchPort('dport', undefined, port, op);
}

/** `ct state established,related` (any of the states). */
export function matchCtState(states: readonly CtState[], op: 'eq' | 'neq' = 'eq'): ExprGroup {
  const bits = states.reduce((b, s) => b | NF_CT_STATE[s], 0);
  return {
    exprs: [
      { kind: 'ct', key: 'state', dreg: NFT_REG_1 },
      { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: 4, mask: u32(bits), xor: u32(0) },
      // "any of": (state & bits) != 0; "none of": (state & bits) == 0
      { kind: 'cmp', sreg: NFT_REG_1, op: op === 'eq' ? 'neq' : 'eq', data: u32(0) },
    ],
  };
}

/** `ct original ip daddr A` / `ct original ip6 daddr A`. */
export function matchCtOriginalDaddr(addr: string, op: 'eq' | 'neq' = 'eq'): ExprGroup {
  const b = parseIp(addr);
  return {
    exprs: [
      { kind: 'ct', key: b.length === 4 ? 'dst_ip' : 'dst_ip6', dreg: NFT_REG_1, direction: 'original' },
      { kind: 'cmp', sreg: NFT_REG_1, op, data: b },
    ],
  };
}

/** `fib daddr type local`: the destination is an address of this host (RTN_LOCAL). */
export function matchFibDaddrLocal(op: 'eq' | 'neq' = 'eq'): ExprGroup {
  return {
    exprs: [
      { kind: 'fib', dreg: NFT_REG_1, result: 'addrtype', flags: NFTA_FIB_F.daddr },
      { kind: 'cmp', sreg: NFT_REG_1, op, data: u32(RTN.local) },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Selectors: values loaded into registers for set lookups and maps

/** A value source for a set key (one field of a possibly concatenated key). */
export interface Selector {
  /** Bytes the value takes (before padding to 4 in concatenations). */
  readonly len: number;
  readonly l3?: 'ip' | 'ip6';
  readonly l4?: number;
  /** Load the value into `dreg`. */
  load(dreg: number): NftExpr[];
}

function payloadSel(base: 'network' | 'transport', offset: number, len: number, deps: { l3?: 'ip' | 'ip6'; l4?: number }): Selector {
  return { len, ...deps, load: (dreg) => [{ kind: 'payload', base, offset, len, dreg }] };
}

function metaSel(key: 'iifname' | 'oifname' | 'mark' | 'l4proto' | 'nfproto', len: number): Selector {
  return { len, load: (dreg) => [{ kind: 'meta', key, dreg }] };
}

export const sel = {
  ipSaddr: payloadSel('network', 12, 4, { l3: 'ip' }),
  ipDaddr: payloadSel('network', 16, 4, { l3: 'ip' }),
  ip6Saddr: payloadSel('network', 8, 16, { l3: 'ip6' }),
  ip6Daddr: payloadSel('network', 24, 16, { l3: 'ip6' }),
  thDport: payloadSel('transport', 2, 2, {}),
  thSport: payloadSel('transport', 0, 2, {}),
  tcpDport: payloadSel('transport', 2, 2, { l4: 6 }),
  udpDport: payloadSel('transport', 2, 2, { l4: 17 }),
  l4proto: metaSel('l4proto', 1),
  iifname: metaSel('iifname', 16),
  oifname: metaSel('oifname', 16),
  mark: metaSel('mark', 4),
} as const;

/** Load a (concatenated) key into consecutive 4-byte register slots starting at NFT_REG_1. */
function loadKey(selectors: readonly Selector[]): { exprs: NftExpr[]; l3?: 'ip' | 'ip6'; l4?: number } {
  if (selectors.length === 0) throw new RangeError('a set key needs at least one selector');
  const exprs: NftExpr[] = [];
  let slot = 0;
  let l3: 'ip' | 'ip6' | undefined;
  let l4: number | undefined;
  for (const s of selectors) {
    exprs.push(...s.load(reg32(slot)));
    slot += Math.ceil(s.len / 4);
    if (s.l3 !== undefined) {
      if (l3 !== undefined && l3 !== s.l3) throw new RangeError('a key cannot mix ip and ip6 fields');
      l3 = s.l3;
    }
    if (s.l4 !== undefined) {
      if (l4 !== undefined && l4 !== s.l4) throw new RangeError('a key cannot mix transport protocols');
      l4 = s.l4;
    }
  }
  if (slot > 16) throw new RangeError('a key longer than 64 bytes does not fit the registers');
  return { exprs, ...(l3 === undefined ? {} : { l3 }), ...(l4 === undefined ? {} : { l4 }) };
}

function withDeps(k: { l3?: 'ip' | 'ip6'; l4?: number }, exprs: NftExpr[]): ExprGroup {
  return { exprs, ...(k.l3 === undefined ? {} : { l3: k.l3 }), ...(k.l4 === undefined ? {} : { l4: k.l4 }) };
}

/** `ip saddr @set` (or a concatenation: `ip daddr . tcp dport @set`); `op: 'neq'` is `!= @set`. */
export function matchInSet(set: string, key: readonly Selector[], opts: { op?: 'eq' | 'neq'; setId?: number } = {}): ExprGroup {
  const k = loadKey(key);
  return withDeps(k, [
    ...k.exprs,
    {
      kind: 'lookup',
      set,
      sreg: NFT_REG_1,
      ...(opts.setId === undefined ? {} : { setId: opts.setId }),
      ...(opts.op === 'neq' ? { invert: true } : {}),
    },
  ]);
}

/** `<key> vmap @set`: the verdict map decides (jump/goto/accept/drop per element). */
export function vmap(set: string, key: readonly Selector[], opts: { setId?: number } = {}): ExprGroup {
  const k = loadKey(key);
  return withDeps(k, [
    ...k.exprs,
    { kind: 'lookup', set, sreg: NFT_REG_1, dreg: 0, ...(opts.setId === undefined ? {} : { setId: opts.setId }) },
  ]);
}

/**
 * `dnat ip to <key> map @set` where the map yields `address . port`
 * (e.g. `type inet_proto . inet_service : ipv4_addr . inet_service`).
 */
export function dnatToMap(set: string, key: readonly Selector[], opts: { family?: 'ip' | 'ip6'; setId?: number } = {}): ExprGroup {
  const family = opts.family ?? 'ip';
  const k = loadKey(key);
  const addrSlots = family === 'ip' ? 1 : 4;
  return withDeps(k, [
    ...k.exprs,
    { kind: 'lookup', set, sreg: NFT_REG_1, dreg: NFT_REG_1, ...(opts.setId === undefined ? {} : { setId: opts.setId }) },
    { kind: 'nat', type: 'dnat', family, addrMin: NFT_REG_1, protoMin: reg32(addrSlots) },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Statements

export function counter(): NftExpr {
  return { kind: 'counter' };
}

export function verdict(v: Verdict): NftExpr {
  return { kind: 'verdict', verdict: v };
}
export function accept(): NftExpr {
  return verdict({ code: 'accept' });
}
export function drop(): NftExpr {
  return verdict({ code: 'drop' });
}
/** `return` (named `ret` because `return` is reserved). */
export function ret(): NftExpr {
  return verdict({ code: 'return' });
}
export function jump(chain: string): NftExpr {
  return verdict({ code: 'jump', chain });
}
export function goTo(chain: string): NftExpr {
  return verdict({ code: 'goto', chain });
}

function natTo(type: 'snat' | 'dnat', addr: string, port: number | readonly [number, number] | undefined): NftExpr[] {
  const a = parseIp(addr);
  const family = a.length === 4 ? 'ip' : 'ip6';
  const exprs: NftExpr[] = [{ kind: 'immediate', dreg: NFT_REG_1, data: a }];
  if (port === undefined) {
    exprs.push({ kind: 'nat', type, family, addrMin: NFT_REG_1 });
    return exprs;
  }
  const [lo, hi] = typeof port === 'number' ? [port, undefined] : port;
  exprs.push({ kind: 'immediate', dreg: NFT_REG_1 + 1, data: be16(lo) });
  if (hi !== undefined) exprs.push({ kind: 'immediate', dreg: NFT_REG_1 + 2, data: be16(hi) });
  exprs.push({
    kind: 'nat',
    type,
    family,
    addrMin: NFT_REG_1,
    protoMin: NFT_REG_1 + 1,
    ...(hi === undefined ? {} : { protoMax: NFT_REG_1 + 2 }),
    flags: NF_NAT_RANGE.PROTO_SPECIFIED,
  });
  return exprs;
}

/** `dnat to 10.1.0.2:80` (`dnat ip to ...` in inet tables); the port is optional. */
export function dnatTo(addr: string, port?: number | readonly [number, number]): ExprGroup {
  return { exprs: natTo('dnat', addr, port) };
}

export function snatTo(addr: string, port?: number | readonly [number, number]): ExprGroup {
  return { exprs: natTo('snat', addr, port) };
}

/** `masquerade`, optionally `masquerade to :lo-hi`. */
export function masquerade(opts: { ports?: readonly [number, number]; random?: boolean; fullyRandom?: boolean; persistent?: boolean } = {}): ExprGroup {
  let flags = 0;
  if (opts.random) flags |= NF_NAT_RANGE.PROTO_RANDOM;
  if (opts.fullyRandom) flags |= NF_NAT_RANGE.PROTO_RANDOM_FULLY;
  if (opts.persistent) flags |= NF_NAT_RANGE.PERSISTENT;
  if (opts.ports === undefined) return { exprs: [{ kind: 'masq', ...(flags ? { flags } : {}) }] };
  flags |= NF_NAT_RANGE.PROTO_SPECIFIED;
  return {
    exprs: [
      { kind: 'immediate', dreg: NFT_REG_1, data: be16(opts.ports[0]) },
      { kind: 'immediate', dreg: NFT_REG_1 + 1, data: be16(opts.ports[1]) },
      { kind: 'masq', flags, protoMin: NFT_REG_1, protoMax: NFT_REG_1 + 1 },
    ],
  };
}

/** `redirect to :port` (needs the kernel's nft_redir module). */
export function redirectTo(port: number): ExprGroup {
  return {
    exprs: [
      { kind: 'immediate', dreg: NFT_REG_1, data: be16(port) },
      { kind: 'redir', protoMin: NFT_REG_1, flags: NF_NAT_RANGE.PROTO_SPECIFIED },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Set element values

/** Key/data bytes for set elements, laid out like the registers the rule loads. */
export const val = {
  ip: (addr: string): Uint8Array => parseIp(addr),
  port: (p: number): Uint8Array => be16(p),
  proto: (p: L4Proto | number): Uint8Array => u8(protoNumber(p)),
  ifname: (n: string): Uint8Array => ifnameBytes(n),
  mark: (m: number): Uint8Array => u32(m),
  /** A concatenated value: every field padded to 4 bytes. */
  concat,
} as const;
