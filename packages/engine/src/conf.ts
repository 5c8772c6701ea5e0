// Engine layer: loading network configuration lists from disk and bytes, mirroring libcni conf.go
// (.conflist first, then upconverted .conf/.json, drop-in `<dir>/<name>/*.conf` plugins).
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { CniError, ErrorCode, parseJson, selectVersion } from '@tscni/spec';
import { ConfigNotFoundError, NoConfigsFoundError } from './errors.js';
import { goMarshal } from './gojson.js';

/** The typed fields libcni reads from a plugin object (Go types.PluginConf); everything else stays in `raw`. */
export interface PluginConf {
  type: string;
  /** '' when absent (plugins inside a list usually have none). */
  name: string;
  cniVersion?: string;
  capabilities?: Record<string, boolean>;
  ipam?: { type?: string; [k: string]: unknown };
}

/** One plugin of a list (libcni PluginConfig). */
export interface PluginConfig {
  network: PluginConf;
  /** The decoded plugin object; passed through to the plugin unchanged (re-marshalled, keys sorted). */
  raw: Record<string, unknown>;
  /** The bytes libcni keeps for this plugin: the file's bytes for a .conf, the re-marshalled object for an inlined one. */
  bytes: Uint8Array;
}

/** A network configuration list (libcni NetworkConfigList). */
export interface NetworkConfigList {
  name: string;
  /** The selected version: the highest of `cniVersion` ∪ `cniVersions` not above 1.1.0. */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The bytes this list was read from; the result cache stores them (base64) as `config`. */
  bytes: Uint8Array;
}

const encoder = new TextEncoder();

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function invalid(msg: string, details?: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

function decode(bytes: Uint8Array, what: string): unknown {
  try {
    return parseJson(bytes);
  } catch (e) {
    const detail = e instanceof CniError ? (e.details ?? e.msg) : String(e);
    throw new CniError(ErrorCode.DecodingFailure, `${what}: ${detail}`, undefined, { cause: e });
  }
}

// Go's encoding/json matches struct fields case-insensitively and the last matching key wins, so
// `"Type"` sets the type just as `"type"` does (inventory fact 6).
function goField(obj: Record<string, unknown>, field: string): unknown {
  let found: unknown;
  const lower = field.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k === field || k.toLowerCase() === lower) found = v;
  return found;
}

/** The typed view of a plugin object, checked the way Go's json.Unmarshal into types.PluginConf would. */
function pluginConfOf(raw: Record<string, unknown>, prefix: string): PluginConf {
  const type = goField(raw, 'type');
  if (type !== undefined && type !== null && typeof type !== 'string') throw invalid(`${prefix}: "type" must be a string, got ${typeName(type)}`);
  if (typeof type !== 'string' || type === '') throw invalid(`${prefix}: missing 'type'`);
  const conf: PluginConf = { type, name: '' };
  const name = goField(raw, 'name');
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') throw invalid(`${prefix}: "name" must be a string, got ${typeName(name)}`);
    conf.name = name;
  }
  const version = goField(raw, 'cniVersion');
  if (version !== undefined && version !== null) {
    if (typeof version !== 'string') throw invalid(`${prefix}: "cniVersion" must be a string, got ${typeName(version)}`);
    conf.cniVersion = version;
  }
  const caps = goField(raw, 'capabilities');
  if (caps !== undefined && caps !== null) {
    if (!isObject(caps)) throw invalid(`${prefix}: "capabilities" must be an object of booleans, got ${typeName(caps)}`);
    const out: Record<string, boolean> = {};
    for (const [k, v] of Object.entries(caps)) {
      if (v === null) continue;
      if (typeof v !== 'boolean') throw invalid(`${prefix}: "capabilities.${k}" must be a boolean, got ${typeName(v)}`);
      out[k] = v;
    }
    conf.capabilities = out;
  }
  const ipam = goField(raw, 'ipam');
  if (ipam !== undefined && ipam !== null) {
    if (!isObject(ipam)) throw invalid(`${prefix}: "ipam" must be an object, got ${typeName(ipam)}`);
    const ipamType = goField(ipam, 'type');
    if (ipamType !== undefined && ipamType !== null && typeof ipamType !== 'string') {
      throw invalid(`${prefix}: "ipam.type" must be a string, got ${typeName(ipamType)}`);
    }
    conf.ipam = ipam;
  }
  return conf;
}

/** One plugin configuration from its bytes (libcni NetworkPluginConfFromBytes): a JSON object with a `type`. */
export function pluginConfFromBytes(bytes: Uint8Array | string): PluginConfig {
  const b = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
  const raw = decode(b, 'error parsing configuration');
  if (!isObject(raw)) throw new CniError(ErrorCode.DecodingFailure, `error parsing configuration: expected a JSON object, got ${typeName(raw)}`);
  return { network: pluginConfOf(raw, 'error parsing configuration'), raw, bytes: b };
}

function readBool(raw: Record<string, unknown>, key: string): boolean {
  const v = raw[key];
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') throw invalid(`error parsing configuration list: invalid type ${typeName(v)} for ${key}`);
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw invalid(`error parsing configuration list: invalid value ${JSON.stringify(s)} for ${key}`);
}

/**
 * Parses a network configuration list (libcni NetworkConfFromBytes). Keeps `bytes` for the cache.
 * Without `plugins` and with loadOnlyInlinedPlugins false the list comes back empty (drop-ins may fill it).
 */
