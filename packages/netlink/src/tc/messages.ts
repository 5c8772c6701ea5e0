// tc layer: qdisc and filter messages (struct tcmsg + TCA_* of linux/rtnetlink.h), the u32
// classifier's selector (struct tc_u32_sel of linux/pkt_cls.h) and the mirred action
// (struct tc_mirred of linux/tc_act/tc_mirred.h), encoded in iproute2's attribute order.

import { HOST_LE, NLA_F_NESTED } from '../codec/netlink.js';
import { AttrMap, NetlinkDecodeError } from '../codec/reader.js';
import { NlWriter } from '../codec/writer.js';
import type { NlMessage } from '../codec/message.js';
import {
  ETH_P,
  TC_ACT,
  TC_H_INGRESS,
  TC_H_ROOT,
  TC_MIRRED_LEN,
  TC_U32_KEY_LEN,
  TC_U32_SEL_LEN,
  TC_U32_TERMINAL,
  TCA,
  TCA_ACT,
  TCA_EGRESS_MIRROR,
  TCA_EGRESS_REDIR,
  TCA_INGRESS_MIRROR,
  TCA_INGRESS_REDIR,
  TCA_MIRRED,
  TCA_U32,
  TCMSG_LEN,
  tcHandle,
} from './consts.js';
import type { FilterProtocol } from './consts.js';
import { decodeTbfOptions, encodeTbfOptions } from './tbf.js';
import type { TbfExplicit, TbfParams, TbfSpec } from './tbf.js';

/** The fixed header of every tc message. */
export interface TcMsg {
  readonly family?: number;
  readonly ifindex: number;
  readonly handle: number;
  readonly parent: number;
  /** Qdiscs: 0 (refcount in dumps). Filters: priority << 16 | protocol in network order. */
  readonly info: number;
}

function writeTcMsg(w: NlWriter, t: TcMsg): void {
  w.writeU8(t.family ?? 0).writeU8(0).writeU16(0);
  w.writeS32(t.ifindex).writeU32(t.handle).writeU32(t.parent).writeU32(t.info);
}

function readTcMsg(m: NlMessage): { tcm: TcMsg; attrs: AttrMap } {
  if (m.payload.length < TCMSG_LEN) throw new NetlinkDecodeError('truncated tcmsg', 0);
  const dv = new DataView(m.payload.buffer, m.payload.byteOffset, TCMSG_LEN);
  return {
    tcm: {
      family: dv.getUint8(0),
      ifindex: dv.getInt32(4, HOST_LE),
      handle: dv.getUint32(8, HOST_LE),
      parent: dv.getUint32(12, HOST_LE),
      info: dv.getUint32(16, HOST_LE),
    },
    attrs: AttrMap.parse(m.payload.subarray(TCMSG_LEN)),
  };
}

// ------------------------------------------------------------------------------------- qdiscs

/**
 * A qdisc to install. Parent defaults to the root (ingress/clsact: their fixed place). A tbf is given
 * as `tc` takes it (TbfSpec: burst, latency or limit) or by the kernel's own values (TbfExplicit).
 */
export type QdiscSpec =
  | { readonly kind: 'tbf'; readonly ifindex: number; readonly parent?: number; readonly handle?: number; readonly tbf: TbfSpec | TbfExplicit }
  | { readonly kind: 'ingress' | 'clsact'; readonly ifindex: number };

/** A qdisc as the kernel reports it. `tbf` is set for tbf qdiscs; other kinds keep raw options. */
export interface Qdisc {
  readonly kind: string;
  readonly ifindex: number;
  readonly handle: number;
  readonly parent: number;
  readonly tbf?: TbfParams;
  readonly options?: Uint8Array;
}

export function qdiscPlacement(spec: QdiscSpec): { parent: number; handle: number } {
  if (spec.kind === 'tbf') return { parent: spec.parent ?? TC_H_ROOT, handle: spec.handle ?? 0 };
  return { parent: TC_H_INGRESS, handle: tcHandle(0xffff, 0) };
}

/** RTM_NEWQDISC with the given flags (add: CREATE|EXCL, replace: CREATE|REPLACE). */
export function encodeQdisc(type: number, flags: number, spec: QdiscSpec): Uint8Array {
  const w = new NlWriter(spec.kind === 'tbf' ? 1200 : 64);
  const at = w.beginMessage(type, flags);
  const { parent, handle } = qdiscPlacement(spec);
  writeTcMsg(w, { ifindex: spec.ifindex, handle, parent, info: 0 });
  w.putString(TCA.KIND, spec.kind);
  if (spec.kind === 'tbf') {
    // iproute2 nests TCA_OPTIONS without NLA_F_NESTED (rtattr); the kernel accepts both.
    const opts = w.beginNested(TCA.OPTIONS);
    encodeTbfOptions(w, spec.tbf);
    w.endNested(opts);
  }
  return w.endMessage(at).finish();
}

