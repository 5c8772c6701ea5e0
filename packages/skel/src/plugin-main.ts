// Plugin side (skel): `pluginMain`, the one function a plugin's executable calls, mirroring Go
// pkg/skel PluginMainFuncs: read env + stdin, validate in the reference order, dispatch the verb,
// print the result or the error JSON on stdout, exit 0 or 1.
import {
  CURRENT_VERSION,
  CniError,
  ErrorCode,
  convertResult,
  formatResult,
  parseJson,
  parseNetConf,
  toCniError,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
  versionAtLeast,
} from '@tscni/spec';
import type { AnyResult, CmdArgs, NetConf, PluginFuncs, VersionInfo } from '@tscni/spec';
import { MIN_CONFIG_VERSION, REQUIRED_ENV, isVerb, missingEnv, netnsOverride, splitPath } from './env.js';
import type { Verb } from './env.js';
import { processIO, stdinIsCharDevice, writeAllSync } from './io.js';
import type { PluginIO } from './io.js';
import { isOwnNetns } from './netns.js';

export type { CmdArgs, PluginFuncs };

export interface PluginInfo {
  /** The spec versions this plugin accepts in a config's `cniVersion` (exact match). */
  supportedVersions: readonly string[];
  /** Printed with the supported versions when the executable is run without CNI_COMMAND. */
  about?: string;
}

const CALLBACK: Readonly<Record<Exclude<Verb, 'VERSION'>, keyof PluginFuncs>> = {
  ADD: 'add',
  DEL: 'del',
  CHECK: 'check',
  GC: 'gc',
  STATUS: 'status',
};

/** Config version assumed when a config has no (or an empty) `cniVersion`, as Go's ConfigDecoder. */
const VERSION_WHEN_MISSING = '0.1.0';

interface Resolved extends PluginIO {
  /** VERSION skips reading a terminal: only the real process stdin can be one. */
  stdinMayBlock: () => boolean;
}

function resolveIO(io: Partial<PluginIO> | undefined): Resolved {
  const proc = processIO();
  const stdin = io?.stdin ?? proc.stdin;
  return {
    env: io?.env ?? proc.env,
    stdin,
    stdout: io?.stdout ?? proc.stdout,
    stderr: io?.stderr ?? proc.stderr,
    exit: io?.exit ?? proc.exit,
    stdinMayBlock: () => stdin === proc.stdin && stdinIsCharDevice(),
  };
}

/** Prints an ADD result converted to `version` (the config's), 4-space indented like Go's PrintResult. */
export function printResult(result: AnyResult, version: string, io?: Pick<Partial<PluginIO>, 'stdout'>): void {
  const out = io?.stdout ?? ((s: string) => writeAllSync(1, s));
  out(formatResult(convertResult(result, version)));
}

/**
 * Runs one plugin invocation. Resolves with the exit code after calling `io.exit` with it (the
 * default `exit` ends the process). Never throws: every failure becomes the CNI error JSON on stdout.
 */
export async function pluginMain(funcs: PluginFuncs, info: PluginInfo, io?: Partial<PluginIO>): Promise<number> {
  const sys = resolveIO(io);
  const state: { version?: string } = {};
  let code = 0;
  try {
    await dispatch(funcs, info, sys, state);
  } catch (e) {
    const err = toCniError(e);
    sys.stdout(formatResult(err.toJSON(state.version)));
    code = 1;
  }
  sys.exit(code);
  return code;
}

