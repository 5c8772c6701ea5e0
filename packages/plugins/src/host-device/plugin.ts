// Floor 3 (plugins/host-device): the reference host-device plugin. ADD moves an existing host link
// (chosen by `device`, `hwaddr`, `kernelpath`, `pciBusID` or the `deviceID` capability) into
// CNI_NETNS as CNI_IFNAME, keeping its original name in the link alias, brings it up and applies
// IPAM. The move, rename and alias go in ONE RTM_NEWLINK (the kernel moves the device, down, then
// renames it in the target namespace), so it never sits in the container under a colliding name.
// DEL releases IPAM first — also without a namespace, where the reference leaks the address — then
// moves the link back under its original name, down. A PCI device bound to a DPDK (userspace)
// driver is not a netdev: then nothing is moved and the result carries no interface.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, normalize } from 'node:path';
import { CURRENT_VERSION, CniError, ErrorCode } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import type { Link, RtNetlink } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { GoObject, checkMac, ipamType, requirePrevResult } from '../shared/conf.js';
import { ipamAdd, ipamCheck } from '../shared/ipam.js';
import { defaultOpener, isMissingLink, kernelError, openContainerNetns, using } from '../shared/kernel.js';
import {
  attachIpam,
  checkContainerLink,
  containerIface,
  delContainerLink,
  ipamGcStatus,
  l2Result,
  requireFreeName,
} from '../shared/link-plugin.js';
import type { LinkPluginDeps } from '../shared/link-plugin.js';

/** Drivers that take a PCI network device away from the kernel's network stack (DPDK). */
const USERSPACE_DRIVERS = ['vfio-pci', 'uio_pci_generic', 'igb_uio'];
/** Our own namespace, where DEL puts the device back. */
const HOST_NETNS = '/proc/self/ns/net';

export interface HostDeviceConfig {
  device: string | undefined;
  hwaddr: string | undefined;
  kernelpath: string | undefined;
  /** PCI address (`pciBusID`, or the `deviceID` capability when that names a PCI device). */
  pciBusID: string | undefined;
  /** Auxiliary device name (the `deviceID` capability naming /sys/bus/auxiliary/devices/<id>). */
  auxDevice: string | undefined;
  /** The PCI device is bound to a userspace driver: no netdev to move. */
  dpdk: boolean;
  layer3: boolean;
}

