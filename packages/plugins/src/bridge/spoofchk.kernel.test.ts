// Kernel tests of bridge `macspoofchk` from the installed executable, run under `ip netns exec` in a
// namespace standing in for the host (the real host's nftables stay untouched): the rules equal the
// Go bridge's for the same attachment, a container that changes its MAC is cut off until it changes
// it back, CHECK notices a removed filter, DEL (twice, and with the namespace gone) leaves only the
// shared table and base chain.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetnsPool, ip, ping } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, runPluginIn, testSubnet } from '../test-support/cni.js';
import type { CniEnv, PluginRun, TestSubnet } from '../test-support/cni.js';
import { spoofCheckChains, spoofCheckId } from './spoofchk.js';

const pool = new NetnsPool();
const GO_BRIDGE = '/usr/lib/cni/bridge';
let bin: string;
let dataDir: string;
let host: TestNetns;
let net: TestSubnet;

beforeAll(() => {
  bin = installPlugins();
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-spoof-'));
  host = pool.create('tscsh');
  net = testSubnet();
});
afterEach(() => {
  pool.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function nftList(ns: TestNetns): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'bridge', 'nat'], { encoding: 'utf8' });
}

function conf(extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: 'spoofnet',
    type: 'bridge',
    bridge: 'brspoof',
    macspoofchk: true,
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4 }]] },
    ...extra,
  };
}

function run(command: CniEnv['command'], ctr: TestNetns, containerId: string, c: unknown): PluginRun {
  return runPluginIn(host.name, bin, 'bridge', { command, containerId, netns: ctr.path, ifName: 'eth0', path: bin }, c);
}

interface Res {
  interfaces: Array<{ name: string; mac?: string }>;
}

describe('bridge macspoofchk', () => {
  it('lays out the rules as the reference, drops other source MACs, CHECK sees a removed filter, DEL cleans up', () => {
    const a = pool.create();
    const b = pool.create();
    // A gateway pins the bridge's MAC, which otherwise follows its ports and fails CHECK by itself.
    const c = conf({ isGateway: true });
    const addA = run('ADD', a, 'ctr-a', c);
    expect(addA.code, addA.stdout + addA.stderr).toBe(0);
    const addB = run('ADD', b, 'ctr-b', c);
    expect(addB.code, addB.stdout + addB.stderr).toBe(0);
    const resA = addA.json as unknown as Res;
    const hostA = resA.interfaces[1]?.name ?? '';
    const macA = resA.interfaces[2]?.mac ?? '';
    const { iface, mac } = spoofCheckChains(spoofCheckId('ctr-a', 'eth0'));

    const text = nftList(host);
    expect(text).toMatch(/chain PREROUTING \{\s+type filter hook prerouting priority dstnat; policy accept;/);
    expect(text).toContain(`iifname "${hostA}" jump ${iface} comment "macspoofchk-ctr-a-eth0"`);
    expect(text).toContain(`chain ${iface} {\n\t\tjump ${mac} comment "macspoofchk-ctr-a-eth0"\n\t}`);
    expect(text).toContain(`chain ${mac} {\n\t\tether saddr ${macA} return comment "macspoofchk-ctr-a-eth0"\n\t\tdrop comment "macspoofchk-ctr-a-eth0"\n\t}`);

    // Traffic: A reaches B with its own MAC, not with another one, and again once it is back.
    expect(ping(a, `${net.prefix4}3`)).toBe(true);
    ip(a, 'link', 'set', 'eth0', 'address', '0a:58:de:ad:be:ef');
    ip(a, 'neigh', 'flush', 'dev', 'eth0');
    expect(ping(a, `${net.prefix4}3`)).toBe(false);
    ip(a, 'link', 'set', 'eth0', 'address', macA);
    expect(ping(a, `${net.prefix4}3`)).toBe(true);

    // CHECK passes, then fails once A's MAC filter is gone.
    const check = run('CHECK', a, 'ctr-a', { ...c, prevResult: addA.json });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    execFileSync('ip', ['netns', 'exec', host.name, 'nft', 'flush', 'chain', 'bridge', 'nat', mac]);
    const broken = run('CHECK', a, 'ctr-a', { ...c, prevResult: addA.json });
    expect(broken.json).toMatchObject({ code: 999 });
    expect(String(broken.json?.['msg'])).toContain('macspoofchk rules for');

    // DEL removes A's jump and chains (twice is fine); B's stay; with B's namespace gone, B's go too.
    expect(run('DEL', a, 'ctr-a', c).code).toBe(0);
    expect(run('DEL', a, 'ctr-a', c).code).toBe(0);
    const afterA = nftList(host);
    expect(afterA).not.toContain('ctr-a');
    expect(afterA).toContain('macspoofchk-ctr-b-eth0');
    pool.remove(b);
    const delB = run('DEL', b, 'ctr-b', c);
    expect(delB.code, delB.stdout + delB.stderr).toBe(0);
    expect(nftList(host).replace(/\s+/g, ' ').trim()).toBe(
      'table bridge nat { chain PREROUTING { type filter hook prerouting priority dstnat; policy accept; } }',
    );
  });

  it('writes what the Go bridge writes for the same attachment', (ctx) => {
    if (!existsSync(GO_BRIDGE)) ctx.skip(`no reference bridge at ${GO_BRIDGE} to compare with`);
    const ours = pool.create();
    const add = run('ADD', ours, 'ctr-cmp', conf());
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const goHost = pool.create('tscsg');
    const goCtr = pool.create();
    const goConf = { ...conf(), cniVersion: '1.0.0', ipam: { type: 'host-local', dataDir: mkdtempSync(join(dataDir, 'go-')), ranges: [[{ subnet: net.v4 }]] } };
    const goAdd = runPluginIn(goHost.name, '/usr/lib/cni', 'bridge', { command: 'ADD', containerId: 'ctr-cmp', netns: goCtr.path, ifName: 'eth0', path: '/usr/lib/cni' }, goConf, { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
    expect(goAdd.code, goAdd.stdout + goAdd.stderr).toBe(0);
    // The host veth names and container MACs are random on both sides.
    const normalize = (text: string, r: Res) => text.replaceAll(r.interfaces[1]?.name ?? '?', 'VETH').replaceAll(r.interfaces[2]?.mac ?? '?', 'MAC');
    expect(normalize(nftList(host), add.json as unknown as Res)).toBe(normalize(nftList(goHost), goAdd.json as unknown as Res));
    // Our DEL removes the reference's rules.
    const del = runPluginIn(goHost.name, bin, 'bridge', { command: 'DEL', containerId: 'ctr-cmp', netns: goCtr.path, ifName: 'eth0', path: bin }, conf());
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(nftList(goHost)).not.toContain('ctr-cmp');
  });
});
