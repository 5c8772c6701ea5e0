// Floor 3 (plugins/shared): reading a plugin's own keys out of the network configuration the way Go's
// encoding/json fills the reference plugins' NetConf structs (keys match case-insensitively, the last
// non-null occurrence wins, null is absent), with typed getters whose errors (code 7) name the field.
// Also the inputs every interface plugin shares: the container MAC (CNI_ARGS < args.cni <
// runtimeConfig), the `dns` override and prevResult.
import { CniError, ErrorCode, loadCniArgs, parseResult, toCurrentResult } from '@tscni/spec';
import type { DNS, NetConf, Result } from '@tscni/spec';
import { formatMac, parseMac } from '@tscni/netlink';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function configError(field: string, text: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${text}`);
}

/**
 * A view of one JSON object with Go's key matching. `path` prefixes field names in errors
 * (`args.cni.mac`), so a message always says which key was wrong.
 */
export class GoObject {
  readonly #raw: Obj;
  readonly #path: string;

  constructor(raw: unknown, path = '') {
    this.#raw = isObject(raw) ? raw : {};
    this.#path = path;
  }

  /** The value Go would decode for `key`: case-insensitive, last non-null occurrence. */
  get(key: string): unknown {
    const lower = key.toLowerCase();
    let found: unknown;
    for (const k of Object.keys(this.#raw)) {
      if (k.toLowerCase() !== lower) continue;
      const v = this.#raw[k];
      if (v !== null && v !== undefined) found = v;
    }
    return found;
  }

  field(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  bool(key: string, dflt = false): boolean {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw configError(this.field(key), `must be a boolean, got ${typeName(v)}`);
    return v;
  }

  /** An integer (Go `int`); fractions and out-of-range values are rejected as Go's decoder does. */
  int(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number') throw configError(this.field(key), `must be a number, got ${typeName(v)}`);
    if (!Number.isSafeInteger(v)) throw configError(this.field(key), `must be an integer, got ${v}`);
    return v;
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw configError(this.field(key), `must be a string, got ${typeName(v)}`);
    return v;
  }

  object(key: string): GoObject | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!isObject(v)) throw configError(this.field(key), `must be an object, got ${typeName(v)}`);
    return new GoObject(v, this.field(key));
  }

  array(key: string): unknown[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw configError(this.field(key), `must be an array, got ${typeName(v)}`);
    return v;
  }
}

/** An MTU: 0 or absent means "kernel default". */
export function readMtu(o: GoObject, key = 'mtu'): number | undefined {
  const mtu = o.int(key);
  if (mtu === undefined || mtu === 0) return undefined;
  if (mtu < 0 || mtu > 0xffff_ffff) throw configError(o.field(key), `invalid MTU ${mtu}`);
  return mtu;
}

/** A 6-byte MAC (`:` or `-` separated), returned lower-case with colons as Go prints it. */
export function checkMac(mac: string, field: string): string {
  try {
    return formatMac(parseMac(mac));
  } catch {
    throw configError(field, `invalid MAC address ${JSON.stringify(mac)}`);
  }
}

/**
 * The container-side MAC requested for this attachment, lowest to highest precedence: CNI_ARGS
 * `MAC`, `args.cni.mac`, `runtimeConfig.mac` (capability `mac`). Empty strings are "not set".
 * CNI_ARGS keys other than MAC are refused unless IgnoreUnknown is set, as Go's LoadArgs does.
 */
export function requestedMac(netconf: NetConf, cniArgs: string): string | undefined {
  let mac: string | undefined;
  let field = '';
  if (cniArgs !== '') {
    const env = loadCniArgs(cniArgs, ['MAC']).MAC;
    if (env !== undefined && env !== '') {
      mac = env;
      field = 'CNI_ARGS MAC';
    }
  }
  const conf = new GoObject(netconf);
  const fromArgs = conf.object('args')?.object('cni')?.string('mac');
  if (fromArgs !== undefined && fromArgs !== '') {
    mac = fromArgs;
    field = 'args.cni.mac';
  }
  const fromRuntime = conf.object('runtimeConfig')?.string('mac');
  if (fromRuntime !== undefined && fromRuntime !== '') {
    mac = fromRuntime;
    field = 'runtimeConfig.mac';
  }
  return mac === undefined ? undefined : checkMac(mac, field);
}

/** The plugin's `dns`, when any field of it is set (then it replaces what IPAM returned). */
export function dnsOverride(netconf: NetConf): DNS | undefined {
  const dns = netconf.dns;
  if (dns === undefined) return undefined;
  const set =
    dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || (dns.domain ?? '') !== '';
  return set ? dns : undefined;
}

/** `ipam.type`, or '' when there is no IPAM section (or it has no type: L2 only). */
export function ipamType(netconf: NetConf): string {
  return netconf.ipam?.type ?? '';
}

/** prevResult in the current (1.x) shape; CHECK needs one (`<plugin>: Required prevResult missing`). */
export function requirePrevResult(netconf: NetConf, plugin: string): Result {
  if (netconf.prevResult === undefined || netconf.prevResult === null) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${plugin}: Required prevResult missing`);
  }
  return toCurrentResult(parseResult(netconf.prevResult, netconf.cniVersion));
}
