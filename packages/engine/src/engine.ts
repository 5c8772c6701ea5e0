// Engine layer: the runtime side of CNI (the equivalent of Go libcni's CNIConfig): runs network
// lists with ADD/DEL/CHECK/GC/STATUS, builds each plugin's stdin, keeps the result cache.
import {
  CniError,
  CURRENT_VERSION,
  ErrorCode,
  convertResult,
  formatResult,
  parseNetConf,
  parseResult,
  parseVersionInfo,
  SPEC_VERSIONS,
  stringifyCniArgs,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
  versionAtLeast,
} from '@tscni/spec';
import type { AnyResult, CapabilityArgs, CmdArgs, GCAttachment, NetConf, PluginFuncs, VersionInfo } from '@tscni/spec';
import {
  cacheFilePath,
  decodeCacheEntry,
  DEFAULT_CACHE_DIR,
  deleteCacheEntry,
  CACHE_KIND_V1,
  listCachedAttachments,
  readCacheBytes,
  writeCacheEntry,
} from './cache.js';
import type { NetworkAttachment } from './cache.js';
import type { NetworkConfigList, PluginConf, PluginConfig } from './conf.js';
import { AggregateCniError, PluginError, wrapPluginError } from './errors.js';
import { RawExec } from './exec.js';
import type { ExecOptions, PluginExec } from './exec.js';
import { goMarshal } from './gojson.js';

/** The per-attachment arguments of one invocation (libcni RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs. */
  args?: ReadonlyArray<readonly [string, string]> | undefined;
  /** Capability arguments; a plugin gets those it declares in `capabilities` as `runtimeConfig`. */
  capabilityArgs?: CapabilityArgs | undefined;
}

export interface CniEngineOptions {
  /** Directories searched for plugin executables (CNI_PATH). */
  path: readonly string[];
  /** Result cache directory (default /var/lib/cni). */
  cacheDir?: string;
  /** How plugins run (default: a RawExec with the timeouts below). */
  exec?: PluginExec;
  /** Per-plugin timeout in ms (default 60 000; 0 disables). */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL when a plugin times out (default 2 000). */
  killGraceMs?: number;
}

export interface OperationOptions {
  signal?: AbortSignal;
  /** Overrides the engine's per-plugin timeout for this operation. */
  timeoutMs?: number;
}

export interface GCOptions extends OperationOptions {
  /** Attachments still in use; without it, every cached attachment of the network is deleted. */
  validAttachments?: readonly GCAttachment[];
}

/** What an in-process plugin's callbacks receive: spec's CmdArgs, the shape skel hands its plugins. */
export type InProcessArgs = CmdArgs;

/** A TypeScript plugin called without a process (ARCHITECTURE execution model 3): spec's PluginFuncs, as skel's plugins export. */
export type InProcessPlugin = PluginFuncs;

export interface InProcessPluginInfo {
  /** Versions the plugin supports (answer to VERSION; default every spec version). */
  supportedVersions?: readonly string[];
}

/** The cached configuration of an attachment and the runtime arguments it was added with. */
export interface CachedConfig {
  config: Uint8Array;
  rt: RuntimeConf;
}

const IN_PROCESS_PREFIX = 'in-process:';
const encoder = new TextEncoder();

/** `type="x" name="y"` as libcni describes a plugin in errors. */
function describePlugin(p: PluginConf): string {
  return p.name !== '' ? `type=${JSON.stringify(p.type)} name=${JSON.stringify(p.name)}` : `type=${JSON.stringify(p.type)}`;
}

function baseName(path: string): string {
  return path.split('/').pop() ?? path;
}

/** A result as the JSON object Go would marshal it to (the shape of its own version). */
function resultJson(r: AnyResult): Record<string, unknown> {
  return JSON.parse(formatResult(r)) as Record<string, unknown>;
}

export class CniEngine {
  readonly path: readonly string[];
  readonly cacheDir: string;
  readonly exec: PluginExec;
  readonly timeoutMs: number | undefined;
  private readonly inProcess = new Map<string, { plugin: InProcessPlugin; versions: readonly string[] }>();

