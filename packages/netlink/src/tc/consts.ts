// tc layer: constants of the traffic-control netlink API, named as in linux/rtnetlink.h (struct
// tcmsg, TCA_*), linux/pkt_sched.h (handles, tbf), linux/pkt_cls.h (u32, actions) and
// linux/tc_act/tc_mirred.h.

/** sizeof(struct tcmsg): family, pad, pad, ifindex, handle, parent, info. */
export const TCMSG_LEN = 20;

/** enum { TCA_UNSPEC, TCA_KIND, TCA_OPTIONS, ... } of linux/rtnetlink.h. */
export const TCA = {
  KIND: 1,
  OPTIONS: 2,
  STATS: 3,
  XSTATS: 4,
  RATE: 5,
  FCNT: 6,
  STATS2: 7,
  STAB: 8,
  PAD: 9,
  DUMP_INVISIBLE: 10,
  CHAIN: 11,
  HW_OFFLOAD: 12,
  INGRESS_BLOCK: 13,
  EGRESS_BLOCK: 14,
  DUMP_FLAGS: 15,
  EXT_WARN_MSG: 16,
} as const;

/** Handles (linux/pkt_sched.h): major:minor in one u32. */
export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
export const TC_H_CLSACT = TC_H_INGRESS;
export const TC_H_UNSPEC = 0;
export const TC_H_MIN_INGRESS = 0xfff2;
export const TC_H_MIN_EGRESS = 0xfff3;

export function tcHandle(major: number, minor: number): number {
  return (((major & 0xffff) << 16) | (minor & 0xffff)) >>> 0;
}
export function tcMajor(h: number): number {
  return (h >>> 16) & 0xffff;
}
export function tcMinor(h: number): number {
  return h & 0xffff;
}

/** enum { TCA_TBF_* } of linux/pkt_sched.h. */
export const TCA_TBF = { PARMS: 1, RTAB: 2, PTAB: 3, RATE64: 4, PRATE64: 5, BURST: 6, PBURST: 7, PAD: 8 } as const;

/** sizeof(struct tc_ratespec) and sizeof(struct tc_tbf_qopt). */
export const TC_RATESPEC_LEN = 12;
export const TC_TBF_QOPT_LEN = 2 * TC_RATESPEC_LEN + 12;
/** A rate table: 256 u32 transmit times (TC_RTAB_SIZE bytes). */
export const TC_RTAB_SIZE = 1024;

/** enum tc_link_layer. */
export const TC_LINKLAYER = { unaware: 0, ethernet: 1, atm: 2 } as const;
export type LinkLayer = Exclude<keyof typeof TC_LINKLAYER, 'unaware'>;

/** enum { TCA_U32_* } of linux/pkt_cls.h. */
export const TCA_U32 = {
  CLASSID: 1,
  HASH: 2,
  LINK: 3,
  DIVISOR: 4,
  SEL: 5,
  POLICE: 6,
  ACT: 7,
  INDEV: 8,
  PCNT: 9,
  MARK: 10,
  FLAGS: 11,
  PAD: 12,
} as const;
/** struct tc_u32_sel flags. */
export const TC_U32_TERMINAL = 1;
/** sizeof(struct tc_u32_sel) without keys, and of one struct tc_u32_key. */
export const TC_U32_SEL_LEN = 16;
export const TC_U32_KEY_LEN = 16;

/** enum { TCA_ACT_* } of linux/pkt_cls.h (one action inside a filter's action list). */
export const TCA_ACT = { KIND: 1, OPTIONS: 2, INDEX: 3, STATS: 4, PAD: 5, COOKIE: 6, FLAGS: 7 } as const;

/** Generic action verdicts (TC_ACT_*). */
export const TC_ACT = {
  UNSPEC: -1,
  OK: 0,
  RECLASSIFY: 1,
  SHOT: 2,
  PIPE: 3,
  STOLEN: 4,
  QUEUED: 5,
  REPEAT: 6,
  REDIRECT: 7,
  TRAP: 8,
} as const;

/** linux/tc_act/tc_mirred.h. */
export const TCA_MIRRED = { TM: 1, PARMS: 2, PAD: 3 } as const;
export const TCA_EGRESS_REDIR = 1;
export const TCA_EGRESS_MIRROR = 2;
export const TCA_INGRESS_REDIR = 3;
export const TCA_INGRESS_MIRROR = 4;
/** sizeof(struct tc_mirred): tc_gen (index, capab, action, refcnt, bindcnt) + eaction + ifindex. */
export const TC_MIRRED_LEN = 28;

/** Ethernet protocol numbers for a filter's protocol (linux/if_ether.h), in host order here. */
export const ETH_P = { all: 0x0003, ip: 0x0800, ipv6: 0x86dd, arp: 0x0806, '8021q': 0x8100 } as const;
export type FilterProtocol = keyof typeof ETH_P | number;

/**
 * The kernel's scheduler clock as /proc/net/psched reports it: 1000 ns per µs (t2us), 64 ns per
 * tick (us2t, PSCHED_SHIFT 6), clock resolution 1e6. iproute2's tc_core_init turns that into
 * 15.625 ticks per microsecond; the numbers have been fixed since Linux 2.6.31.
 */
export const PSCHED_T2US = 1000;
export const PSCHED_US2T = 64;
export const TICKS_PER_USEC = PSCHED_T2US / PSCHED_US2T;
export const TIME_UNITS_PER_SEC = 1_000_000;
