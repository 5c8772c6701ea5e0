// Kernel tests of the firewall plugin's rule programming, each in a throw-away namespace (its own
// iptables and nftables state, so the host is untouched): iptables through iptables-save/-restore
// run inside the namespace next to the Go reference plugin, nftables over nfnetlink read back with nft.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNetConf } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';
import { NetnsPool, netfilterIn } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { ownerComment } from './config.js';
import { toolRunner } from '../shared/iptables-restore.js';
import type { CommandRunner } from '../shared/iptables-restore.js';
import { NFT_TABLE } from './nftables.js';
import { chooseBackend, firewallAdd, firewallCheck, firewallDel, firewallGc, firewallStatus } from './plugin.js';
import type { FirewallDeps } from './plugin.js';
import { loadFirewallConfig } from './config.js';
import { cmdArgs } from '../test-support/cmd-args.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/lib/cni/firewall') && existsSync('/usr/sbin/iptables-restore');
const why = process.getuid?.() !== 0 ? 'needs root' : 'needs /usr/lib/cni/firewall and iptables';
const pool = new NetnsPool();

function prev(ips: string[], bridge = 'cni-br9'): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    interfaces: [{ name: bridge }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }],
    ips: ips.map((address) => ({ interface: 2, address })),
  };
}

function conf(extra: Record<string, unknown>): NetConf {
  return parseNetConf({ cniVersion: '1.0.0', name: 'fwnet', type: 'firewall', ...extra });
}

function args(netconf: NetConf, containerId: string): CmdArgs {
  return cmdArgs(netconf, { containerId, netns: '/run/netns/x' });
}

const inNs = (ns: TestNetns, ...argv: string[]): string => execFileSync('ip', ['netns', 'exec', ns.name, ...argv], { encoding: 'utf8' });
const save = (ns: TestNetns, family: 4 | 6 = 4): string[] =>
  inNs(ns, family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'filter')
    .split('\n')
    .filter((l) => l.startsWith('-A') || l.startsWith(':'));

/** The Go reference firewall plugin, run inside the namespace so its iptables calls land there. */
function goFirewall(ns: TestNetns, command: 'ADD' | 'CHECK' | 'DEL', netconf: Record<string, unknown>, containerId: string): { status: number | null; stdout: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, '/usr/lib/cni/firewall'], {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: ns.path, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', PATH: process.env['PATH'] ?? '' },
    input: JSON.stringify(netconf),
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout };
}

/** iptables-save / iptables-restore run inside the namespace. */
const runIn = (ns: TestNetns): CommandRunner => (cmd, argv, input) => toolRunner('ip', ['netns', 'exec', ns.name, cmd, ...argv], input);

function nftDeps(ns: TestNetns): FirewallDeps {
  return { nft: netfilterIn(ns), run: runIn(ns), legacyIptablesInUse: () => false };
}

