// Floor 3 (plugins/bandwidth): the token bucket the reference bandwidth plugin installs, computed with
// the reference's own arithmetic (Go float64 steps, 25 ms latency) and sent the way its netlink
// library sends it (TCA_TBF_PARMS [+ TCA_TBF_RATE64], no TCA_TBF_BURST), so that the kernel stores
// the very same rate, limit and buffer whichever implementation created the qdisc, and CHECK in
// either one accepts the other's. linux/pkt_sched.h (struct tc_tbf_qopt, TCA_TBF_*).
import { NLM_F, NlWriter, RTM, TC_H_ROOT, tcHandle } from '@tscni/netlink';
import type { NetlinkTransport, TcQdisc } from '@tscni/netlink';
import type { Limit } from './config.js';

/** Maximum queueing delay the reference gives every bucket. */
export const LATENCY_MS = 25;
/** The reference's tbf handle, 1:. */
export const TBF_HANDLE = tcHandle(1, 0);

const TIME_UNITS_PER_SEC = 1_000_000;
/**
 * Scheduler ticks per microsecond: /proc/net/psched's t2us/us2t (1000/64; the kernel's
 * PSCHED_SHIFT is 6), which the Go netlink library reads at start-up.
 */
const TICK_IN_USEC = 1000 / 64;
const U32 = 2 ** 32;
/** Netlink structs are in host byte order. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// linux/rtnetlink.h, linux/pkt_sched.h
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;
/** struct tc_ratespec (12) + struct tc_ratespec (12) + limit, buffer, mtu (u32 each). */
const TC_TBF_QOPT_LEN = 36;

/** What the kernel holds for a reference bucket: tbf `rate` (bytes/s), `limit` (bytes), `buffer` (ticks). */
export interface TbfParams {
  readonly rate: number;
  readonly limit: number;
  readonly buffer: number;
}

/**
 * Go's conversion of a float64 to uint32, which the reference applies to the bucket size. The
 * language leaves out-of-range results to the platform: amd64 converts through int64 and keeps the
 * low 32 bits (0 beyond int64), arm64 saturates. Large bursts (Kubernetes sends 2^31-1 bits) do
 * overflow, so the platform's answer is reproduced to agree with the reference on the same host.
 */
export function goFloatToUint32(x: number, arch: string = process.arch): number {
  if (Number.isNaN(x) || x < 0) return 0;
  if (arch === 'arm64') return x >= U32 ? U32 - 1 : Math.trunc(x);
  if (x >= 2 ** 63) return 0;
  return Number(BigInt(Math.trunc(x)) & 0xffff_ffffn);
}

/**
 * The reference's bucket for a limit in bits: bytes = bits/8 (integer division); buffer =
 * time2tick(uint32(burst·10^6/rate)); limit = uint64(rate·latency/10^6) + burst, kept to 32 bits.
 */
export function referenceTbf(l: Limit, arch: string = process.arch): TbfParams {
  const rate = Math.floor(l.rateBits / 8);
  const burst = Math.floor(l.burstBits / 8);
  const usec = goFloatToUint32((burst * TIME_UNITS_PER_SEC) / rate, arch);
  const buffer = goFloatToUint32(usec * TICK_IN_USEC, arch);
  const latency = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000);
  const limit = (Math.trunc((rate * latency) / TIME_UNITS_PER_SEC) + burst) % U32;
  return { rate, limit, buffer };
}

/** RTM_NEWQDISC for a root tbf with exactly these parameters (`flags` chooses add or replace). */
export function encodeReferenceTbf(ifindex: number, p: TbfParams, flags: number): Uint8Array {
  const w = new NlWriter(128);
  const at = w.beginMessage(RTM.NEWQDISC, flags);
  // struct tcmsg: family, pad, pad, ifindex, handle, parent, info.
  w.writeU8(0).writeU8(0).writeU16(0).writeS32(ifindex).writeU32(TBF_HANDLE).writeU32(TC_H_ROOT).writeU32(0);
  w.putString(TCA_KIND, 'tbf');
  const opts = w.beginNested(TCA_OPTIONS);
  const qopt = new Uint8Array(TC_TBF_QOPT_LEN);
  const dv = new DataView(qopt.buffer);
  // Only the rate of the rate spec is set (link layer "unaware", no rate table), as the reference does;
  // a rate above 32 bits travels in TCA_TBF_RATE64 and the 32-bit field keeps its low bits.
  dv.setUint32(8, p.rate % U32, HOST_LE);
  dv.setUint32(24, p.limit, HOST_LE);
  dv.setUint32(28, p.buffer, HOST_LE);
  w.putBytes(TCA_TBF_PARMS, qopt);
  if (p.rate >= U32) w.putU64(TCA_TBF_RATE64, BigInt(p.rate));
  w.endNested(opts);
  return w.endMessage(at).finish();
}

/** `tc qdisc replace dev <ifindex> root handle 1: tbf ...` with the reference's parameters. */
export async function replaceReferenceTbf(t: NetlinkTransport, ifindex: number, p: TbfParams): Promise<void> {
  await t.request(encodeReferenceTbf(ifindex, p, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE), {
    operation: `qdisc replace tbf on ifindex ${ifindex}`,
  });
}

/** Which of rate, limit and buffer of a kernel qdisc differ from the expected bucket (none: same). */
export function tbfDifferences(q: TcQdisc, want: TbfParams): string[] {
  const have = q.tbf;
  if (q.kind !== 'tbf' || have === undefined) return [`qdisc is ${q.kind}, not tbf`];
  const out: string[] = [];
  if (have.rate !== want.rate) out.push(`rate ${have.rate} != ${want.rate} bytes/s`);
  if (have.limit !== want.limit) out.push(`limit ${have.limit} != ${want.limit} bytes`);
  if (have.buffer !== want.buffer) out.push(`buffer ${have.buffer} != ${want.buffer} ticks`);
  return out;
}
