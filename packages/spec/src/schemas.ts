// Layer 1 (spec): zod/mini schemas of the CNI documents (configs, results of every version, VERSION
// and error replies, capability args), public as `@tscni/spec/schemas`. Plugins never load this:
// the package index checks by hand (shape.ts), and schemas.test.ts proves both accept the same.
import * as z from 'zod/mini';
import type { IPAMConfig, NetConf, NetConfList } from './conf.js';
import type { BandwidthEntry, CapabilityArgs, GCAttachment, IPRange, PortMapping } from './capabilities.js';
import { CniError, type ErrorResult } from './errors.js';
import { isV4CIDR, parseCIDRBytes, parseIPBytes } from '@tscni/ip';
import type { DNS, Interface, IPConfig, IPConfig020, Result, Result020, Result040, Route } from './result.js';
import { VALID_NAME } from './validate.js';
import { CURRENT_VERSION, DEFAULT_CNI_VERSION_FOR_MISSING, selectVersion, type VersionInfo } from './versions.js';

// The schemas read documents as they are written: keys spelled as in the spec and no JSON null for
// an absent key. parseNetConf and parseResult also read what Go's encoding/json reads (known keys
// in any letter case, null meaning absent); see "Schemas" in the README.

// exactOptional: a key may be absent but not present as undefined, which is what
// exactOptionalPropertyTypes means by `k?: T`, so the inferred types line up with spec's.
const opt = z.exactOptional;
const str = z.string();
const strs = z.array(str);
/** A JSON number that is a safe integer (NaN and ±Infinity are no JSON numbers). */
const int = z.int();
/** Go's unsigned integers: no sign, no fraction. */
const uint = z.int().check(z.nonnegative());
const cidr = z.string().check(z.refine((s) => parseCIDRBytes(s) !== undefined, 'must be an IP address with a prefix length, e.g. "10.0.0.2/24"'));
/** Go reads "" into a nil net.IP, so "" is accepted and means absent. */
const ip = z.string().check(z.refine((s) => s === '' || parseIPBytes(s) !== undefined, 'must be an IP address'));
/** A Go string field without omitempty: absent reads as "". */
const goString = z._default(z.string(), '');

// ---- results (Go pkg/types/020, 040, 100 and types.Route) ----

const dnsShape = { nameservers: opt(strs), domain: opt(str), search: opt(strs), options: opt(strs) };
export const dnsSchema = z.object(dnsShape);

export const routeSchema = z.object({
  dst: cidr,
  gw: opt(ip),
  mtu: opt(int),
  advmss: opt(int),
  priority: opt(int),
  table: opt(int),
  scope: opt(int),
});

/** A 1.x interface; a missing `name` reads as "" as in Go. */
export const interfaceSchema = z.object({
  name: goString,
  mac: opt(str),
  mtu: opt(int),
  sandbox: opt(str),
  socketPath: opt(str),
  pciID: opt(str),
});

/** A 1.x IP: `address` is a CIDR that keeps its host bits, `interface` an index into `interfaces`. */
export const ipConfigSchema = z.object({ interface: opt(int), address: cidr, gateway: opt(ip) });

/** 0.1.0/0.2.0 and 0.3.x/0.4.0 always carry `dns` (Go prints `"dns": {}`). */
const dns0x = z._default(dnsSchema, () => ({}));

export const ipConfig020Schema = z.object({ ip: cidr, gateway: opt(ip), routes: opt(z.array(routeSchema)) });

/**
 * Result of 0.1.0/0.2.0 (Go types020). A missing or "" `cniVersion` means 0.1.0, as Go's
 * DecodeVersion reads it; parseResult can also take the config's version for it, as libcni does.
 */
export const result020Schema = z.object({
  cniVersion: z._default(
    z.pipe(
      z.enum(['', '0.1.0', '0.2.0']),
      z.transform((v) => v || DEFAULT_CNI_VERSION_FOR_MISSING),
    ),
    DEFAULT_CNI_VERSION_FOR_MISSING,
  ),
  ip4: opt(ipConfig020Schema),
  ip6: opt(ipConfig020Schema),
  dns: dns0x,
});

const ipVersion = (address: string): '4' | '6' => (isV4CIDR(address) ? '4' : '6');

/** Result of 0.3.0/0.3.1/0.4.0 (Go types040); an IP without `version` gets it from its address. */
export const result040Schema = z.object({
  cniVersion: z.enum(['0.3.0', '0.3.1', '0.4.0']),
  interfaces: opt(z.array(z.object({ name: goString, mac: opt(str), sandbox: opt(str) }))),
  ips: opt(
    z.array(
      z.pipe(
        z.object({ version: opt(z.enum(['4', '6'])), interface: opt(int), address: cidr, gateway: opt(ip) }),
        z.transform(({ version, ...c }) => ({ ...c, version: version ?? ipVersion(c.address) })),
      ),
    ),
  ),
  routes: opt(z.array(routeSchema)),
  dns: dns0x,
});

