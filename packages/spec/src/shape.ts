// Layer 1 (spec): the shapes of plugin configurations and results, checked by hand. A plugin runs
// these once per process, and building a schema library's objects cost more than a no-op ADD's work.
import { jsonTypeName } from './errors.js';
import { parseCIDRBytes, parseIPBytes } from '@tscni/ip';

type Path = Array<string | number>;
type Obj = Record<string, unknown>;

/**
 * Checks `v` (found at `path`) and returns the first problem as a message naming the field, or
 * null. A checker may push onto `path` but leaves it as it found it. Problems are reported in
 * the order of the shape's keys, depth first.
 */
export type Checker = (v: unknown, path: Path) => string | null;

/** `ips[0].address`, `capabilities.mac`, `plugins[1].cni.dev/valid-attachments[0]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

const where = (path: Path): string => JSON.stringify(formatPath(path));

/** `"f" is required` for an absent (undefined) value, else `"f" must be a string, got number`. */
function wrongType(path: Path, want: string, v: unknown): string {
  return v === undefined ? `${where(path)} is required` : `${where(path)} must be ${want}, got ${jsonTypeName(v)}`;
}

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A map-like object: not an instance of some class (a Date is not a record). */
function isPlainObject(v: unknown): v is Obj {
  if (!isObject(v)) return false;
  const ctor: unknown = v['constructor'];
  if (typeof ctor !== 'function') return true;
  const proto: unknown = ctor.prototype;
  return isObject(proto) && Object.hasOwn(proto, 'isPrototypeOf');
}

const str: Checker = (v, p) => (typeof v === 'string' ? null : wrongType(p, 'a string', v));
const bool: Checker = (v, p) => (typeof v === 'boolean' ? null : wrongType(p, 'a boolean', v));
/** JSON numbers only: NaN and ±Infinity are not numbers here. */
const num: Checker = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? null : wrongType(p, 'a number', v));

/** `base`, then a rule on the value it let through; the message follows the field name. */
function refine<T>(base: Checker, ok: (v: T) => boolean, message: string): Checker {
  return (v, p) => base(v, p) ?? (ok(v as T) ? null : `${where(p)} ${message}`);
}

const optional =
  (c: Checker): Checker =>
  (v, p) =>
    v === undefined ? null : c(v, p);

function arrayOf(item: Checker): Checker {
  return (v, p) => {
    if (!Array.isArray(v)) return wrongType(p, 'an array', v);
    for (let i = 0; i < v.length; i++) {
      p.push(i);
      const problem = item(v[i], p);
      p.pop();
      if (problem !== null) return problem;
    }
    return null;
  };
}

/** An object whose listed keys are checked in this order; other keys are not looked at. */
function object(shape: Readonly<Record<string, Checker>>): Checker {
  const entries = Object.entries(shape);
  return (v, p) => {
    if (!isObject(v)) return wrongType(p, 'an object', v);
    for (const [k, c] of entries) {
      p.push(k);
      const problem = c(v[k], p);
      p.pop();
      if (problem !== null) return problem;
    }
    return null;
  };
}

/** A string-keyed map; each value is checked with `value` when given. A "__proto__" key is skipped. */
function record(value?: Checker): Checker {
  return (v, p) => {
    if (!isPlainObject(v)) return wrongType(p, 'an object', v);
    if (value === undefined) return null;
    for (const k of Object.keys(v)) {
      if (k === '__proto__') continue;
      p.push(k);
      const problem = value(v[k], p);
      p.pop();
      if (problem !== null) return problem;
    }
    return null;
  };
}

const int = refine<number>(num, Number.isSafeInteger, 'must be an integer');
const strArray = arrayOf(str);
const cidr = refine<string>(str, (s) => parseCIDRBytes(s) !== undefined, 'must be an IP address with a prefix length, e.g. "10.0.0.2/24"');
/** Go reads an empty string into a nil net.IP, so "" is accepted and means absent. */
const ip = refine<string>(str, (s) => s === '' || parseIPBytes(s) !== undefined, 'must be an IP address');

