// Test support for the single-interface plugins' kernel tests (not built, not exported): the same
// acceptance flow for each, with the installed executable run under `ip netns exec` in a namespace
// standing in for the host whose "master" is a veth: ADD checked with `ip -j` and against the
// result, CHECK passing and then failing with code 999 once an address is removed, DEL leaving
// nothing (twice), and DEL with the namespace gone still releasing the address.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { NetnsPool, globalCidrs, ip, link, links } from './kernel.js';
import type { IpLink, TestNetns } from './kernel.js';
import { runPluginIn, testSubnet } from './cni.js';
import type { CniEnv, PluginRun } from './cni.js';

/** Why the kernel cannot make a link of `kind` (e.g. "Error: Unknown device type."), or undefined if it can. */
export function missingKind(pool: NetnsPool, kind: string, ...args: string[]): string | undefined {
  const probe = pool.create('tscpr');
  ip(probe, 'link', 'add', 'pr0', 'type', 'veth', 'peer', 'name', 'pr1');
  const r = spawnSync('ip', ['-n', probe.name, 'link', 'add', 'x0', ...args, 'type', kind], { encoding: 'utf8' });
  pool.remove(probe);
  return r.status === 0 ? undefined : `the kernel has no ${kind} links: ${r.stderr.trim()}`;
}

export interface FlowOptions {
  bin: string;
  pool: NetnsPool;
  type: string;
  /** The plugin's own keys; `master` is the stand-in host's veth `mst0`. */
  conf: Record<string, unknown>;
  /** Assertions on the container link as `ip -d -j` reports it. */
  expectLink: (l: IpLink | undefined) => void;
}

/** The acceptance flow; returns nothing, asserts everything. */
export function linkPluginFlow(o: FlowOptions): void {
  const dataDir = mkdtempSync(join(tmpdir(), `tscni-${o.type}-`));
  try {
    const host = o.pool.create('tsclh');
    ip(host, 'link', 'add', 'mst0', 'type', 'veth', 'peer', 'name', 'mst1');
    ip(host, 'link', 'set', 'mst0', 'up');
    const net = testSubnet();
    const conf = { cniVersion: '1.1.0', name: `${o.type}net`, type: o.type, ...o.conf, ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4 }]] } };
    const reserved = (): string[] => {
      const d = join(dataDir, `${o.type}net`);
      return existsSync(d) ? readdirSync(d).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock') : [];
    };
    const run = (command: CniEnv['command'], ns: TestNetns, c: unknown, containerId = 'ctr1'): PluginRun =>
      runPluginIn(host.name, o.bin, o.type, { command, containerId, netns: ns.path, ifName: 'eth0', path: o.bin }, c);

    const ns = o.pool.create();
    const add = run('ADD', ns, conf);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const l = link(ns, 'eth0');
    o.expectLink(l);
    expect(l?.flags).toContain('UP');
    expect(globalCidrs(ns, 'eth0')).toEqual([`${net.prefix4}2/24`]);
    expect(add.json).toMatchObject({ interfaces: [{ name: 'eth0', mac: l?.address, sandbox: ns.path }], ips: [{ interface: 0, address: `${net.prefix4}2/24` }] });
    expect(reserved()).toEqual([`${net.prefix4}2`]);

    expect(run('CHECK', ns, { ...conf, prevResult: add.json }).code).toBe(0);
    ip(ns, 'addr', 'del', `${net.prefix4}2/24`, 'dev', 'eth0');
    expect(run('CHECK', ns, { ...conf, prevResult: add.json }).json).toMatchObject({ code: 999, msg: `Failed to match addr ${net.prefix4}2/24 on interface eth0` });

    expect(run('DEL', ns, conf).code).toBe(0);
    expect(links(ns).map((x) => x.ifname)).toEqual(['lo']);
    expect(reserved()).toEqual([]);
    expect(run('DEL', ns, conf).code).toBe(0);

    const gone = o.pool.create();
    expect(run('ADD', gone, conf, 'ctr2').code).toBe(0);
    o.pool.remove(gone);
    expect(run('DEL', gone, conf, 'ctr2').code).toBe(0);
    expect(reserved()).toEqual([]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
