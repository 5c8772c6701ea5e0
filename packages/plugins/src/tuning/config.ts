// Floor 3 (plugins/tuning): the reference tuning plugin's configuration — `sysctl`, `mac`, `mtu`,
// `promisc`, `allmulti`, `txQLen`, `dataDir`, their `args.cni.*` overrides and the MAC from CNI_ARGS,
// `args.cni.mac` and the `mac` capability — and the rule that a sysctl must live under /proc/sys/net.
import { readFileSync } from 'node:fs';
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { GoObject, checkMac, readMtu, requestedMac } from '../shared/conf.js';

export const DEFAULT_DATA_DIR = '/run/cni/tuning';
export const DEFAULT_ALLOWLIST = '/etc/cni/tuning/allowlist.conf';

export interface SysctlSetting {
  /** The key as configured (what the allowlist is matched against). */
  readonly key: string;
  /** Where it resolves below /proc/sys, slash-separated and starting with `net/`. */
  readonly path: string;
  readonly value: string;
}

export interface TuningConfig {
  readonly dataDir: string;
  readonly sysctl: readonly SysctlSetting[];
  readonly mac: string | undefined;
  readonly mtu: number | undefined;
  /** Only `true` changes anything: the reference never turns promiscuous mode off. */
  readonly promisc: boolean;
  readonly allmulti: boolean | undefined;
  readonly txQLen: number | undefined;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/**
 * A sysctl key (`net.ipv4.conf.IFNAME.arp_filter`, or with `/` separators so that names with dots
 * can be written) as a path below /proc/sys. The first `IFNAME` becomes the interface name after
 * splitting, so an interface called `eth0.100` stays one path element. Anything that does not stay
 * below /proc/sys/net — other subsystems, empty, `.` or `..` elements — is code 7.
 */
export function resolveSysctlKey(key: string, ifName: string): string {
  const parts = key.split(key.includes('/') ? '/' : '.');
  const at = parts.findIndex((p) => p.includes('IFNAME'));
  if (at >= 0) parts[at] = (parts[at] as string).replace('IFNAME', ifName);
  const bad = parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('/') || p.includes('\0'));
  if (bad || parts.length < 2 || parts[0] !== 'net') {
    throw invalid(`sysctl: invalid net sysctl key ${JSON.stringify(key)}: it must name a file under /proc/sys/net`);
  }
  return parts.join('/');
}

/** One `sysctl` map (top level or args.cni): string values, no two keys naming the same file. */
function sysctlMap(raw: unknown, field: string, ifName: string): SysctlSetting[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`${field}: must be an object of strings`);
  const out: SysctlSetting[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'string') throw invalid(`${field}[${JSON.stringify(key)}]: must be a string, got ${value === null ? 'null' : typeof value}`);
    const path = resolveSysctlKey(key, ifName);
    const prior = seen.get(path);
    if (prior !== undefined) {
      throw invalid(`${field}: duplicated sysctl key: ${JSON.stringify(prior)} and ${JSON.stringify(key)} both name /proc/sys/${path}`);
    }
    seen.set(path, key);
    out.push({ key, path, value });
  }
  return out;
}

function optionalBool(o: GoObject, key: string): boolean | undefined {
  return o.get(key) === undefined ? undefined : o.bool(key);
}

function txQLen(o: GoObject): number | undefined {
  const v = o.int('txQLen');
  if (v !== undefined && (v < 0 || v > 0xffff_ffff)) throw invalid(`${o.field('txQLen')}: must be between 0 and 4294967295, got ${v}`);
  return v;
}

/** `dataDir`, or the default; all DEL and GC need (they must not fail on the rest of a config). */
export function tuningDataDir(netconf: NetConf): string {
  const v = new GoObject(netconf).get('dataDir');
  return typeof v === 'string' && v !== '' ? v : DEFAULT_DATA_DIR;
}

/**
 * The configuration as the reference reads it: static keys first, then `args.cni.*` overrides;
 * the MAC from the top-level `mac` < CNI_ARGS `MAC` < `args.cni.mac` < `runtimeConfig.mac`.
 * `args.cni.sysctl` entries replace static entries naming the same file.
 */
export function loadTuningConfig(netconf: NetConf, cniArgs: string, ifName: string): TuningConfig {
  const o = new GoObject(netconf);
  const dataDir = o.string('dataDir');
  let sysctl = sysctlMap(o.get('sysctl'), 'sysctl', ifName);
  const topMac = o.string('mac');
  let mac = topMac === undefined || topMac === '' ? undefined : checkMac(topMac, 'mac');
  let mtu = readMtu(o);
  let promisc = o.bool('promisc');
  let allmulti = optionalBool(o, 'allmulti');
  let qlen = txQLen(o);

  const a = o.object('args')?.object('cni');
  if (a !== undefined) {
    const over = sysctlMap(a.get('sysctl'), a.field('sysctl'), ifName);
    if (over.length > 0) {
      const replaced = new Set(over.map((s) => s.path));
      sysctl = [...sysctl.filter((s) => !replaced.has(s.path)), ...over];
    }
    if (a.get('mtu') !== undefined) mtu = readMtu(a);
    if (a.get('promisc') !== undefined) promisc = a.bool('promisc');
    if (a.get('allmulti') !== undefined) allmulti = a.bool('allmulti');
    if (a.get('txQLen') !== undefined) qlen = txQLen(a);
  }
  mac = requestedMac(netconf, cniArgs) ?? mac;

  return {
    dataDir: dataDir === undefined || dataDir === '' ? DEFAULT_DATA_DIR : dataDir,
    sysctl,
    mac,
    mtu,
    promisc,
    allmulti,
    txQLen: qlen,
  };
}

/**
 * The optional allowlist: one regular expression per non-empty line, each matched (unanchored, like
 * Go's regexp.MatchString) against the configured key. Absent file: everything under net is allowed.
 */
export function checkAllowlist(sysctl: readonly SysctlSetting[], file: string = DEFAULT_ALLOWLIST): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return;
    throw new CniError(ErrorCode.IOFailure, `sysctl allowlist ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const lines: string[] = [];
  const patterns: RegExp[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '') return;
    try {
      patterns.push(new RegExp(line));
    } catch {
      throw invalid(`sysctl allowlist ${file} line ${i + 1}: invalid regular expression ${JSON.stringify(line)}`);
    }
    lines.push(line);
  });
  for (const s of sysctl) {
    if (!patterns.some((p) => p.test(s.key))) {
      throw invalid(`sysctl ${JSON.stringify(s.key)} is not allowed; the allowlist ${file} allows: ${lines.join(', ')}`);
    }
  }
}
