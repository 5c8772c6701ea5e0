// nftables layer: rule expressions (NFTA_EXPR_NAME + NFTA_EXPR_DATA of linux/netfilter/nf_tables.h)
// as a typed union, with encoders that emit attributes in libnftnl's order and decoders for dumps.

import { NLA_F_NESTED } from '../codec/netlink.js';
import { AttrMap, NetlinkDecodeError } from '../codec/reader.js';
import type { NlWriter } from '../codec/writer.js';
import {
  IP_CT_DIR,
  NF_ACCEPT,
  NF_DROP,
  NFPROTO,
  NFT_BITWISE,
  NFT_BREAK,
  NFT_CMP,
  NFT_CONTINUE,
  NFT_CT,
  NFT_FIB_RESULT,
  NFT_GOTO,
  NFT_JUMP,
  NFT_LOOKUP_F_INV,
  NFT_META,
  NFT_NAT,
  NFT_PAYLOAD_BASE,
  NFT_REG_1,
  NFT_REG32_00,
  NFT_RETURN,
  NFTA_BITWISE,
  NFTA_CMP,
  NFTA_COUNTER,
  NFTA_CT,
  NFTA_DATA,
  NFTA_EXPR,
  NFTA_FIB,
  NFTA_IMMEDIATE,
  NFTA_LIST_ELEM,
  NFTA_LOOKUP,
  NFTA_MASQ,
  NFTA_META,
  NFTA_NAT,
  NFTA_PAYLOAD,
  NFTA_RANGE,
  NFTA_REDIR,
  NFTA_VERDICT,
} from './consts.js';
import type { CmpOp, CtKey, FibResult, MetaKey, PayloadBase } from './consts.js';

/** What an immediate/verdict map yields: a netfilter verdict or a chain transfer. */
export type Verdict =
  | { readonly code: 'accept' | 'drop' | 'continue' | 'break' | 'return' }
  | { readonly code: 'jump' | 'goto'; readonly chain: string };

/**
 * One expression of a rule. Registers are the kernel's numbers (0 = verdict, 1-4 = 16-byte,
 * 8-23 = 4-byte); `reg32()` converts a 4-byte slot index the way nft does.
 */
export type NftExpr =
  | { readonly kind: 'meta'; readonly key: MetaKey | number; readonly dreg: number }
  | { readonly kind: 'meta-set'; readonly key: MetaKey | number; readonly sreg: number }
  | {
      readonly kind: 'payload';
      readonly base: PayloadBase;
      readonly offset: number;
      readonly len: number;
      readonly dreg: number;
    }
  | { readonly kind: 'cmp'; readonly sreg: number; readonly op: CmpOp; readonly data: Uint8Array }
  | {
      readonly kind: 'range';
      readonly sreg: number;
      readonly op: 'eq' | 'neq';
      readonly from: Uint8Array;
      readonly to: Uint8Array;
    }
  | {
      readonly kind: 'bitwise';
      readonly sreg: number;
      readonly dreg: number;
      readonly len: number;
      readonly mask: Uint8Array;
      readonly xor: Uint8Array;
    }
  | { readonly kind: 'immediate'; readonly dreg: number; readonly data: Uint8Array }
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  | {
      readonly kind: 'lookup';
      readonly set: string;
      readonly setId?: number;
      readonly sreg: number;
      /** Present for maps: where the mapped value goes (0 = verdict register for vmaps). */
      readonly dreg?: number;
      readonly invert?: boolean;
    }
  | { readonly kind: 'counter'; readonly bytes?: bigint; readonly packets?: bigint }
  | {
      readonly kind: 'ct';
      readonly key: CtKey | number;
      readonly dreg: number;
      readonly direction?: 'original' | 'reply';
    }
  | {
      readonly kind: 'nat';
      readonly type: 'snat' | 'dnat';
      readonly family: 'ip' | 'ip6';
      readonly addrMin?: number;
      readonly addrMax?: number;
      readonly protoMin?: number;
      readonly protoMax?: number;
      /** NF_NAT_RANGE_* bits. */
      readonly flags?: number;
    }
  | { readonly kind: 'masq'; readonly flags?: number; readonly protoMin?: number; readonly protoMax?: number }
  | { readonly kind: 'redir'; readonly flags?: number; readonly protoMin?: number; readonly protoMax?: number }
  | {
      readonly kind: 'fib';
      readonly dreg: number;
      readonly result: FibResult;
      /** NFTA_FIB_F_* bits. */
      readonly flags: number;
    }
  /** Any expression tscni does not model, kept byte-for-byte so dumps round-trip. */
  | { readonly kind: 'raw'; readonly name: string; readonly data: Uint8Array };

