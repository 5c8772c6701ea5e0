// Kernel tests for the installed bridge executable (with the installed host-local), exec'd like a
// runtime: ADD's kernel state against `ip -j` and the result, CHECK passing and failing once broken,
// DEL leaving nothing of the attachment (twice, and with the namespace gone), traffic between two
// namespaces and their gateway, L2-only, port flags, VLANs (skipped where the kernel lacks them) and
// configuration errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NetnsPool, globalCidrs, ip, ipQuiet, link, links, ping, routes, sysctl, uniq } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, runPlugin, saveForwarding, testSubnet } from '../test-support/cni.js';
import type { TestSubnet } from '../test-support/cni.js';

const pool = new NetnsPool();
let bin: string;
let restoreForwarding: () => void;
let dataDir: string;
let net: TestSubnet;
let bridge: string;

beforeAll(() => {
  restoreForwarding = saveForwarding();
  bin = installPlugins();
});
afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
  restoreForwarding();
});
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-br-data-'));
  net = testSubnet();
  bridge = uniq('tbr');
});
afterEach(() => {
  pool.cleanup();
  // The bridge (and a VLAN gateway interface) is shared by design and outlives DEL; the test removes it.
  ipQuiet(null, 'link', 'del', `${bridge}.100`);
  ipQuiet(null, 'link', 'del', bridge);
  rmSync(dataDir, { recursive: true, force: true });
});

interface BrResult {
  cniVersion: string;
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ interface?: number; address: string; gateway?: string }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: unknown;
}

function conf(extra: Record<string, unknown> = {}, dualStack = true) {
  return {
    cniVersion: '1.1.0',
    name: 'brnet',
    type: 'bridge',
    bridge,
    ipam: {
      type: 'host-local',
      dataDir,
      ranges: dualStack ? [[{ subnet: net.v4 }], [{ subnet: net.v6 }]] : [[{ subnet: net.v4 }]],
    },
    ...extra,
  };
}

const reserved = (): string[] => {
  try {
    return readdirSync(join(dataDir, 'brnet')).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock').sort();
  } catch {
    return [];
  }
};

function env(ns: TestNetns, containerId = 'ctr-br', ifName = 'eth0') {
  return { containerId, netns: ns.path, ifName, path: bin };
}

function add(ns: TestNetns, c: unknown, containerId = 'ctr-br', args?: string): BrResult {
  const r = runPlugin(bin, 'bridge', { ...env(ns, containerId), command: 'ADD', ...(args === undefined ? {} : { args }) }, c);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r.json as unknown as BrResult;
}

