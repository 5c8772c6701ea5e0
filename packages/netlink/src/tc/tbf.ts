// tc layer: the token bucket filter qdisc (struct tc_tbf_qopt + TCA_TBF_* of linux/pkt_sched.h),
// with the arithmetic iproute2's q_tbf.c and tc_core.c use (tick conversion, rate tables, limit
// from latency), so that a qdisc set here reads back exactly like one `tc` set.

import { HOST_LE } from '../codec/netlink.js';
import { AttrMap, NetlinkDecodeError } from '../codec/reader.js';
import type { NlWriter } from '../codec/writer.js';
import {
  TC_LINKLAYER,
  TC_RATESPEC_LEN,
  TC_RTAB_SIZE,
  TC_TBF_QOPT_LEN,
  TCA_TBF,
  TICKS_PER_USEC,
  TIME_UNITS_PER_SEC,
} from './consts.js';
import type { LinkLayer } from './consts.js';

const UINT_MAX = 0xffffffff;
const U32_LIMIT = 2 ** 32;

/** What a tbf qdisc is asked to do, in iproute2's units. */
export interface TbfSpec {
  /** Bytes per second (`tc ... rate 1mbit` is 125000). */
  readonly rate: number;
  /** Bucket size in bytes (`burst`/`buffer`). */
  readonly burst: number;
  /** Queue limit in bytes; give this or `latency`. */
  readonly limit?: number;
  /** Maximum time a packet may wait, in microseconds; the limit is derived from it. */
  readonly latency?: number;
  /** Peak rate in bytes per second; needs `mtu`. */
  readonly peakrate?: number;
  /** Peak bucket (minburst) in bytes; also sizes the rate tables' cells. */
  readonly mtu?: number;
  readonly mpu?: number;
  readonly overhead?: number;
  readonly linklayer?: LinkLayer;
  /** Cell size log of the rate table (`burst 32kb/8`); computed from the MTU when absent. */
  readonly cellLog?: number;
  /** Tick arithmetic to follow; default 'truncate' (iproute2 <= 6.14, Go netlink). */
  readonly rounding?: TickRounding;
}

/**
 * A tbf given by the values the kernel stores instead of by iproute2's burst and latency: `rate`
 * in bytes/s, `limit` in bytes, `buffer` in scheduler ticks. Sent the way the Go netlink library
 * (vishvananda/netlink `Tbf`) sends one: TCA_TBF_PARMS with only the rate of the rate spec set (link
 * layer unaware, no rate table; above 32 bits the u32 field keeps the low bits and TCA_TBF_RATE64
 * carries the rate), no TCA_TBF_BURST. The kernel then holds exactly these three values, so a qdisc
 * made here compares equal to one the reference bandwidth plugin made from the same numbers.
 */
export interface TbfExplicit {
  readonly rate: number;
  readonly limit: number;
  readonly buffer: number;
}

/** struct tc_ratespec. */
export interface RateSpec {
  readonly cellLog: number;
  readonly linklayer: number;
  readonly overhead: number;
  readonly cellAlign: number;
  readonly mpu: number;
  /** u32 rate field; 0xffffffff means "see the 64-bit attribute". */
  readonly rate: number;
}

/** A tbf qdisc's parameters, as the kernel holds them (and dumps them). */
export interface TbfParams {
  /** Bytes per second (from TCA_TBF_RATE64 when the rate needs it). */
  readonly rate: number;
  readonly peakrate: number;
  readonly limit: number;
  /** Bucket size in scheduler ticks (what the kernel stores). */
  readonly buffer: number;
  /** Peak bucket in ticks. */
  readonly mtu: number;
  /** Bucket size in bytes (`tc` prints this as burst). */
  readonly burst: number;
  /** Worst-case queueing delay in µs implied by limit, rate and bucket (`tc` prints it as lat). */
  readonly latency: number;
  readonly rateSpec: RateSpec;
  readonly peakrateSpec: RateSpec;
}