  constructor(opts: CniEngineOptions) {
    this.path = [...opts.path];
    this.cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
    this.timeoutMs = opts.timeoutMs;
    const rawOpts: { timeoutMs?: number; killGraceMs?: number } = {};
    if (opts.timeoutMs !== undefined) rawOpts.timeoutMs = opts.timeoutMs;
    if (opts.killGraceMs !== undefined) rawOpts.killGraceMs = opts.killGraceMs;
    this.exec = opts.exec ?? new RawExec(rawOpts);
  }

  /** Registers a TypeScript plugin for `type`: it is called in-process instead of executing a file. */
  registerPlugin(type: string, plugin: InProcessPlugin, info: InProcessPluginInfo = {}): void {
    this.inProcess.set(type, { plugin, versions: info.supportedVersions ?? SPEC_VERSIONS });
  }

  // ---- lists ----

  /** ADD: plugins in order, each getting the previous one's result; the final result is cached and returned. */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: OperationOptions = {}): Promise<AnyResult> {
    if (list.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `network ${JSON.stringify(list.name)} has no plugins`);
    let result: AnyResult | undefined;
    for (const p of list.plugins) {
      try {
        result = await this.addOne(list.name, list.cniVersion, p, result, rt, opts);
      } catch (e) {
        throw wrapPluginError(e, describePlugin(p.network), 'add');
      }
    }
    const final = result as AnyResult;
    await this.cacheAdd(final, list.bytes, list.name, rt);
    return final;
  }

  /** DEL: plugins in reverse order with the cached result as prevResult; the cache entry is removed on success. */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: OperationOptions = {}): Promise<void> {
    let cached: AnyResult | undefined;
    if (versionAtLeast(list.cniVersion, '0.4.0')) {
      try {
        cached = await this.getCachedResult(list, rt);
      } catch {
        // An unreadable or invalid entry must not block DEL (cni#1055): drop it and go on without prevResult.
        await deleteCacheEntry(this.cacheDir, list.name, rt.containerId, rt.ifName).catch(() => {});
        cached = undefined;
      }
    }
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      const p = list.plugins[i] as PluginConfig;
      try {
        await this.runVerb('DEL', list.name, list.cniVersion, p, cached, rt, opts);
      } catch (e) {
        throw wrapPluginError(e, describePlugin(p.network), 'delete');
      }
    }
    await deleteCacheEntry(this.cacheDir, list.name, rt.containerId, rt.ifName).catch(() => {});
  }

  /** CHECK: plugins in order with the cached result; an error for configs below 0.4.0; a no-op with disableCheck. */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: OperationOptions = {}): Promise<void> {
    this.requireCheckVersion(list.cniVersion);
    if (list.disableCheck) return;
    const cached = await this.cachedResultOrThrow(list.name, list.cniVersion, rt);
    for (const p of list.plugins) {
      try {
        await this.runVerb('CHECK', list.name, list.cniVersion, p, cached, rt, opts);
      } catch (e) {
        throw wrapPluginError(e, describePlugin(p.network), 'check');
      }
    }
  }

  /**
   * GC: DELs every cached attachment of this network that is not in `validAttachments`, then (config
   * ≥1.1.0) sends GC to every plugin. Continues past failures and throws them together at the end.
   * A no-op with disableGC.
   */
  async gcNetworkList(list: NetworkConfigList, opts: GCOptions = {}): Promise<void> {
    if (list.disableGC) return;
    let attachments: NetworkAttachment[];
    try {
      attachments = await listCachedAttachments(this.cacheDir);
    } catch {
      // libcni treats an unlistable cache as nothing to collect.
      attachments = [];
    }
    const valid = new Set((opts.validAttachments ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
    const errors: CniError[] = [];
    const opOpts = operationOnly(opts);
    for (const a of attachments) {
      if (a.network !== list.name || valid.has(`${a.containerId}\0${a.ifName}`)) continue;
      const rt: RuntimeConf = { containerId: a.containerId, netns: a.netns, ifName: a.ifName, args: a.cniArgs, capabilityArgs: a.capabilityArgs };
      try {
        await this.delNetworkList(list, rt, opOpts);
      } catch (e) {
        errors.push(prefixError(e, `failed to delete stale attachment ${a.containerId} ${a.ifName}: `));
      }
    }
    if (versionAtLeast(list.cniVersion, '1.1.0')) {
      const inject: Record<string, unknown> = { name: list.name, cniVersion: list.cniVersion };
      if (opts.validAttachments !== undefined) {
        // libcni sends both keys: the spec's name and the one early 1.1 plugins read (cni#1101).
        const va = opts.validAttachments.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
        inject['cni.dev/valid-attachments'] = va;
        inject['cni.dev/attachments'] = va;
      }
      for (const p of list.plugins) {
        try {
          const path = await this.find(p.network.type);
          await this.invoke(path, encoder.encode(goMarshal({ ...p.raw, ...inject })), this.env('GC'), opOpts);
        } catch (e) {
          errors.push(prefixError(e, `failed to GC plugin ${p.network.type}: `));
        }
      }
    }
    if (errors.length === 1) throw errors[0] as CniError;
    if (errors.length > 1) throw new AggregateCniError(errors);
  }

  /** STATUS (config ≥1.1.0, else a no-op): each plugin in order; the first error is thrown as the plugin reported it. */
  async statusNetworkList(list: NetworkConfigList, opts: OperationOptions = {}): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return;
    for (const p of list.plugins) {
      const path = await this.find(p.network.type);
      await this.invoke(path, encoder.encode(goMarshal({ ...p.raw, name: list.name, cniVersion: list.cniVersion })), this.env('STATUS'), opts);
    }
  }

  /**
   * Checks every plugin exists and supports the list's version (a VERSION probe each); returns the
   * union of the capabilities the plugins enable, sorted. All failures are reported together.
   */
  async validateNetworkList(list: NetworkConfigList, opts: OperationOptions = {}): Promise<string[]> {
    const version = list.cniVersion === '' ? '0.1.0' : list.cniVersion;
    const caps = new Set<string>();
    const errors: CniError[] = [];
    for (const p of list.plugins) {
      try {
        await this.validatePlugin(p.network.type, version, opts);
      } catch (e) {
        errors.push(prefixError(e, ''));
      }
      for (const [c, on] of Object.entries(p.network.capabilities ?? {})) if (on) caps.add(c);
    }
    if (errors.length === 1) throw errors[0] as CniError;
    if (errors.length > 1) throw new AggregateCniError(errors);
    return [...caps].sort();
  }

  /** The cached final ADD result, converted to the list's version; undefined when there is none. */
  async getCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<AnyResult | undefined> {
    return this.readCachedResult(list.name, list.cniVersion, rt);
  }

  /** The cached config bytes and the runtime arguments the attachment was added with; undefined when there is none. */
  async getCachedConfig(list: NetworkConfigList | PluginConfig, rt: RuntimeConf): Promise<CachedConfig | undefined> {
    const name = 'network' in list ? list.network.name : list.name;
    const bytes = await readCacheBytes(cacheFilePath(this.cacheDir, name, rt.containerId, rt.ifName));
    if (bytes === undefined) return undefined;
    let entry;
    try {
      entry = decodeCacheEntry(bytes);
    } catch (e) {
      throw new CniError(ErrorCode.DecodingFailure, `failed to unmarshal cached network ${JSON.stringify(name)} config: ${(e as CniError).msg}`, undefined, { cause: e });
    }
    if (entry.kind !== CACHE_KIND_V1) {
      throw new CniError(ErrorCode.DecodingFailure, `read cached network ${JSON.stringify(name)} config has wrong kind: ${entry.kind}`);
    }
    const out: RuntimeConf = { ...rt, capabilityArgs: entry.capabilityArgs };
    if (entry.cniArgs !== undefined) out.args = entry.cniArgs;
    return { config: entry.config, rt: out };
  }

  /** Attachments in the cache, optionally only those of one container. */
  getCachedAttachments(containerId?: string): Promise<NetworkAttachment[]> {
    return listCachedAttachments(this.cacheDir, containerId);
  }

  /** The plugin's VERSION reply (a plugin that does not know VERSION supports 0.1.0 only). */
  async getVersionInfo(type: string, opts: OperationOptions = {}): Promise<VersionInfo> {
    return this.versionInfoAt(await this.find(type), opts);
  }

  // ---- single plugins (name and version from the plugin's own config) ----

  async addNetwork(plugin: PluginConfig, rt: RuntimeConf, opts: OperationOptions = {}): Promise<AnyResult> {
    const { name, version } = singleIdentity(plugin);
    const result = await this.addOne(name, version, plugin, undefined, rt, opts);
    await this.cacheAdd(result, plugin.bytes, name, rt);
    return result;
  }

  async checkNetwork(plugin: PluginConfig, rt: RuntimeConf, opts: OperationOptions = {}): Promise<void> {
    const { name, version } = singleIdentity(plugin);
    this.requireCheckVersion(version);
    const cached = await this.cachedResultOrThrow(name, version, rt);
    await this.runVerb('CHECK', name, version, plugin, cached, rt, opts);
  }

  async delNetwork(plugin: PluginConfig, rt: RuntimeConf, opts: OperationOptions = {}): Promise<void> {
    const { name, version } = singleIdentity(plugin);
    const cached = versionAtLeast(version, '0.4.0') ? await this.cachedResultOrThrow(name, version, rt) : undefined;
    await this.runVerb('DEL', name, version, plugin, cached, rt, opts);
    await deleteCacheEntry(this.cacheDir, name, rt.containerId, rt.ifName).catch(() => {});
  }

  // ---- internals ----

  private requireCheckVersion(version: string): void {
    if (!versionAtLeast(version, '0.4.0')) {
      throw new CniError(ErrorCode.IncompatibleCNIVersion, `configuration version ${JSON.stringify(version)} does not support the CHECK command`);
    }
  }

  private async cachedResultOrThrow(name: string, version: string, rt: RuntimeConf): Promise<AnyResult | undefined> {
    try {
      return await this.readCachedResult(name, version, rt);
    } catch (e) {
      throw prefixError(e, `failed to get network ${JSON.stringify(name)} cached result: `);
    }
  }

  private async readCachedResult(name: string, version: string, rt: RuntimeConf): Promise<AnyResult | undefined> {
    const bytes = await readCacheBytes(cacheFilePath(this.cacheDir, name, rt.containerId, rt.ifName));
    if (bytes === undefined) return undefined;
    let raw: unknown;
    try {
      const entry = decodeCacheEntry(bytes);
      raw = entry.kind === CACHE_KIND_V1 ? (entry.result ?? null) : undefined;
    } catch {
      raw = undefined;
    }
    // Not a V1 entry: the legacy format, where the file is the result itself.
    const result = parseResult(raw === undefined ? bytes : raw);
    try {
      return convertResult(result, version);
    } catch (e) {
      throw prefixError(e, `failed to convert cached result to config version ${JSON.stringify(version)}: `);
    }
  }

  private async cacheAdd(result: AnyResult, config: Uint8Array, name: string, rt: RuntimeConf): Promise<void> {
    await writeCacheEntry(this.cacheDir, {
      containerId: rt.containerId,
      config,
      ifName: rt.ifName,
      networkName: name,
      netns: rt.netns,
      cniArgs: rt.args,
      capabilityArgs: rt.capabilityArgs,
      result: resultJson(result),
    });
  }

  private async addOne(
    name: string,
    version: string,
    p: PluginConfig,
    prev: AnyResult | undefined,
    rt: RuntimeConf,
    opts: OperationOptions,
  ): Promise<AnyResult> {
    const path = await this.find(p.network.type);
    validateContainerId(rt.containerId);
    validateNetworkName(name);
    validateInterfaceName(rt.ifName);
    const stdout = await this.invoke(path, this.stdinFor(name, version, p, prev, rt), this.env('ADD', rt), opts);
    return decodeResult(path, stdout, version);
  }

  private async runVerb(
    verb: 'DEL' | 'CHECK',
    name: string,
    version: string,
    p: PluginConfig,
    prev: AnyResult | undefined,
    rt: RuntimeConf,
    opts: OperationOptions,
  ): Promise<void> {
    const path = await this.find(p.network.type);
    await this.invoke(path, this.stdinFor(name, version, p, prev, rt), this.env(verb, rt), opts);
  }

  /**
   * The plugin's stdin: its config with `name` and `cniVersion` of the list, `prevResult` (as the
   * previous plugin returned it) and `runtimeConfig` (its enabled capabilities ∩ capabilityArgs,
   * only when non-empty), marshalled as libcni does (keys sorted, compact).
   */
  private stdinFor(name: string, version: string, p: PluginConfig, prev: AnyResult | undefined, rt: RuntimeConf): Uint8Array {
    const conf: Record<string, unknown> = { ...p.raw, name, cniVersion: version };
    if (prev !== undefined) conf['prevResult'] = resultJson(prev);
    const rc: Record<string, unknown> = {};
    const capArgs = rt.capabilityArgs ?? {};
    for (const [cap, on] of Object.entries(p.network.capabilities ?? {})) {
      if (on && Object.hasOwn(capArgs, cap) && capArgs[cap] !== undefined) rc[cap] = capArgs[cap];
    }
    if (Object.keys(rc).length > 0) conf['runtimeConfig'] = rc;
    return encoder.encode(goMarshal(conf));
  }

  /** The six CNI_* variables; GC and STATUS carry no attachment (libcni sends them empty). */
  private env(command: string, rt?: RuntimeConf): Record<string, string> {
    return {
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt?.containerId ?? '',
      CNI_NETNS: rt?.netns ?? '',
      CNI_ARGS: rt?.args ? stringifyCniArgs(rt.args) : '',
      CNI_IFNAME: rt?.ifName ?? '',
      CNI_PATH: this.path.join(':'),
    };
  }

  private find(type: string): Promise<string> {
    if (this.inProcess.has(type)) return Promise.resolve(IN_PROCESS_PREFIX + type);
    return this.exec.findInPath(type, this.path);
  }

  private invoke(path: string, stdin: Uint8Array, env: Record<string, string>, opts: OperationOptions): Promise<Uint8Array> {
    if (path.startsWith(IN_PROCESS_PREFIX)) return this.invokeInProcess(path, stdin, env);
    const execOpts: ExecOptions = { signal: opts.signal, timeoutMs: opts.timeoutMs ?? this.timeoutMs };
    return this.exec.execPlugin(path, stdin, env, execOpts);
  }

  private async invokeInProcess(path: string, stdin: Uint8Array, env: Record<string, string>): Promise<Uint8Array> {
    const type = path.slice(IN_PROCESS_PREFIX.length);
    const reg = this.inProcess.get(type);
    if (reg === undefined) throw new CniError(ErrorCode.PluginNotAvailable, `in-process plugin ${JSON.stringify(type)} is not registered`);
    const command = env['CNI_COMMAND'] ?? '';
    if (command === 'VERSION') return encoder.encode(JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: reg.versions }));
    try {
      const netconf = parseNetConf(stdin);
      const args: InProcessArgs = {
        containerId: env['CNI_CONTAINERID'] ?? '',
        netns: env['CNI_NETNS'] ?? '',
        ifName: env['CNI_IFNAME'] ?? '',
        args: env['CNI_ARGS'] ?? '',
        path: [...this.path],
        stdinData: stdin,
        netconf,
        netnsOverride: false,
      };
      const version = netconf.cniVersion ?? '';
      if (!reg.versions.includes(version === '' ? '0.1.0' : version)) {
        throw new CniError(ErrorCode.IncompatibleCNIVersion, 'incompatible CNI versions', `config is ${JSON.stringify(version)}, plugin supports ${JSON.stringify(reg.versions)}`);
      }
      const f = reg.plugin;
      switch (command) {
        case 'ADD': {
          if (!f.add) return new Uint8Array();
          const r = await f.add(args);
          return encoder.encode(formatResult(convertResult(r, version)));
        }
        case 'DEL':
          await f.del?.(args);
          break;
        case 'CHECK':
          await f.check?.(args);
          break;
        case 'GC':
          await f.gc?.(args);
          break;
        case 'STATUS':
          await f.status?.(args);
          break;
        default:
          throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
      }
      return new Uint8Array();
    } catch (e) {
      const ce = e instanceof CniError ? e : new CniError(ErrorCode.Internal, e instanceof Error ? e.message : String(e), undefined, { cause: e });
      throw new PluginError({ plugin: path, code: ce.code, msg: ce.msg, details: ce.details, cause: e });
    }
  }

  private async validatePlugin(type: string, version: string, opts: OperationOptions): Promise<void> {
    const info = await this.getVersionInfo(type, opts);
    if (!info.supportedVersions.includes(version)) {
      throw new CniError(ErrorCode.IncompatibleCNIVersion, `plugin ${type} does not support config version ${JSON.stringify(version)}`, `plugin supports ${JSON.stringify(info.supportedVersions)}`);
    }
  }

  private async versionInfoAt(path: string, opts: OperationOptions): Promise<VersionInfo> {
    // Placeholders for plugins built on old skels that required these even for VERSION.
    const env = { CNI_COMMAND: 'VERSION', CNI_CONTAINERID: '', CNI_NETNS: 'dummy', CNI_ARGS: '', CNI_IFNAME: 'dummy', CNI_PATH: 'dummy' };
    let stdout: Uint8Array;
    try {
      stdout = await this.invoke(path, encoder.encode(JSON.stringify({ cniVersion: CURRENT_VERSION })), env, opts);
    } catch (e) {
      if (e instanceof PluginError && e.msg === 'unknown CNI_COMMAND: VERSION') return { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] };
      throw e;
    }
    try {
      return parseVersionInfo(stdout);
    } catch (e) {
      throw prefixError(e, `plugin ${JSON.stringify(baseName(path))} returned an invalid VERSION reply: `);
    }
  }
}

