// Kernel tests of the bundled tuning executable chained after the reference bridge + host-local:
// sysctls and link attributes as seen inside the sandbox (`ip netns exec NS sysctl`, `ip -n NS -j
// link`), restore on DEL, rejections, backups shared with the reference plugin, GC, allowlist.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { NetnsPool, ip, ipQuiet, runId, uniq } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { REFERENCE_DIR, chainBin, referenceSkipReason, runExecutable, succeeded } from '../test-support/cni.js';
import type { CniEnv, PluginRun } from '../test-support/cni.js';
import { tuningPlugin } from './plugin.js';
import { cmdArgs } from '../test-support/cmd-args.js';

const skipReason = referenceSkipReason(['bridge', 'host-local', 'tuning']);

let work = '';
let bin = '';
let dataDir = '';

/** One plugin invocation the way a runtime does it (PATH kept: the Go plugins exec iptables). */
function run(exe: string, verb: CniEnv['command'], conf: Record<string, unknown>, env: Omit<CniEnv, 'command' | 'path'> = {}): PluginRun {
  return runExecutable(exe, { command: verb, path: bin, ...env }, conf, { PATH: process.env['PATH'] ?? '/usr/bin:/bin' });
}

const ours = (): string => join(bin, 'tuning');
const theirs = join(REFERENCE_DIR, 'tuning');

interface Attachment {
  ns: TestNetns;
  containerId: string;
  prev: Record<string, unknown>;
  env: { netns: string; containerId: string; ifName: string };
}

const pool = new NetnsPool();
const bridges: string[] = [];
let subnetCounter = 100;

/** A container on a fresh bridge (reference bridge + host-local): tuning's prevResult. */
function attach(): Attachment {
  const ns = pool.create('tsctn');
  const br = uniq('tsctb');
  bridges.push(br);
  subnetCounter += 1;
  const containerId = `ctr${runId}${ns.name}`;
  const env = { netns: ns.path, containerId, ifName: 'eth0' };
  const conf = {
    cniVersion: '1.0.0',
    name: `tn${runId}`,
    type: 'bridge',
    bridge: br,
    ipam: { type: 'host-local', subnet: `10.220.${subnetCounter}.0/24`, dataDir: join(work, 'ipam') },
  };
  return { ns, containerId, prev: succeeded(run(join(bin, 'bridge'), 'ADD', conf, env), 'bridge ADD'), env };
}

function tuningConf(extra: Record<string, unknown>, prev?: Record<string, unknown>, name = `tn${runId}`): Record<string, unknown> {
  return { cniVersion: '1.0.0', name, type: 'tuning', dataDir, ...extra, ...(prev === undefined ? {} : { prevResult: prev }) };
}

/** `ip netns exec NS sysctl -n KEY`: the value as the sandbox sees it. */
function nsSysctl(ns: TestNetns, key: string): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'sysctl', '-n', key], { encoding: 'utf8' }).trim();
}

interface JLink {
  ifname: string;
  address: string;
  mtu: number;
  /** Left out by `ip -j` when 0. */
  txqlen?: number;
  flags: string[];
}

