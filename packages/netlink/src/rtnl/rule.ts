// rtnetlink layer: RTM_NEWRULE/DELRULE/GETRULE (struct fib_rule_hdr + FRA_* of linux/fib_rules.h).
// encodeRuleMessage/decodeRuleMessage are a pair; attribute order matches iproute2's `ip rule`.

import { NlWriter } from '../codec/writer.js';
import { AttrMap, NetlinkDecodeError, StructReader } from '../codec/reader.js';
import { decodeMessages } from '../codec/message.js';
import { FRA, RT_TABLE } from '../codec/rtnetlink.js';
import type { IpFamily } from '../codec/ip.js';

export const FIB_RULE_HDR_LEN = 12;

export interface RuleMessage {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** Full table id: in the header when < 256, else FRA_TABLE with header table 0. */
  table: number;
  /** FR_ACT_*. */
  action: number;
  flags: number;
  src?: string;
  dst?: string;
  fwmark?: number;
  fwmask?: number;
  iifname?: string;
  oifname?: string;
  priority?: number;
  goto?: number;
  suppressPrefixLen?: number;
  protocol?: number;
}

export function encodeRuleMessage(type: number, flags: number, m: RuleMessage): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(type, flags);
  const bigTable = m.table > 0xff;
  w.writeU8(m.family).writeU8(m.dstLen).writeU8(m.srcLen).writeU8(m.tos);
  w.writeU8(bigTable ? RT_TABLE.UNSPEC : m.table).writeU8(0).writeU8(0).writeU8(m.action);
  w.writeU32(m.flags);
  if (m.src !== undefined) w.putIp(FRA.SRC, m.src);
  if (m.dst !== undefined) w.putIp(FRA.DST, m.dst);
  if (m.fwmark !== undefined) w.putU32(FRA.FWMARK, m.fwmark);
  if (m.fwmask !== undefined) w.putU32(FRA.FWMASK, m.fwmask);
  if (m.iifname !== undefined) w.putString(FRA.IIFNAME, m.iifname);
  if (m.oifname !== undefined) w.putString(FRA.OIFNAME, m.oifname);
  if (bigTable) w.putU32(FRA.TABLE, m.table);
  if (m.goto !== undefined) w.putU32(FRA.GOTO, m.goto);
  if (m.suppressPrefixLen !== undefined) w.putU32(FRA.SUPPRESS_PREFIXLEN, m.suppressPrefixLen);
  if (m.priority !== undefined) w.putU32(FRA.PRIORITY, m.priority);
  if (m.protocol !== undefined) w.putU8(FRA.PROTOCOL, m.protocol);
  return w.endMessage(at).finish();
}

export function decodeRuleBody(body: Uint8Array): RuleMessage {
  const r = new StructReader(body, FIB_RULE_HDR_LEN, 'fib_rule_hdr');
  const a = AttrMap.parse(body.subarray(FIB_RULE_HDR_LEN));
  const m: RuleMessage = {
    family: r.u8(0),
    dstLen: r.u8(1),
    srcLen: r.u8(2),
    tos: r.u8(3),
    table: a.u32(FRA.TABLE) ?? r.u8(4),
    action: r.u8(7),
    flags: r.u32(8),
  };
  const src = a.ip(FRA.SRC);
  if (src !== undefined) m.src = src;
  const dst = a.ip(FRA.DST);
  if (dst !== undefined) m.dst = dst;
  const mark = a.u32(FRA.FWMARK);
  if (mark !== undefined) m.fwmark = mark;
  const mask = a.u32(FRA.FWMASK);
  if (mask !== undefined) m.fwmask = mask;
  const iif = a.str(FRA.IIFNAME);
  if (iif !== undefined) m.iifname = iif;
  const oif = a.str(FRA.OIFNAME);
  if (oif !== undefined) m.oifname = oif;
  const gt = a.u32(FRA.GOTO);
  if (gt !== undefined) m.goto = gt;
  const spl = a.u32(FRA.SUPPRESS_PREFIXLEN);
  // The kernel reports "not set" as 0xffffffff.
  if (spl !== undefined && spl !== 0xffffffff) m.suppressPrefixLen = spl;
  const prio = a.u32(FRA.PRIORITY);
  if (prio !== undefined) m.priority = prio;
  const proto = a.u8(FRA.PROTOCOL);
  if (proto !== undefined) m.protocol = proto;
  return m;
}

export function decodeRuleMessage(msg: Uint8Array): { type: number; flags: number; rule: RuleMessage } {
  const [m] = decodeMessages(msg);
  if (!m) throw new NetlinkDecodeError('empty rule message', 0);
  return { type: m.header.type, flags: m.header.flags, rule: decodeRuleBody(m.payload) };
}

/** The typed view of a policy rule. */
export interface RuleInfo {
  family: IpFamily;
  /** The kernel omits FRA_PRIORITY for priority 0. */
  priority: number;
  table: number;
  action: number;
  /** "addr/len" when the rule matches a source prefix. */
  src?: string;
  dst?: string;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  invert: boolean;
  protocol?: number;
}

export function toRuleInfo(m: RuleMessage): RuleInfo {
  const out: RuleInfo = {
    family: m.family as IpFamily,
    priority: m.priority ?? 0,
    table: m.table,
    action: m.action,
    invert: (m.flags & 2) !== 0,
  };
  if (m.src !== undefined) out.src = `${m.src}/${m.srcLen}`;
  if (m.dst !== undefined) out.dst = `${m.dst}/${m.dstLen}`;
  if (m.fwmark !== undefined) out.fwmark = m.fwmark;
  if (m.fwmask !== undefined) out.fwmask = m.fwmask;
  if (m.iifname !== undefined) out.iif = m.iifname;
  if (m.oifname !== undefined) out.oif = m.oifname;
  if (m.protocol !== undefined) out.protocol = m.protocol;
  return out;
}
