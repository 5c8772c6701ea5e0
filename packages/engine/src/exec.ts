// Engine layer: running a plugin executable (the equivalent of Go pkg/invoke RawExec + FindInPath),
// behind one PluginExec interface so tests can swap in FakeExec. Adds what Go lacks: a default
// timeout with SIGTERM then SIGKILL, and AbortSignal support.
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CniError, ErrorCode, validatePluginType } from '@tscni/spec';
import { EngineErrorCode, PluginAbortedError, PluginError, PluginNotFoundError, PluginTimeoutError } from './errors.js';

export interface ExecOptions {
  signal?: AbortSignal | undefined;
  /** Kill the plugin after this long (default: the exec's own default, 60 s for RawExec). */
  timeoutMs?: number | undefined;
}

/** The seam between the engine and plugin processes. */
export interface PluginExec {
  /**
   * Runs the plugin at `path` with `stdin`; `env` holds the CNI_* variables (an implementation adds
   * its own process environment). Resolves with stdout on exit status 0, rejects with a
   * PluginError (or subclass) otherwise.
   */
  execPlugin(path: string, stdin: Uint8Array, env: Record<string, string>, opts: ExecOptions): Promise<Uint8Array>;
  /** The executable for `type` in `paths`, or PluginNotFoundError; a type with a path separator is CniError 7. */
  findInPath(type: string, paths: readonly string[]): Promise<string>;
}

export interface RawExecOptions {
  /** Default per-call timeout in ms (default 60 000); 0 disables it. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL on timeout or abort (default 2 000 ms). */
  killGraceMs?: number;
  /** Receives a successful plugin's stderr (Go copies it to os.Stderr); default process.stderr. */
  stderr?: ((chunk: Uint8Array) => void) | null;
  /** Environment the plugin inherits before the CNI_* variables (default process.env). */
  baseEnv?: NodeJS.ProcessEnv;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_KILL_GRACE_MS = 2_000;
// Go retries "text file busy" (a plugin binary being replaced) 5 times, one second apart.
const TXTBSY_RETRIES = 5;
const TXTBSY_DELAY_MS = 1_000;

/** Looks up `type` in each directory of `paths`: a regular file (symlinks followed), exec bit not checked, as Go does. */
export async function findInPath(type: string, paths: readonly string[]): Promise<string> {
  validatePluginType(type);
  const dirs = paths.filter((p) => p !== '');
  if (dirs.length === 0) throw new PluginNotFoundError(type, paths);
  for (const dir of dirs) {
    const full = join(dir, type);
    try {
      if ((await stat(full)).isFile()) return full;
    } catch {
      // not in this directory
    }
  }
  throw new PluginNotFoundError(type, paths);
}

interface RunOutcome {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: NodeJS.ErrnoException;
  killedBy?: 'timeout' | 'abort';
}

/** The real PluginExec: child_process.spawn, buffered stdout/stderr, timeout and abort handling. */
export class RawExec implements PluginExec {
  readonly timeoutMs: number;
  readonly killGraceMs: number;
  private readonly stderrSink: ((chunk: Uint8Array) => void) | null;
  private readonly baseEnv: NodeJS.ProcessEnv | undefined;

  constructor(opts: RawExecOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.stderrSink = opts.stderr === undefined ? (c) => process.stderr.write(c) : opts.stderr;
    this.baseEnv = opts.baseEnv;
  }

  findInPath(type: string, paths: readonly string[]): Promise<string> {
    return findInPath(type, paths);
  }

  async execPlugin(path: string, stdin: Uint8Array, env: Record<string, string>, opts: ExecOptions = {}): Promise<Uint8Array> {
    const fullEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.baseEnv ?? process.env)) if (v !== undefined) fullEnv[k] = v;
    Object.assign(fullEnv, env);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;

    let outcome: RunOutcome;
    for (let attempt = 0; ; attempt++) {
      outcome = await this.runOnce(path, stdin, fullEnv, timeoutMs, opts.signal);
      if (outcome.spawnError?.code === 'ETXTBSY' && attempt < TXTBSY_RETRIES && !opts.signal?.aborted) {
        await new Promise((r) => setTimeout(r, TXTBSY_DELAY_MS));
        continue;
      }
      break;
    }

