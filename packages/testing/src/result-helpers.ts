// Test support (private): results the test plugins answer with, in the shape of the config's version.
import { versionAtLeast } from '@tscni/spec';
import type { AnyResult, Interface, NetConf, Result, Result020, Result040 } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';

/** The config's cniVersion; none (or empty) means 0.1.0, as in Go. */
export function configVersion(netconf: NetConf): string {
  return netconf.cniVersion === undefined || netconf.cniVersion === '' ? '0.1.0' : netconf.cniVersion;
}

/** The interface a test plugin "creates": CNI_IFNAME inside CNI_NETNS. */
export function sandboxInterface(args: CmdArgs): Interface {
  return args.netns === '' ? { name: args.ifName } : { name: args.ifName, sandbox: args.netns };
}

/**
 * A minimal result for `version`: one sandbox interface (0.3.0 and later), or an empty 0.1.0/0.2.0
 * result, which has no place for interfaces and still has to be valid.
 */
export function freshResult(version: string, args: CmdArgs): AnyResult {
  if (versionAtLeast(version, '1.0.0')) {
    const r: Result = { cniVersion: version, interfaces: [sandboxInterface(args)] };
    return r;
  }
  if (versionAtLeast(version, '0.3.0')) {
    const r: Result040 = { cniVersion: version, interfaces: [sandboxInterface(args)], dns: {} };
    return r;
  }
  const r: Result020 = { cniVersion: version, dns: {} };
  return r;
}
