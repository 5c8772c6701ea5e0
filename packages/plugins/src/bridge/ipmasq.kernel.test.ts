// Kernel tests of ipMasq from the installed bridge and ptp executables. Each runs under
// `ip netns exec` in a namespace standing in for the host (so the real host's nftables and iptables
// stay untouched), with only the CNI variables in its environment. An "outside" namespace hangs off
// that host and has no route back to the container subnets: a TCP connection from a container
// reaches a listener there only when masqueraded, and the listener sees the host's address. The
// iptables backend is compared line for line with what the reference Go bridge writes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetnsPool, ip, tcpSourceSeen } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, runPluginIn, testSubnet } from '../test-support/cni.js';
import type { CniEnv, PluginRun } from '../test-support/cni.js';
import { IPMASQ_TABLE, commentForInstance } from '../shared/ipmasq.js';
import { chainName } from '../shared/crypto.js';

const pool = new NetnsPool();
const GO_BRIDGE = '/usr/lib/cni/bridge';
const HOST_ADDR = '198.18.0.1';
const OUTSIDE_ADDR = '198.18.0.2';
let bin: string;
let dataDir: string;
let host: TestNetns;
let outside: TestNetns;

beforeAll(() => {
  bin = installPlugins();
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-masq-'));
  host = pool.create('tscmh');
  outside = pool.create('tscmo');
  ip(host, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'down0', 'netns', outside.name);
  ip(host, 'addr', 'add', `${HOST_ADDR}/24`, 'dev', 'up0');
  ip(outside, 'addr', 'add', `${OUTSIDE_ADDR}/24`, 'dev', 'down0');
  ip(host, 'link', 'set', 'up0', 'up');
  ip(outside, 'link', 'set', 'down0', 'up');
});
afterEach(() => {
  // Rules, bridges and veths all live in the stand-in host namespace and go with it.
  pool.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function inHost(ns: TestNetns, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function run(type: string, command: CniEnv['command'], container: TestNetns | undefined, containerId: string | undefined, conf: unknown): PluginRun {
  const env: CniEnv = {
    command,
    path: bin,
    ...(containerId === undefined ? {} : { containerId, ifName: 'eth0' }),
    ...(container === undefined ? {} : { netns: container.path }),
  };
  return runPluginIn(host.name, bin, type, env, conf);
}

function bridgeConf(name: string, subnet: string, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name,
    type: 'bridge',
    bridge: `br-${name}`,
    isDefaultGateway: true,
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet }]] },
    ...extra,
  };
}

/** The `-A` lines of the nat table that belong to ipMasq (CNI- chains and the jumps into them). */
function masqLines(ns: TestNetns): string[] {
  return inHost(ns, 'iptables-save', '-t', 'nat')
    .split('\n')
    .filter((l) => l.startsWith('-A ') && l.includes('CNI-'));
}

const reserved = (network: string): string[] => {
  const dir = join(dataDir, network);
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock') : [];
};