    const failure = { plugin: path, stderr: outcome.stderr.toString('utf8'), exitCode: outcome.exitCode, signal: outcome.signal };
    if (outcome.killedBy === 'timeout') throw new PluginTimeoutError({ ...failure, timeoutMs });
    if (outcome.killedBy === 'abort') throw new PluginAbortedError({ ...failure, cause: opts.signal?.reason });
    if (outcome.spawnError) {
      const e = outcome.spawnError;
      throw new PluginError({ ...failure, code: ErrorCode.Internal, msg: `failed to execute plugin ${path}: ${e.message}`, cause: e });
    }
    if (outcome.exitCode === 0) {
      if (outcome.stderr.length > 0) this.stderrSink?.(outcome.stderr);
      return outcome.stdout;
    }
    throw decodePluginFailure(path, outcome.stdout, outcome.stderr, outcome.exitCode, outcome.signal);
  }

  private runOnce(
    path: string,
    stdin: Uint8Array,
    env: Record<string, string>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<RunOutcome> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: null, signal: null, killedBy: 'abort' });
        return;
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let killedBy: RunOutcome['killedBy'];
      let spawnError: NodeJS.ErrnoException | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      // A plugin runs in its own process group so that SIGKILL also reaches helpers it started
      // and holding our stdout pipe open cannot keep us waiting.
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(path, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      } catch (e) {
        // Node throws some spawn failures (ETXTBSY among them) synchronously and reports others as 'error'.
        resolve({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: null, signal: null, spawnError: e as NodeJS.ErrnoException });
        return;
      }

      const killGroup = (sig: NodeJS.Signals): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          child.kill(sig);
        }
      };
      const stop = (why: 'timeout' | 'abort'): void => {
        if (killedBy !== undefined) return;
        killedBy = why;
        killGroup('SIGTERM');
        graceTimer = setTimeout(() => killGroup('SIGKILL'), this.killGraceMs);
      };
      const timer = timeoutMs > 0 ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
      const onAbort = (): void => stop('abort');
      signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout?.on('data', (c: Buffer) => out.push(c));
      child.stderr?.on('data', (c: Buffer) => err.push(c));
      child.on('error', (e: NodeJS.ErrnoException) => {
        spawnError = e;
      });
      // EPIPE when the plugin exits without reading stdin is not an error of ours.
      child.stdin?.on('error', () => {});
      child.stdin?.end(stdin);
      child.on('close', (exitCode, sig) => {
        if (timer) clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        signal?.removeEventListener('abort', onAbort);
        const o: RunOutcome = { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode, signal: sig };
        if (spawnError) o.spawnError = spawnError;
        if (killedBy) o.killedBy = killedBy;
        resolve(o);
      });
    });
  }
}

function describeExit(exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by signal ${signal}`;
  return `exit status ${exitCode ?? 'unknown'}`;
}

/**
 * Builds the error for a plugin that exited non-zero, as Go's pluginErr does: its CNI error JSON
 * from stdout when there is one (code kept), else a message made from stderr or the exit status.
 */
export function decodePluginFailure(
  path: string,
  stdout: Uint8Array,
  stderr: Uint8Array,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
): PluginError {
  const stderrText = Buffer.from(stderr).toString('utf8');
  const stdoutText = Buffer.from(stdout).toString('utf8');
  const base = { plugin: path, stderr: stderrText, exitCode, signal };
  const how = describeExit(exitCode, signal);
  if (stdoutText.trim() === '') {
    const msg = stderrText.trim() === ''
      ? `netplugin failed with no error message: ${how}`
      : `netplugin failed: ${JSON.stringify(stderrText.trim())}: ${how}`;
    return new PluginError({ ...base, code: EngineErrorCode.PluginFailedNoDiagnostic, msg });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdoutText) as unknown;
  } catch (e) {
    return new PluginError({
      ...base,
      code: EngineErrorCode.PluginOutput,
      msg: `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdoutText)}: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
  try {
    const ce = CniError.fromJSON(parsed);
    const msg = ce.msg === '' ? `netplugin failed with no error message: ${how}` : ce.msg;
    return new PluginError({ ...base, code: ce.code, msg, details: ce.details });
  } catch (e) {
    const reason = e instanceof CniError ? e.message : String(e);
    return new PluginError({
      ...base,
      code: EngineErrorCode.PluginOutput,
      msg: `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdoutText)}: ${reason}`,
    });
  }
}
