// Plugin side (skel): delegation to another plugin (usually IPAM), mirroring Go pkg/invoke's
// DelegateAdd/Check/Del/GC/Status and FindInPath: same env with CNI_COMMAND overridden, the complete
// config on stdin, the delegate found on CNI_PATH, its stderr passed on, its error JSON kept as is.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode, isCniError, parseJson, parseResult, toCurrentResult, validatePluginType } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { splitPath } from './env.js';
import { writeAllSync } from './io.js';

export type DelegateCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

/** One delegate run: the executable found on CNI_PATH (or, in-process, recognised by its path). */
export interface DelegateRequest {
  pluginPath: string;
  type: string;
  command: DelegateCommand;
  stdin: Uint8Array;
  env: Record<string, string>;
  signal?: AbortSignal;
}

export interface DelegateOutput {
  /** Exit status; non-zero is a failure. A delegate killed by a signal reports a non-zero code. */
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** How a delegate is run. The default spawns the executable; tests and in-process delegation replace it. */
export type DelegateExec = (req: DelegateRequest) => Promise<DelegateOutput>;

export interface DelegateOptions {
  /** Environment to pass on (default: this process's). CNI_PATH is read from it. */
  env?: Readonly<Record<string, string | undefined>>;
  exec?: DelegateExec;
  /** Where the delegate's stderr goes (default: our stderr). */
  stderr?: (s: string) => void;
  signal?: AbortSignal;
}

/**
 * Absolute path of plugin `type` in `paths` (first match wins), like Go's invoke.FindInPath: the
 * entry must be a regular file after following symlinks; the exec bit is not checked (exec fails
 * later if it is missing). A type with a path separator is CniError code 7.
 */
export function findInPath(type: string, paths: readonly string[]): string {
  validatePluginType(type);
  if (paths.length === 0) {
    throw new CniError(ErrorCode.Internal, `no paths provided to find plugin "${type}"`, 'CNI_PATH is empty');
  }
  for (const dir of paths) {
    const candidate = join(dir, type);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(ErrorCode.Internal, `failed to find plugin "${type}" in path [${paths.join(' ')}]`);
}

/** The default exec: spawn the plugin, feed stdin, collect both outputs. child_process loads lazily. */
export const spawnExec: DelegateExec = async (req) => {
  const [{ spawn }, { constants }] = await Promise.all([import('node:child_process'), import('node:os')]);
  return new Promise<DelegateOutput>((resolve, reject) => {
    const child = spawn(req.pluginPath, [], {
      env: req.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(req.signal === undefined ? {} : { signal: req.signal }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        // Killed by a signal: the shell's convention, 128 + signal number.
        exitCode: code ?? 128 + (signal === null ? 0 : constants.signals[signal]),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
      });
    });
    // A delegate that exits without reading stdin closes the pipe: EPIPE is not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(req.stdin);
  });
};

const decoder = new TextDecoder();

async function runDelegate(command: DelegateCommand, type: string, stdin: Uint8Array, opts: DelegateOptions): Promise<Uint8Array> {
  const baseEnv = opts.env ?? process.env;
  const pluginPath = findInPath(type, splitPath(baseEnv['CNI_PATH']));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  env['CNI_COMMAND'] = command;

  const exec = opts.exec ?? spawnExec;
  let output: DelegateOutput;
  try {
    output = await exec({ pluginPath, type, command, stdin, env, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
  } catch (e) {
    if (isCniError(e)) throw e;
    throw new CniError(ErrorCode.Internal, `failed to run plugin "${type}": ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
  }

  const stderrText = decoder.decode(output.stderr);
  if (stderrText !== '') (opts.stderr ?? ((s: string) => writeAllSync(2, s)))(stderrText);

  if (output.exitCode !== 0) throw delegateFailure(type, output, stderrText);
  return output.stdout;
}

/** The delegate's own CNI error when it printed one; otherwise an error in the words of Go's invoke. */
function delegateFailure(type: string, output: DelegateOutput, stderrText: string): CniError {
  const stdoutText = decoder.decode(output.stdout);
  const status = `exit status ${output.exitCode}`;
  if (stdoutText.trim() === '') {
    if (stderrText.trim() === '') {
      return new CniError(ErrorCode.Internal, `netplugin failed with no error message: ${status}`, `plugin "${type}"`);
    }
    return new CniError(ErrorCode.Internal, `netplugin failed: ${JSON.stringify(stderrText)}: ${status}`, `plugin "${type}"`);
  }
  try {
    return CniError.fromJSON(stdoutText);
  } catch (e) {
    return new CniError(
      ErrorCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdoutText)}`,
      isCniError(e) ? (e.details ?? e.msg) : undefined,
    );
  }
}

/** Runs the delegate's ADD and returns its result in the current (1.x) shape. */
export async function delegateAdd(type: string, stdin: Uint8Array, opts: DelegateOptions = {}): Promise<Result> {
  const stdout = await runDelegate('ADD', type, stdin, opts);
  // A result without cniVersion is read in the config's version (Go's fixupResultVersion).
  const conf = parseJson(stdin);
  const confVersion =
    conf !== null && typeof conf === 'object' && typeof (conf as Record<string, unknown>)['cniVersion'] === 'string'
      ? ((conf as Record<string, unknown>)['cniVersion'] as string)
      : undefined;
  return toCurrentResult(parseResult(parseJson(stdout), confVersion));
}

export async function delegateDel(type: string, stdin: Uint8Array, opts: DelegateOptions = {}): Promise<void> {
  await runDelegate('DEL', type, stdin, opts);
}

export async function delegateCheck(type: string, stdin: Uint8Array, opts: DelegateOptions = {}): Promise<void> {
  await runDelegate('CHECK', type, stdin, opts);
}

export async function delegateGc(type: string, stdin: Uint8Array, opts: DelegateOptions = {}): Promise<void> {
  await runDelegate('GC', type, stdin, opts);
}

export async function delegateStatus(type: string, stdin: Uint8Array, opts: DelegateOptions = {}): Promise<void> {
  await runDelegate('STATUS', type, stdin, opts);
}