// ------------------------------------------------------------------------------ tc_core.c math

/**
 * How microseconds and ticks are rounded. iproute2 up to 6.14 (and the Go netlink library the
 * reference bandwidth plugin uses) truncates to unsigned int at every step; iproute2 6.15+
 * computes in floating point and rounds the transmit time up. The two differ by a tick here and
 * there, so a qdisc compared at CHECK time must be computed the way it was created.
 */
export type TickRounding = 'truncate' | 'ceil';
export const DEFAULT_TICK_ROUNDING: TickRounding = 'truncate';

/** Microseconds to scheduler ticks (tc_core_time2tick). */
export function time2tick(usec: number): number {
  return usec * TICKS_PER_USEC;
}

/** Ticks to microseconds (tc_core_tick2time). */
export function tick2time(ticks: number): number {
  return ticks / TICKS_PER_USEC;
}

/** C's conversion of a double to unsigned int, for the values tc can meet (else: out of range). */
function toU32(v: number): number | undefined {
  const t = Math.trunc(v);
  return t >= 0 && t <= UINT_MAX ? t : undefined;
}

/**
 * Ticks needed to send `size` bytes at `rate` bytes/s (tc_calc_xmittime), with the same
 * floating-point steps as the C code so that results agree bit for bit. Returns UINT_MAX when
 * the value does not fit, which tc reports as "burst out of range".
 */
export function calcXmittime(rate: number, size: number, rounding: TickRounding = DEFAULT_TICK_ROUNDING): number {
  const usec = TIME_UNITS_PER_SEC * (size / rate);
  if (rounding === 'ceil') {
    const val = Math.ceil(time2tick(usec));
    return val > UINT_MAX ? UINT_MAX : val;
  }
  const t = toU32(usec);
  const ticks = t === undefined ? undefined : toU32(time2tick(t));
  return ticks ?? UINT_MAX;
}

/** Bytes sent at `rate` in `ticks` (tc_calc_xmitsize): how `tc` turns a buffer back into a burst. */
export function calcXmitsize(rate: number, ticks: number, rounding: TickRounding = 'ceil'): number {
  const usec = rounding === 'ceil' ? tick2time(ticks) : Math.trunc(tick2time(ticks));
  return Math.floor((rate * usec) / TIME_UNITS_PER_SEC);
}

function adjustSize(sz: number, mpu: number, linklayer: LinkLayer): number {
  const s = sz < mpu ? mpu : sz;
  if (linklayer === 'atm') {
    // ATM cells carry 48 payload bytes in 53 (tc_align_to_atm).
    return Math.ceil(s / 48) * 53;
  }
  return s;
}

/**
 * The 256-entry rate table (tc_calc_rtable): rtab[i] = ticks to send (i+1) << cell_log bytes.
 * Since Linux 3.8 the kernel computes rates itself; the table is still sent, as tc does.
 */
export function calcRateTable(
  rate: number,
  opts: { mtu?: number; cellLog?: number; mpu?: number; linklayer?: LinkLayer; rounding?: TickRounding } = {},
): { table: Uint32Array; cellLog: number } {
  const mtu = opts.mtu || 2047;
  let cellLog = opts.cellLog ?? -1;
  if (cellLog < 0) {
    cellLog = 0;
    while (mtu >> cellLog > 255) cellLog++;
  }
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const sz = adjustSize((i + 1) << cellLog, opts.mpu ?? 0, opts.linklayer ?? 'ethernet');
    table[i] = calcXmittime(rate, sz, opts.rounding);
  }
  return { table, cellLog };
}

// ------------------------------------------------------------------------------ q_tbf.c logic

/** Thrown for a tbf spec iproute2 would refuse; names the parameter. */
export class TbfSpecError extends RangeError {
  constructor(
    readonly field: keyof TbfSpec | keyof TbfExplicit,
    message: string,
  ) {
    super(`tbf: ${message}`);
  }
}