/** Result of 1.0.0/1.1.0 (Go types100), the current shape. */
export const resultSchema = z.object({
  cniVersion: z.enum(['1.0.0', '1.1.0']),
  interfaces: opt(z.array(interfaceSchema)),
  ips: opt(z.array(ipConfigSchema)),
  routes: opt(z.array(routeSchema)),
  dns: opt(dnsSchema),
});

/**
 * The error a plugin prints (SPEC section 6): `code` and `msg` are required here, as the spec
 * says; CniError.fromJSON reads them as Go does, 0 and "" when absent.
 */
export const errorResultSchema = z.object({ cniVersion: opt(str), code: uint, msg: str, details: opt(str) });

/**
 * A VERSION reply, read as parseVersionInfo reads it (Go's PluginDecoder): `cniVersion` is
 * required; a 0.2.0 reply without `supportedVersions` means ["0.1.0", "0.2.0"].
 */
export const versionInfoSchema = z.pipe(
  z.object({ cniVersion: z.string().check(z.minLength(1)), supportedVersions: opt(z.nullable(strs)) }),
  z.transform((v, ctx): VersionInfo => {
    const supportedVersions = v.supportedVersions ?? [];
    if (supportedVersions.length > 0) return { cniVersion: v.cniVersion, supportedVersions };
    if (v.cniVersion === '0.2.0') return { cniVersion: CURRENT_VERSION, supportedVersions: ['0.1.0', '0.2.0'] };
    ctx.issues.push({ code: 'custom', message: 'missing field "supportedVersions"', input: v, path: ['supportedVersions'] });
    return z.NEVER;
  }),
);

// ---- network configuration (Go types.PluginConf / types.NetConf, libcni NetworkConfFromBytes) ----

/** An `ipam` object's common part: a missing `type` reads as "" (bridge's L2-only `"ipam": {}`). */
export const ipamConfigSchema = z.looseObject({ type: goString });

/** One entry of `cni.dev/valid-attachments` in a GC request. */
export const gcAttachmentSchema = z.object({ containerID: goString, ifname: goString });

/** The reserved and well-known keys of a plugin object; every other key passes through as it is. */
const pluginShape = {
  cniVersion: opt(str),
  capabilities: opt(z.record(z.string(), z.boolean())),
  ipam: opt(ipamConfigSchema),
  dns: opt(z.looseObject(dnsShape)),
  args: opt(z.record(z.string(), z.unknown())),
  runtimeConfig: opt(z.record(z.string(), z.unknown())),
  prevResult: opt(z.record(z.string(), z.unknown())),
  'cni.dev/valid-attachments': opt(z.array(z.looseObject(gcAttachmentSchema.shape))),
};

/**
 * The configuration a plugin gets on stdin, as parseNetConf accepts it: `name` as skel checks it,
 * a missing `type` reads as "", unknown keys pass through untouched.
 */
export const netConfSchema = z.looseObject({
  ...pluginShape,
  name: z.string().check(z.regex(VALID_NAME, 'invalid characters found in network name')),
  type: goString,
});

/** A plugin object inside a conflist: it needs a `type`, and its `name` comes from the list. */
export const pluginConfSchema = z.looseObject({
  ...pluginShape,
  name: opt(str),
  type: z.string().check(z.minLength(1, 'is required')),
});

// Spelled out rather than /i so that the pattern means the same in an exported JSON Schema.
const LIST_FLAG = /^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$/;
/** libcni's list flags: a JSON bool or "true"/"false" in any letter case. */
const listFlag = z.union([
  z.boolean(),
  z.pipe(
    z.string().check(z.regex(LIST_FLAG, 'must be a boolean or "true"/"false"')),
    z.transform((s) => s.toLowerCase() === 'true'),
  ),
]);

/**
 * A conflist as parseNetConfList (libcni's NetworkConfFromBytes) accepts it; the parsed
 * `cniVersion` is the version selected from `cniVersion` and `cniVersions`, and a list without
 * `plugins` has none (it may not say `loadOnlyInlinedPlugins`). Unknown keys pass through.
 */
export const netConfListSchema = z.pipe(
  z.looseObject({
    cniVersion: opt(str),
    cniVersions: opt(strs),
    name: str,
    disableCheck: opt(listFlag),
    disableGC: opt(listFlag),
    loadOnlyInlinedPlugins: opt(listFlag),
    plugins: opt(z.array(pluginConfSchema).check(z.minLength(1, 'must not be empty'))),
  }),
  z.transform(({ plugins, ...list }, ctx) => {
    if (plugins === undefined && list.loadOnlyInlinedPlugins === true) {
      ctx.issues.push({ code: 'custom', message: '"loadOnlyInlinedPlugins" is true and there is no "plugins" key', input: list });
      return z.NEVER;
    }
    if (list.cniVersions === undefined) return { ...list, plugins: plugins ?? [] };
    try {
      return { ...list, cniVersion: selectVersion(list.cniVersion, list.cniVersions), plugins: plugins ?? [] };
    } catch (e) {
      ctx.issues.push({ code: 'custom', message: e instanceof CniError ? e.message : String(e), input: list, path: ['cniVersions'] });
      return z.NEVER;
    }
  }),
);

