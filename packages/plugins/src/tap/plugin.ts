// Floor 3 (plugins/tap): the reference tap plugin. ADD creates a persistent TAP device as CNI_IFNAME
// inside CNI_NETNS (TUNSETIFF through the native addon, in that namespace; IFF_MULTI_QUEUE with
// `multiQueue`, owner/group when given, IFF_VNET_HDR when both are given as the reference's netlink
// path does), sets MTU and MAC (`mac` < CNI_ARGS MAC < runtimeConfig.mac), optionally enslaves it to
// an existing bridge in the container, then applies IPAM or just brings it up. The reference execs
// `ip tuntap` in some cases; tscni never execs. `selinuxContext` needs an exec label (code 2).
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import type { RtNetlink } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { GoObject, ipamType, readMtu } from '../shared/conf.js';
import { defaultOpener, kernelError, openContainerNetns, using } from '../shared/kernel.js';
import {
  attachIpam,
  bringUp,
  checkContainerLink,
  checkIfName,
  checkMismatch,
  configureNewLink,
  delContainerLink,
  deleteIfPresent,
  ipamGcStatus,
  l2Result,
  macFromConfig,
  requireFreeName,
} from '../shared/link-plugin.js';
import type { LinkPluginDeps } from '../shared/link-plugin.js';

export interface TapConfig {
  mtu: number | undefined;
  mac: string | undefined;
  multiQueue: boolean;
  owner: number | undefined;
  group: number | undefined;
  /** A bridge in the container to enslave the tap to. */
  bridge: string | undefined;
  layer3: boolean;
}

function uint32(o: GoObject, key: string): number | undefined {
  const v = o.int(key);
  if (v !== undefined && (v < 0 || v > 0xffff_ffff)) throw new CniError(ErrorCode.InvalidNetworkConfig, `${key}: must be a uint32, got ${v}`);
  return v;
}

export function loadTapConfig(netconf: NetConf, cniArgs: string): TapConfig {
  const o = new GoObject(netconf);
  const selinux = o.string('selinuxContext');
  if (selinux !== undefined && selinux !== '') {
    throw new CniError(ErrorCode.UnsupportedField, 'selinuxContext: not supported (it labels an exec of `ip tuntap`; tscni creates the tap without exec)');
  }
  const bridge = o.string('bridge');
  return {
    mtu: readMtu(o),
    mac: macFromConfig(netconf, cniArgs),
    multiQueue: o.bool('multiQueue'),
    owner: uint32(o, 'owner'),
    group: uint32(o, 'group'),
    bridge: bridge === undefined || bridge === '' ? undefined : checkIfName(bridge, 'bridge'),
    layer3: ipamType(netconf) !== '',
  };
}

async function enslave(cont: RtNetlink, ifName: string, bridge: string): Promise<void> {
  const br = await cont.findLink(bridge);
  if (br === undefined) throw new CniError(ErrorCode.Internal, `failed to find bridge "${bridge}" in the container namespace`);
  if (br.kind !== 'bridge') throw new CniError(ErrorCode.Internal, `"${bridge}" is not a bridge (found ${br.kind ?? 'unknown'})`);
  try {
    await cont.setLink(ifName, { master: br.index });
  } catch (e) {
    throw kernelError(`failed to connect "${ifName}" to bridge ${bridge}`, e);
  }
}

async function add(a: CmdArgs, deps: LinkPluginDeps): Promise<Result> {
  const c = loadTapConfig(a.netconf, a.args);
  return using(openContainerNetns(a.netns, deps.open ?? defaultOpener), async (cont) => {
    await requireFreeName(cont, a.ifName);
    try {
      await cont.createLink({
        name: a.ifName,
        kind: 'tap',
        multiQueue: c.multiQueue,
        ...(c.owner === undefined ? {} : { owner: c.owner }),
        ...(c.group === undefined ? {} : { group: c.group }),
        ...(c.owner !== undefined && c.group !== undefined ? { vnetHdr: true } : {}),
        ...(c.mtu === undefined ? {} : { mtu: c.mtu }),
        ...(c.mac === undefined ? {} : { mac: c.mac }),
      });
    } catch (e) {
      // The addon creates the device first, then MTU/MAC are set: remove a half-made one.
      await deleteIfPresent(cont, a.ifName).catch(() => undefined);
      throw kernelError('failed to create tap', e);
    }
    return configureNewLink(a, cont, async (intf) => {
      if (c.bridge !== undefined) await enslave(cont, a.ifName, c.bridge);
      await bringUp(cont, a.ifName);
      if (!c.layer3) return l2Result(intf, a.netconf);
      return attachIpam(a, deps.ipam, cont, intf, { notify: { arp: true } });
    });
  });
}

async function del(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  const c = loadTapConfig(a.netconf, a.args);
  await delContainerLink(a, deps, c.layer3);
}

async function check(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  const c = loadTapConfig(a.netconf, a.args);
  await using(openContainerNetns(a.netns, deps.open ?? defaultOpener), async (cont) => {
    await checkContainerLink(a, deps.ipam, cont, {
      plugin: 'tap',
      kind: 'tun',
      up: true,
      validate: (link) => {
        const type = link.data?.kind === 'tun' ? link.data.type : undefined;
        if (type !== 'tap') throw checkMismatch(`container interface ${link.name} is not a tap device (found ${type ?? 'unknown'})`);
      },
    });
    if (c.bridge !== undefined) {
      const link = await cont.getLink(a.ifName);
      const br = await cont.findLink(c.bridge);
      if (br === undefined || link.master !== br.index) throw checkMismatch(`container interface ${a.ifName} is not connected to bridge ${c.bridge}`);
    }
  });
}

export function tapPlugin(deps: LinkPluginDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    ...ipamGcStatus(deps.ipam),
  };
}
