// Floor 3 (plugins/shared): delegation to the IPAM plugin named by `ipam.type` (reference
// pkg/ipam ExecAdd/ExecDel/ExecCheck/ExecStatus, plus GC). The delegate is found on CNI_PATH as the
// spec says; when the executable found there is one of ours from the same install (see marker.ts),
// its implementation runs in this process through the same skel entry point with the same env and
// stdin, so the result is what exec'ing it would give, minus a second Node start.
import type { Result } from '@tscni/spec';
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, pluginMain, spawnExec } from '@tscni/skel';
import type { CmdArgs, DelegateExec, DelegateOptions, DelegateOutput, DelegateRequest, PluginFuncs, PluginInfo } from '@tscni/skel';
import { ipamType } from './conf.js';
import { readMarker, selfMarker } from './marker.js';
import type { PluginMarker } from './marker.js';

/** An IPAM plugin that can run in-process. */
export interface InProcessPlugin {
  funcs: PluginFuncs;
  info: PluginInfo;
}

/** Finds the in-process implementation of a plugin type (as named by its marker), if we have one. */
export type PluginLoader = (type: string) => Promise<InProcessPlugin | undefined>;

/**
 * Our IPAM plugins, with the callbacks and version list their executables hand to pluginMain.
 * `@tscni/ipam` (and its schema library) loads only when a delegation actually goes in-process.
 */
export const ourIpamPlugins: PluginLoader = async (type) => {
  if (type !== 'host-local' && type !== 'static' && type !== 'dhcp') return undefined;
  const ipam = await import('@tscni/ipam');
  switch (type) {
    case 'host-local':
      return { funcs: ipam.hostLocalPlugin(), info: { supportedVersions: ipam.HOST_LOCAL_VERSIONS } };
    case 'static':
      return { funcs: ipam.staticPlugin, info: { supportedVersions: ipam.STATIC_VERSIONS } };
    case 'dhcp':
      return { funcs: ipam.dhcpPlugin(), info: { supportedVersions: ipam.DHCP_VERSIONS } };
  }
};

export interface InProcessOptions {
  /** This executable's marker (default: read from process.argv[1]). */
  self?: () => PluginMarker | undefined;
  /** Reads a delegate's marker (default: the first bytes of the file). */
  read?: (path: string) => PluginMarker | undefined;
  load?: PluginLoader;
  /** How delegates that are not ours run (default: spawn). */
  fallback?: DelegateExec;
}

/** Runs a plugin through pluginMain with the request as its whole world; output is collected. */
export async function runInProcess(plugin: InProcessPlugin, req: DelegateRequest): Promise<DelegateOutput> {
  const out: string[] = [];
  const err: string[] = [];
  const exitCode = await pluginMain(plugin.funcs, plugin.info, {
    env: { ...req.env },
    stdin: async () => req.stdin,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    exit: () => undefined,
  });
  return { exitCode, stdout: Buffer.from(out.join('')), stderr: Buffer.from(err.join('')) };
}

/**
 * A DelegateExec that runs a delegate in-process when both this executable and the delegate carry
 * the marker of the same build and the delegate's type is one we implement; otherwise it execs.
 */
export function inProcessExec(o: InProcessOptions = {}): DelegateExec {
  return async (req) => {
    const self = (o.self ?? selfMarker)();
    if (self !== undefined) {
      const target = (o.read ?? readMarker)(req.pluginPath);
      if (target !== undefined && target.build === self.build) {
        const plugin = await (o.load ?? ourIpamPlugins)(target.type);
        if (plugin !== undefined) return runInProcess(plugin, req);
      }
    }
    return (o.fallback ?? spawnExec)(req);
  };
}

const defaultExec = inProcessExec();

/** How a plugin reaches its IPAM delegate; tests replace `exec` or `env`. */
export interface IpamContext {
  exec?: DelegateExec;
  /** The environment to derive the delegate's from (default: this process's). */
  env?: Readonly<Record<string, string | undefined>>;
  stderr?: (s: string) => void;
}

/**
 * The delegate's environment: ours, with the CNI variables taken from the parsed arguments so a
 * plugin driven through an injected environment delegates with that environment.
 */
export function delegateEnv(args: CmdArgs, base: Readonly<Record<string, string | undefined>> = process.env): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...base };
  if (args.containerId !== '') env['CNI_CONTAINERID'] = args.containerId;
  if (args.netns !== '') env['CNI_NETNS'] = args.netns;
  if (args.ifName !== '') env['CNI_IFNAME'] = args.ifName;
  if (args.args !== '') env['CNI_ARGS'] = args.args;
  if (args.path.length > 0) env['CNI_PATH'] = args.path.join(':');
  return env;
}

function options(args: CmdArgs, ctx: IpamContext): DelegateOptions {
  const o: DelegateOptions = { env: delegateEnv(args, ctx.env), exec: ctx.exec ?? defaultExec };
  if (ctx.stderr !== undefined) o.stderr = ctx.stderr;
  return o;
}

export function ipamAdd(args: CmdArgs, ctx: IpamContext = {}): Promise<Result> {
  return delegateAdd(ipamType(args.netconf), args.stdinData, options(args, ctx));
}

export function ipamDel(args: CmdArgs, ctx: IpamContext = {}): Promise<void> {
  return delegateDel(ipamType(args.netconf), args.stdinData, options(args, ctx));
}

export function ipamCheck(args: CmdArgs, ctx: IpamContext = {}): Promise<void> {
  return delegateCheck(ipamType(args.netconf), args.stdinData, options(args, ctx));
}

export function ipamGc(args: CmdArgs, ctx: IpamContext = {}): Promise<void> {
  return delegateGc(ipamType(args.netconf), args.stdinData, options(args, ctx));
}

export function ipamStatus(args: CmdArgs, ctx: IpamContext = {}): Promise<void> {
  return delegateStatus(ipamType(args.netconf), args.stdinData, options(args, ctx));
}
