// Floor 3 (plugins/vlan): the reference vlan plugin. ADD creates an 802.1Q link with `vlanId` on
// `master` (required; inside the container with `linkInContainer`) directly in CNI_NETNS under
// CNI_IFNAME, MTU bounded by the master's, then applies IPAM (required). DEL releases IPAM first,
// then deletes the link. CHECK also compares the VLAN id and a configured MTU.
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
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

export interface VlanConfig {
  master: string;
  vlanId: number;
  mtu: number | undefined;
  linkInContainer: boolean;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

export function loadVlanConfig(netconf: NetConf): VlanConfig {
  const o = new GoObject(netconf);
  const { master, linkInContainer } = readMaster(o);
  if (master === undefined) throw invalid('master: "master" field is required. It specifies the host interface name to create the VLAN for');
  checkIfName(master, 'master');
  const vlanId = o.int('vlanId') ?? 0;
  if (vlanId < 0 || vlanId > 4094) throw invalid(`vlanId: invalid VLAN ID ${vlanId} (must be between 0 and 4094)`);
  if (ipamType(netconf) === '') throw invalid('ipam.type: vlan needs an IPAM plugin');
  return { master, vlanId, mtu: readMtu(o), linkInContainer };
}


async function add(a: CmdArgs, deps: LinkPluginDeps): Promise<Result> {
  const c = loadVlanConfig(a.netconf);
  const open = deps.open ?? defaultOpener;
  return using(openContainerNetns(a.netns, open), async (cont) => {
    await createOnMaster(open, cont, a.ifName, c, async (side, master) => {
      try {
        await side.createLink({
          name: a.ifName,
          kind: 'vlan',
          parent: master.index,
          id: c.vlanId,
          ...(c.mtu === undefined ? {} : { mtu: c.mtu }),
          ...(c.linkInContainer ? {} : { netns: a.netns }),
        });
      } catch (e) {
        throw kernelError('failed to create vlan', e);
      }
    });
    return configureNewLink(a, cont, (intf) => attachIpam(a, deps.ipam, cont, intf));
  });
}

async function del(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  loadVlanConfig(a.netconf);
  await delContainerLink(a, deps, true);
}

async function check(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  const c = loadVlanConfig(a.netconf);
  const open = deps.open ?? defaultOpener;
  await using(openContainerNetns(a.netns, open), async (cont) => {
    await onMasterSide(open, cont, c.linkInContainer, (side) => findMaster(side, c.master));
    await checkContainerLink(a, deps.ipam, cont, {
      plugin: 'vlan',
      kind: 'vlan',
      up: true,
      validate: (link) => {
        const id = link.data?.kind === 'vlan' ? link.data.id : undefined;
        if (id !== c.vlanId) throw checkMismatch(`container vlan ${link.name} has VLAN id ${id ?? 'unknown'}, configured ${c.vlanId}`);
        if (c.mtu !== undefined && link.mtu !== c.mtu) throw checkMismatch(`container vlan ${link.name} has MTU ${link.mtu ?? 'unknown'}, configured ${c.mtu}`);
      },
    });
  });
}

export function vlanPlugin(deps: LinkPluginDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    ...ipamGcStatus(deps.ipam),
  };
}
