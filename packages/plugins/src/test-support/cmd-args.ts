// Test support (not built, not exported): the CmdArgs skel hands a plugin's callbacks, for tests that
// call them directly: the configuration as given (parse it with parseNetConf first to have skel's
// view) and as stdin JSON, the runtime's values defaulted (container ctr1, interface eth0, no
// namespace, empty CNI_PATH).
import type { NetConf } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';

export function cmdArgs(netconf: NetConf, over: Partial<CmdArgs> = {}): CmdArgs {
  const stdinData = new TextEncoder().encode(JSON.stringify(netconf));
  return { containerId: 'ctr1', netns: '', ifName: 'eth0', args: '', path: [], stdinData, netconf, netnsOverride: false, ...over };
}
