// nftables layer: numeric constants of the nf_tables netlink API, named as in
// linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h, linux/netfilter.h and nf_nat.h.

/** nfnetlink subsystem of nf_tables (NFNL_SUBSYS_NFTABLES); message type = subsys << 8 | msg. */
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
export const NFNL_BATCH_GENID = 1;
export const NFNETLINK_V0 = 0;
/** sizeof(struct nfgenmsg). */
export const NFGENMSG_LEN = 4;

/** enum nf_tables_msg_types. */
export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  DELCHAIN: 5,
  NEWRULE: 6,
  GETRULE: 7,
  DELRULE: 8,
  NEWSET: 9,
  GETSET: 10,
  DELSET: 11,
  NEWSETELEM: 12,
  GETSETELEM: 13,
  DELSETELEM: 14,
  NEWGEN: 15,
  GETGEN: 16,
  DESTROYTABLE: 26,
  DESTROYCHAIN: 27,
  DESTROYRULE: 28,
  DESTROYSET: 29,
  DESTROYSETELEM: 30,
} as const;

export function nftMsgType(msg: number): number {
  return (NFNL_SUBSYS_NFTABLES << 8) | msg;
}

/** enum nfproto (linux/netfilter.h), the nfgen_family of every nf_tables message. */
export const NFPROTO = { unspec: 0, inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;
export type NftFamily = Exclude<keyof typeof NFPROTO, 'unspec'>;

/** Hook numbers: NF_INET_* for ip/ip6/inet/bridge, NF_NETDEV_* for netdev, NF_ARP_* for arp. */
export const NF_INET_HOOK = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4, ingress: 5 } as const;
export const NF_NETDEV_HOOK = { ingress: 0, egress: 1 } as const;
export const NF_ARP_HOOK = { input: 0, output: 1, forward: 2 } as const;

/** Named chain priorities as nft(8) spells them (NF_IP_PRI_* of linux/netfilter_ipv4.h). */
export const NF_PRIORITY = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
} as const;

export const NFTA_LIST_ELEM = 1;

export const NFTA_HOOK = { HOOKNUM: 1, PRIORITY: 2, DEV: 3, DEVS: 4 } as const;

export const NFTA_TABLE = { NAME: 1, FLAGS: 2, USE: 3, HANDLE: 4, PAD: 5, USERDATA: 6, OWNER: 7 } as const;
export const NFT_TABLE_F = { DORMANT: 0x1, OWNER: 0x2 } as const;

export const NFTA_CHAIN = {
  TABLE: 1,
  HANDLE: 2,
  NAME: 3,
  HOOK: 4,
  POLICY: 5,
  USE: 6,
  TYPE: 7,
  COUNTERS: 8,
  PAD: 9,
  FLAGS: 10,
  ID: 11,
  USERDATA: 12,
} as const;
export const NFT_CHAIN_F = { BASE: 1, HW_OFFLOAD: 2, BINDING: 4 } as const;

export const NFTA_RULE = {
  TABLE: 1,
  CHAIN: 2,
  HANDLE: 3,
  EXPRESSIONS: 4,
  COMPAT: 5,
  POSITION: 6,
  USERDATA: 7,
  PAD: 8,
  ID: 9,
  POSITION_ID: 10,
  CHAIN_ID: 11,
} as const;

export const NFT_SET_F = {
  ANONYMOUS: 0x1,
  CONSTANT: 0x2,
  INTERVAL: 0x4,
  MAP: 0x8,
  TIMEOUT: 0x10,
  EVAL: 0x20,
  OBJECT: 0x40,
  CONCAT: 0x80,
  EXPR: 0x100,
} as const;

export const NFTA_SET = {
  TABLE: 1,
  NAME: 2,
  FLAGS: 3,
  KEY_TYPE: 4,
  KEY_LEN: 5,
  DATA_TYPE: 6,
  DATA_LEN: 7,
  POLICY: 8,
  DESC: 9,
  ID: 10,
  TIMEOUT: 11,
  GC_INTERVAL: 12,
  USERDATA: 13,
  PAD: 14,
  OBJ_TYPE: 15,
  HANDLE: 16,
  EXPR: 17,
  EXPRESSIONS: 18,
} as const;
export const NFTA_SET_DESC = { SIZE: 1, CONCAT: 2 } as const;
export const NFTA_SET_FIELD_LEN = 1;

