// nftables layer: tables, chains, rules, sets and set elements as nf_tables netlink messages
// (struct nfgenmsg + NFTA_TABLE/CHAIN/RULE/SET/SET_ELEM_LIST_* of linux/netfilter/nf_tables.h).
// Encoders emit attributes in the order nft/libnftnl does; decoders read kernel dumps.

import { NLA_F_NESTED } from '../codec/netlink.js';
import { AttrMap, NetlinkDecodeError } from '../codec/reader.js';
import { NlWriter } from '../codec/writer.js';
import type { NlMessage } from '../codec/message.js';
import {
  NF_ACCEPT,
  NF_ARP_HOOK,
  NF_DROP,
  NF_INET_HOOK,
  NF_NETDEV_HOOK,
  NF_PRIORITY,
  NFGENMSG_LEN,
  NFNETLINK_V0,
  NFPROTO,
  NFT_DATA_VERDICT,
  NFT_SET_F,
  NFT_TYPE,
  NFT_TYPE_BITS,
  NFT_TYPE_LEN,
  NFTA_CHAIN,
  NFTA_GEN,
  NFTA_HOOK,
  NFTA_LIST_ELEM,
  NFTA_RULE,
  NFTA_SET,
  NFTA_SET_DESC,
  NFTA_SET_ELEM,
  NFTA_SET_ELEM_LIST,
  NFTA_SET_FIELD_LEN,
  NFTA_TABLE,
  nftMsgType,
} from './consts.js';
import type { NftFamily, NftType } from './consts.js';
import { decodeData, decodeExprList, encodeExpr, putDataValue, putDataVerdict } from './expr.js';
import type { NftData, NftExpr } from './expr.js';
import { BYTEORDER, UDATA_COMMENT, UDATA_SET, commentValue, decodeComment, encodeUdata, u32Value } from './udata.js';
import type { UdataTlv } from './udata.js';
import { padLen } from './data.js';

// ---------------------------------------------------------------------------------------------
// Object shapes

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly flags?: number;
  readonly comment?: string;
  /** Kernel-assigned; present in dumps. */
  readonly handle?: bigint;
  /** Number of chains/sets referencing the table; present in dumps. */
  readonly use?: number;
}

export type ChainType = 'filter' | 'nat' | 'route';
export type ChainPolicy = 'accept' | 'drop';
export type HookName = keyof typeof NF_INET_HOOK | keyof typeof NF_NETDEV_HOOK | keyof typeof NF_ARP_HOOK;

/** What makes a chain a base chain: it is attached to a netfilter hook. */
export interface NftBaseChain {
  readonly type: ChainType;
  readonly hook: HookName;
  /** A number, or one of nft's names (dstnat, srcnat, filter, ...) for this family. */
  readonly priority: number | keyof typeof NF_PRIORITY;
  readonly policy?: ChainPolicy;
  /** netdev family: the device the hook is on. */
  readonly device?: string;
}

export interface NftChain {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly base?: NftBaseChain;
  readonly comment?: string;
  readonly handle?: bigint;
  readonly use?: number;
  readonly flags?: number;
}

export interface NftRule {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly exprs: readonly NftExpr[];
  readonly comment?: string;
  /** Kernel-assigned; present in dumps, and the key for deletion. */
  readonly handle?: bigint;
  /** Insert relative to this rule handle (after it with append, before it otherwise). */
  readonly position?: bigint;
}

/** A key or data type: one of nft's datatypes, or a concatenation of them. */
export type SetFieldTypes = readonly NftType[];

export interface NftSet {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly key: SetFieldTypes;
  /** Present for maps: the mapped value's type(s), or 'verdict' for verdict maps. */
  readonly data?: SetFieldTypes | 'verdict';
  /** Extra NFT_SET_F_* bits (interval, timeout, constant...). MAP and CONCAT are derived. */
  readonly flags?: number;
  /** Batch-local id so rules in the same batch can reference a set created there. */
  readonly id?: number;
  readonly comment?: string;
  readonly handle?: bigint;
  /** Raw NFTA_SET_KEY_TYPE / DATA_TYPE from a dump, for types tscni does not name. */
  readonly keyTypeId?: number;
  readonly dataTypeId?: number;
  readonly keyLen?: number;
  readonly dataLen?: number;
}