/** `ip -n NS -j link show dev eth0`. */
function nsLink(ns: TestNetns, dev = 'eth0'): JLink {
  const out = JSON.parse(execFileSync('ip', ['-n', ns.name, '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as JLink[];
  if (out[0] === undefined) throw new Error(`no ${dev} in ${ns.name}`);
  return out[0];
}

function snapshot(ns: TestNetns): Record<string, unknown> {
  const l = nsLink(ns);
  return {
    mac: l.address,
    mtu: l.mtu,
    txqlen: l.txqlen ?? 0,
    promisc: l.flags.includes('PROMISC'),
    allmulti: l.flags.includes('ALLMULTI'),
    arp_filter: nsSysctl(ns, 'net.ipv4.conf.eth0.arp_filter'),
    somaxconn: nsSysctl(ns, 'net.core.somaxconn'),
    rmem: nsSysctl(ns, 'net.ipv4.tcp_rmem'),
  };
}

const FULL = {
  sysctl: {
    'net.ipv4.conf.IFNAME.arp_filter': '1',
    'net/core/somaxconn': '321',
    'net.ipv4.tcp_rmem': '4096 65536 1048576',
  },
  mac: 'C2:B0:57:49:47:F1',
  mtu: 1400,
  promisc: true,
  allmulti: true,
  txQLen: 321,
};

beforeAll(() => {
  if (skipReason !== undefined) return;
  work = mkdtempSync(join(tmpdir(), 'tscni-tuning-'));
  bin = chainBin(['tuning'], ['bridge', 'host-local']);
  dataDir = join(work, 'tuning');
});

afterEach(() => {
  pool.cleanup();
  for (const br of bridges.splice(0)) ipQuiet(null, 'link', 'del', br);
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
  if (bin !== '') rmSync(bin, { recursive: true, force: true });
});

describe.skipIf(skipReason !== undefined)('tuning plugin in a chain', () => {
  it('sets sysctls and link attributes inside the sandbox, passes CHECK, and DEL restores the originals', () => {
    const a = attach();
    const before = snapshot(a.ns);
    const hostSomaxconn = readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim();

    const result = succeeded(run(ours(), 'ADD', tuningConf(FULL, a.prev), a.env), 'tuning ADD');
    expect(snapshot(a.ns)).toEqual({
      mac: 'c2:b0:57:49:47:f1',
      mtu: 1400,
      txqlen: 321,
      promisc: true,
      allmulti: true,
      arp_filter: '1',
      somaxconn: '321',
      rmem: '4096\t65536\t1048576',
    });
    // Written in the sandbox only.
    expect(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()).toBe(hostSomaxconn);
    // The result is prevResult with the container interface's new MAC.
    const ifaces = result['interfaces'] as Array<{ name: string; mac?: string; sandbox?: string }>;
    expect(ifaces.find((i) => i.sandbox === a.ns.path)?.mac).toBe('c2:b0:57:49:47:f1');
    expect(ifaces.filter((i) => i.sandbox === undefined)).toEqual((a.prev['interfaces'] as Array<{ sandbox?: string }>).filter((i) => i.sandbox === undefined));
    expect(result['ips']).toEqual(a.prev['ips']);
    // The backup, in the reference's format plus our fields.
    const backup = JSON.parse(readFileSync(join(dataDir, `${a.containerId}_eth0.json`), 'utf8')) as Record<string, unknown>;
    expect(backup).toEqual({
      mac: before['mac'],
      promisc: false,
      mtu: before['mtu'],
      allmulti: false,
      txQLen: before['txqlen'],
      sysctl: {
        'net/ipv4/conf/eth0/arp_filter': before['arp_filter'],
        'net/core/somaxconn': before['somaxconn'],
        'net/ipv4/tcp_rmem': before['rmem'],
      },
      network: `tn${runId}`,
    });

    expect(run(ours(), 'CHECK', tuningConf(FULL, result), a.env)).toMatchObject({ code: 0, stdout: '' });

    expect(run(ours(), 'DEL', tuningConf(FULL, result), a.env)).toMatchObject({ code: 0, stdout: '' });
    expect(snapshot(a.ns)).toEqual(before);
    expect(readdirSync(dataDir)).toEqual([]);
    // DEL again, without a backup: still a success.
    expect(run(ours(), 'DEL', tuningConf(FULL, result), a.env)).toMatchObject({ code: 0, stdout: '' });
  });

  it('CHECK notices a changed sysctl and changed link attributes', () => {
    const a = attach();
    const result = succeeded(run(ours(), 'ADD', tuningConf(FULL, a.prev), a.env), 'tuning ADD');
    const conf = tuningConf(FULL, result);
    expect(run(ours(), 'CHECK', conf, a.env).code).toBe(0);

    execFileSync('ip', ['netns', 'exec', a.ns.name, 'sysctl', '-qw', 'net.core.somaxconn=322']);
    expect(String(run(ours(), 'CHECK', conf, a.env).json?.['msg'])).toContain('net/core/somaxconn');
    execFileSync('ip', ['netns', 'exec', a.ns.name, 'sysctl', '-qw', 'net.core.somaxconn=321']);
    for (const [args, word] of [
      [['mtu', '1300'], 'MTU'],
      [['promisc', 'off'], 'promiscuous'],
      [['allmulticast', 'off'], 'all-multicast'],
      [['txqueuelen', '5'], 'queue length'],
      [['address', '02:00:00:00:00:01'], 'MAC'],
    ] as const) {
      ip(a.ns, 'link', 'set', 'eth0', ...args);
      const r = run(ours(), 'CHECK', conf, a.env);
      expect(r.code, word).toBe(1);
      expect(String(r.json?.['msg'])).toContain(word);
      // Put it back for the next attribute.
      succeeded(run(ours(), 'ADD', tuningConf(FULL, a.prev), a.env), 'tuning ADD again');
      expect(run(ours(), 'CHECK', conf, a.env).code).toBe(0);
    }
  });

  it('rejects sysctls outside /proc/sys/net and ../ tricks with code 7, changing nothing', () => {
    const a = attach();
    const before = snapshot(a.ns);
    for (const key of ['kernel.hostname', 'vm.swappiness', 'net/../kernel/hostname', 'net.ipv4.conf.eth0.../../../kernel/hostname', 'net/core/../../kernel/hostname']) {
      const r = run(ours(), 'ADD', tuningConf({ sysctl: { [key]: '1' }, mtu: 1300 }, a.prev), a.env);
      expect(r.code, key).toBe(1);
      expect(r.json?.['code'], key).toBe(7);
      expect(String(r.json?.['msg'])).toContain(JSON.stringify(key));
    }
    expect(snapshot(a.ns)).toEqual(before);
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
  });

  it('a retried ADD keeps the first originals, so DEL still restores the pre-tuning state', () => {
    const a = attach();
    const before = snapshot(a.ns);
    succeeded(run(ours(), 'ADD', tuningConf(FULL, a.prev), a.env), 'first ADD');
    const second = succeeded(run(ours(), 'ADD', tuningConf({ ...FULL, mtu: 1350 }, a.prev), a.env), 'second ADD');
    expect(nsLink(a.ns).mtu).toBe(1350);
    expect(run(ours(), 'DEL', tuningConf(FULL, second), a.env).code).toBe(0);
    expect(snapshot(a.ns)).toEqual(before);
  });

  it("restores the reference's backup, and the reference restores ours", () => {
    const a = attach();
    const before = snapshot(a.ns);
    // Lower case: the reference's CHECK compares the configured text with the kernel's lower-case MAC.
    const linkOnly = { mac: FULL.mac.toLowerCase(), mtu: 1400, promisc: true, allmulti: true };

    const goResult = succeeded(run(theirs, 'ADD', tuningConf(linkOnly, a.prev), a.env), 'reference ADD');
    expect(run(ours(), 'CHECK', tuningConf(linkOnly, goResult), a.env)).toMatchObject({ code: 0, stdout: '' });
    expect(run(ours(), 'DEL', tuningConf(linkOnly, goResult), a.env).code).toBe(0);
    expect(snapshot(a.ns)).toEqual(before);
    expect(readdirSync(dataDir)).toEqual([]);

    const ourResult = succeeded(run(ours(), 'ADD', tuningConf(linkOnly, a.prev), a.env), 'our ADD');
    expect(ourResult['interfaces']).toEqual(goResult['interfaces']);
    expect(run(theirs, 'CHECK', tuningConf(linkOnly, ourResult), a.env)).toMatchObject({ code: 0, stdout: '' });
    expect(run(theirs, 'DEL', tuningConf(linkOnly, ourResult), a.env).code).toBe(0);
    expect(snapshot(a.ns)).toEqual(before);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('DEL succeeds and drops the backup when the sandbox is gone', () => {
    const a = attach();
    succeeded(run(ours(), 'ADD', tuningConf({ mtu: 1300 }, a.prev), a.env), 'tuning ADD');
    expect(readdirSync(dataDir)).toHaveLength(1);
    pool.remove(a.ns);
    expect(run(ours(), 'DEL', tuningConf({ mtu: 1300 }), a.env)).toMatchObject({ code: 0, stdout: '' });
    expect(readdirSync(dataDir)).toEqual([]);
    expect(run(ours(), 'DEL', tuningConf({ mtu: 1300 }), { ...a.env, netns: '' })).toMatchObject({ code: 0, stdout: '' });
  });

  it("GC removes this network's backups of gone attachments only", () => {
    const a = attach();
    const b = attach();
    const net = `tn${runId}`;
    succeeded(run(ours(), 'ADD', tuningConf({ mtu: 1300 }, a.prev), a.env), 'ADD a');
    succeeded(run(ours(), 'ADD', tuningConf({ mtu: 1300 }, b.prev), b.env), 'ADD b');
    // Another network's backup (ours), and one the reference wrote (no network recorded).
    writeFileSync(join(dataDir, 'other_net1.json'), JSON.stringify({ mtu: 1500, network: 'another' }));
    writeFileSync(join(dataDir, 'legacy_eth0.json'), '{\n "mtu": 1500\n}');
    const gc = run(ours(), 'GC', { cniVersion: '1.1.0', name: net, type: 'tuning', dataDir, 'cni.dev/valid-attachments': [{ containerID: a.containerId, ifname: 'eth0' }] });
    expect(gc).toMatchObject({ code: 0, stdout: '' });
    expect(readdirSync(dataDir).sort()).toEqual([`${a.containerId}_eth0.json`, 'legacy_eth0.json', 'other_net1.json'].sort());
    const bad = run(ours(), 'GC', { cniVersion: '1.1.0', name: net, type: 'tuning', dataDir });
    expect(bad.json?.['code']).toBe(7);
  });

  it('STATUS succeeds', () => {
    expect(run(ours(), 'STATUS', { cniVersion: '1.1.0', name: 'x', type: 'tuning' })).toMatchObject({ code: 0, stdout: '' });
  });

  it('works with a 0.2.0 configuration (no interfaces in the result)', () => {
    const a = attach();
    const prev = { cniVersion: '0.2.0', ip4: { ip: (a.prev['ips'] as Array<{ address: string }>)[0]?.address } };
    const r = succeeded(run(ours(), 'ADD', { ...tuningConf({ mtu: 1300 }, prev), cniVersion: '0.2.0' }, a.env), '0.2.0 ADD');
    expect(r['ip4']).toEqual(prev.ip4);
    expect(nsLink(a.ns).mtu).toBe(1300);
    expect(run(ours(), 'DEL', { ...tuningConf({}), cniVersion: '0.2.0' }, a.env).code).toBe(0);
    expect(nsLink(a.ns).mtu).toBe(1500);
  });

  it('enforces an allowlist file when present (in-process, with the file in a temporary place)', async () => {
    const a = attach();
    const allowlist = join(work, 'allowlist.conf');
    writeFileSync(allowlist, '^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]*$\n');
    const plugin = tuningPlugin({ allowlist });
    const args = (netconf: NetConf) => cmdArgs(netconf, { ...a.env, containerId: a.containerId });
    const allowed = tuningConf({ sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1' } }, a.prev) as NetConf;
    await plugin.add!(args(allowed));
    expect(nsSysctl(a.ns, 'net.ipv4.conf.eth0.arp_filter')).toBe('1');
    const refused = tuningConf({ sysctl: { 'net.core.somaxconn': '100' } }, a.prev) as NetConf;
    const e = await plugin.add!(args(refused)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(7);
    expect(nsSysctl(a.ns, 'net.core.somaxconn')).not.toBe('100');
    await plugin.del!(args(allowed));
    expect(nsSysctl(a.ns, 'net.ipv4.conf.eth0.arp_filter')).toBe('0');
  });
});
