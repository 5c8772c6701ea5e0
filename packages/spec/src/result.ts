// Layer 1 (spec): CNI results in their three JSON families (Go pkg/types/020, 040, 100): parsing,
// Go-identical printing, and the reference conversion rules between all seven spec versions.
import { CniError, ErrorCode, jsonTypeName, type ErrorResult } from './errors.js';
import { goJson, parseJson } from './json.js';
import { canonicalCIDRText, canonicalIPText, isV4CIDR } from '@tscni/ip';
import { check, goReadView, result020Shape, result040Shape, result100Shape } from './shape.js';
import { CURRENT_VERSION, DEFAULT_CNI_VERSION_FOR_MISSING, type VersionInfo } from './versions.js';

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}
/** `address` is a CIDR that keeps the host bits, e.g. "10.1.2.3/24". */
export interface IPConfig {
  interface?: number;
  address: string;
  gateway?: string;
}
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}
export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}
/** Result of spec versions 1.0.0 and 1.1.0 (the current shape). */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}
/** Result of spec versions 0.3.0, 0.3.1 and 0.4.0. `dns` is always printed, possibly `{}`. */
export interface Result040 {
  cniVersion: string;
  interfaces?: Array<Pick<Interface, 'name' | 'mac' | 'sandbox'>>;
  ips?: Array<IPConfig & { version: '4' | '6' }>;
  routes?: Route[];
  dns: DNS;
}
export interface IPConfig020 {
  ip: string;
  gateway?: string;
  routes?: Route[];
}
/** Result of spec versions 0.1.0 and 0.2.0. */
export interface Result020 {
  cniVersion: string;
  ip4?: IPConfig020;
  ip6?: IPConfig020;
  dns: DNS;
}
export type AnyResult = Result | Result040 | Result020;

type Family = '020' | '040' | '100';

const FAMILY: Readonly<Record<string, Family>> = {
  '0.1.0': '020',
  '0.2.0': '020',
  '0.3.0': '040',
  '0.3.1': '040',
  '0.4.0': '040',
  '1.0.0': '100',
  '1.1.0': '100',
};

/** The JSON family of a spec version, or undefined for a version no result type exists for. */
function familyOf(version: string): Family | undefined {
  return Object.hasOwn(FAMILY, version) ? FAMILY[version] : undefined;
}

/** The family of an object whose version is unknown, judged by its keys. */
function familyByShape(r: object): Family {
  if ('ip4' in r || 'ip6' in r) return '020';
  const ips = (r as { ips?: unknown }).ips;
  if (Array.isArray(ips) && ips.some((i) => i !== null && typeof i === 'object' && 'version' in i)) return '040';
  return '100';
}

const nonEmpty = (s: unknown): s is string => typeof s === 'string' && s !== '';

/**
 * The version a raw result will be read as: its own non-empty `cniVersion`, else `fallbackVersion`
 * (libcni uses the config's version, cni#895), else 0.1.0 (Go's DecodeVersion).
 */
export function resultVersionOf(json: unknown, fallbackVersion?: string): string {
  let v: unknown;
  if (json !== null && typeof json === 'object') {
    // Go matches the key case-insensitively; the last non-null one wins.
    for (const [k, x] of Object.entries(json)) if (x !== null && k.toLowerCase() === 'cniversion') v = x;
  }
  if (nonEmpty(v)) return v;
  return nonEmpty(fallbackVersion) ? fallbackVersion : DEFAULT_CNI_VERSION_FOR_MISSING;
}

/**
 * Validates a result (JSON text, bytes or parsed value) against the shape of its version and
 * returns it normalised as Go would re-print it: unknown keys and zero values dropped, IPs in
 * canonical text. Bad shape is CniError code 6 naming the field; an unknown version is code 1.
 */
