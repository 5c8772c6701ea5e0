// Floor 3 (plugins/bandwidth): the reference bandwidth plugin's limits — `ingressRate`/`ingressBurst`
// and `egressRate`/`egressBurst` (bits per second, bits) at the top level, or the `bandwidth`
// capability (runtimeConfig.bandwidth) when none of the four top-level keys is present.
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { GoObject } from '../shared/conf.js';

/** One direction's token bucket, in the units of the configuration. */
export interface Limit {
  /** Bits per second, > 0. */
  readonly rateBits: number;
  /** Bits, > 0. */
  readonly burstBits: number;
}

export interface BandwidthConfig {
  /** Traffic towards the container: a tbf on the host end of the veth. */
  readonly ingress: Limit | undefined;
  /** Traffic from the container: redirected to an ifb that carries the tbf. */
  readonly egress: Limit | undefined;
}

const KEYS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const;
/** The reference's bound: burst/8 must fit a u32 with room (Go: `burst/8 >= math.MaxUint32` fails). */
const MAX_BURST_BYTES = 0xffff_ffff;

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/** A Go uint64 field: a non-negative integer. Above 2^53 a JSON number no longer holds an exact value. */
function uint(o: GoObject, key: string): number {
  const v = o.get(key);
  if (v === undefined) return 0;
  const field = o.field(key);
  if (typeof v !== 'number') throw invalid(`${field}: must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isInteger(v) || v < 0) throw invalid(`${field}: must be a non-negative integer, got ${v}`);
  if (!Number.isSafeInteger(v)) throw invalid(`${field}: ${v} is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  return v;
}

function direction(o: GoObject, dir: 'ingress' | 'egress'): Limit | undefined {
  const rateKey = `${dir}Rate`;
  const burstKey = `${dir}Burst`;
  const rateBits = uint(o, rateKey);
  const burstBits = uint(o, burstKey);
  if (rateBits === 0 && burstBits === 0) return undefined;
  if (burstBits === 0) throw invalid(`${o.field(burstKey)}: if ${rateKey} is set, ${burstKey} must also be set`);
  if (rateBits === 0) throw invalid(`${o.field(rateKey)}: if ${burstKey} is set, ${rateKey} must also be set`);
  // The kernel works in bytes: under 8 bits there is nothing left of the rate or the bucket.
  if (rateBits < 8) throw invalid(`${o.field(rateKey)}: must be at least 8 bits per second, got ${rateBits}`);
  if (burstBits < 8) throw invalid(`${o.field(burstKey)}: must be at least 8 bits, got ${burstBits}`);
  if (Math.floor(burstBits / 8) >= MAX_BURST_BYTES) throw invalid(`${o.field(burstKey)}: burst cannot be more than 4GB`);
  return { rateBits, burstBits };
}

/** The limits of a network configuration; all zero (or absent) means "no shaping". */
export function loadBandwidthConfig(netconf: NetConf): BandwidthConfig {
  const top = new GoObject(netconf);
  const hasTop = KEYS.some((k) => top.get(k) !== undefined);
  const source = hasTop ? top : top.object('runtimeConfig')?.object('bandwidth');
  if (source === undefined) return { ingress: undefined, egress: undefined };
  return { ingress: direction(source, 'ingress'), egress: direction(source, 'egress') };
}

export function isUnshaped(c: BandwidthConfig): boolean {
  return c.ingress === undefined && c.egress === undefined;
}