export const NFTA_SET_ELEM = {
  KEY: 1,
  DATA: 2,
  FLAGS: 3,
  TIMEOUT: 4,
  EXPIRATION: 5,
  USERDATA: 6,
  EXPR: 7,
  PAD: 8,
  OBJREF: 9,
  KEY_END: 10,
  EXPRESSIONS: 11,
} as const;
export const NFT_SET_ELEM_F = { INTERVAL_END: 0x1, CATCHALL: 0x2 } as const;
export const NFTA_SET_ELEM_LIST = { TABLE: 1, SET: 2, ELEMENTS: 3, SET_ID: 4 } as const;

/** enum nft_data_types: a set's data type for verdict maps. */
export const NFT_DATA_VERDICT = 0xffffff00;
export const NFTA_DATA = { VALUE: 1, VERDICT: 2 } as const;
export const NFTA_VERDICT = { CODE: 1, CHAIN: 2, CHAIN_ID: 3 } as const;

/** enum nft_verdicts plus the netfilter verdicts NF_DROP (0) and NF_ACCEPT (1). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NFT_CONTINUE = -1;
export const NFT_BREAK = -2;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const NFT_RETURN = -5;

/** enum nft_registers: 0 is the verdict register, 1-4 the 16-byte ones, 8-23 the 4-byte ones. */
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG32_00 = 8;

export const NFTA_EXPR = { NAME: 1, DATA: 2 } as const;
export const NFTA_IMMEDIATE = { DREG: 1, DATA: 2 } as const;
export const NFTA_BITWISE = { SREG: 1, DREG: 2, LEN: 3, MASK: 4, XOR: 5, OP: 6, DATA: 7 } as const;
export const NFTA_CMP = { SREG: 1, OP: 2, DATA: 3 } as const;
export const NFTA_RANGE = { SREG: 1, OP: 2, FROM_DATA: 3, TO_DATA: 4 } as const;
export const NFTA_LOOKUP = { SET: 1, SREG: 2, DREG: 3, SET_ID: 4, FLAGS: 5 } as const;
export const NFT_LOOKUP_F_INV = 1;
export const NFTA_PAYLOAD = {
  DREG: 1,
  BASE: 2,
  OFFSET: 3,
  LEN: 4,
  SREG: 5,
  CSUM_TYPE: 6,
  CSUM_OFFSET: 7,
  CSUM_FLAGS: 8,
} as const;
export const NFTA_META = { DREG: 1, KEY: 2, SREG: 3 } as const;
export const NFTA_CT = { DREG: 1, KEY: 2, DIRECTION: 3, SREG: 4 } as const;
export const NFTA_COUNTER = { BYTES: 1, PACKETS: 2 } as const;
export const NFTA_NAT = {
  TYPE: 1,
  FAMILY: 2,
  REG_ADDR_MIN: 3,
  REG_ADDR_MAX: 4,
  REG_PROTO_MIN: 5,
  REG_PROTO_MAX: 6,
  FLAGS: 7,
} as const;
export const NFT_NAT = { SNAT: 0, DNAT: 1 } as const;
export const NFTA_MASQ = { FLAGS: 1, REG_PROTO_MIN: 2, REG_PROTO_MAX: 3 } as const;
export const NFTA_REDIR = { REG_PROTO_MIN: 1, REG_PROTO_MAX: 2, FLAGS: 3 } as const;
export const NFTA_FIB = { DREG: 1, RESULT: 2, FLAGS: 3 } as const;
export const NFTA_GEN = { ID: 1, PROC_PID: 2, PROC_NAME: 3 } as const;

/** enum nft_cmp_ops. */
export const NFT_CMP = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export type CmpOp = keyof typeof NFT_CMP;

