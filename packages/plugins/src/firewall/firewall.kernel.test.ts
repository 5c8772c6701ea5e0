// Traffic tests of the firewall plugin in the host namespace (where CNI plugins run): sandboxes on
// two bridges made by the Go reference bridge + host-local, our firewall executable chained on top
// (driven by the Go runtime), for both backends, ping as the witness. The host's FORWARD policy is
// set to DROP for two short tests and restored in `finally`; afterwards every chain, rule and table
// the tests added is removed again (compared with a snapshot).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetnsPool, ipQuiet, uniq } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { GO_RUNTIME, chainBin, goRuntimeOk, referenceSkipReason, saveForwarding } from '../test-support/cni.js';
import { NFT_TABLE } from './nftables.js';
import { formatRuleLine, parseSave, ruleTarget } from '../shared/iptables-restore.js';
import type { SavedRule } from '../shared/iptables-restore.js';

const why = referenceSkipReason(['bridge', 'host-local'], [GO_RUNTIME, '/usr/sbin/iptables-save']);
const canRun = why === undefined;

/** With br_netfilter's call-iptables on, bridged (same-bridge) IPv4 traffic passes the forward hook too. */
const bridgedTrafficFiltered = (() => {
  try {
    return readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim() === '1';
  } catch {
    return false;
  }
})();

const OUR_CHAINS = ['CNI-FORWARD', 'CNI-ADMIN', 'CNI-ISOLATION-STAGE-1', 'CNI-ISOLATION-STAGE-2'];
const pool = new NetnsPool();
let dir = '';
let restoreForwarding: (() => void) | undefined;
const snapshot: Partial<Record<4 | 6, string>> = {};
let nftTableBefore = false;
/** iptables-nft keeps its tables in nf_tables; those the tests caused to exist are removed when left empty. */
const iptablesNftTables = ['ip filter', 'ip6 filter'];
const nftTablesBefore = new Set<string>();
const bridges: string[] = [];
const attached: Array<{ file: string; ns: TestNetns; id: string }> = [];
let subnet = 0;

function runtime(verb: 'add' | 'del', conflist: string, ns: TestNetns, id: string): string {
  return goRuntimeOk(verb, conflist, ns.path, { bin: dir, cacheDir: join(dir, 'cache'), containerId: id });
}

/** A free 10.230.x.0/24 (x from 200) that no route mentions. */
function freeSubnet(): string {
  const routes = execFileSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (;;) {
    const s = `10.230.${200 + subnet++}`;
    if (!routes.includes(`${s}.`)) return s;
  }
}

interface Net {
  file: string;
  name: string;
  prefix: string;
  bridge: string;
}

/** A bridge network (IPv4), with our firewall executable chained after the bridge when `firewall` is given. */
function network(firewall?: Record<string, unknown>): Net {
  const prefix = freeSubnet();
  const bridge = uniq('tscfb');
  bridges.push(bridge);
  const name = uniq('tscfwn');
  const plugins: unknown[] = [
    {
      type: 'bridge',
      bridge,
      isGateway: true,
      ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: `${prefix}.0/24` }]], routes: [{ dst: '0.0.0.0/0' }] },
    },
  ];
  if (firewall !== undefined) plugins.push({ type: 'firewall', ...firewall });
  const file = join(dir, `${name}.conflist`);
  writeFileSync(file, JSON.stringify({ cniVersion: '1.0.0', name, plugins }));
  return { file, name, prefix, bridge };
}

interface Sandbox {
  ns: TestNetns;
  ip: string;
  result: unknown;
  id: string;
}

function sandbox(net: Net): Sandbox {
  const ns = pool.create('tscfw');
  const id = uniq('c');
  const result = JSON.parse(runtime('add', net.file, ns, id)) as { ips: Array<{ address: string }> };
  attached.push({ file: net.file, ns, id });
  return { ns, ip: result.ips[0]!.address.split('/')[0]!, result, id };
}

function reaches(from: Sandbox, to: Sandbox): boolean {
  return spawnSync('ip', ['netns', 'exec', from.ns.name, 'ping', '-c', '1', '-W', '1', to.ip]).status === 0;
}

/** The host's FORWARD policy, to put back. */
function forwardPolicy(): string {
  return /^:FORWARD (\S+)/m.exec(saveText(4))?.[1] ?? 'ACCEPT';
}

const saveText = (family: 4 | 6): string => execFileSync(family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'filter'], { encoding: 'utf8' });

