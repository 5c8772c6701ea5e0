// Codec layer: rtnetlink message types and route/address/neighbour/rule attribute numbers, from
// linux/rtnetlink.h (RTM_*, RTA_*, RTN_*, RTPROT_*, RT_SCOPE_*, RT_TABLE_*, RTAX_*), linux/if_addr.h
// (IFA_*), linux/neighbour.h (NDA_*, NUD_*, NTF_*) and linux/fib_rules.h (FRA_*, FR_ACT_*).
// Values were taken from the uapi headers by compiling them, not retyped.

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
  NEWRULE: 32,
  DELRULE: 33,
  GETRULE: 34,
  NEWQDISC: 36,
  DELQDISC: 37,
  GETQDISC: 38,
  NEWTCLASS: 40,
  DELTCLASS: 41,
  GETTCLASS: 42,
  NEWTFILTER: 44,
  DELTFILTER: 45,
  GETTFILTER: 46,
  NEWACTION: 48,
  DELACTION: 49,
  GETACTION: 50,
  NEWNSID: 88,
  DELNSID: 89,
  GETNSID: 90,
  NEWCHAIN: 100,
  DELCHAIN: 101,
  GETCHAIN: 102,
} as const;

export const RTA = {
  UNSPEC: 0,
  DST: 1,
  SRC: 2,
  IIF: 3,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  MULTIPATH: 9,
  FLOW: 11,
  CACHEINFO: 12,
  TABLE: 15,
  MARK: 16,
  MFC_STATS: 17,
  VIA: 18,
  NEWDST: 19,
  PREF: 20,
  ENCAP_TYPE: 21,
  ENCAP: 22,
  EXPIRES: 23,
  PAD: 24,
  UID: 25,
  TTL_PROPAGATE: 26,
  IP_PROTO: 27,
  SPORT: 28,
  DPORT: 29,
  NH_ID: 30,
} as const;

export const RTN = {
  UNSPEC: 0,
  UNICAST: 1,
  LOCAL: 2,
  BROADCAST: 3,
  ANYCAST: 4,
  MULTICAST: 5,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
  THROW: 9,
  NAT: 10,
  XRESOLVE: 11,
} as const;

export const RTPROT = {
  UNSPEC: 0,
  REDIRECT: 1,
  KERNEL: 2,
  BOOT: 3,
  STATIC: 4,
  RA: 9,
  DHCP: 16,
} as const;

export const RT_SCOPE = {
  UNIVERSE: 0,
  SITE: 200,
  LINK: 253,
  HOST: 254,
  NOWHERE: 255,
} as const;

export const RT_TABLE = {
  UNSPEC: 0,
  COMPAT: 252,
  DEFAULT: 253,
  MAIN: 254,
  LOCAL: 255,
} as const;

export const RTAX = {
  LOCK: 1,
  MTU: 2,
  WINDOW: 3,
  RTT: 4,
  RTTVAR: 5,
  SSTHRESH: 6,
  CWND: 7,
  ADVMSS: 8,
  REORDERING: 9,
  HOPLIMIT: 10,
  INITCWND: 11,
  FEATURES: 12,
  RTO_MIN: 13,
  INITRWND: 14,
  QUICKACK: 15,
  CC_ALGO: 16,
} as const;

export const RTNH_F = {
  DEAD: 0x1,
  PERVASIVE: 0x2,
  ONLINK: 0x4,
  OFFLOAD: 0x8,
  LINKDOWN: 0x10,
} as const;

export const RTEXT_FILTER = {
  VF: 0x1,
  BRVLAN: 0x2,
  BRVLAN_COMPRESSED: 0x4,
  SKIP_STATS: 0x8,
} as const;

export const IFA = {
  UNSPEC: 0,
  ADDRESS: 1,
  LOCAL: 2,
  LABEL: 3,
  BROADCAST: 4,
  ANYCAST: 5,
  CACHEINFO: 6,
  MULTICAST: 7,
  FLAGS: 8,
  RT_PRIORITY: 9,
  TARGET_NETNSID: 10,
  PROTO: 11,
} as const;

export const IFA_F = {
  SECONDARY: 0x1,
  NODAD: 0x2,
  OPTIMISTIC: 0x4,
  DADFAILED: 0x8,
  HOMEADDRESS: 0x10,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
  MCAUTOJOIN: 0x400,
  STABLE_PRIVACY: 0x800,
} as const;

export const NDA = {
  UNSPEC: 0,
  DST: 1,
  LLADDR: 2,
  CACHEINFO: 3,
  PROBES: 4,
  VLAN: 5,
  PORT: 6,
  VNI: 7,
  IFINDEX: 8,
  MASTER: 9,
  LINK_NETNSID: 10,
  SRC_VNI: 11,
  PROTOCOL: 12,
} as const;

export const NUD = {
  INCOMPLETE: 0x1,
  REACHABLE: 0x2,
  STALE: 0x4,
  DELAY: 0x8,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
  NONE: 0x0,
} as const;

export const NTF = {
  USE: 0x1,
  SELF: 0x2,
  MASTER: 0x4,
  PROXY: 0x8,
  EXT_LEARNED: 0x10,
  OFFLOADED: 0x20,
  STICKY: 0x40,
  ROUTER: 0x80,
} as const;

export const FRA = {
  UNSPEC: 0,
  DST: 1,
  SRC: 2,
  IIFNAME: 3,
  GOTO: 4,
  PRIORITY: 6,
  FWMARK: 10,
  FLOW: 11,
  TUN_ID: 12,
  SUPPRESS_IFGROUP: 13,
  SUPPRESS_PREFIXLEN: 14,
  TABLE: 15,
  FWMASK: 16,
  OIFNAME: 17,
  PAD: 18,
  L3MDEV: 19,
  UID_RANGE: 20,
  PROTOCOL: 21,
  IP_PROTO: 22,
  SPORT_RANGE: 23,
  DPORT_RANGE: 24,
} as const;

export const FR_ACT = {
  UNSPEC: 0,
  TO_TBL: 1,
  GOTO: 2,
  NOP: 3,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
} as const;

export const FIB_RULE = {
  PERMANENT: 0x1,
  INVERT: 0x2,
  UNRESOLVED: 0x4,
  IIF_DETACHED: 0x8,
  OIF_DETACHED: 0x10,
  FIND_SADDR: 0x10000,
} as const;