function check(spec: TbfSpec): void {
  const positive = (field: keyof TbfSpec, v: number | undefined): void => {
    if (v !== undefined && (!Number.isFinite(v) || v < 0 || !Number.isInteger(v))) {
      throw new TbfSpecError(field, `"${field}" must be a non-negative integer, got ${v}`);
    }
  };
  for (const f of ['rate', 'burst', 'limit', 'latency', 'peakrate', 'mtu', 'mpu', 'overhead'] as const) positive(f, spec[f]);
  if (!spec.rate) throw new TbfSpecError('rate', 'the "rate" parameter is mandatory');
  if (!spec.burst) throw new TbfSpecError('burst', 'the "burst" parameter is mandatory');
  if (spec.peakrate && !spec.mtu) throw new TbfSpecError('mtu', 'when "peakrate" is specified, "mtu" must also be specified');
  if (spec.limit !== undefined && spec.latency !== undefined) {
    throw new TbfSpecError('limit', 'specifying both "latency" and "limit" is not allowed');
  }
  if (!spec.limit && !spec.latency) throw new TbfSpecError('limit', 'either "limit" or "latency" is required');
  if (spec.limit !== undefined && spec.limit >= U32_LIMIT) throw new TbfSpecError('limit', 'limit does not fit 32 bits');
  if (spec.overhead !== undefined && spec.overhead > 0xffff) throw new TbfSpecError('overhead', 'overhead does not fit 16 bits');
  if (spec.mpu !== undefined && spec.mpu > 0xffff) throw new TbfSpecError('mpu', 'mpu does not fit 16 bits');
}

/** The limit in bytes for a latency (µs), as tc derives it: rate·latency + burst (or the peak bound). */
export function tbfLimitFor(spec: Pick<TbfSpec, 'rate' | 'burst' | 'peakrate' | 'mtu'>, latencyUsec: number): number {
  let lim = (spec.rate * latencyUsec) / TIME_UNITS_PER_SEC + spec.burst;
  if (spec.peakrate) {
    const lim2 = (spec.peakrate * latencyUsec) / TIME_UNITS_PER_SEC + (spec.mtu ?? 0);
    if (lim2 < lim) lim = lim2;
  }
  // C converts the double to unsigned int by truncation.
  return Math.min(Math.trunc(lim), UINT_MAX);
}

export interface TbfEncoding {
  readonly params: TbfParams;
  readonly rtab: Uint32Array;
  readonly ptab: Uint32Array | undefined;
}

/** Everything tc computes for a tbf qdisc from its spec. */
export function computeTbf(spec: TbfSpec): TbfEncoding {
  check(spec);
  const linklayer = spec.linklayer ?? 'ethernet';
  // The u32 rate field saturates; the real rate then travels in TCA_TBF_RATE64.
  const rate32 = spec.rate >= U32_LIMIT ? UINT_MAX : spec.rate;
  const prate = spec.peakrate ?? 0;
  const prate32 = prate >= U32_LIMIT ? UINT_MAX : prate;
  const limit = spec.limit ?? tbfLimitFor(spec, spec.latency ?? 0);
  const mpu = spec.mpu ?? 0;
  const overhead = spec.overhead ?? 0;
  const rounding = spec.rounding ?? DEFAULT_TICK_ROUNDING;
  const r = calcRateTable(rate32, {
    mtu: spec.mtu ?? 0,
    mpu,
    linklayer,
    rounding,
    ...(spec.cellLog === undefined ? {} : { cellLog: spec.cellLog }),
  });
  const buffer = calcXmittime(rate32, spec.burst, rounding);
  if (buffer === UINT_MAX) throw new TbfSpecError('burst', 'burst out of range');
  const ll = TC_LINKLAYER[linklayer];
  const rateSpec: RateSpec = { cellLog: r.cellLog, linklayer: ll, overhead, cellAlign: -1, mpu, rate: rate32 };
  let peakrateSpec: RateSpec = { cellLog: 0, linklayer: 0, overhead: 0, cellAlign: 0, mpu: 0, rate: 0 };
  let ptab: Uint32Array | undefined;
  let mtuTicks = 0;
  if (prate32) {
    const p = calcRateTable(prate32, { mtu: spec.mtu ?? 0, mpu, linklayer, rounding });
    ptab = p.table;
    peakrateSpec = { cellLog: p.cellLog, linklayer: ll, overhead, cellAlign: -1, mpu, rate: prate32 };
    mtuTicks = calcXmittime(prate32, spec.mtu ?? 0, rounding);
  }
  return {
    params: {
      rate: spec.rate,
      peakrate: prate,
      limit,
      buffer,
      mtu: mtuTicks,
      burst: spec.burst,
      latency: tbfLatency(spec.rate, prate, limit, buffer, mtuTicks),
      rateSpec,
      peakrateSpec,
    },
    rtab: r.table,
    ptab,
  };
}

