// Test support (private): the public surface of @tscni/testing: the test plugins' implementations
// (their executables are src/bin/*.ts) and fixtures shared by the other packages' tests.
export {
  DEBUG_PLUGIN_INFO,
  GARBAGE_TEXT,
  debugPlugin,
  readDebugConf,
  runDebugPlugin,
} from './debug-plugin.js';
export type { DebugConf, DebugContext, DebugRecord } from './debug-plugin.js';
export { NOOP_PLUGIN_INFO, noopPlugin, runNoopPlugin } from './noop-plugin.js';
export { configVersion, freshResult } from './result-helpers.js';
export {
  TEST_PLUGIN_NAMES,
  captureIO,
  makeTempDir,
  readDebugRecords,
  testPluginDir,
  testPluginPath,
  uniqueName,
} from './fixtures.js';
export type { CapturedIO, TempDir, TestPluginName } from './fixtures.js';
export {
  NetnsPool,
  addrs,
  bridgeJson,
  globalCidrs,
  ip,
  ipJson,
  ipQuiet,
  link,
  links,
  ping,
  routes,
  runId,
  sysctl,
  tcpSourceSeen,
  uniq,
} from './kernel.js';
export type { IpAddrInfo, IpLink, IpRoute, NetnsOps, TestNetns } from './kernel.js';
