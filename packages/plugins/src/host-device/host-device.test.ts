// Unit tests of host-device's device selection against a fake sysfs tree and the fake rtnetlink:
// kernelpath (and its /sys/devices/ rule), PCI address (direct and virtio), the deviceID capability
// naming a PCI or an auxiliary device, DPDK drivers (nothing moved), and the one RTM_NEWLINK that
// moves, renames and labels the device.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNetConf } from '@tscni/spec';
import { RTM } from '@tscni/netlink';
import { FakeNet, sent } from '../test-support/fake-rtnl.js';
import { fakeIpam, invoke } from '../test-support/fake-ipam.js';
import type { FakeIpam } from '../test-support/fake-ipam.js';
import { findHostDevice, hostDevicePlugin, loadHostDeviceConfig } from './plugin.js';

let sysfs: string;
let ctr: string;
let ipam: FakeIpam;

/** A PCI device with a netdev (optionally one level down, as virtio) and a driver. */
function pciDevice(addr: string, netdev: string | undefined, driver: string, virtio = false): void {
  const dev = join(sysfs, 'bus/pci/devices', addr);
  mkdirSync(dev, { recursive: true });
  if (netdev !== undefined) mkdirSync(join(dev, virtio ? 'virtio3/net' : 'net', netdev), { recursive: true });
  mkdirSync(join(sysfs, 'bus/pci/drivers', driver), { recursive: true });
  symlinkSync(join(sysfs, 'bus/pci/drivers', driver), join(dev, 'driver'));
}

beforeEach(() => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tscni-hdu-')));
  sysfs = join(dir, 'sys');
  ctr = join(dir, 'ctr');
  writeFileSync(ctr, '');
  pciDevice('0000:00:19.0', 'enp0s25', 'e1000e');
  pciDevice('0000:00:1a.0', 'ens3', 'virtio-pci', true);
  pciDevice('0000:00:1b.0', undefined, 'vfio-pci');
  mkdirSync(join(sysfs, 'devices/pci0000:00/0000:00:19.0/net/enp0s25'), { recursive: true });
  mkdirSync(join(sysfs, 'bus/auxiliary/devices/mlx5_core.sf.4/net/sf4'), { recursive: true });
  ipam = fakeIpam({ cniVersion: '1.1.0', ips: [{ address: '10.9.0.5/24' }] });
});
afterEach(() => {
  rmSync(join(sysfs, '..'), { recursive: true, force: true });
  ipam.cleanup();
});

const conf = (extra: Record<string, unknown>) => parseNetConf({ cniVersion: '1.1.0', name: 'hd', type: 'host-device', ...extra });

function hostWith(...names: string[]): FakeNet {
  const net = new FakeNet();
  names.forEach((name, i) => net.ns(null).add({ name, mtu: 1500, mac: `02:00:00:00:00:${(i + 16).toString(16)}`, up: true }));
  return net;
}

describe('host-device selection', () => {
  it('finds the netdev of a kernel path, a PCI address (also under virtio*), an auxiliary device', async () => {
    const net = hostWith('lo0', 'enp0s25', 'ens3', 'sf4');
    const rt = net.opener(null);
    const pick = async (extra: Record<string, unknown>) => (await findHostDevice(rt, loadHostDeviceConfig(conf(extra), sysfs), sysfs)).name;
    expect(await pick({ kernelpath: '/sys/devices/pci0000:00/0000:00:19.0' })).toBe('enp0s25');
    expect(await pick({ pciBusID: '0000:00:19.0' })).toBe('enp0s25');
    expect(await pick({ pciBusID: '0000:00:1a.0' })).toBe('ens3');
    expect(await pick({ pciBusID: '0000:00:19.0', runtimeConfig: { deviceID: '0000:00:1a.0' } })).toBe('ens3');
    expect(await pick({ runtimeConfig: { deviceID: 'mlx5_core.sf.4' } })).toBe('sf4');
    expect(await pick({ hwaddr: '02:00:00:00:00:12' })).toBe('ens3');
    await expect(pick({ kernelpath: '/etc/x' })).rejects.toMatchObject({ code: 7, msg: 'kernelpath: kernel device path "/etc/x" must be absolute and begin with /sys/devices/' });
    await expect(pick({ pciBusID: '0000:00:1b.1' })).rejects.toMatchObject({ code: 999, msg: 'failed to find host device: no net directory under pci address 0000:00:1b.1' });
  });

  it('a PCI device on a DPDK driver is DPDK mode: ADD moves nothing and reports no interface', async () => {
    expect(loadHostDeviceConfig(conf({ pciBusID: '0000:00:1b.0' }), sysfs).dpdk).toBe(true);
    expect(loadHostDeviceConfig(conf({ pciBusID: '0000:00:19.0' }), sysfs).dpdk).toBe(false);
    const net = hostWith('enp0s25');
    const plugin = hostDevicePlugin({ open: net.opener, ipam: ipam.ctx, sysfs });
    const r = await invoke(plugin, { command: 'ADD', containerId: 'c', netns: ctr, ifName: 'eth0', path: ipam.dir }, { ...conf({ pciBusID: '0000:00:1b.0' }), ipam: { type: 'fake-ipam' } });
    expect(r.json).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.9.0.5/24' }] });
    expect(net.ns(null).requests(RTM.NEWLINK)).toEqual([]);
    expect((await invoke(plugin, { command: 'DEL', containerId: 'c', netns: ctr, ifName: 'eth0', path: ipam.dir }, { ...conf({ pciBusID: '0000:00:1b.0' }), ipam: { type: 'fake-ipam' } })).code).toBe(0);
    expect(ipam.calls).toEqual(['ADD c eth0', 'DEL c eth0']);
  });

  it('moves, renames and labels the device in ONE RTM_NEWLINK; DEL moves it back under its alias', async () => {
    const net = hostWith('enp0s25');
    const dev = net.ns(null).byName('enp0s25');
    const plugin = hostDevicePlugin({ open: net.opener, ipam: ipam.ctx, sysfs });
    const env = (command: string) => ({ command, containerId: 'c', netns: ctr, ifName: 'net1', path: ipam.dir });
    const c = { ...conf({ pciBusID: '0000:00:19.0' }), ipam: { type: 'fake-ipam' } };
    const r = await invoke(plugin, env('ADD'), c);
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(net.ns(null).requests(RTM.NEWLINK).map((q) => sent(q.link))).toEqual([{ index: dev?.index, netnsFd: expect.any(Number), alias: 'enp0s25', ifname: 'net1' }]);
    expect(net.ns(ctr).byName('net1')).toMatchObject({ alias: 'enp0s25', up: true });
    expect((await invoke(plugin, env('DEL'), c)).code).toBe(0);
    expect(net.ns(null).byName('enp0s25')).toMatchObject({ up: false });
    expect(net.ns(ctr).byName('net1')).toBeUndefined();
  });
});