// ---- well-known capability arguments (CONVENTIONS.md), as a runtime passes them in runtimeConfig ----

/** Port ranges and protocols are the portmap plugin's to check; this is the shape Go decodes. */
export const portMappingSchema = z.object({ hostPort: int, containerPort: int, protocol: opt(str), hostIP: opt(str) });

/** Rates in bits per second, bursts in bits (Go uint64). */
export const bandwidthEntrySchema = z.object({
  ingressRate: opt(uint),
  ingressBurst: opt(uint),
  egressRate: opt(uint),
  egressBurst: opt(uint),
});

/** One host-local range; `ipRanges` is a list of range sets. */
export const ipRangeSchema = z.object({ subnet: cidr, rangeStart: opt(ip), rangeEnd: opt(ip), gateway: opt(ip) });

export const capabilityArgsSchema = z.looseObject({
  portMappings: opt(z.array(portMappingSchema)),
  ipRanges: opt(z.array(z.array(ipRangeSchema))),
  bandwidth: opt(bandwidthEntrySchema),
  dns: opt(z.object({ servers: opt(strs), searches: opt(strs), options: opt(strs) })),
  ips: opt(strs),
  mac: opt(str),
  infinibandGUID: opt(str),
  deviceID: opt(str),
  aliases: opt(strs),
  cgroupPath: opt(str),
});

// ---- compile-time agreement with the hand-written types (no code is emitted for these) ----

type Extends<A, B> = [A] extends [B] ? true : false;
type Assert<T extends true> = T;
/** Parsed values fit the type, and every value of the type fits the schema's output. */
type Same<S extends z.ZodMiniType, T> = Extends<z.infer<S>, T> extends true ? Extends<T, z.infer<S>> : false;
/** NetConf as the schema reads it: `prevResult` must be an object, `dns` keeps unknown keys. */
type NetConfRead = NetConf & { prevResult?: Record<string, unknown>; dns?: DNS & Record<string, unknown> };

type SchemaTypeChecks = [
  Assert<Same<typeof dnsSchema, DNS>>,
  Assert<Same<typeof routeSchema, Route>>,
  Assert<Same<typeof interfaceSchema, Interface>>,
  Assert<Same<typeof ipConfigSchema, IPConfig>>,
  Assert<Same<typeof ipConfig020Schema, IPConfig020>>,
  // A family's schema knows its versions; the types say `string`.
  Assert<Extends<z.infer<typeof resultSchema>, Result>>,
  Assert<Extends<Result & { cniVersion: '1.0.0' | '1.1.0' }, z.infer<typeof resultSchema>>>,
  Assert<Extends<z.infer<typeof result040Schema>, Result040>>,
  Assert<Extends<Result040 & { cniVersion: '0.3.0' | '0.3.1' | '0.4.0' }, z.infer<typeof result040Schema>>>,
  Assert<Extends<z.infer<typeof result020Schema>, Result020>>,
  Assert<Extends<Result020 & { cniVersion: '0.1.0' | '0.2.0' }, z.infer<typeof result020Schema>>>,
  Assert<Same<typeof errorResultSchema, ErrorResult>>,
  Assert<Same<typeof versionInfoSchema, VersionInfo>>,
  Assert<Same<typeof ipamConfigSchema, IPAMConfig>>,
  Assert<Extends<z.infer<typeof netConfSchema>, NetConf>>,
  Assert<Extends<NetConfRead, z.infer<typeof netConfSchema>>>,
  // NetConfList types its plugins as NetConf, whose `name` the runtime fills in from the list.
  Assert<Extends<z.infer<typeof pluginConfSchema> & { name: string }, NetConf>>,
  Assert<Extends<z.infer<typeof netConfListSchema> & { plugins: NetConf[] }, NetConfList>>,
  Assert<Extends<NetConfList & { plugins: NetConfRead[] }, z.infer<typeof netConfListSchema>>>,
  Assert<Same<typeof portMappingSchema, PortMapping>>,
  Assert<Same<typeof bandwidthEntrySchema, BandwidthEntry>>,
  Assert<Same<typeof ipRangeSchema, IPRange>>,
  Assert<Same<typeof capabilityArgsSchema, CapabilityArgs>>,
  Assert<Same<typeof gcAttachmentSchema, GCAttachment>>,
];
