// Kernel test for ipMasq in nftables, in a fresh namespace (so the host's ruleset is untouched):
// the reference-compatible table/chain layout, one rule per address read back with `nft -j`,
// re-ADD replacing its own rules, teardown by owner, and GC keeping only valid attachments.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { NetnsPool, netfilterIn } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { IPMASQ_CHAIN, IPMASQ_TABLE, commentForInstance, gcIpMasq, hashForInstance, setupIpMasq, teardownIpMasq } from './ipmasq.js';

const pool = new NetnsPool();
afterEach(() => pool.cleanup());

interface NftRuleJson {
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

function rules(ns: TestNetns, chain: string): NftRuleJson[] {
  const out = execFileSync('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'chain', 'inet', IPMASQ_TABLE, chain], { encoding: 'utf8' });
  const items = (JSON.parse(out) as { nftables: Array<{ rule?: NftRuleJson }> }).nftables;
  return items.flatMap((i) => (i.rule ? [i.rule] : []));
}

function listing(ns: TestNetns): string {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', IPMASQ_TABLE], { encoding: 'utf8' });
}

describe('ipMasq over nftables', () => {
  it('hashes like the reference (sha512 hex, 16 characters each)', () => {
    const sha = (s: string) => execFileSync('sha512sum', { input: s, encoding: 'utf8' }).slice(0, 16);
    const owner = { network: 'mynet', ifName: 'eth0', containerId: 'abc' };
    expect(hashForInstance(owner)).toBe(`${sha('mynet')}-${sha('eth0:abc')}`);
    expect(commentForInstance(owner)).toBe(`${sha('mynet')}-${sha('eth0:abc')}, net: mynet, if: eth0, id: abc`);
    expect(commentForInstance({ ...owner, containerId: 'x'.repeat(200) })).toHaveLength(128);
  });

  it('sets up, replaces, tears down and garbage-collects per attachment', async () => {
    const ns = pool.create();
    const open = netfilterIn(ns);
    const a = { network: 'n1', ifName: 'eth0', containerId: 'ctr-a' };
    const b = { network: 'n1', ifName: 'eth0', containerId: 'ctr-b' };
    await setupIpMasq(open, ['10.88.0.5/16', 'fd00:88::5/64'], a);
    const base = rules(ns, 'postrouting').map((r) => r.handle);
    await setupIpMasq(open, ['10.88.0.6/16'], b);
    // The base chain was in place, so the second ADD left it alone (same rule handles).
    expect(rules(ns, 'postrouting').map((r) => r.handle)).toEqual(base);

    const text = listing(ns);
    expect(text).toMatch(/chain postrouting \{\s+type nat hook postrouting priority srcnat; policy accept;\s+ip daddr 224\.0\.0\.0\/4 return\s+ip6 daddr ff00::\/8 return\s+goto masq_checks\s+\}/);
    expect(text).toContain(`ip saddr 10.88.0.5 ip daddr != 10.88.0.0/16 masquerade comment "${commentForInstance(a)}"`);
    expect(text).toContain(`ip6 saddr fd00:88::5 ip6 daddr != fd00:88::/64 masquerade comment "${commentForInstance(a)}"`);
    expect(text).toContain(`ip saddr 10.88.0.6 ip daddr != 10.88.0.0/16 masquerade comment "${commentForInstance(b)}"`);

    // A repeated ADD of the same attachment replaces its rules; postrouting keeps exactly three.
    await setupIpMasq(open, ['10.88.0.7/16'], a);
    expect(rules(ns, IPMASQ_CHAIN).map((r) => r.comment)).toEqual([commentForInstance(b), commentForInstance(a)]);
    expect(rules(ns, 'postrouting').map((r) => r.handle)).toEqual(base);

    // A base chain that someone changed is rewritten by the next ADD, to exactly three rules again.
    execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'delete', 'rule', 'inet', IPMASQ_TABLE, 'postrouting', 'handle', String(base[1])]);
    execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'add', 'rule', 'inet', IPMASQ_TABLE, 'postrouting', 'ip', 'daddr', '10.0.0.0/8', 'return']);
    await setupIpMasq(open, ['10.88.0.7/16'], a);
    expect(listing(ns)).toMatch(/chain postrouting \{\s+type nat hook postrouting priority srcnat; policy accept;\s+ip daddr 224\.0\.0\.0\/4 return\s+ip6 daddr ff00::\/8 return\s+goto masq_checks\s+\}/);

    await teardownIpMasq(open, a);
    expect(rules(ns, IPMASQ_CHAIN).map((r) => r.comment)).toEqual([commentForInstance(b)]);
    await teardownIpMasq(open, a);

    const other = { network: 'n2', ifName: 'eth0', containerId: 'ctr-c' };
    await setupIpMasq(open, ['10.99.0.2/24'], other);
    await gcIpMasq(open, 'n1', [{ containerID: 'ctr-z', ifname: 'eth0' }]);
    // n1's rules for ctr-b went; n2's rules are another network's business.
    expect(rules(ns, IPMASQ_CHAIN).map((r) => r.comment)).toEqual([commentForInstance(other)]);
    await gcIpMasq(open, 'n2', [{ containerID: 'ctr-c', ifname: 'eth0' }]);
    expect(rules(ns, IPMASQ_CHAIN)).toHaveLength(1);
  });

  it('teardown and GC are no-ops when the table was never made', async () => {
    const ns = pool.create();
    await teardownIpMasq(netfilterIn(ns), { network: 'n', ifName: 'eth0', containerId: 'c' });
    await gcIpMasq(netfilterIn(ns), 'n', []);
    const tables = execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'tables'], { encoding: 'utf8' });
    expect(tables.trim()).toBe('');
  });
});
