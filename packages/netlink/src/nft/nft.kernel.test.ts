// nftables against the real kernel, in fresh network namespaces: batches built here, checked with
// `nft -j list ruleset` (the tool users trust) and with real traffic through the DNAT.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadNative } from '@tscni/native';
import { NETLINK_NETFILTER } from '../codec/netlink.js';
import { SocketTransport } from '../transport.js';
import { NftBatch, NftBatchError } from './batch.js';
import {
  accept,
  counter,
  dnatTo,
  dnatToMap,
  drop,
  jump,
  masquerade,
  matchCtOriginalDaddr,
  matchCtState,
  matchDaddr,
  matchFibDaddrLocal,
  matchIifname,
  matchInSet,
  matchL4Dport,
  matchL4proto,
  matchL4Sport,
  matchMark,
  matchNfproto,
  matchOifname,
  matchSaddr,
  matchThDport,
  ret,
  sel,
  snatTo,
  val,
  vmap,
} from './helpers.js';
import { findRulesByComment, listChains, listElements, listRules, listSets, listTables, tableExists } from './list.js';

const isRoot = process.getuid?.() === 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function inNs(ns: string, cmd: string, args: string[]): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

type NftJson = { nftables: Array<Record<string, Record<string, unknown>>> };

function listRuleset(ns: string): NftJson {
  return JSON.parse(inNs(ns, 'nft', ['-j', 'list', 'ruleset'])) as NftJson;
}

function objects(j: NftJson, kind: string): Array<Record<string, unknown>> {
  return j.nftables.flatMap((o) => (o[kind] ? [o[kind]] : []));
}