/** RTM_DELQDISC: by parent (and handle), optionally naming the kind as tc does for ingress. */
export function encodeQdiscDelete(
  type: number,
  flags: number,
  q: { ifindex: number; parent: number; handle?: number; kind?: string },
): Uint8Array {
  const w = new NlWriter(64);
  const at = w.beginMessage(type, flags);
  writeTcMsg(w, { ifindex: q.ifindex, handle: q.handle ?? 0, parent: q.parent, info: 0 });
  if (q.kind !== undefined) w.putString(TCA.KIND, q.kind);
  return w.endMessage(at).finish();
}

/** A dump request for qdiscs or filters (RTM_GETQDISC / RTM_GETTFILTER). */
export function encodeTcDump(type: number, flags: number, t: { ifindex?: number; parent?: number }): Uint8Array {
  const w = new NlWriter(64);
  const at = w.beginMessage(type, flags);
  writeTcMsg(w, { ifindex: t.ifindex ?? 0, handle: 0, parent: t.parent ?? 0, info: 0 });
  return w.endMessage(at).finish();
}

export function decodeQdisc(m: NlMessage): Qdisc {
  const { tcm, attrs } = readTcMsg(m);
  const kind = attrs.str(TCA.KIND) ?? '';
  const options = attrs.get(TCA.OPTIONS);
  return {
    kind,
    ifindex: tcm.ifindex,
    handle: tcm.handle,
    parent: tcm.parent,
    ...(kind === 'tbf' && options !== undefined ? { tbf: decodeTbfOptions(options) } : {}),
    ...(kind !== 'tbf' && options !== undefined ? { options: options.slice() } : {}),
  };
}

// ------------------------------------------------------------------------------------ actions

/** The mirred action: send (redirect) or copy (mirror) packets to another device. */
export interface MirredAction {
  readonly kind: 'mirred';
  readonly action: 'redirect' | 'mirror';
  readonly direction: 'egress' | 'ingress';
  /** Target device. */
  readonly ifindex: number;
  /** Action index (0: the kernel assigns one). */
  readonly index?: number;
}

/** Any other action, kept as its raw TCA_ACT_OPTIONS. */
export interface RawAction {
  readonly kind: string;
  readonly options?: Uint8Array;
}

export type TcAction = MirredAction | RawAction;

function isMirred(a: TcAction): a is MirredAction {
  return a.kind === 'mirred' && 'ifindex' in a;
}

function encodeMirredParms(a: MirredAction): Uint8Array {
  const b = new Uint8Array(TC_MIRRED_LEN);
  const dv = new DataView(b.buffer);
  const eaction =
    a.direction === 'egress'
      ? a.action === 'redirect'
        ? TCA_EGRESS_REDIR
        : TCA_EGRESS_MIRROR
      : a.action === 'redirect'
        ? TCA_INGRESS_REDIR
        : TCA_INGRESS_MIRROR;
  dv.setUint32(0, a.index ?? 0, HOST_LE);
  dv.setUint32(4, 0, HOST_LE); // capab
  // A redirect consumes the packet (TC_ACT_STOLEN); a mirror lets it continue (TC_ACT_PIPE).
  dv.setInt32(8, a.action === 'redirect' ? TC_ACT.STOLEN : TC_ACT.PIPE, HOST_LE);
  dv.setInt32(12, 0, HOST_LE); // refcnt
  dv.setInt32(16, 0, HOST_LE); // bindcnt
  dv.setInt32(20, eaction, HOST_LE);
  dv.setUint32(24, a.ifindex, HOST_LE);
  return b;
}

/** A filter's action list (TCA_*_ACT): one nested entry per action, numbered from 1. */
export function encodeActions(w: NlWriter, type: number, actions: readonly TcAction[]): void {
  const list = w.beginNested(type);
  for (const [i, a] of actions.entries()) {
    const one = w.beginNested(i + 1);
    w.putString(TCA_ACT.KIND, a.kind);
    const opts = w.beginNested(TCA_ACT.OPTIONS | NLA_F_NESTED);
    if (isMirred(a)) w.putBytes(TCA_MIRRED.PARMS, encodeMirredParms(a));
    else if (a.options) w.writeBytes(a.options);
    w.endNested(opts);
    w.endNested(one);
  }
  w.endNested(list);
}

