// rtnetlink layer: RTM_NEWNEIGH/DELNEIGH/GETNEIGH (struct ndmsg + NDA_* of linux/neighbour.h).
// encodeNeighMessage/decodeNeighMessage are a pair; attribute order matches iproute2's `ip neigh`.

import { NlWriter } from '../codec/writer.js';
import { AttrMap, NetlinkDecodeError, StructReader } from '../codec/reader.js';
import { decodeMessages } from '../codec/message.js';
import { NDA } from '../codec/rtnetlink.js';
import { formatMac, parseMac } from '../codec/ip.js';

export const NDMSG_LEN = 12;

export interface NeighMessage {
  family: number;
  index: number;
  /** NUD_* bits. */
  state: number;
  /** NTF_* bits. */
  flags: number;
  type: number;
  dst?: string;
  lladdr?: string;
  vlan?: number;
  master?: number;
  protocol?: number;
}

export function encodeNeighMessage(type: number, flags: number, m: NeighMessage): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(type, flags);
  w.writeU8(m.family).writeU8(0).writeU16(0).writeS32(m.index);
  w.writeU16(m.state).writeU8(m.flags).writeU8(m.type);
  if (m.dst !== undefined) w.putIp(NDA.DST, m.dst);
  if (m.lladdr !== undefined) w.putBytes(NDA.LLADDR, parseMac(m.lladdr));
  if (m.vlan !== undefined) w.putU16(NDA.VLAN, m.vlan);
  if (m.master !== undefined) w.putU32(NDA.MASTER, m.master);
  if (m.protocol !== undefined) w.putU8(NDA.PROTOCOL, m.protocol);
  return w.endMessage(at).finish();
}

export function decodeNeighBody(body: Uint8Array): NeighMessage {
  const r = new StructReader(body, NDMSG_LEN, 'ndmsg');
  const m: NeighMessage = { family: r.u8(0), index: r.s32(4), state: r.u16(8), flags: r.u8(10), type: r.u8(11) };
  const a = AttrMap.parse(body.subarray(NDMSG_LEN));
  const dst = a.ip(NDA.DST);
  if (dst !== undefined) m.dst = dst;
  const ll = a.get(NDA.LLADDR);
  if (ll !== undefined && ll.length > 0) m.lladdr = formatMac(ll);
  const vlan = a.u16(NDA.VLAN);
  if (vlan !== undefined) m.vlan = vlan;
  const master = a.u32(NDA.MASTER);
  if (master !== undefined) m.master = master;
  const proto = a.u8(NDA.PROTOCOL);
  if (proto !== undefined) m.protocol = proto;
  return m;
}

export function decodeNeighMessage(msg: Uint8Array): { type: number; flags: number; neigh: NeighMessage } {
  const [m] = decodeMessages(msg);
  if (!m) throw new NetlinkDecodeError('empty neighbour message', 0);
  return { type: m.header.type, flags: m.header.flags, neigh: decodeNeighBody(m.payload) };
}
