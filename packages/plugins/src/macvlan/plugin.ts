// Floor 3 (plugins/macvlan): the reference macvlan plugin. ADD creates a macvlan on `master` (the
// host's default-route interface when unset; inside the container with `linkInContainer`) directly
// in CNI_NETNS under CNI_IFNAME, with the mode, MTU (bounded by the master's), MAC (`mac` < CNI_ARGS
// MAC < runtimeConfig.mac) and broadcast queue length asked for; then IPAM (or just up for L2).
// DEL releases IPAM first, then deletes the link. The result lists the one container interface.
import { closeSync } from 'node:fs';
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import { IFLA, IFLA_INFO, IFLA_MACVLAN, MACVLAN_MODE, NLM_F, NlWriter, RTM, encodeLinkBody, openNetns } from '@tscni/netlink';
import type { Link, LinkMessage, MacvlanMode, RtNetlink } from '@tscni/netlink';
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
  createOnMaster,
  delContainerLink,
  findMaster,
  ipamGcStatus,
  l2Result,
  macFromConfig,
  onMasterSide,
  readMaster,
} from '../shared/link-plugin.js';
import type { LinkPluginDeps } from '../shared/link-plugin.js';

/** The modes the reference accepts ("source" needs a MAC list the plugin has no key for). */
const MODES: readonly MacvlanMode[] = ['bridge', 'private', 'vepa', 'passthru'];

export interface MacvlanConfig {
  master: string | undefined;
  mode: MacvlanMode;
  mtu: number | undefined;
  mac: string | undefined;
  linkInContainer: boolean;
  /** IFLA_MACVLAN_BC_QUEUE_LEN; kernel default when absent. */
  bcQueueLen: number | undefined;
  layer3: boolean;
}

export function loadMacvlanConfig(netconf: NetConf, cniArgs: string): MacvlanConfig {
  const o = new GoObject(netconf);
  const { master, linkInContainer } = readMaster(o);
  if (master !== undefined) checkIfName(master, 'master');
  const modeRaw = o.string('mode') ?? '';
  const mode = modeRaw === '' ? 'bridge' : (modeRaw as MacvlanMode);
  if (!MODES.includes(mode)) throw new CniError(ErrorCode.InvalidNetworkConfig, `mode: unknown macvlan mode: ${JSON.stringify(modeRaw)}`);
  const bc = o.int('bcqueuelen');
  if (bc !== undefined && (bc < 0 || bc > 0xffff_ffff)) throw new CniError(ErrorCode.InvalidNetworkConfig, `bcqueuelen: must be a uint32, got ${bc}`);
  return {
    master,
    mode,
    mtu: readMtu(o),
    mac: macFromConfig(netconf, cniArgs),
    linkInContainer,
    bcQueueLen: bc,
    layer3: ipamType(netconf) !== '',
  };
}

const MODE_BITS: Readonly<Record<MacvlanMode, number>> = {
  private: MACVLAN_MODE.PRIVATE,
  vepa: MACVLAN_MODE.VEPA,
  bridge: MACVLAN_MODE.BRIDGE,
  passthru: MACVLAN_MODE.PASSTHRU,
  source: MACVLAN_MODE.SOURCE,
};

export interface MacvlanCreate {
  name: string;
  parent: number;
  mode: MacvlanMode;
  mtu?: number;
  mac?: string;
  bcQueueLen?: number;
  /** IFLA_NET_NS_FD: create it in that namespace. */
  netnsFd?: number;
}

/**
 * RTM_NEWLINK creating the macvlan, as `ip link add NAME link PARENT type macvlan mode M bcqueuelen N`
 * would send it (the generic link codec has no IFLA_MACVLAN_BC_QUEUE_LEN).
 */
export function encodeMacvlanCreate(c: MacvlanCreate): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
  const m: LinkMessage = { ifname: c.name, link: c.parent };
  if (c.mtu !== undefined) m.mtu = c.mtu;
  if (c.mac !== undefined) m.address = c.mac;
  if (c.netnsFd !== undefined) m.netnsFd = c.netnsFd;
  encodeLinkBody(w, m);
  w.nested(IFLA.LINKINFO, () => {
    w.putStringRaw(IFLA_INFO.KIND, 'macvlan');
    w.nested(IFLA_INFO.DATA, () => {
      w.putU32(IFLA_MACVLAN.MODE, MODE_BITS[c.mode]);
      if (c.bcQueueLen !== undefined) w.putU32(IFLA_MACVLAN.BC_QUEUE_LEN, c.bcQueueLen);
    });
  });
  return w.endMessage(at).finish();
}

/** Creates CNI_IFNAME in the container: from the host (moved in by IFLA_NET_NS_FD) or inside it. */
async function createMacvlan(a: CmdArgs, c: MacvlanConfig, side: RtNetlink, master: Link): Promise<void> {
  const fd = c.linkInContainer ? undefined : openNetns(a.netns);
  try {
    const msg = encodeMacvlanCreate({
      name: a.ifName,
      parent: master.index,
      mode: c.mode,
      ...(c.mtu === undefined ? {} : { mtu: c.mtu }),
      ...(c.mac === undefined ? {} : { mac: c.mac }),
      ...(c.bcQueueLen === undefined ? {} : { bcQueueLen: c.bcQueueLen }),
      ...(fd === undefined ? {} : { netnsFd: fd }),
    });
    await side.transport.request(msg, { operation: `link add ${a.ifName} link ${master.name} type macvlan` });
  } catch (e) {
    throw kernelError('failed to create macvlan', e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}


async function add(a: CmdArgs, deps: LinkPluginDeps): Promise<Result> {
  const c = loadMacvlanConfig(a.netconf, a.args);
  const open = deps.open ?? defaultOpener;
  return using(openContainerNetns(a.netns, open), async (cont) => {
    await createOnMaster(open, cont, a.ifName, c, (side, master) => createMacvlan(a, c, side, master));
    return configureNewLink(a, cont, async (intf) => {
      if (!c.layer3) {
        await bringUp(cont, a.ifName);
        return l2Result(intf, a.netconf);
      }
      return attachIpam(a, deps.ipam, cont, intf, { notify: { arp: true, ndisc: true } });
    });
  });
}

async function del(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  const c = loadMacvlanConfig(a.netconf, a.args);
  await delContainerLink(a, deps, c.layer3);
}

async function check(a: CmdArgs, deps: LinkPluginDeps): Promise<void> {
  const c = loadMacvlanConfig(a.netconf, a.args);
  const open = deps.open ?? defaultOpener;
  await using(openContainerNetns(a.netns, open), async (cont) => {
    await onMasterSide(open, cont, c.linkInContainer, (side) => findMaster(side, c.master));
    await checkContainerLink(a, deps.ipam, cont, {
      plugin: 'macvlan',
      kind: 'macvlan',
      up: true,
      validate: (link) => {
        const mode = link.data?.kind === 'macvlan' ? link.data.mode : undefined;
        if (mode !== c.mode) throw checkMismatch(`container macvlan mode ${mode ?? 'unknown'} does not match expected value: ${c.mode}`);
      },
    });
  });
}

export function macvlanPlugin(deps: LinkPluginDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    ...ipamGcStatus(deps.ipam),
  };
}
