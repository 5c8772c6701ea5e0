// Codec layer: constants of the netlink framing itself, as in linux/netlink.h
// (struct nlmsghdr, NLM_F_*, NLMSG_* control types, struct nlattr flags, extended-ack TLVs).

/** Netlink protocol families (socket(AF_NETLINK, SOCK_RAW, protocol)). */
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const NETLINK_GENERIC = 16;

/** nlmsghdr.nlmsg_flags. The same bits mean different things for GET, NEW and DEL requests. */
export const NLM_F = {
  REQUEST: 0x01,
  MULTI: 0x02,
  ACK: 0x04,
  ECHO: 0x08,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  // GET
  ROOT: 0x100,
  MATCH: 0x200,
  ATOMIC: 0x400,
  DUMP: 0x300,
  // NEW
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // DEL
  NONREC: 0x100,
  BULK: 0x200,
  // ACK (flags of an NLMSG_ERROR reply)
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Control message types below NLMSG_MIN_TYPE. */
export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
export const NLMSG_MIN_TYPE = 0x10;

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;

/** nlattr.nla_type high bits; the low 14 bits are the attribute type. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Extended-ack TLVs appended to NLMSG_ERROR / NLMSG_DONE when NLM_F_ACK_TLVS is set. */
export const NLMSGERR_ATTR = {
  MSG: 1,
  OFFS: 2,
  COOKIE: 3,
  POLICY: 4,
  MISS_TYPE: 5,
  MISS_NEST: 6,
} as const;

/** Socket options at level SOL_NETLINK. */
export const SOL_NETLINK = 270;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_CAP_ACK = 10;

export function nlAlign(len: number): number {
  return (len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

/** Netlink carries integers in host byte order; every machine we target is little-endian, but ask. */
export const HOST_LE: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
