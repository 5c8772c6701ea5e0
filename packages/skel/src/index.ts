// Plugin side (skel): the public surface of the plugin SDK, the TypeScript counterpart of Go pkg/skel
// plus the delegation half of pkg/invoke.
export { pluginMain, printResult } from './plugin-main.js';
export type { CmdArgs, PluginFuncs, PluginInfo } from './plugin-main.js';
export { processIO } from './io.js';
export type { PluginIO } from './io.js';
export { CNI_ENV_VARS, MIN_CONFIG_VERSION, REQUIRED_ENV, VERBS } from './env.js';
export type { CniEnvVar, Verb } from './env.js';
export { isOwnNetns } from './netns.js';
export {
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGc,
  delegateStatus,
  findInPath,
  spawnExec,
} from './delegate.js';
export type { DelegateCommand, DelegateExec, DelegateOptions, DelegateOutput, DelegateRequest } from './delegate.js';
