// Engine layer: the typed errors the runtime side raises, all CniError subclasses so a caller maps
// any of them to a CNI code. Mirrors libcni's NotFoundError/NoConfigsFoundError and invoke's plugin errors.
import { CniError, ErrorCode } from '@tscni/spec';

/**
 * Engine-level codes, chosen from the spec table (documented in the README):
 * - config not found / no configs: 7 (InvalidNetworkConfig);
 * - plugin executable not found: 50 (PluginNotAvailable);
 * - plugin timed out or was aborted: 11 (TryAgainLater);
 * - plugin stdout not decodable: 6 (DecodingFailure);
 * - plugin failed without a CNI error on stdout: 0 (Unknown), as Go's invoke reports it.
 */
export const EngineErrorCode = {
  ConfigNotFound: ErrorCode.InvalidNetworkConfig,
  PluginNotFound: ErrorCode.PluginNotAvailable,
  PluginTimeout: ErrorCode.TryAgainLater,
  PluginOutput: ErrorCode.DecodingFailure,
  PluginFailedNoDiagnostic: ErrorCode.Unknown,
} as const;

/** `no net configurations found in <dir>` (libcni NoConfigsFoundError). */
export class NoConfigsFoundError extends CniError {
  readonly dir: string;
  constructor(dir: string) {
    super(EngineErrorCode.ConfigNotFound, `no net configurations found in ${dir}`);
    this.name = 'NoConfigsFoundError';
    this.dir = dir;
  }
}

/** `no net configuration with name "<n>" in <dir>` (libcni NotFoundError). */
export class ConfigNotFoundError extends CniError {
  readonly dir: string;
  readonly networkName: string;
  constructor(dir: string, networkName: string) {
    super(EngineErrorCode.ConfigNotFound, `no net configuration with name "${networkName}" in ${dir}`);
    this.name = 'ConfigNotFoundError';
    this.dir = dir;
    this.networkName = networkName;
  }
}

/** `failed to find plugin "x" in path [...]` (invoke.FindInPath). */
export class PluginNotFoundError extends CniError {
  readonly pluginType: string;
  readonly paths: readonly string[];
  constructor(pluginType: string, paths: readonly string[]) {
    super(EngineErrorCode.PluginNotFound, `failed to find plugin "${pluginType}" in path [${paths.join(' ')}]`);
    this.name = 'PluginNotFoundError';
    this.pluginType = pluginType;
    this.paths = paths;
  }
}

export interface PluginFailure {
  /** Path of the executable (or `in-process:<type>`). */
  plugin: string;
  code: number;
  msg: string;
  details?: string | undefined;
  /** Everything the plugin wrote to stderr. */
  stderr?: string;
  /** Exit status, or null when it was killed by a signal or never ran. */
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  cause?: unknown;
}

/** A plugin ran and failed: its own CNI error (code kept) or one built from its exit status and stderr. */
export class PluginError extends CniError {
  readonly plugin: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;

  constructor(f: PluginFailure) {
    super(f.code, f.msg, f.details, f.cause === undefined ? undefined : { cause: f.cause });
    this.name = 'PluginError';
    this.plugin = f.plugin;
    this.stderr = f.stderr ?? '';
    this.exitCode = f.exitCode ?? null;
    this.signal = f.signal ?? null;
  }

  /** The same failure with a different message (used to add list context). */
  withMsg(msg: string): PluginError {
    return new PluginError({
      plugin: this.plugin,
      code: this.code,
      msg,
      details: this.details,
      stderr: this.stderr,
      exitCode: this.exitCode,
      signal: this.signal,
      cause: this,
    });
  }
}

/** The plugin did not finish within the timeout and was killed (code 11, TryAgainLater). */
export class PluginTimeoutError extends PluginError {
  readonly timeoutMs: number;
  constructor(f: Omit<PluginFailure, 'code' | 'msg'> & { timeoutMs: number }) {
    const base = f.plugin.split('/').pop() ?? f.plugin;
    super({ ...f, code: EngineErrorCode.PluginTimeout, msg: `plugin "${base}" timed out after ${f.timeoutMs}ms and was killed` });
    this.name = 'PluginTimeoutError';
    this.timeoutMs = f.timeoutMs;
  }
}

/** The caller's AbortSignal fired while the plugin ran; the plugin was killed (code 11). */
export class PluginAbortedError extends PluginError {
  constructor(f: Omit<PluginFailure, 'code' | 'msg'>) {
    const base = f.plugin.split('/').pop() ?? f.plugin;
    super({ ...f, code: EngineErrorCode.PluginTimeout, msg: `plugin "${base}" was aborted` });
    this.name = 'PluginAbortedError';
  }
}

/** Adds `plugin type="x" name="y" failed (verb): ` context to an error while keeping its CNI code. */
export function wrapPluginError(e: unknown, description: string, verb: string): CniError {
  const prefix = `plugin ${description} failed (${verb}): `;
  if (e instanceof PluginError) return e.withMsg(prefix + e.msg);
  if (e instanceof CniError) return new CniError(e.code, prefix + e.msg, e.details, { cause: e });
  const text = e instanceof Error ? e.message : String(e);
  return new CniError(ErrorCode.Internal, prefix + text, undefined, { cause: e });
}

/** Several errors reported together (GC continues past failures, like Go's errors.Join). */
export class AggregateCniError extends CniError {
  readonly errors: readonly CniError[];
  constructor(errors: readonly CniError[]) {
    const first = errors[0];
    super(first?.code ?? ErrorCode.Internal, errors.map((e) => e.message).join('\n'));
    this.name = 'AggregateCniError';
    this.errors = errors;
  }
}
