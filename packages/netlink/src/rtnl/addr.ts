// rtnetlink layer: RTM_NEWADDR/DELADDR/GETADDR (struct ifaddrmsg + IFA_* of linux/if_addr.h).
// encodeAddrMessage/decodeAddrMessage are a pair; attribute order matches iproute2's `ip addr add`.

import { NlWriter } from '../codec/writer.js';
import { AttrMap, NetlinkDecodeError, StructReader } from '../codec/reader.js';
import { decodeMessages } from '../codec/message.js';
import { IFA, IFA_F } from '../codec/rtnetlink.js';
import type { IpFamily } from '../codec/ip.js';

export const IFADDRMSG_LEN = 8;

export interface AddrMessage {
  family: number;
  prefixLen: number;
  /** ifa_flags (low 8 bits of IFA_F_*). */
  flags: number;
  scope: number;
  index: number;
  /** IFA_ADDRESS: the prefix address (the peer on point-to-point links). */
  address?: string;
  /** IFA_LOCAL: the local address. */
  local?: string;
  label?: string;
  broadcast?: string;
  anycast?: string;
  /** IFA_FLAGS: all 32 bits; iproute2 sends it only when a flag does not fit ifa_flags. */
  extFlags?: number;
  rtPriority?: number;
  /** IFA_CACHEINFO lifetimes in seconds (0xffffffff = forever); replies only. */
  preferredLifetime?: number;
  validLifetime?: number;
}

export function encodeAddrMessage(type: number, flags: number, m: AddrMessage): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(type, flags);
  w.writeU8(m.family).writeU8(m.prefixLen).writeU8(m.flags).writeU8(m.scope).writeU32(m.index);
  if (m.local !== undefined) w.putIp(IFA.LOCAL, m.local);
  if (m.broadcast !== undefined) w.putIp(IFA.BROADCAST, m.broadcast);
  if (m.anycast !== undefined) w.putIp(IFA.ANYCAST, m.anycast);
  if (m.label !== undefined) w.putString(IFA.LABEL, m.label);
  if (m.address !== undefined) w.putIp(IFA.ADDRESS, m.address);
  if (m.extFlags !== undefined) w.putU32(IFA.FLAGS, m.extFlags);
  if (m.rtPriority !== undefined) w.putU32(IFA.RT_PRIORITY, m.rtPriority);
  return w.endMessage(at).finish();
}

export function decodeAddrBody(body: Uint8Array): AddrMessage {
  const r = new StructReader(body, IFADDRMSG_LEN, 'ifaddrmsg');
  const m: AddrMessage = { family: r.u8(0), prefixLen: r.u8(1), flags: r.u8(2), scope: r.u8(3), index: r.u32(4) };
  const a = AttrMap.parse(body.subarray(IFADDRMSG_LEN));
  const address = a.ip(IFA.ADDRESS);
  if (address !== undefined) m.address = address;
  const local = a.ip(IFA.LOCAL);
  if (local !== undefined) m.local = local;
  const label = a.str(IFA.LABEL);
  if (label !== undefined) m.label = label;
  const brd = a.ip(IFA.BROADCAST);
  if (brd !== undefined) m.broadcast = brd;
  const any = a.ip(IFA.ANYCAST);
  if (any !== undefined) m.anycast = any;
  const ext = a.u32(IFA.FLAGS);
  if (ext !== undefined) m.extFlags = ext;
  const prio = a.u32(IFA.RT_PRIORITY);
  if (prio !== undefined) m.rtPriority = prio;
  const ci = a.get(IFA.CACHEINFO);
  if (ci !== undefined && ci.length >= 8) {
    const c = new StructReader(ci, 8, 'ifa_cacheinfo');
    m.preferredLifetime = c.u32(0);
    m.validLifetime = c.u32(4);
  }
  return m;
}

export function decodeAddrMessage(msg: Uint8Array): { type: number; flags: number; addr: AddrMessage } {
  const [m] = decodeMessages(msg);
  if (!m) throw new NetlinkDecodeError('empty address message', 0);
  return { type: m.header.type, flags: m.header.flags, addr: decodeAddrBody(m.payload) };
}

/** The typed view of an address. */
export interface Address {
  index: number;
  family: IpFamily;
  /** The local address. */
  address: string;
  prefixLen: number;
  /** "address/prefixLen". */
  cidr: string;
  /** The peer on point-to-point links, when it differs from the local address. */
  peer?: string;
  scope: number;
  /** All IFA_F_* flags. */
  flags: number;
  label?: string;
  broadcast?: string;
  /** DAD still running (IFA_F_TENTATIVE). */
  tentative: boolean;
  permanent: boolean;
  preferredLifetime?: number;
  validLifetime?: number;
}

export function toAddress(m: AddrMessage): Address {
  const local = m.local ?? m.address ?? '';
  const flags = m.extFlags ?? m.flags;
  const out: Address = {
    index: m.index,
    family: m.family as IpFamily,
    address: local,
    prefixLen: m.prefixLen,
    cidr: `${local}/${m.prefixLen}`,
    scope: m.scope,
    flags,
    tentative: (flags & IFA_F.TENTATIVE) !== 0,
    permanent: (flags & IFA_F.PERMANENT) !== 0,
  };
  if (m.address !== undefined && m.local !== undefined && m.address !== m.local) out.peer = m.address;
  if (m.label !== undefined) out.label = m.label;
  if (m.broadcast !== undefined) out.broadcast = m.broadcast;
  if (m.preferredLifetime !== undefined) out.preferredLifetime = m.preferredLifetime;
  if (m.validLifetime !== undefined) out.validLifetime = m.validLifetime;
  return out;
}