/** The latency tc reports for a tbf (tbf_print_opt): time to drain the limit minus the bucket. */
export function tbfLatency(rate: number, peakrate: number, limit: number, buffer: number, mtu: number): number {
  let lat = TIME_UNITS_PER_SEC * (limit / rate) - tick2time(buffer);
  if (peakrate) {
    const lat2 = TIME_UNITS_PER_SEC * (limit / peakrate) - tick2time(mtu);
    if (lat2 > lat) lat = lat2;
  }
  return lat;
}

function writeRateSpec(dv: DataView, off: number, r: RateSpec): void {
  dv.setUint8(off, r.cellLog);
  dv.setUint8(off + 1, r.linklayer);
  dv.setUint16(off + 2, r.overhead, HOST_LE);
  dv.setInt16(off + 4, r.cellAlign, HOST_LE);
  dv.setUint16(off + 6, r.mpu, HOST_LE);
  dv.setUint32(off + 8, r.rate, HOST_LE);
}

function readRateSpec(dv: DataView, off: number): RateSpec {
  return {
    cellLog: dv.getUint8(off),
    linklayer: dv.getUint8(off + 1) & 0x0f,
    overhead: dv.getUint16(off + 2, HOST_LE),
    cellAlign: dv.getInt16(off + 4, HOST_LE),
    mpu: dv.getUint16(off + 6, HOST_LE),
    rate: dv.getUint32(off + 8, HOST_LE),
  };
}

function tableBytes(t: Uint32Array): Uint8Array {
  const out = new Uint8Array(TC_RTAB_SIZE);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 256; i++) dv.setUint32(i * 4, t[i] ?? 0, HOST_LE);
  return out;
}

function u64Bytes(v: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(v), HOST_LE);
  return out;
}

/** TCA_TBF_PARMS (+ TCA_TBF_RATE64) of an explicit tbf; see TbfExplicit. */
function encodeExplicitTbf(w: NlWriter, spec: TbfExplicit): void {
  for (const f of ['rate', 'limit', 'buffer'] as const) {
    const v = spec[f];
    if (!Number.isInteger(v) || v < 0 || (f !== 'rate' && v >= U32_LIMIT)) {
      throw new TbfSpecError(f, `"${f}" must be an integer from 0 to ${f === 'rate' ? '2^53' : '2^32-1'}, got ${v}`);
    }
  }
  if (spec.rate === 0) throw new TbfSpecError('rate', 'the "rate" parameter is mandatory');
  const qopt = new Uint8Array(TC_TBF_QOPT_LEN);
  const dv = new DataView(qopt.buffer);
  dv.setUint32(8, spec.rate % U32_LIMIT, HOST_LE);
  dv.setUint32(2 * TC_RATESPEC_LEN, spec.limit, HOST_LE);
  dv.setUint32(2 * TC_RATESPEC_LEN + 4, spec.buffer, HOST_LE);
  w.putBytes(TCA_TBF.PARMS, qopt);
  if (spec.rate >= U32_LIMIT) w.putBytes(TCA_TBF.RATE64, u64Bytes(spec.rate));
}

