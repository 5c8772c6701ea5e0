// Floor 1 (spec): the shape of a plugin's verb callbacks (Go pkg/skel CmdArgs and PluginFuncs), in
// the one package both sides may use: skel hands it to plugins, the engine calls plugins in-process.
import type { NetConf } from './conf.js';
import type { AnyResult } from './result.js';

/** What a plugin's callbacks receive: the CNI_* environment and the stdin it was invoked with. */
export interface CmdArgs {
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string[];
  stdinData: Uint8Array;
  /** The parsed stdin. */
  netconf: NetConf;
  /** CNI_NETNS_OVERRIDE was set: the runtime vouches for CNI_NETNS being another namespace. */
  netnsOverride: boolean;
}

/** Verb callbacks. A missing callback makes that verb a successful no-op, as in Go skel. */
export interface PluginFuncs {
  add?(args: CmdArgs): Promise<AnyResult>;
  del?(args: CmdArgs): Promise<void>;
  check?(args: CmdArgs): Promise<void>;
  gc?(args: CmdArgs): Promise<void>;
  status?(args: CmdArgs): Promise<void>;
}