describe.skipIf(!canRun)(`firewall rules in a namespace${canRun ? '' : ` (skipped: ${why})`}`, () => {
  afterEach(() => pool.cleanup());

  it('iptables: shares chains, jumps and isolation rules with the Go plugin; DEL and GC touch only ours', async () => {
    const ns = pool.create('tscfw');
    const deps: FirewallDeps = { run: runIn(ns), nft: null };
    const goConf = { cniVersion: '1.0.0', name: 'fwnet', type: 'firewall', backend: 'iptables', ingressPolicy: 'same-bridge', prevResult: prev(['10.230.99.7/24']) };
    expect(goFirewall(ns, 'ADD', goConf, 'goctr').status).toBe(0);

    const ours = conf({ backend: 'iptables', ingressPolicy: 'same-bridge', prevResult: prev(['10.230.99.2/24', 'fd00:230:99::2/64']) });
    await firewallAdd(args(ours, 'ctr1'), deps);
    const c = ownerComment({ network: 'fwnet', containerId: 'ctr1', ifName: 'eth0' });
    const v4 = save(ns, 4);
    expect(v4.filter((l) => l.startsWith('-A FORWARD'))).toEqual([
      '-A FORWARD -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-1',
      '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
    ]);
    expect(v4.filter((l) => l.startsWith('-A CNI-FORWARD'))).toEqual([
      '-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
      '-A CNI-FORWARD -d 10.230.99.7/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A CNI-FORWARD -s 10.230.99.7/32 -j ACCEPT',
      `-A CNI-FORWARD -d 10.230.99.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "${c}" -j ACCEPT`,
      `-A CNI-FORWARD -s 10.230.99.2/32 -m comment --comment "${c}" -j ACCEPT`,
    ]);
    expect(v4.filter((l) => l.includes('cni-br9'))).toHaveLength(2);
    // IPv6: the first user of ip6tables here, so it made the chains itself.
    const v6 = save(ns, 6);
    expect(v6).toContain(':CNI-FORWARD - [0:0]');
    expect(v6).toContain(`-A CNI-FORWARD -s fd00:230:99::2/128 -m comment --comment "${c}" -j ACCEPT`);
    expect(v6.filter((l) => l.startsWith('-A FORWARD'))).toHaveLength(2);

    // A second ADD changes nothing; both plugins' CHECKs pass on the shared state.
    await firewallAdd(args(ours, 'ctr1'), deps);
    expect(save(ns, 4)).toEqual(v4);
    await expect(firewallCheck(args(ours, 'ctr1'), deps)).resolves.toBeUndefined();
    expect(goFirewall(ns, 'CHECK', goConf, 'goctr').status).toBe(0);

    // CHECK notices a missing rule.
    inNs(ns, 'iptables', '-D', 'CNI-FORWARD', '-s', '10.230.99.2/32', '-m', 'comment', '--comment', c, '-j', 'ACCEPT');
    await expect(firewallCheck(args(ours, 'ctr1'), deps)).rejects.toMatchObject({ code: 999, msg: expect.stringContaining('-s 10.230.99.2/32') });
    await firewallAdd(args(ours, 'ctr1'), deps);
    await expect(firewallCheck(args(ours, 'ctr1'), deps)).resolves.toBeUndefined();

    // DEL without prevResult removes our rules only.
    await firewallDel(args(conf({ backend: 'iptables' }), 'ctr1'), deps);
    expect(save(ns, 4).filter((l) => l.includes('tscni-firewall'))).toEqual([]);
    expect(save(ns, 6).filter((l) => l.includes('tscni-firewall'))).toEqual([]);
    expect(save(ns, 4)).toContain('-A CNI-FORWARD -s 10.230.99.7/32 -j ACCEPT');
    expect(goFirewall(ns, 'CHECK', goConf, 'goctr').status).toBe(0);

    // GC: of three attachments, the listed one stays; the Go plugin's rules (no comment) are not ours.
    for (const [id, ip] of [['a', '10.230.99.11/24'], ['b', '10.230.99.12/24'], ['c', '10.230.99.13/24']] as const) {
      await firewallAdd(args(conf({ backend: 'iptables', prevResult: prev([ip]) }), id), deps);
    }
    await firewallGc(args(conf({ cniVersion: '1.1.0', backend: 'iptables', 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] }), 'x'), deps);
    const left = save(ns, 4).filter((l) => l.startsWith('-A CNI-FORWARD -s'));
    expect(left).toEqual(['-A CNI-FORWARD -s 10.230.99.7/32 -j ACCEPT', expect.stringMatching(/^-A CNI-FORWARD -s 10\.230\.99\.12\/32 .*tscni-firewall/)]);
  });

  it('iptables: DEL with prevResult also removes comment-less rules the Go plugin made for those addresses', async () => {
    const ns = pool.create('tscfw');
    const deps: FirewallDeps = { run: runIn(ns), nft: null };
    const goConf = { cniVersion: '1.0.0', name: 'fwnet', type: 'firewall', backend: 'iptables', prevResult: prev(['10.230.99.7/24']) };
    expect(goFirewall(ns, 'ADD', goConf, 'goctr').status).toBe(0);
    await firewallDel(args(conf({ backend: 'iptables', prevResult: prev(['10.230.99.7/24']) }), 'goctr'), deps);
    expect(save(ns, 4).filter((l) => l.includes('10.230.99.7'))).toEqual([]);
  });

  it('nftables: own table with the structure, rules by comment, CHECK/repair, DEL, GC, STATUS', async () => {
    const ns = pool.create('tscfw');
    const deps = nftDeps(ns);
    const ours = conf({ backend: 'nftables', ingressPolicy: 'isolated', prevResult: prev(['10.230.99.2/24', 'fd00:230:99::2/64']) });
    await firewallAdd(args(ours, 'ctr1'), deps);
    const c = ownerComment({ network: 'fwnet', containerId: 'ctr1', ifName: 'eth0' });
    const listing = inNs(ns, 'nft', 'list', 'table', 'inet', NFT_TABLE);
    const forward = /chain forward \{([^}]*)\}/.exec(listing)?.[1] ?? '';
    const lines = forward
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    expect(lines).toEqual([
      'type filter hook forward priority filter - 1; policy accept;',
      'jump isolation_stage_1 comment "tscni-firewall: ingress policies"',
      'jump admin comment "tscni-firewall: admin overrides"',
      `ip daddr 10.230.99.2 ct state established,related accept comment "${c}"`,
      `ip saddr 10.230.99.2 accept comment "${c}"`,
      `ip6 daddr fd00:230:99::2 ct state established,related accept comment "${c}"`,
      `ip6 saddr fd00:230:99::2 accept comment "${c}"`,
    ]);
    expect(listing).toContain('iifname "cni-br9" oifname != "cni-br9" jump isolation_stage_2');
    expect(listing).toContain('iifname "cni-br9" oifname "cni-br9" drop');
    expect(listing).toContain('oifname "cni-br9" drop');
    expect(listing).toMatch(/chain admin \{\s*\}/);

    await firewallAdd(args(ours, 'ctr1'), deps);
    expect(inNs(ns, 'nft', 'list', 'table', 'inet', NFT_TABLE)).toBe(listing);
    await expect(firewallCheck(args(ours, 'ctr1'), deps)).resolves.toBeUndefined();

    // Remove one rule by handle: CHECK names it, ADD puts back only that one.
    const handles = inNs(ns, 'nft', '-a', 'list', 'chain', 'inet', NFT_TABLE, 'forward');
    const h = /ip saddr 10\.230\.99\.2 accept comment ".*" # handle (\d+)/.exec(handles)?.[1];
    inNs(ns, 'nft', 'delete', 'rule', 'inet', NFT_TABLE, 'forward', 'handle', h ?? 'x');
    await expect(firewallCheck(args(ours, 'ctr1'), deps)).rejects.toMatchObject({ code: 999, msg: expect.stringContaining('nftables') });
    await firewallAdd(args(ours, 'ctr1'), deps);
    await expect(firewallCheck(args(ours, 'ctr1'), deps)).resolves.toBeUndefined();
    expect(inNs(ns, 'nft', 'list', 'chain', 'inet', NFT_TABLE, 'forward').split('\n').filter((l) => l.includes('ip saddr 10.230.99.2'))).toHaveLength(1);

    // Without `backend`, DEL finds the rules here; the structure stays.
    await firewallDel(args(conf({}), 'ctr1'), deps);
    const afterDel = inNs(ns, 'nft', 'list', 'table', 'inet', NFT_TABLE);
    expect(afterDel).not.toContain('tscni-firewall ');
    expect(afterDel).toContain('jump admin');

    for (const id of ['a', 'b']) await firewallAdd(args(conf({ backend: 'nftables', prevResult: prev([id === 'a' ? '10.230.99.11/24' : '10.230.99.12/24']) }), id), deps);
    await firewallGc(args(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] }), 'x'), deps);
    const afterGc = inNs(ns, 'nft', 'list', 'chain', 'inet', NFT_TABLE, 'forward');
    expect(afterGc).not.toContain('10.230.99.11');
    expect(afterGc).toContain('10.230.99.12');

    await expect(firewallStatus(args(conf({ cniVersion: '1.1.0', backend: 'nftables' }), 'x'), deps)).resolves.toBeUndefined();
  });

  it('default backend: nftables here, iptables once iptables drops forwarded packets by policy', async () => {
    const ns = pool.create('tscfw');
    const deps = nftDeps(ns);
    expect(await chooseBackend(loadFirewallConfig(conf({})), deps)).toBe('nftables');
    inNs(ns, 'iptables', '-P', 'FORWARD', 'DROP');
    expect(await chooseBackend(loadFirewallConfig(conf({})), deps)).toBe('iptables');
    expect(await chooseBackend(loadFirewallConfig(conf({ backend: 'nftables' })), deps)).toBe('nftables');
  });

  it('concurrent ADDs: iptables retries on a fresh read (one set of chains and jumps); nftables converges on one jump each', async () => {
    const ns = pool.create('tscfw');
    const deps = nftDeps(ns);
    const ids = Array.from({ length: 10 }, (_, i) => i);
    await Promise.all(ids.map((i) => firewallAdd(args(conf({ backend: 'iptables', prevResult: prev([`10.230.98.${i + 2}/24`]) }), `c${i}`), deps)));
    const v4 = save(ns, 4);
    expect(v4.filter((l) => l === ':CNI-FORWARD - [0:0]')).toHaveLength(1);
    expect(v4.filter((l) => l.startsWith('-A FORWARD'))).toHaveLength(1);
    expect(v4.filter((l) => l.includes('-j CNI-ADMIN'))).toHaveLength(1);
    expect(v4.filter((l) => l.includes('tscni-firewall'))).toHaveLength(20);

    await Promise.all(ids.map((i) => firewallAdd(args(conf({ backend: 'nftables', prevResult: prev([`10.230.97.${i + 2}/24`]) }), `n${i}`), deps)));
    await firewallAdd(args(conf({ backend: 'nftables', prevResult: prev(['10.230.97.99/24']) }), 'last'), deps);
    const forward = inNs(ns, 'nft', 'list', 'chain', 'inet', NFT_TABLE, 'forward');
    expect(forward.split('\n').filter((l) => l.includes('jump admin'))).toHaveLength(1);
    expect(forward.split('\n').filter((l) => l.includes('jump isolation_stage_1'))).toHaveLength(1);
    for (const i of ids) expect(forward).toContain(`ip saddr 10.230.97.${i + 2} accept`);
  });
});
