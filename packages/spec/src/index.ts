// @tscni/spec: the CNI 1.1.0 protocol as data: errors, versions, configurations, results of
// every spec version with their conversion, CNI_ARGS and validators. No processes, no kernel.
export { ErrorCode, CniError, toCniError, isCniError } from './errors.js';
export type { ErrorResult } from './errors.js';
export {
  SPEC_VERSIONS,
  CURRENT_VERSION,
  DEFAULT_CNI_VERSION_FOR_MISSING,
  parseVersion,
  compareVersions,
  versionAtLeast,
  selectVersion,
  parseVersionInfo,
  formatVersionInfo,
  versionsFrom,
} from './versions.js';
export type { SpecVersion, VersionInfo } from './versions.js';
export { parseResult, convertResult, toCurrentResult, formatResult, resultVersionOf } from './result.js';
export type { Interface, IPConfig, Route, DNS, Result, Result040, Result020, IPConfig020, AnyResult } from './result.js';
export { parseJson, parseNetConf, parseNetConfList, confListFromConf } from './conf.js';
export type { IPAMConfig, NetConf, NetConfList } from './conf.js';
export { parseCniArgs, loadCniArgs, stringifyCniArgs } from './args.js';
export { validateContainerId, validateInterfaceName, validateNetworkName, validatePluginType } from './validate.js';
export type { PortMapping, BandwidthEntry, IPRange, CapabilityArgs, GCAttachment } from './capabilities.js';
export { parseGcAttachments } from './gc.js';
export type { CmdArgs, PluginFuncs } from './plugin-types.js';