export function decodeActions(buf: Uint8Array): TcAction[] {
  const out: Array<{ order: number; action: TcAction }> = [];
  for (const entry of AttrMap.parse(buf)) {
    const a = AttrMap.parse(entry.data);
    const kind = a.str(TCA_ACT.KIND) ?? '';
    const options = a.get(TCA_ACT.OPTIONS);
    if (kind === 'mirred' && options !== undefined) {
      const parms = AttrMap.parse(options).get(TCA_MIRRED.PARMS);
      if (parms !== undefined && parms.length >= TC_MIRRED_LEN) {
        const dv = new DataView(parms.buffer, parms.byteOffset, TC_MIRRED_LEN);
        const eaction = dv.getInt32(20, HOST_LE);
        out.push({
          order: entry.type,
          action: {
            kind: 'mirred',
            action: eaction === TCA_EGRESS_REDIR || eaction === TCA_INGRESS_REDIR ? 'redirect' : 'mirror',
            direction: eaction === TCA_EGRESS_REDIR || eaction === TCA_EGRESS_MIRROR ? 'egress' : 'ingress',
            ifindex: dv.getUint32(24, HOST_LE),
            index: dv.getUint32(0, HOST_LE),
          },
        });
        continue;
      }
    }
    out.push({ order: entry.type, action: { kind, ...(options === undefined ? {} : { options: options.slice() }) } });
  }
  return out.sort((x, y) => x.order - y.order).map((x) => x.action);
}

// ---------------------------------------------------------------------------------------- u32

/** One 32-bit match of a u32 selector: (packet[off..off+4] & mask) == value, in network order. */
export interface U32Key {
  readonly value: number;
  readonly mask: number;
  readonly off: number;
  readonly offmask?: number;
}

export interface U32Spec {
  /** Keys to match; none (or `[{0,0,0}]`, tc's `match u32 0 0`) matches every packet. */
  readonly keys?: readonly U32Key[];
  /** TCA_U32_CLASSID (flowid). */
  readonly classid?: number;
  readonly actions?: readonly TcAction[];
}

export interface U32Info {
  readonly keys: U32Key[];
  readonly terminal: boolean;
  readonly classid?: number;
  readonly actions: TcAction[];
  /** TCA_U32_DIVISOR: set on the hash-table entries the kernel lists before the real nodes. */
  readonly divisor?: number;
}

function encodeU32Sel(keys: readonly U32Key[]): Uint8Array {
  const b = new Uint8Array(TC_U32_SEL_LEN + TC_U32_KEY_LEN * keys.length);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, TC_U32_TERMINAL);
  dv.setUint8(2, keys.length);
  keys.forEach((k, i) => {
    const o = TC_U32_SEL_LEN + i * TC_U32_KEY_LEN;
    dv.setUint32(o, k.mask >>> 0, false);
    dv.setUint32(o + 4, (k.value & k.mask) >>> 0, false);
    dv.setInt32(o + 8, k.off, HOST_LE);
    dv.setInt32(o + 12, k.offmask ?? 0, HOST_LE);
  });
  return b;
}

function decodeU32Sel(b: Uint8Array): { keys: U32Key[]; terminal: boolean } {
  if (b.length < TC_U32_SEL_LEN) throw new NetlinkDecodeError('truncated tc_u32_sel', 0);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = dv.getUint8(2);
  const keys: U32Key[] = [];
  for (let i = 0; i < n && TC_U32_SEL_LEN + (i + 1) * TC_U32_KEY_LEN <= b.length; i++) {
    const o = TC_U32_SEL_LEN + i * TC_U32_KEY_LEN;
    keys.push({
      mask: dv.getUint32(o, false),
      value: dv.getUint32(o + 4, false),
      off: dv.getInt32(o + 8, HOST_LE),
      offmask: dv.getInt32(o + 12, HOST_LE),
    });
  }
  return { keys, terminal: (dv.getUint8(0) & TC_U32_TERMINAL) !== 0 };
}

// ------------------------------------------------------------------------------------ filters

export interface FilterSpec {
  readonly ifindex: number;
  /** The qdisc/class the filter hangs off, e.g. the ingress qdisc ffff: (tcHandle(0xffff, 0)). */
  readonly parent: number;
  /** Which packets by ethertype: 'all', 'ip', 'ipv6', ... or a number. */
  readonly protocol?: FilterProtocol;
  /** Priority (pref); 0 lets the kernel choose (49152 for the first filter). */
  readonly prio?: number;
  readonly handle?: number;
  readonly kind: 'u32';
  readonly u32: U32Spec;
}