export function parseResult(json: unknown, fallbackVersion?: string): AnyResult {
  const value = typeof json === 'string' || json instanceof Uint8Array ? parseJson(json) : json;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CniError(ErrorCode.DecodingFailure, 'invalid result', `expected a JSON object, got ${jsonTypeName(value)}`);
  }
  const clean = goReadView(value) as { cniVersion?: unknown };
  if (clean.cniVersion !== undefined && typeof clean.cniVersion !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, 'invalid result', `"cniVersion" must be a string, got ${jsonTypeName(clean.cniVersion)}`);
  }
  const version = resultVersionOf(clean, fallbackVersion);
  const family = familyOf(version);
  if (!family) throw new CniError(ErrorCode.IncompatibleCNIVersion, `unsupported CNI result version ${JSON.stringify(version)}`);
  const shape = family === '020' ? result020Shape : family === '040' ? result040Shape : result100Shape;
  const problem = check(shape, clean);
  if (problem) throw new CniError(ErrorCode.DecodingFailure, `invalid ${version} result`, problem);
  const withVersion = { ...clean, cniVersion: version } as AnyResult;
  return normalise(withVersion, family);
}

// ---- normalisation: what Go would print after reading the value (omitempty, canonical IPs) ----

const cidrText = (s: string): string => canonicalCIDRText(s) ?? s;
const ipText = (s: string): string => canonicalIPText(s) ?? s;

function normRoute(r: Route, full = true): Route {
  const out: Route = { dst: cidrText(r.dst) };
  if (nonEmpty(r.gw)) out.gw = ipText(r.gw);
  if (!full) return out;
  if (r.mtu) out.mtu = r.mtu;
  if (r.advmss) out.advmss = r.advmss;
  if (r.priority) out.priority = r.priority;
  if (r.table !== undefined) out.table = r.table;
  if (r.scope !== undefined) out.scope = r.scope;
  return out;
}

function normRoutes(rs: readonly Route[] | undefined, full = true): Route[] | undefined {
  return rs && rs.length > 0 ? rs.map((r) => normRoute(r, full)) : undefined;
}

function normDNS(d: DNS | undefined): DNS {
  const out: DNS = {};
  if (!d) return out;
  if (d.nameservers && d.nameservers.length > 0) out.nameservers = [...d.nameservers];
  if (nonEmpty(d.domain)) out.domain = d.domain;
  if (d.search && d.search.length > 0) out.search = [...d.search];
  if (d.options && d.options.length > 0) out.options = [...d.options];
  return out;
}

const isEmptyDNS = (d: DNS): boolean => Object.keys(d).length === 0;

function norm020IP(c: IPConfig020 | undefined): IPConfig020 | undefined {
  if (!c) return undefined;
  const out: IPConfig020 = { ip: cidrText(c.ip) };
  if (nonEmpty(c.gateway)) out.gateway = ipText(c.gateway);
  const routes = normRoutes(c.routes);
  if (routes) out.routes = routes;
  return out;
}

function normIP<T extends IPConfig>(c: T): IPConfig {
  const out: IPConfig = { address: cidrText(c.address) };
  if (c.interface !== undefined) out.interface = c.interface;
  if (nonEmpty(c.gateway)) out.gateway = ipText(c.gateway);
  return out;
}

function normInterface(i: Interface, full: boolean): Interface {
  const out: Interface = { name: i.name ?? '' };
  if (nonEmpty(i.mac)) out.mac = i.mac;
  if (full && i.mtu) out.mtu = i.mtu;
  if (nonEmpty(i.sandbox)) out.sandbox = i.sandbox;
  if (full && nonEmpty(i.socketPath)) out.socketPath = i.socketPath;
  if (full && nonEmpty(i.pciID)) out.pciID = i.pciID;
  return out;
}

const ipVersion = (address: string): '4' | '6' => (isV4CIDR(address) ? '4' : '6');

