// Layer 1 (spec): CNI spec versions, their ordering and selection, mirroring Go pkg/version
// (ParseVersion, GreaterThan, VersionsStartingFrom, PluginDecoder) and libcni's cniVersions choice.
import { CniError, ErrorCode, jsonTypeName } from './errors.js';

export const SPEC_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];
export const CURRENT_VERSION = '1.1.0';
/** The version assumed when a config or result declares none. */
export const DEFAULT_CNI_VERSION_FOR_MISSING = '0.1.0';

export interface VersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

const PART = /^[+-]?\d+$/;

/**
 * Parses "M", "M.m" or "M.m.p" into numbers ('' means 0.1.0), as Go's version.ParseVersion does
 * (strconv.Atoi per part, so a sign is accepted). Anything else is CniError code 1.
 */
export function parseVersion(v: string): readonly [number, number, number] {
  if (v === '') return [0, 1, 0];
  const parts = v.split('.');
  if (parts.length > 3) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, `invalid version ${JSON.stringify(v)}: too many parts`);
  }
  const out: [number, number, number] = [0, 0, 0];
  const names = ['major', 'minor', 'micro'] as const;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    const n = PART.test(p) ? Number(p) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new CniError(ErrorCode.IncompatibleCNIVersion, `invalid version ${JSON.stringify(v)}: bad ${names[i]} part ${JSON.stringify(p)}`);
    }
    out[i] = n === 0 ? 0 : n; // no -0
  }
  return out;
}

export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/**
 * The version libcni uses for a conflist: the highest of `cniVersion` and `cniVersions` that is not
 * above CURRENT_VERSION. Without `cniVersions` the plain `cniVersion` is returned unchecked; when
 * every entry is filtered out the raw `cniVersion` is kept. A malformed entry is CniError code 7.
 */
export function selectVersion(cniVersion: string | undefined, cniVersions?: readonly string[]): string {
  const raw = cniVersion ?? '';
  if (cniVersions === undefined) return raw;
  const candidates: string[] = [];
  cniVersions.forEach((v, i) => {
    if (!lowerOrEqualCurrent(v, `invalid cniVersions entry ${JSON.stringify(v)} at index ${i}`)) return;
    candidates.push(v);
  });
  if (raw !== '' && lowerOrEqualCurrent(raw, `invalid cniVersion ${JSON.stringify(raw)}`)) candidates.push(raw);
  let best: string | undefined;
  for (const c of candidates) if (best === undefined || compareVersions(c, best) > 0) best = c;
  return best ?? raw;
}

function lowerOrEqualCurrent(v: string, what: string): boolean {
  try {
    return compareVersions(v, CURRENT_VERSION) <= 0;
  } catch (e) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, what, e instanceof CniError ? e.msg : undefined);
  }
}

/** SPEC_VERSIONS from `min` on (like Go's VersionsStartingFrom; an unknown `min` gives []). */
export function versionsFrom(min: string): string[] {
  const i = (SPEC_VERSIONS as readonly string[]).indexOf(min);
  return i < 0 ? [] : SPEC_VERSIONS.slice(i);
}

/**
 * Decodes a plugin's VERSION reply (JSON text, bytes or parsed value) like Go's PluginDecoder:
 * `cniVersion` is required; a legacy 0.2.0 reply without `supportedVersions` means [0.1.0, 0.2.0].
 */
export function parseVersionInfo(json: unknown): VersionInfo {
  let v = json;
  if (typeof v === 'string' || v instanceof Uint8Array) {
    const text = typeof v === 'string' ? v : new TextDecoder().decode(v);
    try {
      v = JSON.parse(text) as unknown;
    } catch (e) {
      throw new CniError(ErrorCode.DecodingFailure, 'decoding version info', e instanceof Error ? e.message : String(e));
    }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new CniError(ErrorCode.DecodingFailure, 'decoding version info', `expected a JSON object, got ${jsonTypeName(v)}`);
  }
  const o = v as Record<string, unknown>;
  const cniVersion = o['cniVersion'] ?? '';
  if (typeof cniVersion !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, 'decoding version info', '"cniVersion" must be a string');
  }
  if (cniVersion === '') throw new CniError(ErrorCode.DecodingFailure, 'decoding version info', 'missing field "cniVersion"');
  const sv = o['supportedVersions'] ?? [];
  if (!Array.isArray(sv)) {
    throw new CniError(ErrorCode.DecodingFailure, 'decoding version info', '"supportedVersions" must be an array of strings');
  }
  const supportedVersions: string[] = [];
  sv.forEach((s: unknown, i) => {
    if (typeof s !== 'string') {
      throw new CniError(ErrorCode.DecodingFailure, 'decoding version info', `"supportedVersions[${i}]" must be a string`);
    }
    supportedVersions.push(s);
  });
  if (supportedVersions.length === 0) {
    if (cniVersion === '0.2.0') return { cniVersion: CURRENT_VERSION, supportedVersions: ['0.1.0', '0.2.0'] };
    throw new CniError(ErrorCode.DecodingFailure, 'decoding version info', 'missing field "supportedVersions"');
  }
  return { cniVersion, supportedVersions };
}

/** VERSION reply text exactly as Go's json.Encoder writes it (compact, trailing newline). */
export function formatVersionInfo(info: VersionInfo): string {
  return `${JSON.stringify({ cniVersion: info.cniVersion, supportedVersions: info.supportedVersions })}\n`;
}
