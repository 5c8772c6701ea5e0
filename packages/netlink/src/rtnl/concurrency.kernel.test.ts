// Kernel tests: many operations in flight across many namespaces (the JS thread must never change
// namespace, every object must land where it was asked), and a create/delete stress for leaks.
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readlinkSync } from 'node:fs';
import { RtNetlink } from './rtnetlink.js';
import { netnsInode } from '../netns.js';
import { readSysctl, writeSysctl } from '../sysctl.js';
import { NetnsPool, ipJson, links, runId } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';

const pool = new NetnsPool();
afterEach(() => pool.cleanup());

const ownNetns = (): string => readlinkSync('/proc/self/ns/net');
const threadNetns = (): string => readlinkSync('/proc/thread-self/ns/net');

describe('concurrency', () => {
  it('200 concurrent operations across 20 namespaces land in the right namespace', async () => {
    const namespaces: TestNetns[] = Array.from({ length: 20 }, () => pool.create('tscc'));
    const inode = netnsInode();
    const procLink = ownNetns();
    const expected = new Map<string, string[]>(namespaces.map((ns) => [ns.name, []]));
    const changed: string[] = [];

    const op = async (i: number): Promise<void> => {
      const ns = namespaces[i % namespaces.length]!;
      const name = `c${runId}${i}`;
      const rt = RtNetlink.open(ns.path);
      try {
        // Alternate kinds so links, addresses and sysctl writes are all in flight at once.
        if (i % 2 === 0) {
          await rt.createLink({ name, kind: 'veth', peer: { name: `p${runId}${i}` }, up: true });
          expected.get(ns.name)!.push(name, `p${runId}${i}`);
        } else {
          await rt.createLink({ name, kind: 'ifb' });
          expected.get(ns.name)!.push(name);
        }
        await rt.addAddress(name, `10.${i >> 8}.${i & 0xff}.1/32`);
        writeSysctl(`net/ipv4/conf/${name}/forwarding`, '1', ns.path);
        if (readSysctl(`net/ipv4/conf/${name}/forwarding`, ns.path) !== '1') changed.push(`${name}: sysctl`);
      } finally {
        rt.close();
      }
      if (netnsInode() !== inode || ownNetns() !== procLink || threadNetns() !== procLink) {
        changed.push(`after op ${i}`);
      }
    };
    await Promise.all(Array.from({ length: 200 }, (_, i) => op(i)));

    expect(changed).toEqual([]);
    for (const ns of namespaces) {
      const names = links(ns).map((l) => l.ifname).filter((n) => n !== 'lo').sort();
      expect(names).toEqual(expected.get(ns.name)!.sort());
      const addrs = ipJson<Array<{ ifname: string; addr_info: Array<{ local: string }> }>>(ns, 'addr', 'show');
      for (const a of addrs) {
        if (!a.ifname.startsWith('c')) continue;
        const i = Number(a.ifname.slice(1 + runId.length));
        expect(a.addr_info.map((x) => x.local)).toEqual([`10.${i >> 8}.${i & 0xff}.1`]);
      }
    }
    // Nothing leaked into our own namespace.
    expect(links(null).some((l) => l.ifname.startsWith(`c${runId}`))).toBe(false);
  }, 120_000);
});

describe('stress', () => {
  // Bound: RSS may grow by at most 64 MiB over 1,000 create+delete cycles (it is a few MiB in
  // practice); a per-request leak of a reply buffer would exceed it.
  const RSS_BOUND = 64 * 1024 * 1024;

  it('creates and deletes 1,000 veth pairs without leaking descriptors or memory', async () => {
    const ns = pool.create('tscs');
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const rt = RtNetlink.open(ns.path);
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    try {
      for (let i = 0; i < 1000; i++) {
        const a = `s${runId}${i}`;
        await rt.createLink({ name: a, kind: 'veth', peer: { name: `t${runId}${i}` } });
        await rt.deleteLink(a);
      }
    } finally {
      rt.close();
    }
    const ms = performance.now() - t0;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    const fdsAfter = readdirSync('/proc/self/fd').length;
    console.info(`stress: 1000 veth create+delete in ${ms.toFixed(0)} ms, rss growth ${(rssGrowth / 1048576).toFixed(1)} MiB`);
    expect(fdsAfter).toBe(fdsBefore);
    expect(rssGrowth).toBeLessThan(RSS_BOUND);
    expect(links(ns).map((l) => l.ifname)).toEqual(['lo']);
    // Deleting a veth waits for an RCU grace period (~20 ms here), so this takes tens of seconds.
  }, 240_000);
});
