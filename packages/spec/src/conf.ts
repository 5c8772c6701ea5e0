// Layer 1 (spec): network configuration parsing for both sides of the protocol: the plugin reads
// one plugin object from stdin (Go skel + types.PluginConf), the runtime reads a conflist
// (libcni NetworkConfFromBytes). Unknown keys always pass through untouched.
import { CniError, ErrorCode, errorText, jsonTypeName } from './errors.js';
import { parseJson } from './json.js';
import type { DNS } from './result.js';
import { check, formatPath, netConfShape } from './shape.js';
import { validateNetworkName } from './validate.js';
import { selectVersion } from './versions.js';

export { parseJson };

/** `type` is "" when the config has an `ipam` object without one (bridge's L2-only `"ipam": {}`). */
export interface IPAMConfig {
  type: string;
  [k: string]: unknown;
}

export interface NetConf {
  cniVersion?: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: IPAMConfig;
  dns?: DNS;
  args?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: unknown;
  [k: string]: unknown;
}

export interface NetConfList {
  cniVersion?: string;
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean;
  disableGC?: boolean;
  loadOnlyInlinedPlugins?: boolean;
  plugins: NetConf[];
  [k: string]: unknown;
}

/** Keys of types.PluginConf (Go matches them case-insensitively; a JSON null there means absent). */
const PLUGIN_KEYS = ['cniVersion', 'name', 'type', 'capabilities', 'ipam', 'dns', 'args', 'runtimeConfig', 'prevResult', 'cni.dev/valid-attachments'];

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Own-key copy that keeps key order and treats a "__proto__" key as plain data. */
function copyObject(o: Obj): Obj {
  const out: Obj = {};
  for (const k of Object.keys(o)) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true });
    else out[k] = o[k];
  }
  return out;
}

/**
 * Copy where the given known keys are read the way Go's encoding/json reads a struct: a key
 * matches case-insensitively, the last non-null occurrence wins and null means absent. The
 * value lands under the canonical name at the first occurrence's position; other keys stay as
 * they are.
 */
function foldKnownKeys(o: Obj, known: readonly string[]): Obj {
  const canonical = new Map(known.map((k) => [k.toLowerCase(), k]));
  const out: Obj = {};
  const seen = new Set<string>();
  for (const k of Object.keys(o)) {
    const name = canonical.get(k.toLowerCase());
    const v = o[k];
    if (name === undefined) {
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
      continue;
    }
    if (!seen.has(name)) {
      seen.add(name);
      out[name] = undefined; // reserve the position
    }
    if (v !== null) out[name] = v;
  }
  for (const name of seen) if (out[name] === undefined) delete out[name];
  return out;
}

const DNS_KEYS = ['nameservers', 'domain', 'search', 'options'];

/**
 * A plugin object with its known keys (and those of `ipam` and `dns`) folded as Go reads them.
 * Exported inside the package so the schema tests can check a schema against what parsing sees.
 */
export function goReadPlugin(raw: Obj): Obj {
  const conf = foldKnownKeys(raw, PLUGIN_KEYS);
  if (isObject(conf['ipam'])) conf['ipam'] = foldKnownKeys(conf['ipam'], ['type']);
  if (isObject(conf['dns'])) conf['dns'] = foldKnownKeys(conf['dns'], DNS_KEYS);
  return conf;
}

/** Validates the known keys of one plugin object and returns the copy a plugin gets. */
function pluginObject(raw: Obj, fail: (detail: string) => never, path: Array<string | number>): NetConf {
  const conf = goReadPlugin(raw);
  const problem = check(netConfShape, conf, path);
  if (problem) fail(problem);
  if (conf['type'] === undefined) conf['type'] = '';
  const ipam = conf['ipam'];
  if (isObject(ipam) && ipam['type'] === undefined) ipam['type'] = '';
  return conf as NetConf;
}

function toValue(input: unknown, what: string): unknown {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return input;
  try {
    return parseJson(input);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `${what}: ${e instanceof CniError ? (e.details ?? e.msg) : errorText(e)}`);
  }
}

/**
 * Plugin side: the network configuration a plugin receives on stdin (text, bytes or a parsed
 * value). Bad JSON is CniError code 6 `error unmarshall network config: …` as in skel; a wrong
 * type on a known key is code 7 naming the key; `name` is checked as skel does (code 7
 * `missing network name` / `invalid characters found in network name`). A missing `cniVersion`
 * stays absent (it means 0.1.0); a missing `type` reads as "" like Go.
 */