/** Name and version of a single plugin used on its own (libcni AddNetwork etc.). */
function singleIdentity(p: PluginConfig): { name: string; version: string } {
  return { name: p.network.name, version: p.network.cniVersion ?? '' };
}

function operationOnly(o: GCOptions): OperationOptions {
  const out: OperationOptions = {};
  if (o.signal !== undefined) out.signal = o.signal;
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  return out;
}

/** The same error (code kept) with context in front of its message. */
function prefixError(e: unknown, prefix: string): CniError {
  if (e instanceof PluginError) return e.withMsg(prefix + e.msg);
  if (e instanceof CniError) return prefix === '' ? e : new CniError(e.code, prefix + e.msg, e.details, { cause: e });
  return new CniError(ErrorCode.Internal, prefix + (e instanceof Error ? e.message : String(e)), undefined, { cause: e });
}

/**
 * A plugin's ADD stdout as a result. A missing or empty `cniVersion` means the config's version
 * (libcni's fix for cni#895); the result keeps its own version otherwise (no conversion).
 */
function decodeResult(path: string, stdout: Uint8Array, confVersion: string): AnyResult {
  const name = JSON.stringify(baseName(path));
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(stdout).toString('utf8')) as unknown;
  } catch (e) {
    const text = Buffer.from(stdout).toString('utf8');
    const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
    throw new CniError(ErrorCode.DecodingFailure, `plugin ${name} printed a result that is not JSON: ${(e as Error).message}`, `output: ${JSON.stringify(shown)}`);
  }
  if (json === null) json = {};
  try {
    return parseResult(json, confVersion);
  } catch (e) {
    throw prefixError(e, `plugin ${name} printed an invalid result: `);
  }
}
