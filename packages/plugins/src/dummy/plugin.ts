// Floor 3 (plugins/dummy): the reference dummy plugin. ADD creates a `dummy` link as CNI_IFNAME in
// CNI_NETNS and applies IPAM (required); DEL releases IPAM first, then deletes the link; CHECK
// compares the interface and its addresses (not routes, as the reference).
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { ipamType } from '../shared/conf.js';
import { defaultOpener, kernelError, openContainerNetns, using } from '../shared/kernel.js';
import {
  attachIpam,
  checkContainerLink,
  configureNewLink,
  delContainerLink,
  ipamGcStatus,
  requireFreeName,
} from '../shared/link-plugin.js';
import type { LinkPluginDeps } from '../shared/link-plugin.js';

export function loadDummyConfig(netconf: NetConf): void {
  if (ipamType(netconf) === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'ipam: dummy interface requires an IPAM configuration');
}

async function add(a: CmdArgs, deps: LinkPluginDeps): Promise<Result> {
  loadDummyConfig(a.netconf);
  return using(openContainerNetns(a.netns, deps.open ?? defaultOpener), async (cont) => {
    await requireFreeName(cont, a.ifName);
    try {
      await cont.createLink({ name: a.ifName, kind: 'dummy' });
    } catch (e) {
      throw kernelError('failed to create dummy', e);
    }
    return configureNewLink(a, cont, (intf) => attachIpam(a, deps.ipam, cont, intf));
  });
}

async function del(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  loadDummyConfig(a.netconf);
  await delContainerLink(a, deps, true);
}

async function check(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  loadDummyConfig(a.netconf);
  await using(openContainerNetns(a.netns, deps.open ?? defaultOpener), async (cont) => {
    await checkContainerLink(a, deps.ipam, cont, { plugin: 'dummy', kind: 'dummy', up: true, routes: false });
  });
}

export function dummyPlugin(deps: LinkPluginDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    ...ipamGcStatus(deps.ipam),
  };
}