async function dispatch(funcs: PluginFuncs, info: PluginInfo, sys: Resolved, state: { version?: string }): Promise<void> {
  const env = sys.env;
  const command = env['CNI_COMMAND'] ?? '';

  if (command === '' && info.about !== undefined && info.about !== '') {
    sys.stderr(`${info.about}\nCNI protocol versions supported: ${info.supportedVersions.join(', ')}\n`);
    return;
  }

  const missing = missingEnv(command, env);
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `required env variables [${missing.join(',')}] missing`);
  }
  if (!isVerb(command)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
  }

  if (command === 'VERSION') {
    await printVersion(info, sys);
    return;
  }

  const stdinData = await readStdin(sys);
  const netconf = decodeConfig(stdinData);
  const version = netconf.cniVersion === undefined || netconf.cniVersion === '' ? VERSION_WHEN_MISSING : netconf.cniVersion;

  // Validators run only where the variable is required (GC/STATUS ignore stray values).
  const required = REQUIRED_ENV[command];
  const containerId = env['CNI_CONTAINERID'] ?? '';
  const ifName = env['CNI_IFNAME'] ?? '';
  if (required.includes('CNI_CONTAINERID')) validateContainerId(containerId);
  if (required.includes('CNI_IFNAME')) validateInterfaceName(ifName);

  checkVersion(command, version, info);
  // From here on errors are reported in the config's version.
  state.version = version;

  const args: CmdArgs = {
    containerId,
    netns: env['CNI_NETNS'] ?? '',
    ifName,
    args: env['CNI_ARGS'] ?? '',
    path: splitPath(env['CNI_PATH']),
    stdinData,
    netconf,
    netnsOverride: netnsOverride(env['CNI_NETNS_OVERRIDE']),
  };

  // Go skel runs this guard after the ADD/DEL callback; here it runs before, so a runtime that
  // passes the host namespace by mistake gets error 8 before anything in the host is changed.
  if ((command === 'ADD' || command === 'DEL') && args.netns !== '' && !args.netnsOverride && isOwnNetns(args.netns)) {
    throw new CniError(ErrorCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }

  const name = CALLBACK[command];
  if (name === 'add') {
    if (funcs.add === undefined) return;
    const result = await funcs.add(args);
    if (result === undefined || result === null) {
      throw new CniError(ErrorCode.Internal, 'plugin returned no result for ADD');
    }
    printResult(result, version, sys);
    return;
  }
  const fn = funcs[name];
  if (fn !== undefined) await fn.call(funcs, args);
}

async function readStdin(sys: PluginIO): Promise<Uint8Array> {
  try {
    return await sys.stdin();
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, `error reading from stdin: ${toCniError(e).msg}`, undefined, { cause: e });
  }
}

/** stdin -> NetConf with Go skel's checks first: JSON (6), then `name` (7), then `cniVersion` type (6). */
function decodeConfig(stdinData: Uint8Array): NetConf {
  let raw: unknown;
  try {
    raw = parseJson(stdinData);
  } catch (e) {
    const err = toCniError(e);
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${err.details ?? err.msg}`, undefined, { cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, 'error unmarshall network config: expected a JSON object');
  }
  const name = (raw as Record<string, unknown>)['name'];
  if (name === undefined || name === null || name === '') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  }
  if (typeof name !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, 'error unmarshall network config: "name" must be a string');
  }
  validateNetworkName(name);
  const v = (raw as Record<string, unknown>)['cniVersion'];
  if (v !== undefined && typeof v !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, 'decoding version from network config: "cniVersion" must be a string');
  }
  return parseNetConf(raw);
}

/** The reference's version gates: exact support first, then the verb's minimum config version. */
function checkVersion(command: Exclude<Verb, 'VERSION'>, version: string, info: PluginInfo): void {
  if (!info.supportedVersions.includes(version)) {
    const list = info.supportedVersions.map((v) => JSON.stringify(v)).join(' ');
    throw new CniError(ErrorCode.IncompatibleCNIVersion, 'incompatible CNI versions', `config is ${JSON.stringify(version)}, plugin supports [${list}]`);
  }
  const min = MIN_CONFIG_VERSION[command];
  if (min === undefined) return;
  let ok: boolean;
  try {
    ok = versionAtLeast(version, min);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, toCniError(e).msg, undefined, { cause: e });
  }
  if (!ok) throw new CniError(ErrorCode.IncompatibleCNIVersion, `config version does not allow ${command}`);
}

/**
 * VERSION reply. The spec says `cniVersion` echoes the request's; Go skel always answers 1.1.0 and
 * ignores stdin. libcni only needs a non-empty `cniVersion`, so we echo a string `cniVersion`
 * from stdin and fall back to CURRENT_VERSION when there is none (unreadable, not JSON, a terminal).
 */
async function printVersion(info: PluginInfo, sys: Resolved): Promise<void> {
  let cniVersion = CURRENT_VERSION;
  if (!sys.stdinMayBlock()) {
    try {
      const raw = parseJson(await sys.stdin());
      const v = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)['cniVersion'] : undefined;
      if (typeof v === 'string' && v !== '') cniVersion = v;
    } catch {
      // VERSION must answer whatever stdin holds: the reference does not read it at all.
    }
  }
  const reply: VersionInfo = { cniVersion, supportedVersions: [...info.supportedVersions] };
  sys.stdout(`${JSON.stringify(reply)}\n`);
}
