// Kernel tests for the installed macvlan executable, run under `ip netns exec` in a namespace that
// stands in for the host (its master is a veth whose peer sits in an "outside" namespace), with
// only the CNI variables in its environment: ADD checked with `ip -j` (mode, MTU, MAC, bcqueuelen,
// addresses, sysctls) and against the result, traffic to the outside, CHECK passing then failing,
// DEL leaving nothing (twice, and with the namespace gone), the default-route master,
// linkInContainer, L2 only, configuration errors, GC and STATUS.
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetnsPool, globalCidrs, ip, link, links, ping, routes, sysctl } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, runPluginIn, testSubnet } from '../test-support/cni.js';
import type { CniEnv, PluginRun, TestSubnet } from '../test-support/cni.js';
import { linkPluginFlow } from '../test-support/link-flow.js';

const pool = new NetnsPool();
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
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-mv-'));
  net = testSubnet();
  host = pool.create('tscvh');
  outside = pool.create('tscvo');
  ip(host, 'link', 'add', 'mv0', 'mtu', '1500', 'type', 'veth', 'peer', 'name', 'o0', 'netns', outside.name);
  ip(host, 'link', 'set', 'mv0', 'up');
  ip(outside, 'link', 'set', 'o0', 'up');
  ip(outside, 'addr', 'add', `${net.prefix4}1/24`, 'dev', 'o0');
});
afterEach(() => {
  pool.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function conf(extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: 'mvnet',
    type: 'macvlan',
    master: 'mv0',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4, rangeStart: `${net.prefix4}10` }]], routes: [{ dst: '192.0.2.0/24' }] },
    ...extra,
  };
}

function run(command: CniEnv['command'], ns: TestNetns | undefined, c: unknown, containerId = 'ctr-mv', args?: string): PluginRun {
  const env: CniEnv = { command, path: bin, containerId, ifName: 'eth0', ...(ns === undefined ? {} : { netns: ns.path }), ...(args === undefined ? {} : { args }) };
  return runPluginIn(host.name, bin, 'macvlan', env, c);
}

const reserved = (): string[] => {
  const dir = join(dataDir, 'mvnet');
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock').sort() : [];
};

interface MvResult {
  cniVersion: string;
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips: Array<{ interface?: number; address: string; gateway?: string }>;
  routes?: Array<{ dst: string }>;
  dns?: unknown;
}