export interface Filter {
  readonly kind: string;
  readonly ifindex: number;
  readonly parent: number;
  readonly handle: number;
  readonly prio: number;
  /** Host-order ethertype (0x0003 = all). */
  readonly protocol: number;
  readonly chain?: number;
  readonly u32?: U32Info;
  readonly options?: Uint8Array;
}

export function protocolNumber(p: FilterProtocol | undefined): number {
  if (p === undefined) return ETH_P.all;
  return typeof p === 'number' ? p : ETH_P[p];
}

/** tcm_info of a filter: priority in the high half, the ethertype (network order) in the low half. */
export function filterInfo(prio: number, protocol: number): number {
  const proto = ((protocol & 0xff) << 8) | ((protocol >> 8) & 0xff);
  return (((prio & 0xffff) << 16) | proto) >>> 0;
}

function infoPrio(info: number): number {
  return (info >>> 16) & 0xffff;
}

function infoProtocol(info: number): number {
  const p = info & 0xffff;
  return ((p & 0xff) << 8) | (p >> 8);
}

export function encodeFilter(type: number, flags: number, f: FilterSpec): Uint8Array {
  const w = new NlWriter(160);
  const at = w.beginMessage(type, flags);
  writeTcMsg(w, {
    ifindex: f.ifindex,
    handle: f.handle ?? 0,
    parent: f.parent,
    info: filterInfo(f.prio ?? 0, protocolNumber(f.protocol)),
  });
  w.putString(TCA.KIND, f.kind);
  const opts = w.beginNested(TCA.OPTIONS);
  // tc's u32 parser emits the actions as it reads them, the classid and the selector at the end.
  if (f.u32.actions && f.u32.actions.length > 0) encodeActions(w, TCA_U32.ACT, f.u32.actions);
  if (f.u32.classid !== undefined) w.putU32(TCA_U32.CLASSID, f.u32.classid);
  const keys = f.u32.keys && f.u32.keys.length > 0 ? f.u32.keys : [{ value: 0, mask: 0, off: 0 }];
  w.putBytes(TCA_U32.SEL, encodeU32Sel(keys));
  w.endNested(opts);
  return w.endMessage(at).finish();
}

/** RTM_DELTFILTER: every filter of one priority/protocol (handle 0), or one handle. */
export function encodeFilterDelete(
  type: number,
  flags: number,
  f: { ifindex: number; parent: number; prio: number; protocol?: FilterProtocol; handle?: number; kind?: string },
): Uint8Array {
  const w = new NlWriter(64);
  const at = w.beginMessage(type, flags);
  writeTcMsg(w, {
    ifindex: f.ifindex,
    handle: f.handle ?? 0,
    parent: f.parent,
    info: filterInfo(f.prio, protocolNumber(f.protocol)),
  });
  if (f.kind !== undefined) w.putString(TCA.KIND, f.kind);
  return w.endMessage(at).finish();
}

export function decodeFilter(m: NlMessage): Filter {
  const { tcm, attrs } = readTcMsg(m);
  const kind = attrs.str(TCA.KIND) ?? '';
  const options = attrs.get(TCA.OPTIONS);
  let u32: U32Info | undefined;
  if (kind === 'u32' && options !== undefined) {
    const o = AttrMap.parse(options);
    const sel = o.get(TCA_U32.SEL);
    const act = o.get(TCA_U32.ACT);
    const classid = o.u32(TCA_U32.CLASSID);
    const divisor = o.u32(TCA_U32.DIVISOR);
    const s = sel ? decodeU32Sel(sel) : { keys: [], terminal: false };
    u32 = {
      keys: s.keys,
      terminal: s.terminal,
      actions: act ? decodeActions(act) : [],
      ...(classid === undefined ? {} : { classid }),
      ...(divisor === undefined ? {} : { divisor }),
    };
  }
  const chain = attrs.u32(TCA.CHAIN);
  return {
    kind,
    ifindex: tcm.ifindex,
    parent: tcm.parent,
    handle: tcm.handle,
    prio: infoPrio(tcm.info),
    protocol: infoProtocol(tcm.info),
    ...(chain === undefined ? {} : { chain }),
    ...(u32 === undefined ? {} : { u32 }),
    ...(kind !== 'u32' && options !== undefined ? { options: options.slice() } : {}),
  };
}
