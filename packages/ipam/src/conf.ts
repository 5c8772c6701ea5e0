// Floor 3 (ipam): configuration pieces shared by host-local and static: shape checks with zod/mini
// whose issues name the field, routes, requested IPs ("ip[/prefix]") and resolv.conf reading.
import { readFileSync } from 'node:fs';
import { CniError, ErrorCode } from '@tscni/spec';
import type { DNS, Route } from '@tscni/spec';
import * as z from 'zod/mini';
import { formatCIDR, formatIP, parseCIDR, parseIP } from '@tscni/ip';
import type { IP } from '@tscni/ip';

export type Path = ReadonlyArray<string | number>;

/** `ipam.ranges[0][1].subnet` */
export function fieldName(path: Path): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** A configuration error (code 7) whose message starts with the field it is about. */
export function configError(path: Path, text: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${fieldName(path)}: ${text}`);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Validates `value` against a zod/mini schema; the first issue becomes a code 7 error naming its field. */
export function checkShape<T>(schema: z.ZodMiniType<T>, value: unknown, path: Path): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue === undefined) throw configError(path, 'invalid value');
  const where = [...path, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  let input: unknown = value;
  for (const p of issue.path) input = input !== null && typeof input === 'object' ? (input as Record<PropertyKey, unknown>)[p] : undefined;
  if (issue.code === 'invalid_type') {
    const text = input === undefined ? 'is required' : `must be ${issue.expected === 'array' ? 'an array' : `a ${issue.expected}`}, got ${typeName(input)}`;
    throw configError(where, text);
  }
  throw configError(where, issue.message);
}

/**
 * An object as Go's encoding/json fills a struct from it: the `known` keys match case-insensitively
 * (the last non-null occurrence wins) and land under their canonical names; a JSON null is absent.
 * Other keys are dropped (the shape checks only look at known keys). A non-object passes through
 * unchanged for the shape check to report.
 */
export function goFields(v: unknown, known: readonly string[]): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const canonical = new Map(known.map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const name = canonical.get(k.toLowerCase());
    if (name !== undefined && x !== null) out[name] = x;
  }
  return out;
}

const optionalString = () => z.optional(z.string());
const optionalInt = () => z.optional(z.number().check(z.refine((n) => Number.isSafeInteger(n), 'must be an integer')));

const ROUTE_KEYS = ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'];

const routeShape = () =>
  z.looseObject({
    dst: z.string(),
    gw: optionalString(),
    mtu: optionalInt(),
    advmss: optionalInt(),
    priority: optionalInt(),
    table: optionalInt(),
    scope: optionalInt(),
  });

/** `routes: [{dst, gw?, mtu?, advmss?, priority?, table?, scope?}]`, printed back the way Go prints types.Route. */
export function parseRoutes(value: unknown, path: Path): Route[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = checkShape(z.array(z.unknown()), value, path);
  return list.map((raw, i) => {
    const r = checkShape(routeShape(), goFields(raw, ROUTE_KEYS), [...path, i]);
    const dst = parseCIDR(r.dst);
    if (dst === undefined) throw configError([...path, i, 'dst'], `invalid CIDR address: ${r.dst}`);
    const route: Route = { dst: formatCIDR(dst) };
    if (r.gw !== undefined && r.gw !== '') {
      const gw = parseIP(r.gw);
      if (gw === undefined) throw configError([...path, i, 'gw'], `invalid IP address: ${r.gw}`);
      route.gw = formatIP(gw);
    }
    // Go's types.Route: mtu/advmss/priority are omitempty ints, table/scope are pointers (0 stays).
    for (const k of ['mtu', 'advmss', 'priority'] as const) {
      const n = r[k];
      if (n !== undefined && n !== 0) route[k] = n;
    }
    if (r.table !== undefined) route.table = r.table;
    if (r.scope !== undefined) route.scope = r.scope;
    return route;
  });
}

/** One requested address, "ip" or "ip/prefix" (Go pkg/ip.IP): the prefix is accepted and ignored. */
export function parseRequestedIP(s: string): IP | undefined {
  if (s.includes('/')) return parseCIDR(s)?.ip;
  return parseIP(s);
}

/** `["ip[/prefix]", ...]` from `args.cni.ips` or `runtimeConfig.ips`. */
export function parseRequestedIPs(value: unknown, path: Path): IP[] {
  if (value === undefined || value === null) return [];
  const list = checkShape(z.array(z.string()), value, path);
  return list.map((s, i) => {
    const ip = parseRequestedIP(s);
    if (ip === undefined) throw configError([...path, i], `invalid IP address: ${JSON.stringify(s)}`);
    return ip;
  });
}

/**
 * `o[key]` read as Go reads an optional nested struct: the key matches case-insensitively, then the
 * object's `known` keys are folded (goFields). A missing member or null is undefined; any other
 * non-object is a code 7 error naming the field.
 */
export function structAt(o: Record<string, unknown> | undefined, key: string, known: readonly string[], path: Path): Record<string, unknown> | undefined {
  if (o === undefined) return undefined;
  let v: unknown;
  for (const [k, x] of Object.entries(o)) if (k.toLowerCase() === key.toLowerCase() && x !== null) v = x;
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw configError([...path, key], `must be an object, got ${typeName(v)}`);
  return goFields(v, known) as Record<string, unknown>;
}

/** Reads resolv.conf lines `nameserver`, `domain`, `search`, `options` into a DNS object (host-local `resolvConf`). */
export function parseResolvConf(text: string): DNS {
  const dns: DNS = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const fields = line.split(/\s+/);
    const [key, first] = fields;
    if (first === undefined) continue;
    switch (key) {
      case 'nameserver':
        (dns.nameservers ??= []).push(first);
        break;
      case 'domain':
        dns.domain = first;
        break;
      case 'search':
        (dns.search ??= []).push(...fields.slice(1));
        break;
      case 'options':
        (dns.options ??= []).push(...fields.slice(1));
        break;
    }
  }
  return dns;
}

export function readResolvConf(file: string, path: Path): DNS {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new CniError(ErrorCode.IOFailure, `${fieldName(path)}: cannot read ${file}`, why, { cause: e });
  }
  return parseResolvConf(text);
}