export interface NftSetElem {
  readonly key: Uint8Array;
  /** Map value (bytes) or verdict; absent for plain sets. */
  readonly data?: NftData;
  /** Interval sets: end of range (exclusive), NFTA_SET_ELEM_KEY_END. */
  readonly keyEnd?: Uint8Array;
  readonly flags?: number;
  /** Milliseconds, for sets with the timeout flag. */
  readonly timeout?: bigint;
  readonly comment?: string;
}

export interface NftSetElems {
  readonly family: NftFamily;
  readonly table: string;
  readonly set: string;
  readonly setId?: number;
  readonly elements: readonly NftSetElem[];
}

export interface NftGen {
  readonly id: number;
  readonly pid?: number;
  readonly procName?: string;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

export function familyNum(f: NftFamily): number {
  return NFPROTO[f];
}

export function familyName(n: number): NftFamily {
  for (const [k, v] of Object.entries(NFPROTO)) if (v === n && k !== 'unspec') return k as NftFamily;
  throw new NetlinkDecodeError(`unknown nfproto family ${n}`, 0);
}

/** Begin an nf_tables message: nlmsghdr + struct nfgenmsg (res_id is big endian). */
export function beginNftMessage(w: NlWriter, msg: number, family: number, flags: number, resId = 0) {
  const at = w.beginMessage(nftMsgType(msg), flags);
  w.writeU8(family).writeU8(NFNETLINK_V0).writeBe16(resId);
  return at;
}

function putBe64(w: NlWriter, type: number, v: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, false);
  w.putBytes(type, b);
}