/**
 * Write the attributes inside TCA_OPTIONS: a spec with `burst` as q_tbf.c does (in its order), an
 * explicit one (with `buffer`) as the Go netlink library does.
 */
export function encodeTbfOptions(w: NlWriter, spec: TbfSpec | TbfExplicit): void {
  if ('buffer' in spec) {
    encodeExplicitTbf(w, spec);
    return;
  }
  const { params, rtab, ptab } = computeTbf(spec);
  const qopt = new Uint8Array(TC_TBF_QOPT_LEN);
  const dv = new DataView(qopt.buffer);
  writeRateSpec(dv, 0, params.rateSpec);
  writeRateSpec(dv, TC_RATESPEC_LEN, params.peakrateSpec);
  dv.setUint32(2 * TC_RATESPEC_LEN, params.limit, HOST_LE);
  dv.setUint32(2 * TC_RATESPEC_LEN + 4, params.buffer, HOST_LE);
  dv.setUint32(2 * TC_RATESPEC_LEN + 8, params.mtu, HOST_LE);
  w.putBytes(TCA_TBF.PARMS, qopt);
  if (spec.burst < U32_LIMIT) w.putU32(TCA_TBF.BURST, spec.burst);
  if (spec.rate >= U32_LIMIT) w.putBytes(TCA_TBF.RATE64, u64Bytes(spec.rate));
  w.putBytes(TCA_TBF.RTAB, tableBytes(rtab));
  if (ptab) {
    const prate = spec.peakrate ?? 0;
    if (prate >= U32_LIMIT) w.putBytes(TCA_TBF.PRATE64, u64Bytes(prate));
    w.putU32(TCA_TBF.PBURST, spec.mtu ?? 0);
    w.putBytes(TCA_TBF.PTAB, tableBytes(ptab));
  }
}

/** Read TCA_OPTIONS of a tbf qdisc (a kernel dump carries PARMS and the 64-bit rates). */
export function decodeTbfOptions(options: Uint8Array): TbfParams {
  const a = AttrMap.parse(options);
  const parms = a.get(TCA_TBF.PARMS);
  if (parms === undefined || parms.length < TC_TBF_QOPT_LEN) {
    throw new NetlinkDecodeError('tbf options without a complete TCA_TBF_PARMS', 0);
  }
  const dv = new DataView(parms.buffer, parms.byteOffset, parms.byteLength);
  const rateSpec = readRateSpec(dv, 0);
  const peakrateSpec = readRateSpec(dv, TC_RATESPEC_LEN);
  const rate64 = a.u64(TCA_TBF.RATE64);
  const prate64 = a.u64(TCA_TBF.PRATE64);
  const rate = rate64 !== undefined ? Number(rate64) : rateSpec.rate;
  const peakrate = prate64 !== undefined ? Number(prate64) : peakrateSpec.rate;
  const buffer = dv.getUint32(2 * TC_RATESPEC_LEN + 4, HOST_LE);
  const limit = dv.getUint32(2 * TC_RATESPEC_LEN, HOST_LE);
  const mtu = dv.getUint32(2 * TC_RATESPEC_LEN + 8, HOST_LE);
  return {
    rate,
    peakrate,
    limit,
    buffer,
    mtu,
    // The bucket in bytes from the tick count and the (64-bit) rate, without tc 6.1's truncation.
    burst: a.u32(TCA_TBF.BURST) ?? calcXmitsize(rate, buffer),
    latency: tbfLatency(rate, peakrate, limit, buffer, mtu),
    rateSpec,
    peakrateSpec,
  };
}
