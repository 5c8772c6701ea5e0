// Layer 1 (spec): the zod/mini schemas behind conf and result parsing, built on first use so that
// importing the package costs no schema construction; issues become messages that name the field.
import * as z from 'zod/mini';
import { jsonTypeName } from './errors.js';
import { parseCIDR, parseIP } from './ip.js';

/** Memoises a schema factory: nothing is built until a parser first needs it. */
export function lazy<T>(build: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= build());
}

const isInt = (n: number): boolean => Number.isSafeInteger(n);

export const str = (): z.ZodMiniString => z.string();
export const int = (): z.ZodMiniNumber<number> => z.number().check(z.refine(isInt, 'must be an integer'));
export const uint = (): z.ZodMiniNumber<number> =>
  z.number().check(z.refine((n) => isInt(n) && n >= 0, 'must be a non-negative integer'));
export const strArray = (): z.ZodMiniArray<z.ZodMiniString> => z.array(z.string());
export const cidr = (): z.ZodMiniString =>
  z.string().check(z.refine((s) => parseCIDR(s) !== null, 'must be an IP address with a prefix length, e.g. "10.0.0.2/24"'));
/** Go reads an empty string into a nil net.IP, so "" is accepted and means absent. */
export const ip = (): z.ZodMiniString =>
  z.string().check(z.refine((s) => s === '' || parseIP(s) !== null, 'must be an IP address'));

export const dnsShape = () => ({
  nameservers: z.optional(strArray()),
  domain: z.optional(str()),
  search: z.optional(strArray()),
  options: z.optional(strArray()),
});

export const routeSchema = () =>
  z.object({
    dst: cidr(),
    gw: z.optional(ip()),
    mtu: z.optional(int()),
    advmss: z.optional(int()),
    priority: z.optional(int()),
    table: z.optional(int()),
    scope: z.optional(int()),
  });

/** Result shape for versions 0.1.0 and 0.2.0 (Go types020). */
export const result020Schema = lazy(() => {
  const ipc = z.object({ ip: cidr(), gateway: z.optional(ip()), routes: z.optional(z.array(routeSchema())) });
  return z.object({ cniVersion: z.optional(str()), ip4: z.optional(ipc), ip6: z.optional(ipc), dns: z.optional(z.object(dnsShape())) });
});

/** Result shape for versions 0.3.0, 0.3.1 and 0.4.0 (Go types040). */
export const result040Schema = lazy(() =>
  z.object({
    cniVersion: z.optional(str()),
    interfaces: z.optional(z.array(z.object({ name: z.optional(str()), mac: z.optional(str()), sandbox: z.optional(str()) }))),
    ips: z.optional(
      z.array(
        z.object({
          version: z.optional(z.string().check(z.refine((v) => v === '4' || v === '6', 'must be "4" or "6"'))),
          interface: z.optional(int()),
          address: cidr(),
          gateway: z.optional(ip()),
        }),
      ),
    ),
    routes: z.optional(z.array(routeSchema())),
    dns: z.optional(z.object(dnsShape())),
  }),
);

/** Result shape for versions 1.0.0 and 1.1.0 (Go types100). */
export const result100Schema = lazy(() =>
  z.object({
    cniVersion: z.optional(str()),
    interfaces: z.optional(
      z.array(
        z.object({
          name: z.optional(str()),
          mac: z.optional(str()),
          mtu: z.optional(int()),
          sandbox: z.optional(str()),
          socketPath: z.optional(str()),
          pciID: z.optional(str()),
        }),
      ),
    ),
    ips: z.optional(z.array(z.object({ interface: z.optional(int()), address: cidr(), gateway: z.optional(ip()) }))),
    routes: z.optional(z.array(routeSchema())),
    dns: z.optional(z.object(dnsShape())),
  }),
);

/** Known keys of a plugin configuration (Go types.PluginConf); unknown keys are not looked at. */
export const netConfSchema = lazy(() =>
  z.looseObject({
    cniVersion: z.optional(str()),
    name: z.optional(str()),
    type: z.optional(str()),
    capabilities: z.optional(z.record(z.string(), z.boolean())),
    ipam: z.optional(z.looseObject({ type: z.optional(str()) })),
    dns: z.optional(z.looseObject(dnsShape())),
    args: z.optional(z.record(z.string(), z.unknown())),
    runtimeConfig: z.optional(z.record(z.string(), z.unknown())),
    prevResult: z.optional(z.record(z.string(), z.unknown())),
    'cni.dev/valid-attachments': z.optional(z.array(z.looseObject({ containerID: z.optional(str()), ifname: z.optional(str()) }))),
  }),
);

export type Issue = z.core.$ZodIssue;

/** `ips[0].address`, `capabilities.mac`, `plugins[1].cni.dev/valid-attachments[0]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  record: 'an object',
};

/** One zod issue as `"field" must be a string` (the path is given relative to `prefix`). */
export function issueText(issue: Issue, prefix: ReadonlyArray<PropertyKey> = []): string {
  const where = JSON.stringify(formatPath([...prefix, ...issue.path]));
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `${where} is required`;
    const want = ARTICLE[issue.expected] ?? issue.expected;
    return `${where} must be ${want}, got ${jsonTypeName(issue.input)}`;
  }
  if (issue.code === 'custom') return `${where} ${issue.message}`;
  return `${where}: ${issue.message}`;
}

/** Runs a schema; returns the first issue's text or null. */
export function check(schema: z.ZodMiniType, value: unknown, prefix: ReadonlyArray<PropertyKey> = []): string | null {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return null;
  const first = r.error.issues[0];
  return first ? issueText(first, prefix) : 'invalid value';
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
