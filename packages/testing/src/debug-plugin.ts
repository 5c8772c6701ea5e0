// Test support (private): `tscni-debug`, a plugin on @tscni/skel that records each call and answers as
// its config says (like the reference `debug` test plugin): fixed results, errors, hangs, garbage.
import { appendFileSync } from 'node:fs';
import { CniError, ErrorCode, SPEC_VERSIONS, parseResult } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { CNI_ENV_VARS, pluginMain, processIO } from '@tscni/skel';
import type { CmdArgs, PluginFuncs, PluginIO, PluginInfo } from '@tscni/skel';
import { configVersion, freshResult } from './result-helpers.js';

export const DEBUG_PLUGIN_INFO: PluginInfo = {
  supportedVersions: SPEC_VERSIONS,
  about: 'tscni-debug: a CNI test plugin that records its calls and answers as its config says',
};

/** Config keys understood by tscni-debug (besides the usual NetConf ones). */
export interface DebugConf extends NetConf {
  /** Append one JSON line per call: {command, env (all CNI_* vars), stdin (parsed config)}. */
  debugFile?: string;
  /** ADD prints exactly this JSON (4-space indented), unconverted, instead of a computed result. */
  result?: unknown;
  /** Fail a verb with this CNI error, e.g. {"ADD": {"code": 11, "msg": "busy"}}. */
  errors?: Record<string, { code: number; msg: string; details?: string }>;
  /** Wait this long before answering (to test timeouts). */
  sleepMs?: number;
  /** Print this text (true: a fixed non-JSON text) on stdout instead of the answer. */
  garbage?: string | boolean;
  /** Exit with this code after answering (whatever the answer was). */
  exitCode?: number;
}

/** One line of the debug file. */
export interface DebugRecord {
  command: string;
  env: Record<string, string>;
  stdin: unknown;
}

export const GARBAGE_TEXT = 'this is not JSON {';

/** What the plugin needs beyond CmdArgs: the env (for the record) and control over final output. */
export interface DebugContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Writes straight to the real stdout, bypassing skel. */
  rawStdout: (s: string) => void;
  /** Set by the plugin: suppress skel's own stdout output / override the exit code. */
  override: { stdoutTaken?: boolean; exitCode?: number };
}

function confError(field: string, want: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `tscni-debug: "${field}" must be ${want}`);
}

/** Reads and type-checks the debug keys, naming the bad field. */
export function readDebugConf(netconf: NetConf): DebugConf {
  const c = netconf as DebugConf;
  if (c.debugFile !== undefined && typeof c.debugFile !== 'string') throw confError('debugFile', 'a string');
  if (c.sleepMs !== undefined && (typeof c.sleepMs !== 'number' || !(c.sleepMs >= 0))) throw confError('sleepMs', 'a number >= 0');
  if (c.garbage !== undefined && typeof c.garbage !== 'string' && typeof c.garbage !== 'boolean') throw confError('garbage', 'a string or boolean');
  if (c.exitCode !== undefined && (!Number.isInteger(c.exitCode) || c.exitCode < 0 || c.exitCode > 255)) throw confError('exitCode', 'an integer 0..255');
  if (c.errors !== undefined) {
    if (c.errors === null || typeof c.errors !== 'object' || Array.isArray(c.errors)) throw confError('errors', 'an object keyed by verb');
    for (const [verb, e] of Object.entries(c.errors)) {
      if (e === null || typeof e !== 'object') throw confError(`errors.${verb}`, 'an object {code, msg, details?}');
      if (!Number.isInteger(e.code) || e.code < 0) throw confError(`errors.${verb}.code`, 'a non-negative integer');
      if (typeof e.msg !== 'string') throw confError(`errors.${verb}.msg`, 'a string');
      if (e.details !== undefined && typeof e.details !== 'string') throw confError(`errors.${verb}.details`, 'a string');
    }
  }
  return c;
}

function cniEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  const names = new Set<string>(CNI_ENV_VARS);
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (names.has(k) || k.startsWith('CNI_'))) out[k] = v;
  }
  return out;
}

/** Steps shared by every verb: record, exit-code override, sleep, garbage, configured error. */
async function prologue(command: string, args: CmdArgs, ctx: DebugContext): Promise<DebugConf> {
  const conf = readDebugConf(args.netconf);
  if (conf.debugFile !== undefined) {
    const record: DebugRecord = { command, env: cniEnv(ctx.env), stdin: args.netconf };
    appendFileSync(conf.debugFile, `${JSON.stringify(record)}\n`);
  }
  if (conf.exitCode !== undefined) ctx.override.exitCode = conf.exitCode;
  if (conf.sleepMs !== undefined && conf.sleepMs > 0) {
    await new Promise((r) => setTimeout(r, conf.sleepMs));
  }
  if (conf.garbage !== undefined && conf.garbage !== false) {
    ctx.rawStdout(conf.garbage === true ? GARBAGE_TEXT : conf.garbage);
    ctx.override.stdoutTaken = true;
    return conf;
  }
  const e = conf.errors?.[command];
  if (e !== undefined) throw new CniError(e.code, e.msg, e.details);
  return conf;
}

/** The verb callbacks of tscni-debug, for in-process use (the engine may register them). */
export function debugPlugin(ctx: DebugContext): Required<PluginFuncs> {
  return {
    async add(args) {
      const conf = await prologue('ADD', args, ctx);
      const version = configVersion(args.netconf);
      // When the answer was written raw, skel's printing of the returned result is suppressed.
      if (ctx.override.stdoutTaken === true) return freshResult(version, args);
      if (conf.result !== undefined) {
        ctx.rawStdout(JSON.stringify(conf.result, null, 4));
        ctx.override.stdoutTaken = true;
        return freshResult(version, args);
      }
      if (args.netconf.prevResult !== undefined) return parseResult(args.netconf.prevResult, version);
      return freshResult(version, args);
    },
    async del(args) {
      await prologue('DEL', args, ctx);
    },
    async check(args) {
      await prologue('CHECK', args, ctx);
    },
    async gc(args) {
      await prologue('GC', args, ctx);
    },
    async status(args) {
      await prologue('STATUS', args, ctx);
    },
  };
}

/** Runs tscni-debug as a whole plugin over `io` (default: the process) and exits with its code. */
export async function runDebugPlugin(io: Partial<PluginIO> = {}): Promise<number> {
  const proc = processIO();
  const env = io.env ?? proc.env;
  const stdout = io.stdout ?? proc.stdout;
  const exit = io.exit ?? proc.exit;
  const ctx: DebugContext = { env, rawStdout: stdout, override: {} };
  const code = await pluginMain(debugPlugin(ctx), DEBUG_PLUGIN_INFO, {
    ...io,
    env,
    stdout: (s) => {
      if (ctx.override.stdoutTaken !== true) stdout(s);
    },
    exit: () => undefined,
  });
  const final = ctx.override.exitCode ?? code;
  exit(final);
  return final;
}
