// Kernel tests for the installed ptp executable (with the installed host-local), exec'd like a
// runtime: ADD's kernel state and result, CHECK passing and failing once broken, DEL leaving nothing
// (also twice, and with the namespace gone), and traffic from the namespace to the host.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NetnsPool, addrs, globalCidrs, ip, link, links, ping, routes } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, runPlugin, saveForwarding, testSubnet } from '../test-support/cni.js';
import type { TestSubnet } from '../test-support/cni.js';

const pool = new NetnsPool();
let bin: string;
let restoreForwarding: () => void;
let dataDir: string;
let net: TestSubnet;

beforeAll(() => {
  restoreForwarding = saveForwarding();
  bin = installPlugins();
});
afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
  restoreForwarding();
});
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-ptp-data-'));
  net = testSubnet();
});
afterEach(() => {
  // Deleting a namespace deletes its veth ends, and with them the host ends and host routes.
  pool.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function conf(extra: Record<string, unknown> = {}, dualStack = true) {
  return {
    cniVersion: '1.1.0',
    name: 'ptpnet',
    type: 'ptp',
    mtu: 1400,
    ipam: {
      type: 'host-local',
      dataDir,
      ranges: dualStack ? [[{ subnet: net.v4 }], [{ subnet: net.v6 }]] : [[{ subnet: net.v4 }]],
      routes: dualStack ? [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] : [{ dst: '0.0.0.0/0' }],
    },
    ...extra,
  };
}

const reserved = (): string[] => readdirSync(join(dataDir, 'ptpnet')).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock');

function env(ns: TestNetns, containerId = 'ctr-ptp') {
  return { containerId, netns: ns.path, ifName: 'eth0', path: bin };
}

describe('ptp', () => {
  it('ADD wires the container through the gateway and reports it; CHECK and DEL', () => {
    const ns = pool.create();
    const add = runPlugin(bin, 'ptp', { ...env(ns), command: 'ADD' }, conf());
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const r = add.json as { interfaces: Array<{ name: string; mac: string; sandbox?: string }>; ips: unknown[]; routes: unknown[] };
    const [hostIf, contIf] = r.interfaces;
    expect(r.interfaces).toHaveLength(2);
    expect(hostIf?.name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(hostIf?.sandbox).toBeUndefined();
    expect(contIf).toMatchObject({ name: 'eth0', sandbox: ns.path });
    expect(r.ips).toEqual([
      { interface: 1, address: `${net.prefix4}2/24`, gateway: `${net.prefix4}1` },
      { interface: 1, address: `${net.prefix6}2/64`, gateway: `${net.prefix6}1` },
    ]);
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);

    // The container: its address, MTU and MAC; the subnet only through the gateway.
    const c = link(ns, 'eth0');
    expect(c?.mtu).toBe(1400);
    expect(c?.address).toBe(contIf?.mac);
    expect(c?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([`${net.prefix4}2/24`, `${net.prefix6}2/64`].sort());
    const v4 = routes(ns, '-4');
    expect(v4).toContainEqual(expect.objectContaining({ dst: 'default', gateway: `${net.prefix4}1`, dev: 'eth0' }));
    expect(v4).toContainEqual(expect.objectContaining({ dst: `${net.prefix4}1`, dev: 'eth0', scope: 'link', prefsrc: `${net.prefix4}2` }));
    expect(v4).toContainEqual(expect.objectContaining({ dst: net.v4, gateway: `${net.prefix4}1`, prefsrc: `${net.prefix4}2` }));
    expect(v4.find((x) => x.dst === net.v4)?.protocol).not.toBe('kernel');
    const v6 = routes(ns, '-6');
    expect(v6).toContainEqual(expect.objectContaining({ dst: `${net.prefix6}1`, dev: 'eth0', prefsrc: `${net.prefix6}2` }));
    expect(v6).toContainEqual(expect.objectContaining({ dst: net.v6, gateway: `${net.prefix6}1` }));
    expect(v6).toContainEqual(expect.objectContaining({ dst: 'default', gateway: `${net.prefix6}1` }));

    // The host: the gateway as a host address, a host route to the container, forwarding on.
    const h = link(null, hostIf?.name ?? '');
    expect(h?.mtu).toBe(1400);
    expect(h?.address).toBe(hostIf?.mac);
    expect(globalCidrs(null, hostIf?.name ?? '')).toEqual([`${net.prefix4}1/32`, `${net.prefix6}1/128`].sort());
    expect(routes(null, '-4', 'dev', hostIf?.name ?? '')).toContainEqual(expect.objectContaining({ dst: `${net.prefix4}2`, scope: 'host' }));
    expect(routes(null, '-6', 'dev', hostIf?.name ?? '')).toContainEqual(expect.objectContaining({ dst: `${net.prefix6}2` }));
    expect(reserved().sort()).toEqual([`${net.prefix4}2`, `${net.prefix6}2`].sort());

    // Traffic: the namespace reaches the host (its gateway address) over both families.
    expect(ping(ns, `${net.prefix4}1`)).toBe(true);
    expect(ping(ns, `${net.prefix6}1`)).toBe(true);

    // CHECK accepts what ADD made, then fails once an address is removed or the link is down.
    const checkConf = conf({ prevResult: add.json });
    const check = runPlugin(bin, 'ptp', { ...env(ns), command: 'CHECK' }, checkConf);
    expect(check.code, check.stdout).toBe(0);
    ip(ns, 'addr', 'del', `${net.prefix6}2/64`, 'dev', 'eth0');
    const noAddr = runPlugin(bin, 'ptp', { ...env(ns), command: 'CHECK' }, checkConf);
    expect(noAddr.code).toBe(1);
    expect(noAddr.json).toMatchObject({ code: 999, msg: `Failed to match addr ${net.prefix6}2/64 on interface eth0` });
    ip(ns, 'addr', 'add', `${net.prefix6}2/64`, 'dev', 'eth0', 'nodad');
    ip(ns, 'link', 'set', 'eth0', 'down');
    const down = runPlugin(bin, 'ptp', { ...env(ns), command: 'CHECK' }, checkConf);
    expect(down.code).toBe(1);
    expect(down.json).toMatchObject({ code: 999, msg: 'container interface eth0 is down' });

    // DEL leaves nothing: no veth on either side, no reservation; a second DEL succeeds too.
    const del = runPlugin(bin, 'ptp', { ...env(ns), command: 'DEL' }, conf());
    expect(del.code, del.stdout).toBe(0);
    expect(link(ns, 'eth0')).toBeUndefined();
    expect(link(null, hostIf?.name ?? '')).toBeUndefined();
    expect(links(ns).map((l) => l.ifname)).toEqual(['lo']);
    expect(reserved()).toEqual([]);
    expect(runPlugin(bin, 'ptp', { ...env(ns), command: 'DEL' }, conf()).code).toBe(0);
  });

  it('DEL with the namespace already gone still releases the addresses', async () => {
    const ns = pool.create();
    const add = runPlugin(bin, 'ptp', { ...env(ns, 'ctr-gone'), command: 'ADD' }, conf({}, false));
    expect(add.code, add.stdout).toBe(0);
    const hostName = (add.json as { interfaces: Array<{ name: string }> }).interfaces[0]?.name ?? '';
    expect(reserved()).toEqual([`${net.prefix4}2`]);
    pool.remove(ns);
    expect(existsSync(ns.path)).toBe(false);
    const del = runPlugin(bin, 'ptp', { ...env(ns, 'ctr-gone'), command: 'DEL' }, conf({}, false));
    expect(del.code, del.stdout).toBe(0);
    expect(reserved()).toEqual([]);
    // The kernel tears a dead namespace down asynchronously; the host end goes with it.
    await vi.waitFor(() => expect(link(null, hostName)).toBeUndefined(), { timeout: 5000, interval: 100 });
  });

  it('a failed ADD leaves nothing behind (the container name is taken)', () => {
    const ns = pool.create();
    ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    // Only the plugin's own naming counts: other work on the host may add or remove links meanwhile.
    const hostVeths = () => links(null).map((l) => l.ifname).filter((n) => /^veth[0-9a-f]{8}$/.test(n));
    const before = hostVeths();
    const add = runPlugin(bin, 'ptp', { ...env(ns), command: 'ADD' }, conf({}, false));
    expect(add.code).toBe(1);
    expect(add.json).toMatchObject({ code: 999, msg: 'container veth name provided (eth0) already exists' });
    expect(reserved()).toEqual([]);
    expect(hostVeths().filter((n) => !before.includes(n))).toEqual([]);
    expect(addrs(ns, 'eth0').filter((a) => a.scope === 'global')).toEqual([]);
  });

  it('refuses a config without IPAM or with an unknown ipMasqBackend (code 7) before touching anything', () => {
    const ns = pool.create();
    const noIpam = runPlugin(bin, 'ptp', { ...env(ns), command: 'ADD' }, { cniVersion: '1.1.0', name: 'ptpnet', type: 'ptp' });
    expect(noIpam.json).toMatchObject({ code: 7 });
    const pf = runPlugin(bin, 'ptp', { ...env(ns), command: 'ADD' }, conf({ ipMasq: true, ipMasqBackend: 'pf' }));
    expect(pf.json).toMatchObject({ code: 7, msg: 'ipMasqBackend: unknown ipmasq backend "pf"' });
    expect(links(ns).map((l) => l.ifname)).toEqual(['lo']);
  });

  it('STATUS and GC reach host-local (GC frees what no valid attachment holds)', () => {
    const keep = pool.create();
    const drop = pool.create();
    expect(runPlugin(bin, 'ptp', { ...env(keep, 'keep'), command: 'ADD' }, conf({}, false)).code).toBe(0);
    expect(runPlugin(bin, 'ptp', { ...env(drop, 'drop'), command: 'ADD' }, conf({}, false)).code).toBe(0);
    expect(reserved().sort()).toEqual([`${net.prefix4}2`, `${net.prefix4}3`]);
    expect(runPlugin(bin, 'ptp', { command: 'STATUS', path: bin }, conf({}, false)).code).toBe(0);
    const gc = runPlugin(bin, 'ptp', { command: 'GC', path: bin }, conf({ 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }, false));
    expect(gc.code, gc.stdout).toBe(0);
    expect(reserved()).toEqual([`${net.prefix4}2`]);
  });
});
