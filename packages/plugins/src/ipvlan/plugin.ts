// Floor 3 (plugins/ipvlan): the reference ipvlan plugin. ADD creates an ipvlan (mode l2, l3 or l3s)
// on `master` directly in CNI_NETNS under CNI_IFNAME. Without `master` the parent is the host's
// default-route interface or, when chained, the single interface of prevResult; chained without an
// IPAM type, prevResult's addresses are applied instead of asking IPAM. DEL releases IPAM (when
// configured) first, then deletes the link.
import { CniError, ErrorCode, parseResult, toCurrentResult } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import type { IpvlanMode } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { GoObject, ipamType, readMtu } from '../shared/conf.js';
import { defaultOpener, kernelError, openContainerNetns, using } from '../shared/kernel.js';
import {
  attachIpam,
  checkContainerLink,
  checkIfName,
  checkMismatch,
  configureNewLink,
  createOnMaster,
  delContainerLink,
  findMaster,
  ipamGcStatus,
  onMasterSide,
  readMaster,
} from '../shared/link-plugin.js';
import type { LinkPluginDeps } from '../shared/link-plugin.js';

const MODES: readonly IpvlanMode[] = ['l2', 'l3', 'l3s'];

export interface IpvlanConfig {
  master: string | undefined;
  mode: IpvlanMode;
  mtu: number | undefined;
  linkInContainer: boolean;
  /** prevResult (1.x shape) when chained. */
  prev: Result | undefined;
  layer3: boolean;
}

export function loadIpvlanConfig(netconf: NetConf): IpvlanConfig {
  const o = new GoObject(netconf);
  const { master, linkInContainer } = readMaster(o);
  if (master !== undefined) checkIfName(master, 'master');
  const modeRaw = o.string('mode') ?? '';
  const mode = modeRaw === '' ? 'l2' : (modeRaw as IpvlanMode);
  if (!MODES.includes(mode)) throw new CniError(ErrorCode.InvalidNetworkConfig, `mode: unknown ipvlan mode: ${JSON.stringify(modeRaw)}`);
  const prev =
    netconf.prevResult === undefined || netconf.prevResult === null ? undefined : toCurrentResult(parseResult(netconf.prevResult, netconf.cniVersion));
  return { master, mode, mtu: readMtu(o), linkInContainer, prev, layer3: ipamType(netconf) !== '' };
}

/** The parent's name: configured, else prevResult's single interface when chained (else undefined: default route). */
export function chainedMaster(c: IpvlanConfig): string | undefined {
  if (c.master !== undefined || c.prev === undefined) return c.master;
  const list = c.prev.interfaces ?? [];
  const only = list[0];
  if (list.length !== 1 || only === undefined || only.name === '') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'master: chained master failure. PrevResult lacks a single named interface');
  }
  return only.name;
}


async function add(a: CmdArgs, deps: LinkPluginDeps): Promise<Result> {
  const c = loadIpvlanConfig(a.netconf);
  // Chained without an IPAM type: prevResult's addresses, when it has any.
  const given = !c.layer3 && (c.prev?.ips ?? []).length > 0 ? c.prev : undefined;
  if (!c.layer3 && given === undefined) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'ipam.type: ipvlan needs an IPAM plugin (or a prevResult with IPs)');
  }
  const open = deps.open ?? defaultOpener;
  return using(openContainerNetns(a.netns, open), async (cont) => {
    await createOnMaster(open, cont, a.ifName, { ...c, master: chainedMaster(c) }, async (side, master) => {
      try {
        await side.createLink({
          name: a.ifName,
          kind: 'ipvlan',
          parent: master.index,
          mode: c.mode,
          ...(c.mtu === undefined ? {} : { mtu: c.mtu }),
          ...(c.linkInContainer ? {} : { netns: a.netns }),
        });
      } catch (e) {
        throw kernelError('failed to create ipvlan', e);
      }
    });
    return configureNewLink(a, cont, (intf) =>
      attachIpam(a, deps.ipam, cont, intf, { notify: { arp: true, ndisc: true }, ...(given === undefined ? {} : { given }) }),
    );
  });
}

async function del(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  const c = loadIpvlanConfig(a.netconf);
  await delContainerLink(a, deps, c.layer3);
}

async function check(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  const c = loadIpvlanConfig(a.netconf);
  const open = deps.open ?? defaultOpener;
  await using(openContainerNetns(a.netns, open), async (cont) => {
    // CHECK's prevResult is this plugin's own result: only a configured master can be checked.
    if (c.master !== undefined) await onMasterSide(open, cont, c.linkInContainer, (side) => findMaster(side, c.master));
    await checkContainerLink(a, deps.ipam, cont, {
      plugin: 'ipvlan',
      kind: 'ipvlan',
      up: true,
      validate: (link) => {
        const mode = link.data?.kind === 'ipvlan' ? link.data.mode : undefined;
        if (mode !== c.mode) throw checkMismatch(`Container IPVlan mode ${mode ?? 'unknown'} does not match expected value: ${c.mode}`);
      },
    });
  });
}

export function ipvlanPlugin(deps: LinkPluginDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    ...ipamGcStatus(deps.ipam),
  };
}
