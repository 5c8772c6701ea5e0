// Test support (private): `tscni-noop`, the smallest useful chained plugin on @tscni/skel. ADD adds
// CNI_IFNAME to prevResult's interfaces (or answers a fresh result) so a chain's order is visible;
// every other verb succeeds without doing anything.
import { SPEC_VERSIONS, convertResult, parseResult, toCurrentResult, versionAtLeast } from '@tscni/spec';
import type { AnyResult } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import type { CmdArgs, PluginFuncs, PluginIO, PluginInfo } from '@tscni/skel';
import { configVersion, freshResult, sandboxInterface } from './result-helpers.js';

export const NOOP_PLUGIN_INFO: PluginInfo = {
  supportedVersions: SPEC_VERSIONS,
  about: 'tscni-noop: a CNI test plugin that appends CNI_IFNAME to the previous result',
};

async function add(args: CmdArgs): Promise<AnyResult> {
  const version = configVersion(args.netconf);
  if (args.netconf.prevResult === undefined) return freshResult(version, args);
  const prev = parseResult(args.netconf.prevResult, version);
  // 0.1.0/0.2.0 results have no interfaces: pass them through unchanged.
  if (!versionAtLeast(version, '0.3.0')) return prev;
  const current = toCurrentResult(prev);
  const result = { ...current, interfaces: [...(current.interfaces ?? []), sandboxInterface(args)] };
  return convertResult(result, version);
}

/** tscni-noop's callbacks: only ADD does anything; DEL/CHECK/GC/STATUS are skel's no-op successes. */
export const noopPlugin: PluginFuncs = { add };

/** Runs tscni-noop as a whole plugin over `io` (default: the process). */
export function runNoopPlugin(io?: Partial<PluginIO>): Promise<number> {
  return pluginMain(noopPlugin, NOOP_PLUGIN_INFO, io);
}