/**
 * nft's register numbering for a 4-byte slot index: slots on a 16-byte boundary use the legacy
 * NFT_REG_1..4 numbers, the others NFT_REG32_xx (netlink_put_register in nftables).
 */
export function reg32(slot: number): number {
  return slot % 4 === 0 ? NFT_REG_1 + slot / 4 : NFT_REG32_00 + slot;
}

function keyNum<K extends string>(table: Readonly<Record<K, number>>, key: K | number): number {
  return typeof key === 'number' ? key : table[key];
}

function keyName<K extends string>(table: Readonly<Record<K, number>>, n: number): K | number {
  for (const [k, v] of Object.entries(table) as Array<[K, number]>) if (v === n) return k;
  return n;
}

function putBe64(w: NlWriter, type: number, v: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, false);
  w.putBytes(type, b);
}

function nest(w: NlWriter, type: number, body: () => void): void {
  const at = w.beginNested(type | NLA_F_NESTED);
  body();
  w.endNested(at);
}

/** struct nft_data holding a value: NFTA_DATA_VALUE inside the given attribute. */
export function putDataValue(w: NlWriter, type: number, value: Uint8Array): void {
  nest(w, type, () => w.putBytes(NFTA_DATA.VALUE, value));
}

/** struct nft_data holding a verdict: NFTA_DATA_VERDICT { CODE, CHAIN? }. */
export function putDataVerdict(w: NlWriter, type: number, v: Verdict): void {
  nest(w, type, () =>
    nest(w, NFTA_DATA.VERDICT, () => {
      w.putBe32(NFTA_VERDICT.CODE, verdictCode(v));
      if (v.code === 'jump' || v.code === 'goto') w.putString(NFTA_VERDICT.CHAIN, v.chain);
    }),
  );
}

export function verdictCode(v: Verdict): number {
  switch (v.code) {
    case 'accept':
      return NF_ACCEPT;
    case 'drop':
      return NF_DROP;
    case 'continue':
      return NFT_CONTINUE >>> 0;
    case 'break':
      return NFT_BREAK >>> 0;
    case 'return':
      return NFT_RETURN >>> 0;
    case 'jump':
      return NFT_JUMP >>> 0;
    case 'goto':
      return NFT_GOTO >>> 0;
  }
}

/** Decoded struct nft_data: a value or a verdict. */
export type NftData = { readonly value: Uint8Array } | { readonly verdict: Verdict };

export function decodeData(buf: Uint8Array): NftData {
  const a = AttrMap.parse(buf);
  const value = a.get(NFTA_DATA.VALUE);
  if (value !== undefined) return { value: value.slice() };
  const v = a.nested(NFTA_DATA.VERDICT);
  if (v === undefined) throw new NetlinkDecodeError('nft_data with neither value nor verdict', 0);
  return { verdict: decodeVerdict(v) };
}

export function decodeVerdict(a: AttrMap): Verdict {
  const raw = a.be32(NFTA_VERDICT.CODE);
  if (raw === undefined) throw new NetlinkDecodeError('verdict without NFTA_VERDICT_CODE', 0);
  const code = raw | 0;
  switch (code) {
    case NF_ACCEPT:
      return { code: 'accept' };
    case NF_DROP:
      return { code: 'drop' };
    case NFT_CONTINUE:
      return { code: 'continue' };
    case NFT_BREAK:
      return { code: 'break' };
    case NFT_RETURN:
      return { code: 'return' };
    case NFT_JUMP:
    case NFT_GOTO:
      return { code: code === NFT_JUMP ? 'jump' : 'goto', chain: a.str(NFTA_VERDICT.CHAIN) ?? '' };
    default:
      throw new NetlinkDecodeError(`unknown verdict code ${code}`, 0);
  }
}

function exprName(e: NftExpr): string {
  switch (e.kind) {
    case 'meta-set':
      return 'meta';
    case 'verdict':
      return 'immediate';
    case 'raw':
      return e.name;
    default:
      return e.kind;
  }
}

/** Write one expression as an NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS. */
export function encodeExpr(w: NlWriter, e: NftExpr): void {
  nest(w, NFTA_LIST_ELEM, () => {
    w.putString(NFTA_EXPR.NAME, exprName(e));
    if (e.kind === 'raw') {
      const at = w.beginNested(NFTA_EXPR.DATA | NLA_F_NESTED);
      w.writeBytes(e.data);
      w.endNested(at);
      return;
    }
    nest(w, NFTA_EXPR.DATA, () => encodeExprData(w, e));
  });
}