const dnsShape = {
  nameservers: optional(strArray),
  domain: optional(str),
  search: optional(strArray),
  options: optional(strArray),
};
const dns = optional(object(dnsShape));

const routes = optional(
  arrayOf(
    object({
      dst: cidr,
      gw: optional(ip),
      mtu: optional(int),
      advmss: optional(int),
      priority: optional(int),
      table: optional(int),
      scope: optional(int),
    }),
  ),
);

const ipConfig020 = optional(object({ ip: cidr, gateway: optional(ip), routes }));

/** Result shape for versions 0.1.0 and 0.2.0 (Go types020). */
export const result020Shape: Checker = object({ cniVersion: optional(str), ip4: ipConfig020, ip6: ipConfig020, dns });

/** Result shape for versions 0.3.0, 0.3.1 and 0.4.0 (Go types040). */
export const result040Shape: Checker = object({
  cniVersion: optional(str),
  interfaces: optional(arrayOf(object({ name: optional(str), mac: optional(str), sandbox: optional(str) }))),
  ips: optional(
    arrayOf(
      object({
        version: optional(refine<string>(str, (v) => v === '4' || v === '6', 'must be "4" or "6"')),
        interface: optional(int),
        address: cidr,
        gateway: optional(ip),
      }),
    ),
  ),
  routes,
  dns,
});

/** Result shape for versions 1.0.0 and 1.1.0 (Go types100). */
export const result100Shape: Checker = object({
  cniVersion: optional(str),
  interfaces: optional(
    arrayOf(
      object({
        name: optional(str),
        mac: optional(str),
        mtu: optional(int),
        sandbox: optional(str),
        socketPath: optional(str),
        pciID: optional(str),
      }),
    ),
  ),
  ips: optional(arrayOf(object({ interface: optional(int), address: cidr, gateway: optional(ip) }))),
  routes,
  dns,
});

/** Known keys of a plugin configuration (Go types.PluginConf); unknown keys are not looked at. */
export const netConfShape: Checker = object({
  cniVersion: optional(str),
  name: optional(str),
  type: optional(str),
  capabilities: optional(record(bool)),
  ipam: optional(object({ type: optional(str) })),
  dns,
  args: optional(record()),
  runtimeConfig: optional(record()),
  prevResult: optional(record()),
  'cni.dev/valid-attachments': optional(arrayOf(object({ containerID: optional(str), ifname: optional(str) }))),
});

/** Runs a shape check; returns the first problem's text or null. `prefix` is where `value` sits. */
export function check(shape: Checker, value: unknown, prefix: ReadonlyArray<string | number> = []): string | null {
  return shape(value, [...prefix]);
}

/** Every key name a result type knows, by lower case (Go matches JSON keys case-insensitively). */
const RESULT_KEYS = new Map(
  [
    'cniVersion', 'interfaces', 'ips', 'routes', 'dns', 'ip4', 'ip6', // result
    'name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID', // interface
    'version', 'interface', 'address', 'gateway', 'ip', // ip config
    'dst', 'gw', 'advmss', 'priority', 'table', 'scope', // route
    'nameservers', 'domain', 'search', 'options', // dns
  ].map((k) => [k.toLowerCase(), k]),
);

/**
 * Prepares a raw result for validation the way Go's encoding/json reads it: a key matches its
 * field case-insensitively (a later duplicate wins) and a JSON null is the same as an absent
 * key. Results are rebuilt from known keys only, so unknown keys are dropped here; nulls inside
 * arrays stay and fail validation.
 */
export function goReadView(v: unknown, depth = 0): unknown {
  // Results are at most five levels deep; anything deeper fails validation as it stands, and
  // stopping here keeps hostile nesting from exhausting the stack.
  if (depth > MAX_RESULT_DEPTH) return v;
  if (Array.isArray(v)) return v.map((x) => goReadView(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const known = RESULT_KEYS.get(k.toLowerCase());
      if (known !== undefined && x !== null) out[known] = goReadView(x, depth + 1);
    }
    return out;
  }
  return v;
}

const MAX_RESULT_DEPTH = 8;