function normalise(r: AnyResult, family: Family): AnyResult {
  if (family === '020') {
    const s = r as Result020;
    const out: Result020 = { cniVersion: s.cniVersion, dns: normDNS(s.dns) };
    const ip4 = norm020IP(s.ip4);
    const ip6 = norm020IP(s.ip6);
    if (ip4) out.ip4 = ip4;
    if (ip6) out.ip6 = ip6;
    return out;
  }
  const s = r as Result | Result040;
  const interfaces = s.interfaces && s.interfaces.length > 0 ? s.interfaces.map((i) => normInterface(i, family === '100')) : undefined;
  const routes = normRoutes(s.routes);
  if (family === '040') {
    const out: Result040 = { cniVersion: s.cniVersion, dns: normDNS(s.dns) };
    if (interfaces) out.interfaces = interfaces;
    if (s.ips && s.ips.length > 0) {
      out.ips = s.ips.map((c) => {
        const v = (c as { version?: unknown }).version;
        return { ...normIP(c), version: v === '4' || v === '6' ? v : ipVersion(c.address) };
      });
    }
    if (routes) out.routes = routes;
    return out;
  }
  const out: Result = { cniVersion: s.cniVersion };
  if (interfaces) out.interfaces = interfaces;
  if (s.ips && s.ips.length > 0) out.ips = s.ips.map(normIP);
  if (routes) out.routes = routes;
  const dns = normDNS(s.dns);
  if (!isEmptyDNS(dns)) out.dns = dns;
  return out;
}

// ---- conversion (Go pkg/types/internal/convert.go registry and the per-family converters) ----

function resolveFamily(r: AnyResult): { version: string; family: Family } {
  if (nonEmpty(r.cniVersion)) {
    const family = familyOf(r.cniVersion);
    if (!family) throw new CniError(ErrorCode.IncompatibleCNIVersion, `unsupported CNI result version ${JSON.stringify(r.cniVersion)}`);
    return { version: r.cniVersion, family };
  }
  // Go's GetAsVersion stamps an unversioned result with its own type's version.
  const family = familyByShape(r);
  return { version: family === '020' ? '0.2.0' : family === '040' ? '0.4.0' : CURRENT_VERSION, family };
}

function from020To040(r: Result020, to: string): Result040 {
  const out: Result040 = { cniVersion: to, dns: normDNS(r.dns) };
  const ips: NonNullable<Result040['ips']> = [];
  const routes: Route[] = [];
  for (const [c, version] of [
    [r.ip4, '4'],
    [r.ip6, '6'],
  ] as const) {
    if (!c) continue;
    const ip: NonNullable<Result040['ips']>[number] = { version, address: cidrText(c.ip) };
    if (nonEmpty(c.gateway)) ip.gateway = ipText(c.gateway);
    ips.push(ip);
    for (const rt of c.routes ?? []) routes.push(normRoute(rt));
  }
  if (ips.length > 0) out.ips = ips;
  if (routes.length > 0) out.routes = routes;
  return out;
}

function from040To020(r: Result040, to: string): Result020 {
  const out: Result020 = { cniVersion: to, dns: normDNS(r.dns) };
  for (const c of r.ips ?? []) {
    const slot = c.version === '4' ? 'ip4' : c.version === '6' ? 'ip6' : undefined;
    if (slot && !out[slot]) {
      const ipc: IPConfig020 = { ip: cidrText(c.address) };
      if (nonEmpty(c.gateway)) ipc.gateway = ipText(c.gateway);
      out[slot] = ipc;
    }
    if (out.ip4 && out.ip6) break;
  }
  for (const rt of r.routes ?? []) {
    const target = isV4CIDR(rt.dst) ? out.ip4 : out.ip6;
    if (target) (target.routes ??= []).push(normRoute(rt, false));
  }
  if (!out.ip4 && !out.ip6) throw new CniError(ErrorCode.IncompatibleCNIVersion, 'cannot convert: no valid IP addresses');
  // Key order as Go prints it: ip4, ip6, then dns.
  const { dns, ...rest } = out;
  return { ...rest, dns };
}

/**
 * Converts a result to another spec version with the reference's rules (lossy where the
 * reference is: going to 0.4.0 drops mtu/socketPath/pciID and adds `version`; going to 0.2.0
 * keeps the first IPv4 and IPv6 only, routes only with dst/gw, no interfaces, and fails with
 * `cannot convert: no valid IP addresses` when there is neither). '' means 0.1.0.
 */