/** Removes from the host what these tests added to the firewall plugin's chains (and the chains they created). */
function restoreIptables(): void {
  for (const family of [4, 6] as const) {
    const before = parseSave(snapshot[family] ?? '', 'filter');
    const now = parseSave(saveText(family), 'filter');
    const key = (r: SavedRule): string => formatRuleLine('-D', r.chain, r.spec);
    const had = new Set(before.rules.map(key));
    const ours = (r: SavedRule): boolean => OUR_CHAINS.includes(r.chain) || (r.chain === 'FORWARD' && OUR_CHAINS.includes(ruleTarget(r.spec) ?? ''));
    const lines = now.rules.filter((r) => ours(r) && !had.has(key(r))).map(key);
    lines.push(...OUR_CHAINS.filter((c) => now.chains.has(c) && !before.chains.has(c)).map((c) => `-X ${c}`));
    if (lines.length === 0) continue;
    execFileSync(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['--noflush', '-w'], { input: `*filter\n${lines.join('\n')}\nCOMMIT\n` });
  }
}

describe.skipIf(!canRun)(`firewall traffic in the host namespace${canRun ? '' : ` (skipped: ${why})`}`, () => {
  beforeAll(() => {
    dir = chainBin(['firewall'], ['bridge', 'host-local']);
    restoreForwarding = saveForwarding();
    snapshot[4] = saveText(4);
    snapshot[6] = saveText(6);
    nftTableBefore = spawnSync('nft', ['list', 'table', 'inet', NFT_TABLE]).status === 0;
    for (const t of iptablesNftTables) if (spawnSync('nft', ['list', 'table', ...t.split(' ')]).status === 0) nftTablesBefore.add(t);
  });

  afterEach(() => {
    for (const a of attached.splice(0).reverse()) {
      try {
        runtime('del', a.file, a.ns, a.id);
      } catch {
        // Best effort: the namespace and bridge go below anyway.
      }
    }
    pool.cleanup();
    for (const b of bridges.splice(0)) ipQuiet(null, 'link', 'del', b);
  });

  afterAll(() => {
    if (!canRun) return;
    restoreIptables();
    if (!nftTableBefore) spawnSync('nft', ['delete', 'table', 'inet', NFT_TABLE]);
    for (const t of iptablesNftTables) {
      if (nftTablesBefore.has(t)) continue;
      const family = t.startsWith('ip6') ? 6 : 4;
      const text = saveText(family);
      const untouched = parseSave(text, 'filter').rules.length === 0 && !/^:\S+ DROP/m.test(text);
      if (untouched) spawnSync('nft', ['delete', 'table', ...t.split(' ')]);
    }
    restoreForwarding?.();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('iptables (executable in a chain): isolated and same-bridge keep the two bridges apart', () => {
    const a = network({ backend: 'iptables', ingressPolicy: 'isolated' });
    const b = network({ backend: 'iptables', ingressPolicy: 'same-bridge' });
    const o = network({ backend: 'iptables' });
    const [a1, a2, b1, b2, o1] = [sandbox(a), sandbox(a), sandbox(b), sandbox(b), sandbox(o)] as [Sandbox, Sandbox, Sandbox, Sandbox, Sandbox];

    // Routing works, and the policies isolate their own bridges only: a bridge without one reaches them.
    expect(reaches(o1, b1)).toBe(true);
    expect(reaches(o1, a1)).toBe(true);
    expect(reaches(b1, b2)).toBe(true); // same-bridge: the same bridge is fine
    expect(reaches(a1, b1)).toBe(false); // across bridges: dropped
    expect(reaches(b1, a1)).toBe(false);
    // isolated also drops traffic within its bridge, which the forward hook sees only through br_netfilter.
    expect(reaches(a1, a2)).toBe(!bridgedTrafficFiltered);
  });

  it('iptables (executable in a chain): with policy open, forwarding works while the host FORWARD policy is DROP', () => {
    const c = network({ backend: 'iptables' });
    const d = network();
    const c1 = sandbox(c);
    const d1 = sandbox(d);
    expect(reaches(d1, c1)).toBe(true); // routed while FORWARD accepts
    const policy = forwardPolicy();
    execFileSync('iptables', ['-P', 'FORWARD', 'DROP']);
    try {
      expect(reaches(c1, d1)).toBe(true); // c1's own rules accept its traffic and the replies
      expect(reaches(d1, c1)).toBe(false); // d1 has no firewall rules: new connections from it are dropped
      const del = (network: string): number | null =>
        spawnSync(join(dir, 'firewall'), [], {
          env: { CNI_COMMAND: 'DEL', CNI_CONTAINERID: c1.id, CNI_NETNS: c1.ns.path, CNI_IFNAME: 'eth0', CNI_PATH: dir },
          input: JSON.stringify({ cniVersion: '1.0.0', name: network, type: 'firewall', backend: 'iptables' }),
        }).status;
      // DEL (no prevResult) of another network leaves c1's rules alone; of c1's network, removes them.
      expect(del(`${c.name}x`)).toBe(0);
      expect(reaches(c1, d1)).toBe(true);
      expect(del(c.name)).toBe(0);
      expect(reaches(c1, d1)).toBe(false);
    } finally {
      execFileSync('iptables', ['-P', 'FORWARD', policy]);
    }
  });

  it('nftables (executable in a chain): isolated and same-bridge keep the two bridges apart; DEL removes the attachment rules', () => {
    const e = network({ backend: 'nftables', ingressPolicy: 'isolated' });
    const f = network({ backend: 'nftables', ingressPolicy: 'same-bridge' });
    const o = network({ backend: 'nftables' });
    const [e1, e2, f1, f2, o1] = [sandbox(e), sandbox(e), sandbox(f), sandbox(f), sandbox(o)] as [Sandbox, Sandbox, Sandbox, Sandbox, Sandbox];
    const forward = (): string => execFileSync('nft', ['list', 'chain', 'inet', NFT_TABLE, 'forward'], { encoding: 'utf8' });
    for (const s of [e1, e2, f1, f2, o1]) expect(forward()).toContain(`ip saddr ${s.ip} accept`);

    expect(reaches(o1, f1)).toBe(true);
    expect(reaches(o1, e1)).toBe(true);
    expect(reaches(f1, f2)).toBe(true);
    expect(reaches(e1, f1)).toBe(false);
    expect(reaches(f1, e1)).toBe(false);
    expect(reaches(e1, e2)).toBe(!bridgedTrafficFiltered);

    // The chain's DEL (through the Go runtime) removes each attachment's rules, not the bridges' isolation.
    for (const a of attached.splice(0).reverse()) runtime('del', a.file, a.ns, a.id);
    for (const s of [e1, e2, f1, f2, o1]) expect(forward()).not.toContain(s.ip);
    expect(execFileSync('nft', ['list', 'chain', 'inet', NFT_TABLE, 'isolation_stage_2'], { encoding: 'utf8' })).toContain(`oifname "${e.bridge}" drop`);
    for (const chain of ['isolation_stage_1', 'isolation_stage_2']) spawnSync('nft', ['flush', 'chain', 'inet', NFT_TABLE, chain]);
  });

  it('no backend (executable, nftables reachable): with the host FORWARD policy DROP it picks iptables, so forwarding works', () => {
    const g = network({});
    const h = network();
    const policy = forwardPolicy();
    execFileSync('iptables', ['-P', 'FORWARD', 'DROP']);
    try {
      const g1 = sandbox(g);
      const h1 = sandbox(h);
      expect(saveText(4)).toContain(`-A CNI-FORWARD -s ${g1.ip}/32`);
      expect(reaches(g1, h1)).toBe(true);
      runtime('del', g.file, g1.ns, g1.id);
      attached.splice(attached.findIndex((a) => a.id === g1.id), 1);
      expect(saveText(4)).not.toContain(`-s ${g1.ip}/32`);
    } finally {
      execFileSync('iptables', ['-P', 'FORWARD', policy]);
    }
  });

  it('no backend (executable): nftables when nothing drops forwarded packets', () => {
    const k = network({});
    const k1 = sandbox(k);
    expect(execFileSync('nft', ['list', 'chain', 'inet', NFT_TABLE, 'forward'], { encoding: 'utf8' })).toContain(`ip saddr ${k1.ip} accept`);
    expect(saveText(4)).not.toContain(k1.ip);
  });

  it('executable without PATH (as some runtimes exec plugins): VERSION, STATUS, and GC at 1.1.0 find iptables in sbin', () => {
    const exe = (command: string, conf: Record<string, unknown>): { status: number | null; stdout: string } =>
      spawnSync(join(dir, 'firewall'), [], { env: { CNI_COMMAND: command, CNI_PATH: dir }, input: JSON.stringify(conf), encoding: 'utf8' });
    expect(JSON.parse(exe('VERSION', {}).stdout)).toMatchObject({ supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
    for (const backend of ['iptables', 'nftables', undefined]) {
      expect(exe('STATUS', { cniVersion: '1.1.0', name: 'n', type: 'firewall', ...(backend ? { backend } : {}) }).status).toBe(0);
    }
    const firewalld = exe('STATUS', { cniVersion: '1.1.0', name: 'n', type: 'firewall', backend: 'firewalld' });
    expect(JSON.parse(firewalld.stdout)).toMatchObject({ code: 50 });

    const net = network({ backend: 'iptables' });
    const [s1, s2] = [sandbox(net), sandbox(net)] as [Sandbox, Sandbox];
    const gc = exe('GC', { cniVersion: '1.1.0', name: net.name, type: 'firewall', backend: 'iptables', 'cni.dev/valid-attachments': [{ containerID: s2.id, ifname: 'eth0' }] });
    expect(gc.status).toBe(0);
    expect(saveText(4)).not.toContain(`-s ${s1.ip}/32`);
    expect(saveText(4)).toContain(`-s ${s2.ip}/32`);
  });
});