export function parseNetConf(input: string | Uint8Array | unknown): NetConf {
  const value = toValue(input, 'error unmarshall network config');
  if (value === null || value === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  if (!isObject(value)) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: expected a JSON object, got ${jsonTypeName(value)}`);
  }
  const conf = pluginObject(
    value,
    (detail) => {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network config: ${detail}`);
    },
    [],
  );
  validateNetworkName(typeof conf.name === 'string' ? conf.name : '');
  return conf;
}

const LIST_BOOLS = ['disableCheck', 'disableGC', 'loadOnlyInlinedPlugins'] as const;

/**
 * Runtime side: a conflist with libcni's rules. `name` is a required string, `cniVersion` an
 * optional string, `cniVersions` a string array; the returned `cniVersion` is the selected one
 * (selectVersion). The three flags take a JSON bool or "true"/"false" in any case. `plugins`, if
 * present, is a non-empty array of objects that each have a `type`; each keeps its unknown keys.
 * Without `plugins` the list is empty (unless loadOnlyInlinedPlugins, which is then an error).
 * Bad JSON is CniError code 6; everything else code 7, naming the field.
 */
export function parseNetConfList(input: string | Uint8Array | unknown): NetConfList {
  const value = toValue(input, 'error parsing configuration list');
  const fail = (detail: string): never => {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `error parsing configuration list: ${detail}`);
  };
  if (value !== null && !isObject(value)) {
    throw new CniError(ErrorCode.DecodingFailure, `error parsing configuration list: expected a JSON object, got ${jsonTypeName(value)}`);
  }
  const raw: Obj = value ?? {};
  const list = copyObject(raw);

  if (!Object.hasOwn(raw, 'name')) fail('missing "name"');
  if (typeof raw['name'] !== 'string') fail(`"name" must be a string, got ${jsonTypeName(raw['name'])}`);

  let cniVersion: string | undefined;
  if (Object.hasOwn(raw, 'cniVersion')) {
    if (typeof raw['cniVersion'] !== 'string') fail(`"cniVersion" must be a string, got ${jsonTypeName(raw['cniVersion'])}`);
    cniVersion = raw['cniVersion'] as string;
  }
  let cniVersions: string[] | undefined;
  if (Object.hasOwn(raw, 'cniVersions')) {
    const vs = raw['cniVersions'];
    if (!Array.isArray(vs)) fail(`"cniVersions" must be an array of strings, got ${jsonTypeName(vs)}`);
    (vs as unknown[]).forEach((v, i) => {
      if (typeof v !== 'string') fail(`"cniVersions[${i}]" must be a string, got ${jsonTypeName(v)}`);
    });
    cniVersions = vs as string[];
    try {
      list['cniVersion'] = selectVersion(cniVersion, cniVersions);
    } catch (e) {
      fail(e instanceof CniError ? e.message : errorText(e));
    }
  }

  for (const key of LIST_BOOLS) {
    if (!Object.hasOwn(raw, key)) continue;
    const v = raw[key];
    if (typeof v === 'boolean') continue;
    if (typeof v !== 'string') fail(`${JSON.stringify(key)} must be a boolean or "true"/"false", got ${jsonTypeName(v)}`);
    const lower = (v as string).toLowerCase();
    if (lower !== 'true' && lower !== 'false') fail(`invalid value ${JSON.stringify(lower)} for ${JSON.stringify(key)}`);
    list[key] = lower === 'true';
  }

  if (!Object.hasOwn(raw, 'plugins')) {
    if (list['loadOnlyInlinedPlugins'] === true) fail('"loadOnlyInlinedPlugins" is true and there is no "plugins" key');
    list['plugins'] = [];
    return list as NetConfList;
  }
  const plugins = raw['plugins'];
  if (!Array.isArray(plugins)) fail(`"plugins" must be an array, got ${jsonTypeName(plugins)}`);
  if ((plugins as unknown[]).length === 0) fail('"plugins" must not be empty');
  list['plugins'] = (plugins as unknown[]).map((p, i) => {
    const where = formatPath(['plugins', i]);
    if (p !== null && !isObject(p)) fail(`${JSON.stringify(where)} must be an object, got ${jsonTypeName(p)}`);
    const conf = pluginObject((p ?? {}) as Obj, fail, ['plugins', i]);
    if (conf.type === '') fail(`${JSON.stringify(`${where}.type`)} is required`);
    return conf;
  });
  return list as NetConfList;
}

/** libcni ConfListFromConf: wraps a single plugin config (a `.conf` file) as a one-plugin list. */
export function confListFromConf(conf: NetConf): NetConfList {
  return parseNetConfList({ name: conf.name, cniVersion: conf.cniVersion ?? '', plugins: [conf] });
}