export function convertResult(r: AnyResult, toVersion: string): AnyResult {
  const to = toVersion === '' ? DEFAULT_CNI_VERSION_FOR_MISSING : toVersion;
  const { version: from, family } = resolveFamily(r);
  const toFamily = familyOf(to);
  if (!toFamily) throw new CniError(ErrorCode.IncompatibleCNIVersion, `no converter for CNI result version ${from} to ${to}`);
  const src = normalise({ ...r, cniVersion: from } as AnyResult, family);
  if (family === toFamily) return { ...src, cniVersion: to } as AnyResult;
  const as040 =
    family === '020' ? from020To040(src as Result020, '0.4.0') : family === '100' ? (normalise({ ...src, cniVersion: '0.4.0' }, '040') as Result040) : (src as Result040);
  if (toFamily === '040') return { ...as040, cniVersion: to };
  if (toFamily === '020') return from040To020(as040, to);
  return normalise({ ...as040, cniVersion: to }, '100');
}

/** Any result as the current (1.1.0) shape. */
export function toCurrentResult(r: AnyResult): Result {
  return convertResult(r, CURRENT_VERSION) as Result;
}

// ---- printing: byte-identical to Go's json.MarshalIndent(result, "", "    ") ----

function route0x(r: Route): object {
  return { dst: r.dst, gw: r.gw, mtu: r.mtu, advmss: r.advmss, priority: r.priority, table: r.table, scope: r.scope };
}
function dns0x(d: DNS): object {
  return { nameservers: d.nameservers, domain: d.domain, search: d.search, options: d.options };
}

/** Plain objects in the exact key order Go emits for each family (undefined members are skipped by JSON). */
function ordered(r: AnyResult, family: Family): object {
  if (family === '020') {
    const s = r as Result020;
    const ipc = (c: IPConfig020 | undefined) => c && { ip: c.ip, gateway: c.gateway, routes: c.routes?.map(route0x) };
    return { cniVersion: s.cniVersion, ip4: ipc(s.ip4), ip6: ipc(s.ip6), dns: dns0x(s.dns) };
  }
  if (family === '040') {
    const s = r as Result040;
    return {
      cniVersion: s.cniVersion,
      interfaces: s.interfaces?.map((i) => ({ name: i.name, mac: i.mac, sandbox: i.sandbox })),
      ips: s.ips?.map((c) => ({ version: c.version, interface: c.interface, address: c.address, gateway: c.gateway })),
      routes: s.routes?.map(route0x),
      dns: dns0x(s.dns),
    };
  }
  // 1.x is re-marshalled through a map in Go, so every level comes out with sorted keys.
  const s = r as Result;
  return {
    cniVersion: s.cniVersion,
    dns: s.dns && { domain: s.dns.domain, nameservers: s.dns.nameservers, options: s.dns.options, search: s.dns.search },
    interfaces: s.interfaces?.map((i) => ({
      mac: i.mac,
      mtu: i.mtu,
      name: i.name,
      pciID: i.pciID,
      sandbox: i.sandbox,
      socketPath: i.socketPath,
    })),
    ips: s.ips?.map((c) => ({ address: c.address, gateway: c.gateway, interface: c.interface })),
    routes: s.routes?.map((x) => ({
      advmss: x.advmss,
      dst: x.dst,
      gw: x.gw,
      mtu: x.mtu,
      priority: x.priority,
      scope: x.scope,
      table: x.table,
    })),
  };
}

const isVersionInfo = (v: object): v is VersionInfo => 'supportedVersions' in v;
const isErrorResult = (v: object): v is ErrorResult =>
  typeof (v as { code?: unknown }).code === 'number' && typeof (v as { msg?: unknown }).msg === 'string';

/**
 * 4-space indented JSON without a trailing newline, like Go's result.Print / types.Error.Print.
 * A result is printed in the JSON family of its own `cniVersion` (convert first to change it).
 */
export function formatResult(r: AnyResult | ErrorResult | VersionInfo): string {
  if (isVersionInfo(r)) return goJson({ cniVersion: r.cniVersion, supportedVersions: r.supportedVersions }, 4);
  if (isErrorResult(r)) return goJson({ cniVersion: r.cniVersion || undefined, code: r.code, msg: r.msg, details: r.details || undefined }, 4);
  const family = (nonEmpty(r.cniVersion) ? familyOf(r.cniVersion) : undefined) ?? familyByShape(r);
  return goJson(ordered(normalise(r, family), family), 4);
}