describe('macvlan', () => {
  it('ADD creates the macvlan in the container as configured and reports it; traffic; CHECK; DEL', () => {
    const ns = pool.create();
    const mac = '0a:58:0a:00:00:42';
    const c = conf({ mode: 'private', mtu: 1400, bcqueuelen: 77, runtimeConfig: { mac }, dns: { nameservers: ['192.0.2.53'] } });
    const add = run('ADD', ns, c);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const r = add.json as unknown as MvResult;
    expect(r.interfaces).toEqual([{ name: 'eth0', mac, sandbox: ns.path }]);
    expect(r.ips).toEqual([{ interface: 0, address: `${net.prefix4}10/24`, gateway: `${net.prefix4}1` }]);
    expect(r.dns).toEqual({ nameservers: ['192.0.2.53'] });

    const l = link(ns, 'eth0');
    expect(l?.linkinfo?.info_kind).toBe('macvlan');
    expect(l?.linkinfo?.info_data).toMatchObject({ mode: 'private', bcqueuelen: 77 });
    expect(l?.mtu).toBe(1400);
    expect(l?.address).toBe(mac);
    expect(l?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([`${net.prefix4}10/24`]);
    expect(routes(ns, '-4')).toContainEqual(expect.objectContaining({ dst: '192.0.2.0/24', gateway: `${net.prefix4}1`, dev: 'eth0' }));
    expect(sysctl(ns, 'net.ipv4.conf.eth0.arp_notify')).toBe('1');
    expect(sysctl(ns, 'net.ipv6.conf.eth0.ndisc_notify')).toBe('1');
    // Nothing of it in the host namespace; its parent is the master there.
    expect(links(host).map((x) => x.ifname).sort()).toEqual(['lo', 'mv0']);
    expect(reserved()).toEqual([`${net.prefix4}10`]);
    expect(ping(ns, `${net.prefix4}1`)).toBe(true);

    const check = run('CHECK', ns, { ...c, prevResult: r });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    ip(ns, 'link', 'set', 'eth0', 'type', 'macvlan', 'mode', 'bridge');
    const mode = run('CHECK', ns, { ...c, prevResult: r });
    expect(mode.json).toMatchObject({ code: 999, msg: 'container macvlan mode bridge does not match expected value: private' });
    ip(ns, 'link', 'set', 'eth0', 'type', 'macvlan', 'mode', 'private');
    ip(ns, 'addr', 'del', `${net.prefix4}10/24`, 'dev', 'eth0');
    const noAddr = run('CHECK', ns, { ...c, prevResult: r });
    expect(noAddr.json).toMatchObject({ code: 999, msg: `Failed to match addr ${net.prefix4}10/24 on interface eth0` });

    const del = run('DEL', ns, c);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(links(ns).map((x) => x.ifname)).toEqual(['lo']);
    expect(reserved()).toEqual([]);
    expect(run('DEL', ns, c).code).toBe(0);
  });

  it('DEL with the namespace gone (or not given) still releases the address', () => {
    const ns = pool.create();
    expect(run('ADD', ns, conf()).code).toBe(0);
    expect(reserved()).toEqual([`${net.prefix4}10`]);
    pool.remove(ns);
    const del = run('DEL', ns, conf());
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(reserved()).toEqual([]);
    expect(run('ADD', pool.create(), conf(), 'ctr-nons').code).toBe(0);
    expect(run('DEL', undefined, conf(), 'ctr-nons').code).toBe(0);
    expect(reserved()).toEqual([]);
  });

  it('takes the master from the default route, or from the container with linkInContainer; MAC from CNI_ARGS', () => {
    ip(host, 'addr', 'add', '198.18.7.1/24', 'dev', 'mv0');
    ip(host, 'route', 'add', 'default', 'via', '198.18.7.254', 'dev', 'mv0');
    const ns = pool.create();
    const c = conf({ master: undefined, mac: '0a:58:00:00:00:01' });
    const add = run('ADD', ns, c, 'ctr-def', 'IgnoreUnknown=1;K8S_POD_NAME=p;MAC=0a:58:00:00:00:02');
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(link(ns, 'eth0')?.address).toBe('0a:58:00:00:00:02');
    expect(link(ns, 'eth0')?.link_index).toBe(link(host, 'mv0')?.ifindex);
    expect(run('CHECK', ns, { ...c, prevResult: add.json }, 'ctr-def').code).toBe(0);

    const inside = pool.create();
    ip(inside, 'link', 'add', 'in0', 'type', 'veth', 'peer', 'name', 'in1');
    ip(inside, 'link', 'set', 'in0', 'up');
    const ic = conf({ master: 'in0', linkInContainer: true });
    const addIn = run('ADD', inside, ic, 'ctr-in');
    expect(addIn.code, addIn.stdout + addIn.stderr).toBe(0);
    // `ip -j` names the parent when it is in the same namespace.
    expect((link(inside, 'eth0') as { link?: string } | undefined)?.link).toBe('in0');
    expect(run('CHECK', inside, { ...ic, prevResult: addIn.json }, 'ctr-in').code).toBe(0);
    expect(run('DEL', inside, ic, 'ctr-in').code).toBe(0);
    expect(link(inside, 'eth0')).toBeUndefined();
  });

  it('L2 only (no IPAM type): the interface is up without addresses', () => {
    const ns = pool.create();
    const c = { cniVersion: '1.0.0', name: 'mvnet', type: 'macvlan', master: 'mv0', ipam: {} };
    const add = run('ADD', ns, c);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.json).toMatchObject({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: ns.path }] });
    expect(add.json?.['ips']).toBeUndefined();
    expect(link(ns, 'eth0')?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([]);
    expect(run('CHECK', ns, { ...c, prevResult: add.json }).code).toBe(0);
    expect(run('DEL', ns, c).code).toBe(0);
  });

  it('refuses bad configurations (code 7, naming the key) before touching anything', () => {
    const ns = pool.create();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ mode: 'source' }, 'mode: unknown macvlan mode: "source"'],
      [{ mtu: 9000 }, 'mtu: invalid MTU 9000, must be [0, master MTU(1500)]'],
      [{ bcqueuelen: -1 }, 'bcqueuelen: must be a uint32, got -1'],
      [{ mac: 'zz' }, 'mac: invalid MAC address "zz"'],
      [{ master: 'a/b' }, 'master: invalid interface name "a/b"'],
    ];
    for (const [extra, msg] of cases) {
      const r = run('ADD', ns, conf(extra));
      expect(r.json, msg).toMatchObject({ code: 7, msg });
    }
    const missing = run('ADD', ns, conf({ master: 'nope0' }));
    expect(missing.json).toMatchObject({ code: 999, msg: 'failed to lookup master "nope0": link not found' });
    ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    const taken = run('ADD', ns, conf());
    expect(taken.json).toMatchObject({ code: 999, msg: 'container interface name provided (eth0) already exists' });
    expect(reserved()).toEqual([]);
  });

  it('STATUS and GC reach IPAM', () => {
    expect(run('ADD', pool.create(), conf(), 'keep').code).toBe(0);
    expect(run('ADD', pool.create(), conf(), 'drop').code).toBe(0);
    expect(reserved()).toEqual([`${net.prefix4}10`, `${net.prefix4}11`]);
    expect(runPluginIn(host.name, bin, 'macvlan', { command: 'STATUS', path: bin }, conf()).code).toBe(0);
    const gc = runPluginIn(host.name, bin, 'macvlan', { command: 'GC', path: bin }, conf({ 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }));
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(reserved()).toEqual([`${net.prefix4}10`]);
  });

  it('passes the acceptance flow shared with ipvlan, vlan and dummy (which this kernel cannot run)', () => {
    linkPluginFlow({
      bin,
      pool,
      type: 'macvlan',
      conf: { master: 'mst0', mode: 'vepa' },
      expectLink: (l) => {
        expect(l?.linkinfo?.info_kind).toBe('macvlan');
        expect(l?.linkinfo?.info_data).toMatchObject({ mode: 'vepa' });
      },
    });
  });
});
