// CLI layer: turns cnitool's environment and arguments into an engine, a network list and a
// RuntimeConf, the way the reference cnitool's setupRuntimeConfig does.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { CniError, ErrorCode } from '@tscni/spec';
import type { CapabilityArgs } from '@tscni/spec';
import { CniEngine, loadNetworkConfList } from '@tscni/engine';
import type { CniEngineOptions, NetworkConfigList, OperationOptions, RuntimeConf } from '@tscni/engine';
import type { CommandContext } from './cli.js';

export const DEFAULT_NETCONFPATH = '/etc/cni/net.d';
export const DEFAULT_IFNAME = 'eth0';

function envVar(ctx: CommandContext, name: string): string {
  return ctx.io.env[name] ?? '';
}

/** CNI_ARGS as cnitool reads it: `K=V` pairs split on `;`, each with exactly one `=` and a non-empty key and value. */
export function parseCliCniArgs(s: string): Array<[string, string]> {
  if (s === '') return [];
  return s.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2 || kv[0] === '' || kv[1] === '') {
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `invalid CNI_ARGS pair ${JSON.stringify(pair)}`);
    }
    return [kv[0] as string, kv[1] as string];
  });
}

/** CAP_ARGS: a JSON object of capability arguments. */
export function parseCapArgs(s: string): CapabilityArgs | undefined {
  if (s === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s) as unknown;
  } catch (e) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `invalid CAP_ARGS: ${(e as Error).message}`);
  }
  if (v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `invalid CAP_ARGS: want a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  }
  return v as CapabilityArgs;
}

/** `cnitool-` + the first 10 bytes of sha512(absolute netns path) in hex, as the reference derives it. */
export function containerIdFor(absNetns: string): string {
  return `cnitool-${createHash('sha512').update(absNetns).digest('hex').slice(0, 20)}`;
}

/** CNI_PATH split like Go's filepath.SplitList (empty → no directories). */
function pluginPath(ctx: CommandContext): string[] {
  const p = envVar(ctx, 'CNI_PATH');
  return p === '' ? [] : p.split(':');
}

function timeoutMs(ctx: CommandContext): number | undefined {
  if (ctx.inv.timeoutMs !== undefined) return ctx.inv.timeoutMs;
  const v = envVar(ctx, 'CNITOOL_TIMEOUT');
  if (v === '') return undefined;
  const s = Number(v);
  if (!Number.isFinite(s) || s < 0) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `invalid CNITOOL_TIMEOUT ${JSON.stringify(v)}: want seconds >= 0`);
  return Math.round(s * 1000);
}

/** The engine cnitool runs with: CNI_PATH, CNI_CACHE_DIR, the timeout and the injected exec (tests). */
export function makeEngine(ctx: CommandContext): CniEngine {
  const opts: CniEngineOptions = { path: pluginPath(ctx) };
  const cacheDir = envVar(ctx, 'CNI_CACHE_DIR');
  if (cacheDir !== '') opts.cacheDir = cacheDir;
  const t = timeoutMs(ctx);
  if (t !== undefined) opts.timeoutMs = t;
  if (ctx.io.exec !== undefined) opts.exec = ctx.io.exec;
  return new CniEngine(opts);
}

/** Per-operation options: the abort signal of the run, if any. */
export function opOptions(ctx: CommandContext): OperationOptions {
  return ctx.io.signal === undefined ? {} : { signal: ctx.io.signal };
}

/** Loads `<network-name>` from NETCONFPATH. */
export function loadList(ctx: CommandContext): Promise<NetworkConfigList> {
  const dir = envVar(ctx, 'NETCONFPATH') || DEFAULT_NETCONFPATH;
  return loadNetworkConfList(dir, ctx.inv.args[0] as string);
}

export interface Attachment {
  engine: CniEngine;
  list: NetworkConfigList;
  rt: RuntimeConf;
}

/** Everything add/check/del need: the list, the engine and the RuntimeConf from env and arguments. */
export async function setupAttachment(ctx: CommandContext): Promise<Attachment> {
  const engine = makeEngine(ctx);
  const list = await loadList(ctx);
  const capabilityArgs = parseCapArgs(envVar(ctx, 'CAP_ARGS'));
  const args = parseCliCniArgs(envVar(ctx, 'CNI_ARGS'));
  const ifName = ctx.inv.ifName ?? (envVar(ctx, 'CNI_IFNAME') || DEFAULT_IFNAME);
  const netns = resolve(ctx.io.cwd ?? process.cwd(), ctx.inv.args[1] as string);
  const rt: RuntimeConf = { containerId: ctx.inv.containerId ?? containerIdFor(netns), netns, ifName, args, capabilityArgs };
  return { engine, list, rt };
}