describe('bridge', () => {
  it('ADD creates bridge, port and container end as configured and reports them; CHECK; DEL', () => {
    const ns = pool.create();
    const mac = '0a:58:0a:f4:00:07';
    const c = conf({ isDefaultGateway: true, mtu: 1400, hairpinMode: true, runtimeConfig: { mac } });
    const r = add(ns, c);

    // The result: [bridge, host veth, container veth], every IP on interface 2, default routes added.
    expect(r.interfaces).toHaveLength(3);
    const [brIf, hostIf, contIf] = r.interfaces;
    expect(brIf?.name).toBe(bridge);
    expect(hostIf?.name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(contIf).toEqual({ name: 'eth0', mac, sandbox: ns.path });
    expect(r.ips).toEqual([
      { interface: 2, address: `${net.prefix4}2/24`, gateway: `${net.prefix4}1` },
      { interface: 2, address: `${net.prefix6}2/64`, gateway: `${net.prefix6}1` },
    ]);
    expect(r.routes).toEqual([
      { dst: '0.0.0.0/0', gw: `${net.prefix4}1` },
      { dst: '::/0', gw: `${net.prefix6}1` },
    ]);

    // The bridge: a bridge, with the gateways, the MTU and the reported MAC.
    const br = link(null, bridge);
    expect(br?.linkinfo?.info_kind).toBe('bridge');
    expect(br?.mtu).toBe(1400);
    expect(br?.address).toBe(brIf?.mac);
    expect(globalCidrs(null, bridge)).toEqual([`${net.prefix4}1/24`, `${net.prefix6}1/64`].sort());
    expect(sysctl(null, `net.ipv6.conf.${bridge}.accept_ra`)).toBe('0');
    expect(sysctl(null, 'net.ipv4.ip_forward')).toBe('1');

    // The port: enslaved, hairpin, MTU, MAC as reported.
    const port = link(null, hostIf?.name ?? '');
    expect(port?.master).toBe(bridge);
    expect(port?.mtu).toBe(1400);
    expect(port?.address).toBe(hostIf?.mac);
    expect(port?.linkinfo?.info_slave_data?.['hairpin']).toBe(true);
    expect(port?.operstate).toBe('UP');

    // The container end: MAC from runtimeConfig, MTU, addresses, routes, DAD off, arp_notify on.
    const cont = link(ns, 'eth0');
    expect(cont?.address).toBe(mac);
    expect(cont?.mtu).toBe(1400);
    expect(cont?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([`${net.prefix4}2/24`, `${net.prefix6}2/64`].sort());
    expect(routes(ns, '-4')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: `${net.prefix4}1`, dev: 'eth0' }));
    expect(routes(ns, '-6')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: `${net.prefix6}1`, dev: 'eth0' }));
    expect(sysctl(ns, 'net.ipv6.conf.eth0.accept_dad')).toBe('0');
    expect(sysctl(ns, 'net.ipv4.conf.eth0.arp_notify')).toBe('1');
    expect(reserved()).toEqual([`${net.prefix4}2`, `${net.prefix6}2`].sort());

    // CHECK accepts it; then fails when an address is gone, and when the link is down.
    const checkConf = { ...c, prevResult: r };
    const check = runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, checkConf);
    expect(check.code, check.stdout).toBe(0);
    ip(ns, 'addr', 'del', `${net.prefix4}2/24`, 'dev', 'eth0');
    const noAddr = runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, checkConf);
    expect(noAddr.code).toBe(1);
    expect(noAddr.json).toMatchObject({ code: 999, msg: `Failed to match addr ${net.prefix4}2/24 on interface eth0` });
    ip(ns, 'addr', 'add', `${net.prefix4}2/24`, 'dev', 'eth0');
    ip(ns, 'route', 'add', 'default', 'via', `${net.prefix4}1`);
    expect(runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, checkConf).code).toBe(0);
    ip(null, 'link', 'set', hostIf?.name ?? '', 'down');
    const portDown = runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, checkConf);
    expect(portDown.json).toMatchObject({ code: 999, msg: `host interface ${hostIf?.name} is down` });
    ip(null, 'link', 'set', hostIf?.name ?? '', 'up');
    ip(ns, 'link', 'set', 'eth0', 'down');
    const down = runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, checkConf);
    expect(down.json).toMatchObject({ code: 999, msg: 'container interface eth0 is down' });

    // DEL: nothing of the attachment remains; the shared bridge does. A second DEL succeeds.
    const del = runPlugin(bin, 'bridge', { ...env(ns), command: 'DEL' }, c);
    expect(del.code, del.stdout).toBe(0);
    expect(links(ns).map((l) => l.ifname)).toEqual(['lo']);
    expect(link(null, hostIf?.name ?? '')).toBeUndefined();
    expect(links(null).filter((l) => l.master === bridge)).toEqual([]);
    expect(reserved()).toEqual([]);
    expect(link(null, bridge)).toBeDefined();
    expect(runPlugin(bin, 'bridge', { ...env(ns), command: 'DEL' }, c).code).toBe(0);
  });

  it('two namespaces on one bridge reach each other and the gateway (IPv4 and IPv6)', async () => {
    const a = pool.create();
    const b = pool.create();
    const c = conf({ isGateway: true });
    add(a, c, 'ctr-a');
    add(b, c, 'ctr-b');
    expect(ping(a, `${net.prefix4}3`)).toBe(true);
    expect(ping(b, `${net.prefix4}2`)).toBe(true);
    expect(ping(a, `${net.prefix4}1`)).toBe(true);
    expect(ping(a, `${net.prefix6}3`)).toBe(true);
    expect(ping(b, `${net.prefix6}2`)).toBe(true);
    // The bridge's IPv6 gateway address goes through DAD (as in the reference) before it answers.
    await vi.waitFor(() => expect(ping(a, `${net.prefix6}1`)).toBe(true), { timeout: 5000, interval: 250 });
  });

  it('DEL with the namespace already gone still releases the addresses', async () => {
    const ns = pool.create();
    const r = add(ns, conf({}, false), 'ctr-gone');
    expect(reserved()).toEqual([`${net.prefix4}2`]);
    pool.remove(ns);
    const del = runPlugin(bin, 'bridge', { ...env(ns, 'ctr-gone'), command: 'DEL' }, conf({}, false));
    expect(del.code, del.stdout).toBe(0);
    expect(reserved()).toEqual([]);
    await vi.waitFor(() => expect(link(null, r.interfaces[1]?.name ?? '')).toBeUndefined(), { timeout: 5000, interval: 100 });
    // No namespace given at all: IPAM only.
    add(pool.create(), conf({}, false), 'ctr-nons');
    expect(runPlugin(bin, 'bridge', { command: 'DEL', containerId: 'ctr-nons', ifName: 'eth0', path: bin }, conf({}, false)).code).toBe(0);
    expect(reserved()).toEqual([]);
  });

  it('L2 only (ipam {}): the container end is up without addresses; promiscMode and portIsolation', () => {
    const ns = pool.create();
    const c = { cniVersion: '1.0.0', name: 'brnet', type: 'bridge', bridge, ipam: {}, promiscMode: true, portIsolation: true };
    const r = add(ns, c);
    expect(r.ips).toBeUndefined();
    expect(r.cniVersion).toBe('1.0.0');
    expect(link(ns, 'eth0')?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([]);
    expect(link(null, bridge)?.flags).toContain('PROMISC');
    const port = link(null, r.interfaces[1]?.name ?? '');
    expect(port?.linkinfo?.info_slave_data?.['isolated']).toBe(true);
    expect(runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, { ...c, prevResult: r }).code).toBe(0);
    // CHECK notices the bridge's promiscuous mode going away.
    ip(null, 'link', 'set', bridge, 'promisc', 'off');
    const check = runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, { ...c, prevResult: r });
    expect(check.json).toMatchObject({ code: 999 });
    expect(String(check.json?.['msg'])).toContain('Promisc Mode true');
    expect(runPlugin(bin, 'bridge', { ...env(ns), command: 'DEL' }, c).code).toBe(0);
  });

  it('disableContainerInterface leaves the container end down', () => {
    const ns = pool.create();
    const c = { cniVersion: '1.1.0', name: 'brnet', type: 'bridge', bridge, disableContainerInterface: true };
    const r = add(ns, c);
    expect(link(ns, 'eth0')?.flags).not.toContain('UP');
    expect(runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, { ...c, prevResult: r }).code).toBe(0);
  });

  it('takes the MAC from CNI_ARGS (IgnoreUnknown for the rest) and from args.cni over it', () => {
    const ns = pool.create();
    add(ns, conf({}, false), 'ctr-mac', 'IgnoreUnknown=1;K8S_POD_NAME=p;MAC=0a:58:00:00:00:01');
    expect(link(ns, 'eth0')?.address).toBe('0a:58:00:00:00:01');
    const ns2 = pool.create();
    add(ns2, conf({ args: { cni: { mac: '0a:58:00:00:00:02' } } }, false), 'ctr-mac2', 'IgnoreUnknown=1;MAC=0a:58:00:00:00:01');
    expect(link(ns2, 'eth0')?.address).toBe('0a:58:00:00:00:02');
  });

  it('keeps or replaces another bridge address according to forceAddress', () => {
    ip(null, 'link', 'add', bridge, 'type', 'bridge');
    ip(null, 'addr', 'add', '192.0.2.77/24', 'dev', bridge);
    const ns = pool.create();
    const refused = runPlugin(bin, 'bridge', { ...env(ns), command: 'ADD' }, conf({ isGateway: true }, false));
    expect(refused.code).toBe(1);
    expect(refused.json).toMatchObject({ code: 999, msg: `"${bridge}" already has an IP address different from ${net.prefix4}1/24` });
    // The failed ADD undid itself: no port, no reservation.
    expect(links(null).filter((l) => l.master === bridge)).toEqual([]);
    expect(reserved()).toEqual([]);
    add(ns, conf({ isGateway: true, forceAddress: true }, false));
    expect(globalCidrs(null, bridge)).toEqual([`${net.prefix4}1/24`]);
  });

  it('refuses bad configurations before touching anything', () => {
    const ns = pool.create();
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ hairpinMode: true, promiscMode: true }, 7, 'cannot set hairpin mode and promiscuous mode at the same time'],
      [{ vlan: 5000 }, 7, 'vlan: invalid VLAN ID 5000 (must be between 0 and 4094)'],
      [{ vlan: 10, vlanTrunk: [{ id: 20 }] }, 7, 'cannot set vlan and vlanTrunk at the same time'],
      [{ vlanTrunk: [{ minID: 10 }] }, 7, 'vlanTrunk[0]: minID and maxID should be configured simultaneously, maxID is missing'],
      [{ mtu: 'big' }, 7, 'mtu: must be a number, got string'],
      [{ ipMasq: true, ipMasqBackend: 'pf' }, 7, 'ipMasqBackend: unknown ipmasq backend "pf"'],
      [{ bridge: 'brlongname12', isGateway: true, vlan: 100 }, 7, 'the VLAN gateway interface name "brlongname12.100" is longer than 15 characters'],
    ];
    for (const [extra, code, msg] of cases) {
      const r = runPlugin(bin, 'bridge', { ...env(ns), command: 'ADD' }, conf(extra, false));
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code });
      expect(String(r.json?.['msg'])).toContain(msg);
    }
    expect(link(null, bridge)).toBeUndefined();
    expect(links(ns).map((l) => l.ifname)).toEqual(['lo']);
    // A link of another kind under the bridge's name.
    ip(null, 'link', 'add', bridge, 'type', 'veth', 'peer', 'name', `${bridge}p`);
    const notBridge = runPlugin(bin, 'bridge', { ...env(ns), command: 'ADD' }, conf({}, false));
    expect(notBridge.json).toMatchObject({ code: 999, msg: `"${bridge}" already exists but is not a bridge` });
    expect(reserved()).toEqual([]);
  });

  it('puts the port on its access VLAN or trunk, and a VLAN gateway on <bridge>.<vlan> (needs bridge VLAN filtering)', (ctx) => {
    const probe = pool.create();
    const r = spawnSync('ip', ['-n', probe.name, 'link', 'add', 'vf0', 'type', 'bridge', 'vlan_filtering', '1'], { encoding: 'utf8' });
    if (r.status !== 0) ctx.skip(`the kernel has no bridge VLAN filtering: ${r.stderr.trim()}`);
    const ns = pool.create();
    const res = add(ns, { cniVersion: '1.1.0', name: 'brnet', type: 'bridge', bridge, vlan: 100, preserveDefaultVlan: false });
    const port = res.interfaces[1]?.name ?? '';
    const vlans = JSON.parse(spawnSync('bridge', ['-j', 'vlan', 'show', 'dev', port], { encoding: 'utf8' }).stdout) as Array<{ vlans: Array<{ vlan: number; flags?: string[] }> }>;
    expect(vlans[0]?.vlans).toEqual([{ vlan: 100, flags: ['PVID', 'Egress Untagged'] }]);
    const ns2 = pool.create();
    const trunk = add(ns2, { cniVersion: '1.1.0', name: 'brnet', type: 'bridge', bridge, vlanTrunk: [{ id: 5 }, { minID: 7, maxID: 8 }] }, 'ctr-trunk');
    const tv = JSON.parse(spawnSync('bridge', ['-j', 'vlan', 'show', 'dev', trunk.interfaces[1]?.name ?? ''], { encoding: 'utf8' }).stdout) as Array<{ vlans: Array<{ vlan: number }> }>;
    expect(tv[0]?.vlans.map((v) => v.vlan)).toEqual(expect.arrayContaining([5, 7, 8]));

    // A gateway on the access VLAN: `<bridge>.100`, whose veth peer is a port in VLAN 100.
    const ns3 = pool.create();
    const gw = add(ns3, conf({ isGateway: true, vlan: 100, preserveDefaultVlan: false }, false), 'ctr-vgw');
    const vlanIf = `${bridge}.100`;
    expect(gw.interfaces[3]).toEqual({ name: vlanIf, mac: link(null, vlanIf)?.address });
    expect(globalCidrs(null, vlanIf)).toEqual([`${net.prefix4}1/24`]);
    expect(globalCidrs(null, bridge)).toEqual([]);
    const gwPort = links(null).find((l) => l.master === bridge && l.ifindex === link(null, vlanIf)?.link_index);
    const gv = JSON.parse(spawnSync('bridge', ['-j', 'vlan', 'show', 'dev', gwPort?.ifname ?? ''], { encoding: 'utf8' }).stdout) as Array<{ vlans: Array<{ vlan: number; flags?: string[] }> }>;
    expect(gv[0]?.vlans).toEqual([{ vlan: 100, flags: ['PVID', 'Egress Untagged'] }]);
    expect(ping(ns3, `${net.prefix4}1`)).toBe(true);
    // DEL leaves the shared gateway interface in place.
    expect(runPlugin(bin, 'bridge', { ...env(ns3, 'ctr-vgw'), command: 'DEL' }, conf({ isGateway: true, vlan: 100, preserveDefaultVlan: false }, false)).code).toBe(0);
    expect(link(null, vlanIf)).toBeDefined();
    ipQuiet(null, 'link', 'del', vlanIf);
  });

  it('speaks older config versions: a 0.4.0 ADD result is a valid 0.4.0 prevResult for CHECK', () => {
    const ns = pool.create();
    const c = { ...conf({ isGateway: true }, false), cniVersion: '0.4.0' };
    const r = add(ns, c);
    expect(r.cniVersion).toBe('0.4.0');
    expect(r.ips).toEqual([{ version: '4', interface: 2, address: `${net.prefix4}2/24`, gateway: `${net.prefix4}1` }]);
    expect(r.dns).toEqual({});
    const check = runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, { ...c, prevResult: r });
    expect(check.code, check.stdout).toBe(0);
    // CHECK does not exist before 0.4.0.
    const old = runPlugin(bin, 'bridge', { ...env(ns), command: 'CHECK' }, { ...c, cniVersion: '0.3.1', prevResult: r });
    expect(old.json).toMatchObject({ code: 1 });
  });

  it('enabledad turns enhanced DAD on in the container instead of switching DAD off', () => {
    const ns = pool.create();
    add(ns, conf({ enabledad: true }));
    expect(sysctl(ns, 'net.ipv6.conf.eth0.accept_dad')).toBe('1');
    expect(sysctl(ns, 'net.ipv6.conf.eth0.enhanced_dad')).toBe('1');
    expect(globalCidrs(ns, 'eth0')).toEqual([`${net.prefix4}2/24`, `${net.prefix6}2/64`].sort());
  });

  it('STATUS and GC reach host-local', () => {
    const keep = pool.create();
    const drop = pool.create();
    add(keep, conf({}, false), 'keep');
    add(drop, conf({}, false), 'drop');
    expect(reserved()).toEqual([`${net.prefix4}2`, `${net.prefix4}3`]);
    expect(runPlugin(bin, 'bridge', { command: 'STATUS', path: bin }, conf({}, false)).code).toBe(0);
    const gc = runPlugin(bin, 'bridge', { command: 'GC', path: bin }, conf({ 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }, false));
    expect(gc.code, gc.stdout).toBe(0);
    expect(reserved()).toEqual([`${net.prefix4}2`]);
  });
});