function be64(a: AttrMap, type: number): bigint | undefined {
  const d = a.get(type);
  if (d === undefined) return undefined;
  if (d.length < 8) throw new NetlinkDecodeError(`attribute ${type}: ${d.length} bytes, need 8`, 0);
  return new DataView(d.buffer, d.byteOffset, 8).getBigUint64(0, false);
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

function reqStr(a: AttrMap, type: number, what: string): string {
  const s = a.str(type);
  if (s === undefined) throw new NetlinkDecodeError(`${what}: missing attribute ${type}`, 0);
  return s;
}

/** The nfgenmsg and attributes of an nf_tables message. */
export function splitNftMessage(m: NlMessage): { family: number; resId: number; attrs: AttrMap } {
  if (m.payload.length < NFGENMSG_LEN) throw new NetlinkDecodeError('truncated nfgenmsg', 0);
  const family = m.payload[0] ?? 0;
  const resId = ((m.payload[2] ?? 0) << 8) | (m.payload[3] ?? 0);
  return { family, resId, attrs: AttrMap.parse(m.payload.subarray(NFGENMSG_LEN)) };
}

// ---------------------------------------------------------------------------------------------
// Tables

export function encodeTable(w: NlWriter, msg: number, flags: number, t: Pick<NftTable, 'family' | 'name'> & Partial<NftTable>): void {
  const at = beginNftMessage(w, msg, familyNum(t.family), flags);
  w.putString(NFTA_TABLE.NAME, t.name);
  if (t.handle !== undefined && t.name === '') putBe64(w, NFTA_TABLE.HANDLE, t.handle);
  if (t.flags !== undefined) w.putBe32(NFTA_TABLE.FLAGS, t.flags);
  if (t.comment !== undefined) {
    w.putBytes(NFTA_TABLE.USERDATA, encodeUdata([{ type: UDATA_COMMENT, value: commentValue(t.comment) }]));
  }
  w.endMessage(at);
}

export function decodeTable(m: NlMessage): NftTable {
  const { family, attrs } = splitNftMessage(m);
  return {
    family: familyName(family),
    name: reqStr(attrs, NFTA_TABLE.NAME, 'table'),
    ...opt('flags', attrs.be32(NFTA_TABLE.FLAGS)),
    ...opt('comment', decodeComment(attrs.get(NFTA_TABLE.USERDATA))),
    ...opt('handle', be64(attrs, NFTA_TABLE.HANDLE)),
    ...opt('use', attrs.be32(NFTA_TABLE.USE)),
  };
}

// ---------------------------------------------------------------------------------------------
// Chains

/** nft's named priorities; the bridge family has its own numbers (NF_BR_PRI_*). */
const BRIDGE_PRIORITY: Partial<Record<keyof typeof NF_PRIORITY, number>> = {
  dstnat: -300,
  filter: -200,
  srcnat: 300,
};

export function resolvePriority(family: NftFamily, p: number | keyof typeof NF_PRIORITY): number {
  if (typeof p === 'number') return p;
  const n = family === 'bridge' ? BRIDGE_PRIORITY[p] : NF_PRIORITY[p];
  if (n === undefined) throw new RangeError(`priority "${p}" has no meaning in family ${family}`);
  return n;
}

function hookTable(family: NftFamily): Readonly<Record<string, number>> {
  if (family === 'netdev') return NF_NETDEV_HOOK;
  if (family === 'arp') return NF_ARP_HOOK;
  return NF_INET_HOOK;
}

export function hookNum(family: NftFamily, hook: HookName): number {
  const n = hookTable(family)[hook];
  if (n === undefined) throw new RangeError(`hook "${hook}" does not exist in family ${family}`);
  return n;
}

function hookName(family: NftFamily, n: number): HookName {
  for (const [k, v] of Object.entries(hookTable(family))) if (v === n) return k as HookName;
  throw new NetlinkDecodeError(`unknown hook ${n} for family ${family}`, 0);
}

export function encodeChain(
  w: NlWriter,
  msg: number,
  flags: number,
  c: Pick<NftChain, 'family' | 'table'> & Partial<NftChain>,
): void {
  const at = beginNftMessage(w, msg, familyNum(c.family), flags);
  w.putString(NFTA_CHAIN.TABLE, c.table);
  if (c.handle !== undefined && c.name === undefined) putBe64(w, NFTA_CHAIN.HANDLE, c.handle);
  if (c.name !== undefined) w.putString(NFTA_CHAIN.NAME, c.name);
  const b = c.base;
  if (b) {
    w.putString(NFTA_CHAIN.TYPE, b.type);
    if (b.policy !== undefined) w.putBe32(NFTA_CHAIN.POLICY, b.policy === 'accept' ? NF_ACCEPT : NF_DROP);
    const hook = w.beginNested(NFTA_CHAIN.HOOK | NLA_F_NESTED);
    w.putBe32(NFTA_HOOK.HOOKNUM, hookNum(c.family, b.hook));
    w.putBe32(NFTA_HOOK.PRIORITY, resolvePriority(c.family, b.priority) >>> 0);
    if (b.device !== undefined) w.putString(NFTA_HOOK.DEV, b.device);
    w.endNested(hook);
  }
  if (c.comment !== undefined) {
    w.putBytes(NFTA_CHAIN.USERDATA, encodeUdata([{ type: UDATA_COMMENT, value: commentValue(c.comment) }]));
  }
  w.endMessage(at);
}

export function decodeChain(m: NlMessage): NftChain {
  const { family: fnum, attrs } = splitNftMessage(m);
  const family = familyName(fnum);
  const hook = attrs.nested(NFTA_CHAIN.HOOK);
  let base: NftBaseChain | undefined;
  if (hook) {
    const num = hook.be32(NFTA_HOOK.HOOKNUM);
    const prio = hook.be32(NFTA_HOOK.PRIORITY);
    if (num === undefined || prio === undefined) throw new NetlinkDecodeError('chain hook without number/priority', 0);
    const policy = attrs.be32(NFTA_CHAIN.POLICY);
    const dev = hook.str(NFTA_HOOK.DEV);
    base = {
      type: (attrs.str(NFTA_CHAIN.TYPE) ?? 'filter') as ChainType,
      hook: hookName(family, num),
      priority: prio | 0,
      ...(policy === undefined ? {} : { policy: policy === NF_ACCEPT ? ('accept' as const) : ('drop' as const) }),
      ...opt('device', dev),
    };
  }
  return {
    family,
    table: reqStr(attrs, NFTA_CHAIN.TABLE, 'chain'),
    name: reqStr(attrs, NFTA_CHAIN.NAME, 'chain'),
    ...opt('base', base),
    ...opt('comment', decodeComment(attrs.get(NFTA_CHAIN.USERDATA))),
    ...opt('handle', be64(attrs, NFTA_CHAIN.HANDLE)),
    ...opt('use', attrs.be32(NFTA_CHAIN.USE)),
    ...opt('flags', attrs.be32(NFTA_CHAIN.FLAGS)),
  };
}

// ---------------------------------------------------------------------------------------------
// Rules

export function encodeRule(
  w: NlWriter,
  msg: number,
  flags: number,
  r: Pick<NftRule, 'family' | 'table'> & Partial<NftRule>,
): void {
  const at = beginNftMessage(w, msg, familyNum(r.family), flags);
  w.putString(NFTA_RULE.TABLE, r.table);
  if (r.chain !== undefined) w.putString(NFTA_RULE.CHAIN, r.chain);
  if (r.handle !== undefined) putBe64(w, NFTA_RULE.HANDLE, r.handle);
  if (r.position !== undefined) putBe64(w, NFTA_RULE.POSITION, r.position);
  if (r.exprs !== undefined && r.exprs.length > 0) {
    const list = w.beginNested(NFTA_RULE.EXPRESSIONS | NLA_F_NESTED);
    for (const e of r.exprs) encodeExpr(w, e);
    w.endNested(list);
  }
  if (r.comment !== undefined) {
    w.putBytes(NFTA_RULE.USERDATA, encodeUdata([{ type: UDATA_COMMENT, value: commentValue(r.comment) }]));
  }
  w.endMessage(at);
}

export function decodeRule(m: NlMessage): NftRule {
  const { family, attrs } = splitNftMessage(m);
  const exprs = attrs.get(NFTA_RULE.EXPRESSIONS);
  return {
    family: familyName(family),
    table: reqStr(attrs, NFTA_RULE.TABLE, 'rule'),
    chain: reqStr(attrs, NFTA_RULE.CHAIN, 'rule'),
    exprs: exprs ? decodeExprList(exprs) : [],
    ...opt('comment', decodeComment(attrs.get(NFTA_RULE.USERDATA))),
    ...opt('handle', be64(attrs, NFTA_RULE.HANDLE)),
    ...opt('position', be64(attrs, NFTA_RULE.POSITION)),
  };
}

// ---------------------------------------------------------------------------------------------
// Sets

/** NFTA_SET_KEY_TYPE of a (concatenated) type: nft packs datatype ids TYPE_BITS apart. */
export function typeId(types: SetFieldTypes): number {
  let id = 0;
  for (const t of types) id = id * 2 ** NFT_TYPE_BITS + NFT_TYPE[t];
  return id >>> 0;
}

/** Register bytes of a (concatenated) type: each field padded to 4 bytes when concatenated. */
export function typeLen(types: SetFieldTypes): number {
  if (types.length === 1) return NFT_TYPE_LEN[types[0] as NftType];
  return types.reduce((n, t) => n + padLen(NFT_TYPE_LEN[t]), 0);
}

/** The inverse of typeId, when every packed id is one tscni names. */
export function typeNames(id: number): NftType[] | undefined {
  const out: NftType[] = [];
  let rest = id;
  while (rest > 0) {
    const one = rest % 2 ** NFT_TYPE_BITS;
    const name = (Object.keys(NFT_TYPE) as NftType[]).find((k) => NFT_TYPE[k] === one);
    if (name === undefined) return undefined;
    out.unshift(name);
    rest = Math.floor(rest / 2 ** NFT_TYPE_BITS);
  }
  return out.length ? out : undefined;
}

/** nft records each type's byte order so that `nft list` prints values the right way round. */
const HOST_ORDER_TYPES: ReadonlySet<NftType> = new Set(['mark', 'integer', 'ifname', 'string', 'bitmask', 'nfproto']);

function byteorderOf(types: SetFieldTypes | 'verdict'): number {
  if (types === 'verdict' || types.length !== 1) return BYTEORDER.invalid;
  return HOST_ORDER_TYPES.has(types[0] as NftType) ? BYTEORDER.host : BYTEORDER.big;
}

export function encodeSet(
  w: NlWriter,
  msg: number,
  flags: number,
  s: Pick<NftSet, 'family' | 'table' | 'name'> & Partial<NftSet>,
): void {
  const at = beginNftMessage(w, msg, familyNum(s.family), flags);
  w.putString(NFTA_SET.TABLE, s.table);
  w.putString(NFTA_SET.NAME, s.name);
  if (s.key !== undefined) {
    const isMap = s.data !== undefined;
    let setFlags = (s.flags ?? 0) | (isMap ? NFT_SET_F.MAP : 0);
    // The kernel needs field lengths only where it must split a concatenated key (intervals).
    const concatDesc = s.key.length > 1 && (setFlags & NFT_SET_F.INTERVAL) !== 0;
    if (concatDesc) setFlags |= NFT_SET_F.CONCAT;
    w.putBe32(NFTA_SET.FLAGS, setFlags);
    w.putBe32(NFTA_SET.KEY_TYPE, typeId(s.key));
    w.putBe32(NFTA_SET.KEY_LEN, typeLen(s.key));
    if (s.data === 'verdict') {
      w.putBe32(NFTA_SET.DATA_TYPE, NFT_DATA_VERDICT);
      w.putBe32(NFTA_SET.DATA_LEN, 0);
    } else if (s.data !== undefined) {
      w.putBe32(NFTA_SET.DATA_TYPE, typeId(s.data));
      w.putBe32(NFTA_SET.DATA_LEN, typeLen(s.data));
    }
    if (concatDesc) {
      const desc = w.beginNested(NFTA_SET.DESC | NLA_F_NESTED);
      const concat = w.beginNested(NFTA_SET_DESC.CONCAT | NLA_F_NESTED);
      for (const t of s.key) {
        const field = w.beginNested(NFTA_LIST_ELEM | NLA_F_NESTED);
        w.putBe32(NFTA_SET_FIELD_LEN, NFT_TYPE_LEN[t]);
        w.endNested(field);
      }
      w.endNested(concat);
      w.endNested(desc);
    }
    if (s.id !== undefined) w.putBe32(NFTA_SET.ID, s.id);
    const udata: UdataTlv[] = [{ type: UDATA_SET.KEYBYTEORDER, value: u32Value(byteorderOf(s.key)) }];
    if (s.data !== undefined) {
      udata.push({ type: UDATA_SET.DATABYTEORDER, value: u32Value(byteorderOf(s.data)) });
    }
    if (s.comment !== undefined) udata.push({ type: UDATA_SET.COMMENT, value: commentValue(s.comment) });
    if (isMap) udata.push({ type: UDATA_SET.DATA_INTERVAL, value: u32Value(0) });
    w.putBytes(NFTA_SET.USERDATA, encodeUdata(udata));
  } else if (s.id !== undefined) {
    w.putBe32(NFTA_SET.ID, s.id);
  }
  w.endMessage(at);
}

export function decodeSet(m: NlMessage): NftSet {
  const { family, attrs } = splitNftMessage(m);
  const keyTypeId = attrs.be32(NFTA_SET.KEY_TYPE) ?? 0;
  const dataTypeId = attrs.be32(NFTA_SET.DATA_TYPE);
  const flags = attrs.be32(NFTA_SET.FLAGS) ?? 0;
  const key = typeNames(keyTypeId) ?? [];
  let data: SetFieldTypes | 'verdict' | undefined;
  if (flags & NFT_SET_F.MAP && dataTypeId !== undefined) {
    data = dataTypeId === NFT_DATA_VERDICT ? 'verdict' : (typeNames(dataTypeId) ?? []);
  }
  return {
    family: familyName(family),
    table: reqStr(attrs, NFTA_SET.TABLE, 'set'),
    name: reqStr(attrs, NFTA_SET.NAME, 'set'),
    key,
    ...opt('data', data),
    flags: flags & ~(NFT_SET_F.MAP | NFT_SET_F.CONCAT),
    ...opt('id', attrs.be32(NFTA_SET.ID)),
    ...opt('comment', decodeComment(attrs.get(NFTA_SET.USERDATA), UDATA_SET.COMMENT)),
    ...opt('handle', be64(attrs, NFTA_SET.HANDLE)),
    keyTypeId,
    ...opt('dataTypeId', dataTypeId),
    ...opt('keyLen', attrs.be32(NFTA_SET.KEY_LEN)),
    ...opt('dataLen', attrs.be32(NFTA_SET.DATA_LEN)),
  };
}

// ---------------------------------------------------------------------------------------------
// Set elements

export function encodeSetElems(w: NlWriter, msg: number, flags: number, e: NftSetElems): void {
  const at = beginNftMessage(w, msg, familyNum(e.family), flags);
  w.putString(NFTA_SET_ELEM_LIST.TABLE, e.table);
  w.putString(NFTA_SET_ELEM_LIST.SET, e.set);
  if (e.setId !== undefined) w.putBe32(NFTA_SET_ELEM_LIST.SET_ID, e.setId);
  const list = w.beginNested(NFTA_SET_ELEM_LIST.ELEMENTS | NLA_F_NESTED);
  for (const [i, el] of e.elements.entries()) {
    // libnftnl numbers the list entries 1, 2, 3...; the kernel reads them whatever their type.
    const one = w.beginNested((NFTA_LIST_ELEM + i) | NLA_F_NESTED);
    putDataValue(w, NFTA_SET_ELEM.KEY, el.key);
    if (el.keyEnd !== undefined) putDataValue(w, NFTA_SET_ELEM.KEY_END, el.keyEnd);
    if (el.flags !== undefined) w.putBe32(NFTA_SET_ELEM.FLAGS, el.flags);
    if (el.timeout !== undefined) putBe64(w, NFTA_SET_ELEM.TIMEOUT, el.timeout);
    if (el.data !== undefined) {
      if ('verdict' in el.data) putDataVerdict(w, NFTA_SET_ELEM.DATA, el.data.verdict);
      else putDataValue(w, NFTA_SET_ELEM.DATA, el.data.value);
    }
    if (el.comment !== undefined) {
      w.putBytes(NFTA_SET_ELEM.USERDATA, encodeUdata([{ type: UDATA_COMMENT, value: commentValue(el.comment) }]));
    }
    w.endNested(one);
  }
  w.endNested(list);
  w.endMessage(at);
}

export function decodeSetElems(m: NlMessage): NftSetElems {
  const { family, attrs } = splitNftMessage(m);
  const elements: NftSetElem[] = [];
  const list = attrs.get(NFTA_SET_ELEM_LIST.ELEMENTS);
  if (list) {
    // Entries are NFTA_LIST_ELEM from the kernel but numbered 1, 2, 3... by libnftnl: take all.
    for (const item of AttrMap.parse(list)) {
      const a = AttrMap.parse(item.data);
      const keyRaw = a.get(NFTA_SET_ELEM.KEY);
      let key: Uint8Array = new Uint8Array(0);
      if (keyRaw !== undefined) {
        const k = decodeData(keyRaw);
        if ('value' in k) key = k.value;
      }
      const dataRaw = a.get(NFTA_SET_ELEM.DATA);
      const keyEndRaw = a.get(NFTA_SET_ELEM.KEY_END);
      const keyEnd = keyEndRaw === undefined ? undefined : decodeData(keyEndRaw);
      elements.push({
        key,
        ...opt('data', dataRaw === undefined ? undefined : decodeData(dataRaw)),
        ...opt('keyEnd', keyEnd !== undefined && 'value' in keyEnd ? keyEnd.value : undefined),
        ...opt('flags', a.be32(NFTA_SET_ELEM.FLAGS)),
        ...opt('timeout', be64(a, NFTA_SET_ELEM.TIMEOUT)),
        ...opt('comment', decodeComment(a.get(NFTA_SET_ELEM.USERDATA))),
      });
    }
  }
  return {
    family: familyName(family),
    table: reqStr(attrs, NFTA_SET_ELEM_LIST.TABLE, 'set elements'),
    set: reqStr(attrs, NFTA_SET_ELEM_LIST.SET, 'set elements'),
    ...opt('setId', attrs.be32(NFTA_SET_ELEM_LIST.SET_ID)),
    elements,
  };
}

// ---------------------------------------------------------------------------------------------
// Generation

export function decodeGen(m: NlMessage): NftGen {
  const { attrs } = splitNftMessage(m);
  const id = attrs.be32(NFTA_GEN.ID);
  if (id === undefined) throw new NetlinkDecodeError('NEWGEN without NFTA_GEN_ID', 0);
  return { id, ...opt('pid', attrs.be32(NFTA_GEN.PROC_PID)), ...opt('procName', attrs.str(NFTA_GEN.PROC_NAME)) };
}

/** Build one message into a fresh buffer (seq 0; the transport or batch assigns it). */
export function buildNft(body: (w: NlWriter) => void): Uint8Array {
  const w = new NlWriter();
  body(w);
  return w.finish();
}