export function netConfListFromBytes(bytes: Uint8Array | string): NetworkConfigList {
  const b = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
  const raw = decode(b, 'error parsing configuration list');
  if (!isObject(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, `error parsing configuration list: expected a JSON object, got ${typeName(raw)}`);
  }
  if (!('name' in raw)) throw invalid('error parsing configuration list: no name');
  const name = raw['name'];
  if (typeof name !== 'string') throw invalid(`error parsing configuration list: invalid name type ${typeName(name)}`);

  let cniVersion: string | undefined;
  if ('cniVersion' in raw) {
    const v = raw['cniVersion'];
    if (typeof v !== 'string') throw invalid(`error parsing configuration list: invalid cniVersion type ${typeName(v)}`);
    cniVersion = v;
  }
  let cniVersions: string[] | undefined;
  if ('cniVersions' in raw) {
    const vs = raw['cniVersions'];
    if (!Array.isArray(vs)) throw invalid(`error parsing configuration list: invalid type for cniVersions: ${typeName(vs)}`);
    cniVersions = vs.map((v: unknown, i) => {
      if (typeof v !== 'string') throw invalid(`error parsing configuration list: invalid type for cniVersions index ${i}: ${typeName(v)}`);
      return v;
    });
  }
  let selected: string;
  try {
    selected = selectVersion(cniVersion, cniVersions);
  } catch (e) {
    if (e instanceof CniError) throw invalid(`error parsing configuration list: ${e.msg}`, e.details);
    throw e;
  }

  const list: NetworkConfigList = {
    name,
    cniVersion: selected,
    disableCheck: readBool(raw, 'disableCheck'),
    disableGC: readBool(raw, 'disableGC'),
    loadOnlyInlinedPlugins: readBool(raw, 'loadOnlyInlinedPlugins'),
    plugins: [],
    bytes: b,
  };

  if (!('plugins' in raw)) {
    if (list.loadOnlyInlinedPlugins) {
      throw invalid("error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    }
    return list;
  }
  const plugins = raw['plugins'];
  if (!Array.isArray(plugins)) throw invalid(`error parsing configuration list: invalid 'plugins' type ${typeName(plugins)}`);
  if (plugins.length === 0) throw invalid('error parsing configuration list: no plugins in list');
  plugins.forEach((p: unknown, i) => {
    const prefix = `failed to parse plugin config ${i}: error parsing configuration`;
    if (!isObject(p)) throw invalid(`${prefix}: expected a JSON object, got ${typeName(p)}`);
    list.plugins.push({ network: pluginConfOf(p, prefix), raw: p, bytes: encoder.encode(goMarshal(p)) });
  });
  return list;
}

/**
 * Files in `dir` whose extension is exactly one of `exts` (with the dot), sorted, directories
 * skipped, not recursive. A missing directory gives [] (libcni ConfFiles).
 */
export async function confFiles(dir: string, exts: readonly string[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CniError(ErrorCode.IOFailure, `failed to read directory ${dir}: ${(e as Error).message}`, undefined, { cause: e });
  }
  return entries
    .filter((d) => !d.isDirectory() && exts.includes(extname(d.name)))
    .map((d) => d.name)
    .sort()
    .map((n) => join(dir, n));
}

async function readConfFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, `error reading ${file}: ${(e as Error).message}`, undefined, { cause: e });
  }
}

/** The drop-in plugins of a network: `<confDir>/<networkName>/*.conf`, sorted (libcni NetworkPluginConfsFromFiles). */
export async function pluginConfsFromFiles(confDir: string, networkName: string): Promise<PluginConfig[]> {
  const files = await confFiles(join(confDir, networkName), ['.conf']);
  const out: PluginConfig[] = [];
  for (const f of files) out.push(pluginConfFromBytes(await readConfFile(f)));
  return out;
}

/** A .conflist file plus its drop-in plugins unless loadOnlyInlinedPlugins (libcni NetworkConfFromFile). */
export async function netConfListFromFile(file: string): Promise<NetworkConfigList> {
  const list = netConfListFromBytes(await readConfFile(file));
  if (!list.loadOnlyInlinedPlugins) list.plugins.push(...(await pluginConfsFromFiles(dirname(file), list.name)));
  if (list.plugins.length === 0) throw invalid(`no plugin configs found in ${file}`);
  return list;
}

/** Wraps a single plugin configuration into a list (libcni ConfListFromConf), bytes marshalled as Go does. */
export function confListFromConf(conf: PluginConfig): NetworkConfigList {
  const raw = { name: conf.network.name, cniVersion: conf.network.cniVersion ?? '', plugins: [conf.raw] };
  return netConfListFromBytes(goMarshal(raw));
}

/**
 * Finds network `name` in `dir` (libcni LoadNetworkConf): every `.conflist` in sorted order (any
 * unreadable or invalid one aborts the search), the first whose name matches wins; otherwise the
 * deprecated single-plugin `.conf`/`.json` files, upconverted to a list.
 */
export async function loadNetworkConfList(dir: string, name: string): Promise<NetworkConfigList> {
  const lists = await confFiles(dir, ['.conflist']);
  for (const file of lists) {
    const list = await netConfListFromFile(file);
    if (list.name === name) return list;
  }
  const singles = await confFiles(dir, ['.conf', '.json']);
  if (singles.length === 0) {
    if (lists.length > 0) throw new ConfigNotFoundError(dir, name);
    throw new NoConfigsFoundError(dir);
  }
  for (const file of singles) {
    const conf = pluginConfFromBytes(await readConfFile(file));
    if (conf.network.name === name) return confListFromConf(conf);
  }
  throw new ConfigNotFoundError(dir, name);
}