/** enum nft_payload_bases. */
export const NFT_PAYLOAD_BASE = { ll: 0, network: 1, transport: 2, inner: 3 } as const;
export type PayloadBase = keyof typeof NFT_PAYLOAD_BASE;

/** enum nft_bitwise_ops. */
export const NFT_BITWISE = { bool: 0, lshift: 1, rshift: 2 } as const;

/** enum nft_meta_keys (the subset tscni names; others round-trip as numbers). */
export const NFT_META = {
  len: 0,
  protocol: 1,
  priority: 2,
  mark: 3,
  iif: 4,
  oif: 5,
  iifname: 6,
  oifname: 7,
  iiftype: 8,
  oiftype: 9,
  skuid: 10,
  skgid: 11,
  nfproto: 15,
  l4proto: 16,
  bri_iifname: 17,
  bri_oifname: 18,
  pkttype: 19,
  iifkind: 26,
  oifkind: 27,
} as const;
export type MetaKey = keyof typeof NFT_META;

/** enum nft_ct_keys (subset). */
export const NFT_CT = {
  state: 0,
  direction: 1,
  status: 2,
  mark: 3,
  secmark: 4,
  expiration: 5,
  helper: 6,
  l3protocol: 7,
  src: 8,
  dst: 9,
  protocol: 10,
  proto_src: 11,
  proto_dst: 12,
  zone: 17,
  src_ip: 19,
  dst_ip: 20,
  src_ip6: 21,
  dst_ip6: 22,
} as const;
export type CtKey = keyof typeof NFT_CT;
/** enum ip_conntrack_dir. */
export const IP_CT_DIR = { original: 0, reply: 1 } as const;
/** ct state bits (NF_CT_STATE_BIT of nf_conntrack_common.h). */
export const NF_CT_STATE = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;
export type CtState = keyof typeof NF_CT_STATE;

/** enum nft_fib_result and nft_fib_flags. */
export const NFT_FIB_RESULT = { oif: 1, oifname: 2, addrtype: 3 } as const;
export type FibResult = keyof typeof NFT_FIB_RESULT;
export const NFTA_FIB_F = { saddr: 1, daddr: 2, mark: 4, iif: 8, oif: 16, present: 32 } as const;
export type FibFlag = keyof typeof NFTA_FIB_F;
/** RTN_* route types (linux/rtnetlink.h) that `fib ... type` compares against. */
export const RTN = { unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6 } as const;

/** NF_NAT_RANGE_* flags of linux/netfilter/nf_nat.h. */
export const NF_NAT_RANGE = {
  MAP_IPS: 1,
  PROTO_SPECIFIED: 2,
  PROTO_RANDOM: 4,
  PERSISTENT: 8,
  PROTO_RANDOM_FULLY: 16,
  PROTO_OFFSET: 32,
  NETMAP: 64,
} as const;

/** nft's datatype ids (src/datatype.h of nftables): set key types shown by `nft list`. */
export const NFT_TYPE = {
  verdict: 1,
  nfproto: 2,
  bitmask: 3,
  integer: 4,
  string: 5,
  lladdr: 6,
  ipv4_addr: 7,
  ipv6_addr: 8,
  etheraddr: 9,
  ethertype: 10,
  inet_proto: 12,
  inet_service: 13,
  mark: 19,
  ifname: 41,
} as const;
export type NftType = keyof typeof NFT_TYPE;
/** Bytes of one value of each datatype in a register (as nft sizes set keys). */
export const NFT_TYPE_LEN: Record<NftType, number> = {
  verdict: 4,
  nfproto: 1,
  bitmask: 4,
  integer: 4,
  string: 16,
  lladdr: 6,
  ipv4_addr: 4,
  ipv6_addr: 16,
  etheraddr: 6,
  ethertype: 2,
  inet_proto: 1,
  inet_service: 2,
  mark: 4,
  ifname: 16,
};
/** nft packs concatenated key types 6 bits at a time (TYPE_BITS in datatype.h). */
export const NFT_TYPE_BITS = 6;

/** IFNAMSIZ: interface names are compared as 16-byte zero-padded strings. */
export const IFNAMSIZ = 16;