function encodeExprData(w: NlWriter, e: Exclude<NftExpr, { kind: 'raw' }>): void {
  switch (e.kind) {
    case 'meta':
      w.putBe32(NFTA_META.KEY, keyNum(NFT_META, e.key));
      w.putBe32(NFTA_META.DREG, e.dreg);
      return;
    case 'meta-set':
      w.putBe32(NFTA_META.KEY, keyNum(NFT_META, e.key));
      w.putBe32(NFTA_META.SREG, e.sreg);
      return;
    case 'payload':
      w.putBe32(NFTA_PAYLOAD.DREG, e.dreg);
      w.putBe32(NFTA_PAYLOAD.BASE, NFT_PAYLOAD_BASE[e.base]);
      w.putBe32(NFTA_PAYLOAD.OFFSET, e.offset);
      w.putBe32(NFTA_PAYLOAD.LEN, e.len);
      return;
    case 'cmp':
      w.putBe32(NFTA_CMP.SREG, e.sreg);
      w.putBe32(NFTA_CMP.OP, NFT_CMP[e.op]);
      putDataValue(w, NFTA_CMP.DATA, e.data);
      return;
    case 'range':
      w.putBe32(NFTA_RANGE.SREG, e.sreg);
      w.putBe32(NFTA_RANGE.OP, e.op === 'eq' ? 0 : 1);
      putDataValue(w, NFTA_RANGE.FROM_DATA, e.from);
      putDataValue(w, NFTA_RANGE.TO_DATA, e.to);
      return;
    case 'bitwise':
      w.putBe32(NFTA_BITWISE.SREG, e.sreg);
      w.putBe32(NFTA_BITWISE.DREG, e.dreg);
      w.putBe32(NFTA_BITWISE.LEN, e.len);
      putDataValue(w, NFTA_BITWISE.MASK, e.mask);
      putDataValue(w, NFTA_BITWISE.XOR, e.xor);
      return;
    case 'immediate':
      w.putBe32(NFTA_IMMEDIATE.DREG, e.dreg);
      putDataValue(w, NFTA_IMMEDIATE.DATA, e.data);
      return;
    case 'verdict':
      w.putBe32(NFTA_IMMEDIATE.DREG, 0);
      putDataVerdict(w, NFTA_IMMEDIATE.DATA, e.verdict);
      return;
    case 'lookup':
      w.putBe32(NFTA_LOOKUP.SREG, e.sreg);
      if (e.dreg !== undefined) w.putBe32(NFTA_LOOKUP.DREG, e.dreg);
      w.putString(NFTA_LOOKUP.SET, e.set);
      if (e.setId !== undefined) w.putBe32(NFTA_LOOKUP.SET_ID, e.setId);
      if (e.invert) w.putBe32(NFTA_LOOKUP.FLAGS, NFT_LOOKUP_F_INV);
      return;
    case 'counter':
      if (e.bytes !== undefined) putBe64(w, NFTA_COUNTER.BYTES, e.bytes);
      if (e.packets !== undefined) putBe64(w, NFTA_COUNTER.PACKETS, e.packets);
      return;
    case 'ct':
      w.putBe32(NFTA_CT.KEY, keyNum(NFT_CT, e.key));
      w.putBe32(NFTA_CT.DREG, e.dreg);
      if (e.direction !== undefined) w.putU8(NFTA_CT.DIRECTION, IP_CT_DIR[e.direction]);
      return;
    case 'nat':
      w.putBe32(NFTA_NAT.TYPE, e.type === 'snat' ? NFT_NAT.SNAT : NFT_NAT.DNAT);
      w.putBe32(NFTA_NAT.FAMILY, NFPROTO[e.family]);
      if (e.addrMin !== undefined) w.putBe32(NFTA_NAT.REG_ADDR_MIN, e.addrMin);
      if (e.addrMax !== undefined) w.putBe32(NFTA_NAT.REG_ADDR_MAX, e.addrMax);
      if (e.protoMin !== undefined) w.putBe32(NFTA_NAT.REG_PROTO_MIN, e.protoMin);
      if (e.protoMax !== undefined) w.putBe32(NFTA_NAT.REG_PROTO_MAX, e.protoMax);
      if (e.flags !== undefined) w.putBe32(NFTA_NAT.FLAGS, e.flags);
      return;
    case 'masq':
      if (e.flags !== undefined) w.putBe32(NFTA_MASQ.FLAGS, e.flags);
      if (e.protoMin !== undefined) w.putBe32(NFTA_MASQ.REG_PROTO_MIN, e.protoMin);
      if (e.protoMax !== undefined) w.putBe32(NFTA_MASQ.REG_PROTO_MAX, e.protoMax);
      return;
    case 'redir':
      if (e.protoMin !== undefined) w.putBe32(NFTA_REDIR.REG_PROTO_MIN, e.protoMin);
      if (e.protoMax !== undefined) w.putBe32(NFTA_REDIR.REG_PROTO_MAX, e.protoMax);
      if (e.flags !== undefined) w.putBe32(NFTA_REDIR.FLAGS, e.flags);
      return;
    case 'fib':
      w.putBe32(NFTA_FIB.FLAGS, e.flags);
      w.putBe32(NFTA_FIB.RESULT, NFT_FIB_RESULT[e.result]);
      w.putBe32(NFTA_FIB.DREG, e.dreg);
      return;
  }
}

