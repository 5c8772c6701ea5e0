// Kernel tests for the installed tap executable, exec'd like a runtime (only CNI variables): the
// tap device in the container checked with `ip -d -j` (type, multi_queue, vnet_hdr, owner/group,
// persist, MAC, MTU, bridge), addresses and the result; CHECK passing then failing; DEL twice and
// with the namespace gone; L2 only; selinuxContext refused with code 2; GC and STATUS.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetnsPool, globalCidrs, ip, link, links, sysctl } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, runPlugin, testSubnet } from '../test-support/cni.js';
import type { CniEnv, PluginRun, TestSubnet } from '../test-support/cni.js';

const pool = new NetnsPool();
let bin: string;
let dataDir: string;
let net: TestSubnet;

beforeAll(() => {
  bin = installPlugins();
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-tap-'));
  net = testSubnet();
});
afterEach(() => {
  pool.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function conf(extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.1.0', name: 'tapnet', type: 'tap', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4 }]] }, ...extra };
}

function run(command: CniEnv['command'], ns: TestNetns | undefined, c: unknown, containerId = 'ctr-tap', args?: string): PluginRun {
  return runPlugin(bin, 'tap', { command, path: bin, containerId, ifName: 'eth0', ...(ns === undefined ? {} : { netns: ns.path }), ...(args === undefined ? {} : { args }) }, c);
}

const reserved = (): string[] => {
  const dir = join(dataDir, 'tapnet');
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock') : [];
};

describe('tap', () => {
  it('ADD creates a persistent tap in the container as configured, on its bridge; CHECK; DEL', () => {
    const ns = pool.create();
    ip(ns, 'link', 'add', 'br0', 'type', 'bridge');
    const mac = '0a:58:0a:00:00:09';
    const c = conf({ mtu: 1300, multiQueue: true, owner: 0, group: 0, bridge: 'br0', mac: '0a:58:00:00:00:01', runtimeConfig: { mac } });
    const add = run('ADD', ns, c);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const l = link(ns, 'eth0');
    expect(l?.linkinfo?.info_kind).toBe('tun');
    expect(l?.linkinfo?.info_data).toMatchObject({ type: 'tap', pi: false, vnet_hdr: true, multi_queue: true, persist: true, user: 'root', group: 'root' });
    expect(l?.address).toBe(mac);
    expect(l?.mtu).toBe(1300);
    expect(l?.master).toBe('br0');
    expect(l?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([`${net.prefix4}2/24`]);
    expect(sysctl(ns, 'net.ipv4.conf.eth0.arp_notify')).toBe('1');
    expect(add.json).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac, sandbox: ns.path }],
      ips: [{ interface: 0, address: `${net.prefix4}2/24`, gateway: `${net.prefix4}1` }],
    });
    expect(reserved()).toEqual([`${net.prefix4}2`]);

    expect(run('CHECK', ns, { ...c, prevResult: add.json }).code).toBe(0);
    ip(ns, 'link', 'set', 'eth0', 'nomaster');
    expect(run('CHECK', ns, { ...c, prevResult: add.json }).json).toMatchObject({ code: 999, msg: 'container interface eth0 is not connected to bridge br0' });
    ip(ns, 'link', 'set', 'eth0', 'master', 'br0');
    ip(ns, 'addr', 'flush', 'dev', 'eth0');
    expect(run('CHECK', ns, { ...c, prevResult: add.json }).json).toMatchObject({ code: 999, msg: `Failed to match addr ${net.prefix4}2/24 on interface eth0` });

    expect(run('DEL', ns, c).code).toBe(0);
    expect(links(ns).map((x) => x.ifname).sort()).toEqual(['br0', 'lo']);
    expect(reserved()).toEqual([]);
    expect(run('DEL', ns, c).code).toBe(0);
  });

  it('without owner and group: no vnet header; L2 only comes up without addresses', () => {
    const ns = pool.create();
    const c = { cniVersion: '1.0.0', name: 'tapnet', type: 'tap' };
    const add = run('ADD', ns, c, 'ctr-l2', 'IgnoreUnknown=1;MAC=0a:58:00:00:00:07');
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const l = link(ns, 'eth0');
    expect(l?.linkinfo?.info_data).toMatchObject({ type: 'tap', vnet_hdr: false, multi_queue: false });
    expect(l?.address).toBe('0a:58:00:00:00:07');
    expect(l?.flags).toContain('UP');
    expect(add.json).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: '0a:58:00:00:00:07', sandbox: ns.path }] });
    expect(run('CHECK', ns, { ...c, prevResult: add.json }, 'ctr-l2').code).toBe(0);
    expect(run('DEL', ns, c, 'ctr-l2').code).toBe(0);
    expect(link(ns, 'eth0')).toBeUndefined();
  });

  it('DEL with the namespace gone still releases the address', () => {
    const ns = pool.create();
    expect(run('ADD', ns, conf()).code).toBe(0);
    pool.remove(ns);
    expect(run('DEL', ns, conf()).code).toBe(0);
    expect(reserved()).toEqual([]);
  });

  it('refuses selinuxContext (code 2), a missing or non-bridge bridge, and a taken name, leaving nothing', () => {
    const ns = pool.create();
    expect(run('ADD', ns, conf({ selinuxContext: 'system_u:system_r:container_t:s0' })).json).toMatchObject({ code: 2 });
    expect(run('ADD', ns, conf({ bridge: 'nobr' })).json).toMatchObject({ code: 999, msg: 'failed to find bridge "nobr" in the container namespace' });
    ip(ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    expect(run('ADD', ns, conf({ bridge: 'v0' })).json).toMatchObject({ code: 999, msg: '"v0" is not a bridge (found veth)' });
    expect(links(ns).map((x) => x.ifname).sort()).toEqual(['lo', 'v0', 'v1']);
    expect(reserved()).toEqual([]);
    ip(ns, 'link', 'add', 'eth0', 'type', 'bridge');
    expect(run('ADD', ns, conf()).json).toMatchObject({ code: 999, msg: 'container interface name provided (eth0) already exists' });
  });

  it('STATUS and GC reach IPAM', () => {
    expect(run('ADD', pool.create(), conf(), 'keep').code).toBe(0);
    expect(run('ADD', pool.create(), conf(), 'drop').code).toBe(0);
    expect(runPlugin(bin, 'tap', { command: 'STATUS', path: bin }, conf()).code).toBe(0);
    expect(runPlugin(bin, 'tap', { command: 'GC', path: bin }, conf({ 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] })).code).toBe(0);
    expect(reserved()).toEqual([`${net.prefix4}2`]);
  });
});
