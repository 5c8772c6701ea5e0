// Kernel tests for the installed host-device executable, run under `ip netns exec` in a namespace
// standing in for the host, whose "host devices" are veths (peer in an outside namespace): the
// device moves into the container as CNI_IFNAME with its original name as alias (checked with
// `ip -d -j`), carries traffic, CHECK passes then fails; DEL returns it under its name, down (twice
// is fine); a container that already has a link with the device's name; selection by hwaddr; DEL
// without a namespace still releases the address (the reference leaks it).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetnsPool, globalCidrs, ip, link, links, ping } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, runPluginIn, testSubnet } from '../test-support/cni.js';
import type { CniEnv, PluginRun, TestSubnet } from '../test-support/cni.js';

const pool = new NetnsPool();
const MAC = '0a:58:0a:de:00:01';
let bin: string;
let dataDir: string;
let host: TestNetns;
let outside: TestNetns;
let net: TestSubnet;

beforeAll(() => {
  bin = installPlugins();
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-hd-'));
  net = testSubnet();
  host = pool.create('tschh');
  outside = pool.create('tscho');
  ip(host, 'link', 'add', 'hd0', 'address', MAC, 'type', 'veth', 'peer', 'name', 'hd1', 'netns', outside.name);
  ip(outside, 'addr', 'add', `${net.prefix4}1/24`, 'dev', 'hd1');
  ip(outside, 'link', 'set', 'hd1', 'up');
});
afterEach(() => {
  pool.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function conf(extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.1.0', name: 'hdnet', type: 'host-device', device: 'hd0', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4, rangeStart: `${net.prefix4}5` }]] }, ...extra };
}

function run(command: CniEnv['command'], ns: TestNetns | undefined, c: unknown, containerId = 'ctr-hd'): PluginRun {
  return runPluginIn(host.name, bin, 'host-device', { command, path: bin, containerId, ifName: 'eth0', ...(ns === undefined ? {} : { netns: ns.path }) }, c);
}

const reserved = (): string[] => {
  const dir = join(dataDir, 'hdnet');
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock') : [];
};

describe('host-device', () => {
  it('moves the device in as CNI_IFNAME (alias = original name), configures it; CHECK; DEL moves it back', () => {
    const ns = pool.create();
    const c = conf();
    const add = run('ADD', ns, c);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(link(host, 'hd0')).toBeUndefined();
    const l = link(ns, 'eth0') as (ReturnType<typeof link> & { ifalias?: string }) | undefined;
    expect(l?.ifalias).toBe('hd0');
    expect(l?.address).toBe(MAC);
    expect(l?.linkinfo?.info_kind).toBe('veth');
    expect(l?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([`${net.prefix4}5/24`]);
    expect(add.json).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: MAC, sandbox: ns.path }],
      ips: [{ interface: 0, address: `${net.prefix4}5/24`, gateway: `${net.prefix4}1` }],
    });
    expect(ping(ns, `${net.prefix4}1`)).toBe(true);

    expect(run('CHECK', ns, { ...c, prevResult: add.json }).code).toBe(0);
    ip(ns, 'link', 'set', 'eth0', 'address', '0a:58:0a:de:00:99');
    expect(run('CHECK', ns, { ...c, prevResult: add.json }).json).toMatchObject({
      code: 999,
      msg: `container interface eth0 MAC ${MAC} doesn't match the link's MAC 0a:58:0a:de:00:99`,
    });
    ip(ns, 'link', 'set', 'eth0', 'address', MAC);
    ip(ns, 'addr', 'flush', 'dev', 'eth0');
    expect(run('CHECK', ns, { ...c, prevResult: add.json }).json).toMatchObject({ code: 999, msg: `Failed to match addr ${net.prefix4}5/24 on interface eth0` });

    const del = run('DEL', ns, c);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(links(ns).map((x) => x.ifname)).toEqual(['lo']);
    const back = link(host, 'hd0');
    expect(back?.address).toBe(MAC);
    expect(back?.flags).not.toContain('UP');
    expect(reserved()).toEqual([]);
    expect(run('DEL', ns, c).code).toBe(0);
    expect(link(host, 'hd0')).toBeDefined();
  });

  it('works when the container already has a link named like the device; selects by hwaddr', () => {
    const ns = pool.create();
    ip(ns, 'link', 'add', 'hd0', 'type', 'veth', 'peer', 'name', 'hd0p');
    const c = conf({ device: undefined, hwaddr: MAC.toUpperCase() });
    const add = run('ADD', ns, c);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(link(ns, 'eth0')?.address).toBe(MAC);
    expect(link(ns, 'hd0')).toBeDefined();
    expect(run('DEL', ns, c).code).toBe(0);
    expect(link(host, 'hd0')?.address).toBe(MAC);
    expect(link(ns, 'hd0')).toBeDefined();
  });

  it('DEL without a namespace, or with it gone, still releases the address', () => {
    const ns = pool.create();
    expect(run('ADD', ns, conf()).code).toBe(0);
    expect(reserved()).toEqual([`${net.prefix4}5`]);
    expect(run('DEL', undefined, conf()).code).toBe(0);
    expect(reserved()).toEqual([]);
    // The device stays in the container: without a namespace there is nothing to move back from.
    expect(link(ns, 'eth0')).toBeDefined();
    pool.remove(ns);
    expect(run('DEL', ns, conf()).code).toBe(0);
  });

  it('L2 only; refuses a config without a selector (code 7) and a missing device', () => {
    const ns = pool.create();
    const l2 = { cniVersion: '1.0.0', name: 'hdnet', type: 'host-device', device: 'hd0' };
    const add = run('ADD', ns, l2);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.json).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: MAC, sandbox: ns.path }] });
    expect(run('CHECK', ns, { ...l2, prevResult: add.json }).code).toBe(0);
    expect(run('DEL', ns, l2).code).toBe(0);
    const none = run('ADD', ns, { cniVersion: '1.0.0', name: 'hdnet', type: 'host-device' });
    expect(none.json).toMatchObject({ code: 7, msg: 'specify either "device", "hwaddr", "kernelpath" or "pciBusID"' });
    const missing = run('ADD', ns, conf({ device: 'nope0' }));
    expect(missing.json).toMatchObject({ code: 999, msg: 'failed to find host device: device: link "nope0" not found' });
    expect(reserved()).toEqual([]);
  });
});
