// @tscni/engine: the runtime side of CNI (the equivalent of Go libcni): config loading, network
// list operations, the libcni-compatible result cache, and plugin execution.
export { CniEngine } from './engine.js';
export type {
  CachedConfig,
  CniEngineOptions,
  GCOptions,
  InProcessArgs,
  InProcessPlugin,
  InProcessPluginInfo,
  OperationOptions,
  RuntimeConf,
} from './engine.js';
export {
  confFiles,
  confListFromConf,
  loadNetworkConfList,
  netConfListFromBytes,
  netConfListFromFile,
  pluginConfFromBytes,
  pluginConfsFromFiles,
} from './conf.js';
export type { NetworkConfigList, PluginConf, PluginConfig } from './conf.js';
export {
  CACHE_KIND_V1,
  DEFAULT_CACHE_DIR,
  cacheFilePath,
  decodeCacheEntry,
  encodeCacheEntry,
  listCachedAttachments,
} from './cache.js';
export type { CacheEntry, DecodedCacheEntry, NetworkAttachment } from './cache.js';
export { DEFAULT_KILL_GRACE_MS, DEFAULT_TIMEOUT_MS, RawExec, decodePluginFailure, findInPath } from './exec.js';
export type { ExecOptions, PluginExec, RawExecOptions } from './exec.js';
export { FakeExec, passThrough } from './fake-exec.js';
export type { FakeCall, FakeHandler, FakePluginOptions } from './fake-exec.js';
export {
  AggregateCniError,
  ConfigNotFoundError,
  EngineErrorCode,
  NoConfigsFoundError,
  PluginAbortedError,
  PluginError,
  PluginNotFoundError,
  PluginTimeoutError,
} from './errors.js';
export type { PluginFailure } from './errors.js';
export { goMarshal } from './gojson.js';
