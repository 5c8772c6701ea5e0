// Floor 3 (plugins/bandwidth): the token bucket the reference bandwidth plugin installs, computed with
// the reference's own arithmetic (Go float64 steps, 25 ms latency) and installed as an explicit tbf
// (@tscni/netlink's TbfExplicit: these rate, limit and buffer values, sent as the reference's netlink
// library sends them), so that the kernel stores the very same values whichever implementation
// created the qdisc, and CHECK in either one accepts the other's.
import { TC_H_ROOT, replaceQdisc, tcHandle, tcTime2Tick } from '@tscni/netlink';
import type { NetlinkTransport, TbfExplicit, TcQdisc } from '@tscni/netlink';
import type { Limit } from './config.js';

/** Maximum queueing delay the reference gives every bucket. */
const LATENCY_MS = 25;
/** The reference's tbf handle, 1:. */
export const TBF_HANDLE = tcHandle(1, 0);

const TIME_UNITS_PER_SEC = 1_000_000;
const U32 = 2 ** 32;

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
export function referenceTbf(l: Limit, arch: string = process.arch): TbfExplicit {
  const rate = Math.floor(l.rateBits / 8);
  const burst = Math.floor(l.burstBits / 8);
  const usec = goFloatToUint32((burst * TIME_UNITS_PER_SEC) / rate, arch);
  const buffer = goFloatToUint32(tcTime2Tick(usec), arch);
  const latency = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000);
  const limit = (Math.trunc((rate * latency) / TIME_UNITS_PER_SEC) + burst) % U32;
  return { rate, limit, buffer };
}

/** `tc qdisc replace dev <ifindex> root handle 1: tbf ...` with the reference's parameters. */
export async function replaceReferenceTbf(t: NetlinkTransport, ifindex: number, p: TbfExplicit): Promise<void> {
  await replaceQdisc(t, { kind: 'tbf', ifindex, parent: TC_H_ROOT, handle: TBF_HANDLE, tbf: p });
}

/** Which of rate, limit and buffer of a kernel qdisc differ from the expected bucket (none: same). */
export function tbfDifferences(q: TcQdisc, want: TbfExplicit): string[] {
  const have = q.tbf;
  if (q.kind !== 'tbf' || have === undefined) return [`qdisc is ${q.kind}, not tbf`];
  const out: string[] = [];
  if (have.rate !== want.rate) out.push(`rate ${have.rate} != ${want.rate} bytes/s`);
  if (have.limit !== want.limit) out.push(`limit ${have.limit} != ${want.limit} bytes`);
  if (have.buffer !== want.buffer) out.push(`buffer ${have.buffer} != ${want.buffer} ticks`);
  return out;
}