function req(a: AttrMap, type: number, what: string): number {
  const v = a.be32(type);
  if (v === undefined) throw new NetlinkDecodeError(`${what}: missing attribute ${type}`, 0);
  return v;
}

function reqData(a: AttrMap, type: number, what: string): Uint8Array {
  const d = a.get(type);
  if (d === undefined) throw new NetlinkDecodeError(`${what}: missing attribute ${type}`, 0);
  const data = decodeData(d);
  if (!('value' in data)) throw new NetlinkDecodeError(`${what}: expected a value, got a verdict`, 0);
  return data.value;
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/** Decode one NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS. Unknown expressions come back as 'raw'. */
export function decodeExpr(elem: Uint8Array): NftExpr {
  const outer = AttrMap.parse(elem);
  const name = outer.str(NFTA_EXPR.NAME);
  if (name === undefined) throw new NetlinkDecodeError('expression without NFTA_EXPR_NAME', 0);
  const data = outer.get(NFTA_EXPR.DATA) ?? new Uint8Array(0);
  const a = AttrMap.parse(data);
  switch (name) {
    case 'meta': {
      const key = keyName(NFT_META, req(a, NFTA_META.KEY, 'meta'));
      const sreg = a.be32(NFTA_META.SREG);
      if (sreg !== undefined) return { kind: 'meta-set', key, sreg };
      return { kind: 'meta', key, dreg: req(a, NFTA_META.DREG, 'meta') };
    }
    case 'payload': {
      const base = keyName(NFT_PAYLOAD_BASE, req(a, NFTA_PAYLOAD.BASE, 'payload'));
      // Payload writes (SREG, checksum fixups) are not modelled: keep them raw.
      if (typeof base === 'number' || a.has(NFTA_PAYLOAD.SREG)) return { kind: 'raw', name, data: data.slice() };
      return {
        kind: 'payload',
        base,
        offset: req(a, NFTA_PAYLOAD.OFFSET, 'payload'),
        len: req(a, NFTA_PAYLOAD.LEN, 'payload'),
        dreg: req(a, NFTA_PAYLOAD.DREG, 'payload'),
      };
    }
    case 'cmp': {
      const op = keyName(NFT_CMP, req(a, NFTA_CMP.OP, 'cmp'));
      if (typeof op === 'number') return { kind: 'raw', name, data: data.slice() };
      return { kind: 'cmp', sreg: req(a, NFTA_CMP.SREG, 'cmp'), op, data: reqData(a, NFTA_CMP.DATA, 'cmp') };
    }
    case 'range':
      return {
        kind: 'range',
        sreg: req(a, NFTA_RANGE.SREG, 'range'),
        op: req(a, NFTA_RANGE.OP, 'range') === 0 ? 'eq' : 'neq',
        from: reqData(a, NFTA_RANGE.FROM_DATA, 'range'),
        to: reqData(a, NFTA_RANGE.TO_DATA, 'range'),
      };
    case 'bitwise': {
      const op = a.be32(NFTA_BITWISE.OP) ?? NFT_BITWISE.bool;
      if (op !== NFT_BITWISE.bool) return { kind: 'raw', name, data: data.slice() };
      return {
        kind: 'bitwise',
        sreg: req(a, NFTA_BITWISE.SREG, 'bitwise'),
        dreg: req(a, NFTA_BITWISE.DREG, 'bitwise'),
        len: req(a, NFTA_BITWISE.LEN, 'bitwise'),
        mask: reqData(a, NFTA_BITWISE.MASK, 'bitwise'),
        xor: reqData(a, NFTA_BITWISE.XOR, 'bitwise'),
      };
    }
    case 'immediate': {
      const dreg = req(a, NFTA_IMMEDIATE.DREG, 'immediate');
      const d = a.get(NFTA_IMMEDIATE.DATA);
      if (d === undefined) throw new NetlinkDecodeError('immediate without data', 0);
      const v = decodeData(d);
      return 'verdict' in v ? { kind: 'verdict', verdict: v.verdict } : { kind: 'immediate', dreg, data: v.value };
    }
    case 'lookup': {
      const set = a.str(NFTA_LOOKUP.SET);
      if (set === undefined) throw new NetlinkDecodeError('lookup without set name', 0);
      const flags = a.be32(NFTA_LOOKUP.FLAGS) ?? 0;
      return {
        kind: 'lookup',
        set,
        sreg: req(a, NFTA_LOOKUP.SREG, 'lookup'),
        ...opt('dreg', a.be32(NFTA_LOOKUP.DREG)),
        ...opt('setId', a.be32(NFTA_LOOKUP.SET_ID)),
        ...(flags & NFT_LOOKUP_F_INV ? { invert: true } : {}),
      };
    }
    case 'counter':
      return {
        kind: 'counter',
        ...opt('bytes', be64(a, NFTA_COUNTER.BYTES)),
        ...opt('packets', be64(a, NFTA_COUNTER.PACKETS)),
      };
    case 'ct': {
      const key = keyName(NFT_CT, req(a, NFTA_CT.KEY, 'ct'));
      const dreg = a.be32(NFTA_CT.DREG);
      // ct writes (ct mark set ...) are not modelled.
      if (dreg === undefined) return { kind: 'raw', name, data: data.slice() };
      const dir = a.u8(NFTA_CT.DIRECTION);
      return {
        kind: 'ct',
        key,
        dreg,
        ...(dir === undefined ? {} : { direction: dir === IP_CT_DIR.reply ? ('reply' as const) : ('original' as const) }),
      };
    }
    case 'nat': {
      const family = req(a, NFTA_NAT.FAMILY, 'nat');
      return {
        kind: 'nat',
        type: req(a, NFTA_NAT.TYPE, 'nat') === NFT_NAT.SNAT ? 'snat' : 'dnat',
        family: family === NFPROTO.ip6 ? 'ip6' : 'ip',
        ...opt('addrMin', a.be32(NFTA_NAT.REG_ADDR_MIN)),
        ...opt('addrMax', a.be32(NFTA_NAT.REG_ADDR_MAX)),
        ...opt('protoMin', a.be32(NFTA_NAT.REG_PROTO_MIN)),
        ...opt('protoMax', a.be32(NFTA_NAT.REG_PROTO_MAX)),
        ...opt('flags', a.be32(NFTA_NAT.FLAGS)),
      };
    }
    case 'masq':
      return {
        kind: 'masq',
        ...opt('flags', a.be32(NFTA_MASQ.FLAGS)),
        ...opt('protoMin', a.be32(NFTA_MASQ.REG_PROTO_MIN)),
        ...opt('protoMax', a.be32(NFTA_MASQ.REG_PROTO_MAX)),
      };
    case 'redir':
      return {
        kind: 'redir',
        ...opt('flags', a.be32(NFTA_REDIR.FLAGS)),
        ...opt('protoMin', a.be32(NFTA_REDIR.REG_PROTO_MIN)),
        ...opt('protoMax', a.be32(NFTA_REDIR.REG_PROTO_MAX)),
      };
    case 'fib': {
      const result = keyName(NFT_FIB_RESULT, req(a, NFTA_FIB.RESULT, 'fib'));
      if (typeof result === 'number') return { kind: 'raw', name, data: data.slice() };
      return { kind: 'fib', dreg: req(a, NFTA_FIB.DREG, 'fib'), result, flags: req(a, NFTA_FIB.FLAGS, 'fib') };
    }
    default:
      return { kind: 'raw', name, data: data.slice() };
  }
}

function be64(a: AttrMap, type: number): bigint | undefined {
  const d = a.get(type);
  if (d === undefined) return undefined;
  if (d.length < 8) throw new NetlinkDecodeError(`attribute ${type}: ${d.length} bytes, need 8`, 0);
  return new DataView(d.buffer, d.byteOffset, 8).getBigUint64(0, false);
}

/** Decode NFTA_RULE_EXPRESSIONS. */
export function decodeExprList(buf: Uint8Array): NftExpr[] {
  const out: NftExpr[] = [];
  for (const a of AttrMap.parse(buf)) {
    if (a.type === NFTA_LIST_ELEM) out.push(decodeExpr(a.data));
  }
  return out;
}