describe('ipMasq from the installed executables', () => {
  it('bridge (nftables, the default): only the masqueraded container reaches the outside, seen as the host', async () => {
    const plainNet = testSubnet();
    const masqNet = testSubnet();
    const plain = pool.create();
    const plainAdd = run('bridge', 'ADD', plain, 'ctr-plain', bridgeConf('plain', plainNet.v4));
    expect(plainAdd.code, plainAdd.stdout + plainAdd.stderr).toBe(0);
    expect(await tcpSourceSeen(outside, plain, OUTSIDE_ADDR, 7001)).toBeUndefined();

    const masq = pool.create();
    const conf = bridgeConf('masq', masqNet.v4, { ipMasq: true });
    const add = run('bridge', 'ADD', masq, 'ctr-masq', conf);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(await tcpSourceSeen(outside, masq, OUTSIDE_ADDR, 7002)).toBe(HOST_ADDR);
    const comment = commentForInstance({ network: 'masq', ifName: 'eth0', containerId: 'ctr-masq' });
    expect(inHost(host, 'nft', 'list', 'table', 'inet', IPMASQ_TABLE)).toContain(
      `ip saddr ${masqNet.prefix4}2 ip daddr != ${masqNet.v4} masquerade comment "${comment}"`,
    );
    // The connection went through the host's conntrack with its source rewritten to the host.
    const ct = inHost(host, 'conntrack', '-L', '-p', 'tcp', '--dport', '7002');
    expect(ct).toContain(`src=${masqNet.prefix4}2 dst=${OUTSIDE_ADDR}`);
    expect(ct).toContain(`src=${OUTSIDE_ADDR} dst=${HOST_ADDR}`);

    const del = run('bridge', 'DEL', masq, 'ctr-masq', conf);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(inHost(host, 'nft', 'list', 'table', 'inet', IPMASQ_TABLE)).not.toContain(comment);
    expect(run('bridge', 'DEL', masq, 'ctr-masq', conf).code).toBe(0);
  });

  it('ptp (nftables): masqueraded to the outside; DEL with the namespace gone removes the rule and the address', async () => {
    const net = testSubnet();
    const ctr = pool.create();
    const conf = { cniVersion: '1.1.0', name: 'ptpmasq', type: 'ptp', ipMasq: true, ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4 }]], routes: [{ dst: '0.0.0.0/0' }] } };
    const add = run('ptp', 'ADD', ctr, 'ctr-ptp', conf);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(await tcpSourceSeen(outside, ctr, OUTSIDE_ADDR, 7003)).toBe(HOST_ADDR);
    const comment = commentForInstance({ network: 'ptpmasq', ifName: 'eth0', containerId: 'ctr-ptp' });
    expect(inHost(host, 'nft', 'list', 'table', 'inet', IPMASQ_TABLE)).toContain(comment);
    pool.remove(ctr);
    const del = run('ptp', 'DEL', ctr, 'ctr-ptp', conf);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(inHost(host, 'nft', 'list', 'table', 'inet', IPMASQ_TABLE)).not.toContain(comment);
    expect(reserved('ptpmasq')).toEqual([]);
  });

  it('bridge with ipMasqBackend iptables writes the reference rules (compared with the Go bridge), masquerades, DEL and GC remove them', async (ctx) => {
    if (!existsSync(GO_BRIDGE)) ctx.skip(`no reference bridge at ${GO_BRIDGE} to compare with`);
    const net = testSubnet();
    const conf = { ...bridgeConf('iptnet', net.v4, { ipMasq: true, ipMasqBackend: 'iptables' }), ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4 }], [{ subnet: net.v6 }]] } };
    const ctr = pool.create();
    const add = run('bridge', 'ADD', ctr, 'ctr-ipt', conf);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(await tcpSourceSeen(outside, ctr, OUTSIDE_ADDR, 7004)).toBe(HOST_ADDR);
    const chain = chainName('iptnet', 'ctr-ipt');
    const comment = String.raw`"name: \"iptnet\" id: \"ctr-ipt\""`;
    const ours = masqLines(host);
    expect(ours).toEqual([
      `-A POSTROUTING -s ${net.prefix4}2/32 -m comment --comment ${comment} -j ${chain}`,
      `-A ${chain} -d ${net.v4} -m comment --comment ${comment} -j ACCEPT`,
      `-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${comment} -j MASQUERADE`,
    ]);
    expect(inHost(host, 'ip6tables-save', '-t', 'nat')).toContain(`-A ${chain} -d ${net.v6} -m comment --comment ${comment} -j ACCEPT`);
    // A repeated ADD of the same attachment (same address again, from a fresh IPAM store) adds nothing twice.
    const again = run('bridge', 'ADD', pool.create(), 'ctr-ipt', { ...conf, ipam: { ...conf.ipam, dataDir: mkdtempSync(join(dataDir, 'again-')) } });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(masqLines(host)).toEqual(ours);

    // The reference, in its own stand-in host, for the same network and container: the same lines.
    const goHost = pool.create('tscmg');
    const goCtr = pool.create();
    const goConf = { ...conf, cniVersion: '1.0.0', ipam: { type: 'host-local', dataDir: mkdtempSync(join(dataDir, 'go-')), ranges: [[{ subnet: net.v4 }]] } };
    delete (goConf as Record<string, unknown>)['ipMasqBackend'];
    const goAdd = runPluginIn(goHost.name, '/usr/lib/cni', 'bridge', { command: 'ADD', containerId: 'ctr-ipt', netns: goCtr.path, ifName: 'eth0', path: '/usr/lib/cni' }, goConf, { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
    expect(goAdd.code, goAdd.stdout + goAdd.stderr).toBe(0);
    expect(masqLines(goHost)).toEqual(ours);
    // Our DEL finds the reference's rules by their chain name, without the container's addresses.
    const crossDel = runPluginIn(goHost.name, bin, 'bridge', { command: 'DEL', containerId: 'ctr-ipt', ifName: 'eth0', path: bin }, conf);
    expect(crossDel.code, crossDel.stdout + crossDel.stderr).toBe(0);
    expect(masqLines(goHost)).toEqual([]);

    const del = run('bridge', 'DEL', ctr, 'ctr-ipt', conf);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(masqLines(host)).toEqual([]);
    expect(inHost(host, 'iptables-save', '-t', 'nat')).not.toContain(chain);
    expect(inHost(host, 'ip6tables-save', '-t', 'nat')).not.toContain(chain);

    // GC keeps the valid attachment's chain and removes the other one.
    const keep = pool.create();
    const drop = pool.create();
    expect(run('bridge', 'ADD', keep, 'keep', conf).code).toBe(0);
    expect(run('bridge', 'ADD', drop, 'drop', conf).code).toBe(0);
    const gc = run('bridge', 'GC', undefined, undefined, { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    const left = masqLines(host).join('\n');
    expect(left).toContain(chainName('iptnet', 'keep'));
    expect(left).not.toContain(chainName('iptnet', 'drop'));
  });
});