export interface HostDeviceDeps extends LinkPluginDeps {
  /** Where sysfs is mounted (tests point it at a fake tree). */
  sysfs?: string;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function loadHostDeviceConfig(netconf: NetConf, sysfs = '/sys'): HostDeviceConfig {
  const o = new GoObject(netconf);
  const str = (key: string): string | undefined => {
    const v = o.string(key);
    return v === undefined || v === '' ? undefined : v;
  };
  const device = str('device');
  const hwaddrRaw = str('hwaddr');
  const kernelpath = str('kernelpath');
  let pciBusID = str('pciBusID');
  let auxDevice: string | undefined;
  // The deviceID capability overrides pciBusID: a PCI address, or an auxiliary device.
  const deviceID = o.object('runtimeConfig')?.string('deviceID');
  if (deviceID !== undefined && deviceID !== '') {
    if (deviceID.includes('/') || deviceID === '.' || deviceID === '..') throw invalid(`runtimeConfig.deviceID: invalid device id ${JSON.stringify(deviceID)}`);
    if (!exists(join(sysfs, 'bus/pci/devices', deviceID)) && exists(join(sysfs, 'bus/auxiliary/devices', deviceID))) {
      auxDevice = deviceID;
      pciBusID = undefined;
    } else {
      pciBusID = deviceID;
    }
  }
  if (device === undefined && hwaddrRaw === undefined && kernelpath === undefined && pciBusID === undefined && auxDevice === undefined) {
    throw invalid('specify either "device", "hwaddr", "kernelpath" or "pciBusID"');
  }
  if (pciBusID !== undefined && (pciBusID.includes('/') || pciBusID === '.' || pciBusID === '..')) throw invalid(`pciBusID: invalid PCI address ${JSON.stringify(pciBusID)}`);
  const dpdk = pciBusID !== undefined && hasUserspaceDriver(sysfs, pciBusID);
  return {
    device,
    hwaddr: hwaddrRaw === undefined ? undefined : checkMac(hwaddrRaw, 'hwaddr'),
    kernelpath,
    pciBusID,
    auxDevice,
    dpdk,
    layer3: ipamType(netconf) !== '',
  };
}

/**
 * The PCI device is bound to a userspace (DPDK) driver. Without a readable driver link it is not
 * (an unbound device has no netdev either, which the device lookup then reports).
 */
function hasUserspaceDriver(sysfs: string, pci: string): boolean {
  try {
    return USERSPACE_DRIVERS.includes(basename(readlinkSync(join(sysfs, 'bus/pci/devices', pci, 'driver'))));
  } catch {
    return false;
  }
}

/** Names under `<dir>/net`, or under `<dir>/virtio*\/net` (virtio devices hang their netdev one level down). */
function netdevNames(dir: string): string[] {
  const direct = join(dir, 'net');
  if (exists(direct)) return readdirSync(direct).sort();
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  for (const e of entries.sort()) {
    if (e.startsWith('virtio') && exists(join(dir, e, 'net'))) return readdirSync(join(dir, e, 'net')).sort();
  }
  return [];
}

async function byName(host: RtNetlink, name: string, what: string): Promise<Link> {
  try {
    return await host.getLink(name);
  } catch (e) {
    if (isMissingLink(e)) throw new CniError(ErrorCode.Internal, `failed to find host device: ${what}: link ${JSON.stringify(name)} not found`);
    throw kernelError('failed to find host device', e);
  }
}

/** The host link the configuration selects (first match, as the reference: device, hwaddr, kernelpath, PCI). */
export async function findHostDevice(host: RtNetlink, c: HostDeviceConfig, sysfs = '/sys'): Promise<Link> {
  if (c.device !== undefined) return byName(host, c.device, 'device');
  const links = await host.listLinks();
  if (c.hwaddr !== undefined) {
    const l = links.find((x) => x.mac === c.hwaddr);
    if (l === undefined) throw new CniError(ErrorCode.Internal, `failed to find host device: no link with hardware address ${c.hwaddr}`);
    return l;
  }
  if (c.kernelpath !== undefined) {
    const path = normalize(c.kernelpath);
    if (!isAbsolute(path) || !path.startsWith('/sys/devices/')) {
      throw invalid(`kernelpath: kernel device path ${JSON.stringify(c.kernelpath)} must be absolute and begin with /sys/devices/`);
    }
    const names = netdevNames(join(sysfs, path.slice('/sys'.length)));
    const l = links.find((x) => names.includes(x.name));
    if (l === undefined) throw new CniError(ErrorCode.Internal, `failed to find host device: no network device at ${c.kernelpath}`);
    return l;
  }
  const [dir, what] =
    c.pciBusID !== undefined
      ? [join(sysfs, 'bus/pci/devices', c.pciBusID), `pci address ${c.pciBusID}`]
      : [join(sysfs, 'bus/auxiliary/devices', c.auxDevice ?? ''), `auxiliary device ${c.auxDevice ?? ''}`];
  const first = netdevNames(dir)[0];
  if (first === undefined) throw new CniError(ErrorCode.Internal, `failed to find host device: no net directory under ${what}`);
  return byName(host, first, what);
}

/** DEL: the link back into our namespace under its original name (its alias), left down. */
async function moveOut(cont: RtNetlink, ifName: string): Promise<void> {
  const link = await cont.findLink(ifName);
  if (link === undefined) return;
  const original = link.alias ?? '';
  if (original === '') throw new CniError(ErrorCode.Internal, `cannot return "${ifName}" to the host: its alias (the original name) is empty`);
  try {
    await cont.setLink(link.index, { up: false });
    await cont.setLink(link.index, { netns: HOST_NETNS, name: original });
  } catch (e) {
    // Still here: make it whole again so a retried DEL finds it as before.
    if (link.up) await cont.setLink(link.index, { up: true }).catch(() => undefined);
    throw kernelError(`failed to return "${ifName}" to the host as "${original}"`, e);
  }
}

async function add(a: CmdArgs, deps: HostDeviceDeps): Promise<Result> {
  const sysfs = deps.sysfs ?? '/sys';
  const c = loadHostDeviceConfig(a.netconf, sysfs);
  const open = deps.open ?? defaultOpener;
  return using(openContainerNetns(a.netns, open), async (cont) => {
    if (c.dpdk) {
      // No netdev: only the addresses are reported (for the workload to apply itself).
      const r: Result = c.layer3 ? await ipamAdd(a, deps.ipam) : { cniVersion: CURRENT_VERSION };
      return { ...r, cniVersion: CURRENT_VERSION };
    }
    await using(open(null), async (host) => {
      const dev = await findHostDevice(host, c, sysfs);
      await requireFreeName(cont, a.ifName);
      try {
        await host.setLink(dev.index, { netns: a.netns, name: a.ifName, alias: dev.name });
      } catch (e) {
        throw kernelError(`failed to move link "${dev.name}" into the container as "${a.ifName}"`, e);
      }
    });
    try {
      await cont.setLinkUp(a.ifName);
      const intf = containerIface(await cont.getLink(a.ifName), a.netns);
      if (!c.layer3) return l2Result(intf, a.netconf);
      return await attachIpam(a, deps.ipam, cont, intf);
    } catch (e) {
      await moveOut(cont, a.ifName).catch(() => undefined);
      throw e;
    }
  });
}

async function del(a: CmdArgs, deps: HostDeviceDeps): Promise<void> {
  const c = loadHostDeviceConfig(a.netconf, deps.sysfs ?? '/sys');
  // A DPDK device was never moved in; only its address is ours to release.
  await delContainerLink(a, deps, c.layer3, c.dpdk ? null : (rt) => moveOut(rt, a.ifName));
}

async function check(a: CmdArgs, deps: HostDeviceDeps): Promise<void> {
  const c = loadHostDeviceConfig(a.netconf, deps.sysfs ?? '/sys');
  await using(openContainerNetns(a.netns, deps.open ?? defaultOpener), async (cont) => {
    if (c.dpdk) {
      if (c.layer3) await ipamCheck(a, deps.ipam);
      requirePrevResult(a.netconf, 'host-device');
      return;
    }
    await checkContainerLink(a, deps.ipam, cont, { plugin: 'host-device', up: true });
  });
}

export function hostDevicePlugin(deps: HostDeviceDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    ...ipamGcStatus(deps.ipam),
  };
}