describe.skipIf(!isRoot)('nftables batches in a fresh namespace', () => {
  const created: string[] = [];
  let ns = '';
  let transport: SocketTransport;

  function newNs(tag: string): string {
    const name = `tsc${tag}${randomBytes(3).toString('hex')}`;
    sh('ip', ['netns', 'add', name]);
    created.push(name);
    return name;
  }

  beforeEach(() => {
    ns = newNs('n');
    transport = SocketTransport.open(NETLINK_NETFILTER, `/run/netns/${ns}`, loadNative());
  });

  afterEach(() => {
    // Namespaces go even when setup failed half way (e.g. the addon could not load).
    try {
      // Unassigned when beforeEach failed before opening it.
      (transport as SocketTransport | undefined)?.close();
    } finally {
      for (const n of created.splice(0)) sh('ip', ['netns', 'del', n]);
    }
  });

  /** The portmap shape: DNAT per host port in a concatenated map, verdict map per host IP, masquerade. */
  function portmapBatch(): NftBatch {
    return new NftBatch({ family: 'ip' })
      .addTable({ name: 'cni_hostport', comment: 'CNI portmap plugin' })
      .addChain({ table: 'cni_hostport', name: 'hostports' })
      .addChain({ table: 'cni_hostport', name: 'per_ctr' })
      .addSet({
        table: 'cni_hostport',
        name: 'dnat_ports',
        key: ['inet_proto', 'inet_service'],
        data: ['ipv4_addr', 'inet_service'],
      })
      .addSet({ table: 'cni_hostport', name: 'hostip_vmap', key: ['ipv4_addr', 'inet_service'], data: 'verdict' })
      .addChain({
        table: 'cni_hostport',
        name: 'prerouting',
        base: { type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' },
      })
      .addChain({ table: 'cni_hostport', name: 'output', base: { type: 'nat', hook: 'output', priority: 'dstnat' } })
      .addChain({
        table: 'cni_hostport',
        name: 'masquerading',
        base: { type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' },
      })
      .addRule({ table: 'cni_hostport', chain: 'prerouting', exprs: [jump('hostports')] })
      .addRule({ table: 'cni_hostport', chain: 'output', exprs: [matchFibDaddrLocal(), jump('hostports')] })
      .addRule({
        table: 'cni_hostport',
        chain: 'hostports',
        exprs: [matchFibDaddrLocal(), dnatToMap('dnat_ports', [sel.l4proto, sel.thDport])],
        comment: 'cid-aaa',
      })
      .addRule({ table: 'cni_hostport', chain: 'hostports', exprs: [vmap('hostip_vmap', [sel.ipDaddr, sel.tcpDport])] })
      .addRule({
        table: 'cni_hostport',
        chain: 'per_ctr',
        exprs: [matchL4Dport('tcp', 9090), counter(), dnatTo('10.1.0.2', 80)],
        comment: 'cid-aaa',
      })
      .addRule({
        table: 'cni_hostport',
        chain: 'masquerading',
        exprs: [matchDaddr('10.1.0.2'), masquerade()],
        comment: 'cid-aaa',
      })
      .addElements({
        table: 'cni_hostport',
        set: 'dnat_ports',
        elements: [
          { key: val.concat(val.proto('tcp'), val.port(8080)), data: { value: val.concat(val.ip('10.1.0.2'), val.port(80)) } },
          { key: val.concat(val.proto('udp'), val.port(5353)), data: { value: val.concat(val.ip('10.1.0.2'), val.port(53)) } },
        ],
      })
      .addElements({
        table: 'cni_hostport',
        set: 'hostip_vmap',
        elements: [{ key: val.concat(val.ip('192.0.2.1'), val.port(9090)), data: { verdict: { code: 'jump', chain: 'per_ctr' } } }],
      });
  }

  it('creates a DNAT table with maps, verdict maps and masquerade that nft lists as written', async () => {
    await portmapBatch().commit(transport);
    const j = listRuleset(ns);
    const tables = objects(j, 'table');
    expect(tables).toEqual([expect.objectContaining({ family: 'ip', name: 'cni_hostport' })]);
    const maps = objects(j, 'map');
    const dnat = maps.find((m) => m['name'] === 'dnat_ports');
    // nft 1.0.6 prints a concatenated map value as one string, also for maps it created itself.
    expect(dnat).toMatchObject({ type: ['inet_proto', 'inet_service'], map: 'ipv4_addr . inet_service' });
    expect(dnat?.['elem']).toHaveLength(2);
    const vm = maps.find((m) => m['name'] === 'hostip_vmap');
    expect(vm).toMatchObject({ type: ['ipv4_addr', 'inet_service'], map: 'verdict' });
    const rules = objects(j, 'rule');
    expect(rules.filter((r) => r['comment'] === 'cid-aaa').map((r) => r['chain'])).toEqual(['hostports', 'per_ctr', 'masquerading']);
    const text = inNs(ns, 'nft', ['list', 'ruleset']);
    // nft 1.0.6 leaves table comments out of its JSON; the text form shows them.
    expect(text).toContain('comment "CNI portmap plugin"');
    expect(text).toContain('fib daddr type local dnat ip to meta l4proto . th dport map @dnat_ports comment "cid-aaa"');
    expect(text).toContain('ip daddr . tcp dport vmap @hostip_vmap');
    expect(text).toContain('tcp dport 9090 counter packets 0 bytes 0 dnat to 10.1.0.2:80 comment "cid-aaa"');
    expect(text).toContain('ip daddr 10.1.0.2 masquerade comment "cid-aaa"');
    expect(text).toContain('192.0.2.1 . 9090 : jump per_ctr');

    // Our own decoders read back the same objects.
    expect(await tableExists(transport, { family: 'ip', name: 'cni_hostport' })).toBe(true);
    expect((await listTables(transport, { family: 'ip' })).map((t) => t.name)).toEqual(['cni_hostport']);
    const chains = await listChains(transport, { family: 'ip', table: 'cni_hostport' });
    expect(chains.find((c) => c.name === 'output')?.base).toEqual({ type: 'nat', hook: 'output', priority: -100, policy: 'accept' });
    const sets = await listSets(transport, { family: 'ip', table: 'cni_hostport' });
    expect(sets.map((s) => s.name).sort()).toEqual(['dnat_ports', 'hostip_vmap']);
    const elems = await listElements(transport, { family: 'ip', table: 'cni_hostport', set: 'hostip_vmap' });
    expect(elems).toEqual([{ key: val.concat(val.ip('192.0.2.1'), val.port(9090)), data: { verdict: { code: 'jump', chain: 'per_ctr' } } }]);
  });

  it('deletes rules found by comment (by handle), map elements, then the table, leaving nothing', async () => {
    await portmapBatch().commit(transport);
    const found = [
      ...(await findRulesByComment(transport, { family: 'ip', table: 'cni_hostport', chain: 'hostports' }, 'cid-aaa')),
      ...(await findRulesByComment(transport, { family: 'ip', table: 'cni_hostport', chain: 'per_ctr' }, 'cid-aaa')),
      ...(await findRulesByComment(transport, { family: 'ip', table: 'cni_hostport', chain: 'masquerading' }, (c) => c.startsWith('cid-'))),
    ];
    expect(found).toHaveLength(3);
    const del = new NftBatch({ family: 'ip' });
    for (const r of found) del.deleteRule({ table: r.table, chain: r.chain, handle: r.handle ?? 0n });
    del.deleteElements({
      table: 'cni_hostport',
      set: 'dnat_ports',
      elements: [{ key: val.concat(val.proto('tcp'), val.port(8080)) }],
    });
    await del.commit(transport);
    let j = listRuleset(ns);
    expect(objects(j, 'rule').filter((r) => r['comment'] === 'cid-aaa')).toEqual([]);
    expect(objects(j, 'rule')).toHaveLength(3); // two jumps and the vmap rule remain
    expect((await listElements(transport, { family: 'ip', table: 'cni_hostport', set: 'dnat_ports' })).length).toBe(1);
    // Deleting what is already gone: plain delete fails, the destroy variant (Linux 6.3+) does not.
    const again = new NftBatch({ family: 'ip' }).deleteRule({ table: 'cni_hostport', chain: 'hostports', handle: found[0]?.handle ?? 0n });
    await expect(again.commit(transport)).rejects.toMatchObject({ code: 'ENOENT', index: 0 });
    await new NftBatch({ family: 'ip' })
      .deleteRule({ table: 'cni_hostport', chain: 'hostports', handle: found[0]?.handle ?? 0n }, { ifExists: true })
      .commit(transport);

    await new NftBatch().deleteTable({ family: 'ip', name: 'cni_hostport' }).commit(transport);
    j = listRuleset(ns);
    expect(j.nftables.filter((o) => !o['metainfo'])).toEqual([]);
    expect(await tableExists(transport, { family: 'ip', name: 'cni_hostport' })).toBe(false);
    expect(await listRules(transport, { family: 'ip', table: 'cni_hostport' })).toEqual([]);
    await new NftBatch().deleteTable({ family: 'ip', name: 'cni_hostport' }, { ifExists: true }).commit(transport);
  });

  it('applies nothing from a batch with one bad message and names that message', async () => {
    const b = new NftBatch({ family: 'inet' })
      .addTable({ name: 'tscbad' })
      .addChain({ table: 'tscbad', name: 'c' })
      .addRule({ table: 'tscbad', chain: 'c', exprs: [accept()], comment: 'good' })
      .addRule({ table: 'tscbad', chain: 'c', exprs: [jump('nonexistent')], comment: 'bad' })
      .addRule({ table: 'tscbad', chain: 'c', exprs: [accept()], comment: 'after' });
    const err = await b.commit(transport).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NftBatchError);
    const e = err as NftBatchError;
    expect(e.index).toBe(3);
    expect(e.operation).toBe('add rule inet tscbad c');
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    // nf_tables points at the offending attribute (NFTA_VERDICT_CHAIN) in its extended ack.
    expect(e.extAck?.offset).toBeGreaterThan(0);
    expect(listRuleset(ns).nftables.filter((o) => !o['metainfo'])).toEqual([]);
  });

  it('every helper is accepted by the kernel and reads back in nft as the phrase it stands for', async () => {
    const T = 'tscall';
    await new NftBatch({ family: 'inet' })
      .addTable({ name: T })
      .addSet({ table: T, name: 'blocked4', key: ['ipv4_addr'] })
      .addSet({ table: T, name: 'v6map', key: ['ipv6_addr', 'inet_service'], data: 'verdict' })
      .addSet({ table: T, name: 'ifs', key: ['ifname'], comment: 'interfaces' })
      .addSet({ table: T, name: 'marks', key: ['mark'] })
      .addChain({ table: T, name: 'fwd', base: { type: 'filter', hook: 'forward', priority: 'filter', policy: 'accept' } })
      .addChain({ table: T, name: 'pre', base: { type: 'nat', hook: 'prerouting', priority: 'dstnat' } })
      .addChain({ table: T, name: 'post', base: { type: 'nat', hook: 'postrouting', priority: 'srcnat' } })
      .addRule({
        table: T,
        chain: 'fwd',
        exprs: [matchIifname('lo', 'neq'), matchSaddr('fd00::/64'), matchL4Dport('tcp', [1000, 2000], 'neq'), counter(), accept()],
      })
      .addRule({ table: T, chain: 'fwd', exprs: [matchMark(0x10, { mask: 0xf0 }), matchCtState(['invalid', 'untracked'], 'neq'), drop()] })
      .addRule({ table: T, chain: 'fwd', exprs: [matchDaddr('10.0.0.0/9'), matchL4Sport('udp', 53), accept()] })
      .addRule({ table: T, chain: 'fwd', exprs: [matchInSet('blocked4', [sel.ipSaddr], { op: 'neq' }), drop()] })
      .addRule({ table: T, chain: 'fwd', exprs: [vmap('v6map', [sel.ip6Daddr, sel.tcpDport])] })
      .addRule({ table: T, chain: 'fwd', exprs: [matchThDport(9999), ret()] })
      .addRule({ table: T, chain: 'fwd', exprs: [matchL4proto('icmp'), accept()] })
      .addRule({ table: T, chain: 'fwd', exprs: [matchCtOriginalDaddr('fd00::9'), accept()] })
      .addRule({ table: T, chain: 'fwd', exprs: [matchInSet('ifs', [sel.oifname]), matchInSet('marks', [sel.mark]), accept()] })
      .addRule({ table: T, chain: 'fwd', exprs: [matchNfproto('ipv6'), matchDaddr('fd00::1', 'neq'), accept()] })
      .addRule({ table: T, chain: 'pre', exprs: [matchDaddr('fd00::1'), matchL4Dport('tcp', 80), dnatTo('fd00::2', 8080)] })
      .addRule({ table: T, chain: 'pre', exprs: [matchL4Dport('udp', 53), dnatTo('10.0.0.2')] })
      .addRule({ table: T, chain: 'post', exprs: [matchOifname('eth0'), masquerade({ fullyRandom: true, persistent: true })] })
      .addRule({ table: T, chain: 'post', exprs: [matchL4Dport('tcp', 25), snatTo('192.0.2.1', [1000, 2000])] })
      .addElements({ table: T, set: 'ifs', elements: [{ key: val.ifname('eth0') }] })
      .addElements({ table: T, set: 'marks', elements: [{ key: val.mark(0x42) }] })
      .addElements({
        table: T,
        set: 'v6map',
        elements: [{ key: val.concat(val.ip('fd00::5'), val.port(443)), data: { verdict: { code: 'drop' } } }],
      })
      .commit(transport);
    const lines = inNs(ns, 'nft', ['list', 'ruleset'])
      .split('\n')
      .map((l) => l.trim());
    for (const want of [
      'iifname != "lo" ip6 saddr fd00::/64 tcp dport != 1000-2000 counter packets 0 bytes 0 accept',
      // "none of these states": (state & bits) == 0
      'meta mark & 0x000000f0 == 0x00000010 ct state ! invalid,untracked drop',
      'ip daddr 10.0.0.0/9 udp sport 53 accept',
      'ip saddr != @blocked4 drop',
      'ip6 daddr . tcp dport vmap @v6map',
      'th dport 9999 return',
      'meta l4proto icmp accept',
      'ct original ip6 daddr fd00::9 accept',
      'oifname @ifs meta mark @marks accept',
      'ip6 daddr != fd00::1 accept',
      'ip6 daddr fd00::1 tcp dport 80 dnat ip6 to [fd00::2]:8080',
      'udp dport 53 dnat ip to 10.0.0.2',
      'oifname "eth0" masquerade fully-random,persistent',
      'tcp dport 25 snat ip to 192.0.2.1:1000-2000',
      'type ifname',
      'comment "interfaces"',
      'elements = { "eth0" }',
      'elements = { 0x00000042 }',
      'elements = { fd00::5 . 443 : drop }',
    ]) {
      expect(lines).toContain(want);
    }
    // And our decoder reads every rule back without an unmodelled expression.
    for (const r of await listRules(transport, { family: 'inet', table: T })) {
      for (const e of r.exprs) expect(e.kind).not.toBe('raw');
    }
  });

  it('a portmapped TCP port reaches the container through DNAT, masqueraded', async () => {
    // host <-veth-> container (10.1.0.0/24) and client <-veth-> host (192.0.2.0/24)
    const host = ns;
    const ctr = newNs('c');
    const cli = newNs('x');
    const tag = randomBytes(2).toString('hex');
    const [hc, cc, hx, xx] = [`h${tag}c`, `c${tag}h`, `h${tag}x`, `x${tag}h`];
    sh('ip', ['-n', host, 'link', 'add', hc, 'type', 'veth', 'peer', 'name', cc, 'netns', ctr]);
    sh('ip', ['-n', host, 'link', 'add', hx, 'type', 'veth', 'peer', 'name', xx, 'netns', cli]);
    sh('ip', ['-n', host, 'addr', 'add', '10.1.0.1/24', 'dev', hc]);
    sh('ip', ['-n', host, 'addr', 'add', '192.0.2.1/24', 'dev', hx]);
    sh('ip', ['-n', ctr, 'addr', 'add', '10.1.0.2/24', 'dev', cc]);
    sh('ip', ['-n', cli, 'addr', 'add', '192.0.2.2/24', 'dev', xx]);
    for (const [n, d] of [[host, hc], [host, hx], [ctr, cc], [cli, xx], [host, 'lo'], [ctr, 'lo'], [cli, 'lo']] as const) {
      sh('ip', ['-n', n, 'link', 'set', d, 'up']);
    }
    sh('ip', ['-n', ctr, 'route', 'add', 'default', 'via', '10.1.0.1']);
    inNs(host, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await portmapBatch().commit(transport);

    const server: ChildProcess = spawn(
      'ip',
      ['netns', 'exec', ctr, 'socat', 'TCP-LISTEN:80,reuseaddr,fork', 'SYSTEM:echo from $SOCAT_PEERADDR'],
      { stdio: 'ignore' },
    );
    try {
      let answer = '';
      for (let i = 0; i < 50 && !answer.includes('from'); i++) {
        try {
          answer = inNs(cli, 'socat', ['-T', '2', '-', 'TCP:192.0.2.1:8080,connect-timeout=1']);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // Reached 10.1.0.2:80 through 192.0.2.1:8080, and the container saw the host's address.
      expect(answer.trim()).toBe('from 10.1.0.1');
      // The verdict map path: 192.0.2.1:9090 jumps to per_ctr, which DNATs to :80 and counts.
      const viaVmap = inNs(cli, 'socat', ['-T', '2', '-', 'TCP:192.0.2.1:9090,connect-timeout=1']);
      expect(viaVmap.trim()).toBe('from 10.1.0.1');
      const perCtr = (await listRules(transport, { family: 'ip', table: 'cni_hostport', chain: 'per_ctr' }))[0];
      const c = perCtr?.exprs.find((e) => e.kind === 'counter');
      expect(c && c.kind === 'counter' ? c.packets : 0n).toBeGreaterThan(0n);
    } finally {
      server.kill();
    }
  });
});
