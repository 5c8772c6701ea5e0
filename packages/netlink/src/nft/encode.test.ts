// Encoders against batches nft 1.0.6 sent to the kernel (fixtures/*.json, captured with strace by
// fixtures/capture.mjs), and decoders against the kernel's own dump replies.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessages } from '../codec/message.js';
import type { NlMessage } from '../codec/message.js';
import { NlWriter } from '../codec/writer.js';
import { NFT_MSG, nftMsgType } from './consts.js';
import { NftBatch } from './batch.js';
import {
  decodeChain,
  decodeRule,
  decodeSet,
  decodeSetElems,
  decodeTable,
  encodeChain,
  encodeRule,
  encodeSetElems,
  encodeTable,
} from './objects.js';
import {
  accept,
  counter,
  dnatTo,
  dnatToMap,
  drop,
  goTo,
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
  matchMark,
  matchNfproto,
  matchOifname,
  matchSaddr,
  ret,
  sel,
  snatTo,
  val,
  vmap,
} from './helpers.js';

interface Fixture {
  readonly command: string;
  readonly sent: readonly string[];
  readonly received: readonly string[];
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixture;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function msg(h: string): NlMessage {
  const m = decodeMessages(Uint8Array.from(Buffer.from(h, 'hex')))[0];
  if (m === undefined) throw new TypeError('empty fixture message');
  return m;
}

function splitHex(buf: Uint8Array): string[] {
  return decodeMessages(buf).map((m) => {
    const start = m.payload.byteOffset - buf.byteOffset - 16;
    return hex(buf.subarray(start, start + m.header.len));
  });
}

function build(body: (w: NlWriter) => void): string {
  const w = new NlWriter();
  body(w);
  return hex(w.finish());
}

describe('batches match what nft sends', () => {
  it('portmap DNAT + masquerade ruleset (ip family), byte for byte', () => {
    const b = new NftBatch({ family: 'ip' })
      .addTable({ name: 'tscfx', comment: 'CNI portmap plugin' })
      .addChain({ table: 'tscfx', name: 'hostports' })
      .addChain({ table: 'tscfx', name: 'hostip_hostports' })
      .addChain({ table: 'tscfx', name: 'spare' })
      .addChain({
        table: 'tscfx',
        name: 'prerouting',
        base: { type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' },
      })
      .addChain({ table: 'tscfx', name: 'output', base: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' } })
      .addChain({
        table: 'tscfx',
        name: 'masquerading',
        base: { type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' },
      })
      .addRule({ table: 'tscfx', chain: 'prerouting', exprs: [jump('hostip_hostports')] })
      .addRule({ table: 'tscfx', chain: 'prerouting', exprs: [jump('hostports')] })
      .addRule({ table: 'tscfx', chain: 'output', exprs: [jump('hostip_hostports')] })
      .addRule({ table: 'tscfx', chain: 'output', exprs: [matchFibDaddrLocal(), jump('hostports')] })
      .addRule({
        table: 'tscfx',
        chain: 'hostports',
        exprs: [matchL4Dport('tcp', 8080), dnatTo('10.1.0.2', 80)],
        comment: 'cid-1',
      })
      .addRule({
        table: 'tscfx',
        chain: 'hostip_hostports',
        exprs: [matchDaddr('192.0.2.1'), matchL4Dport('udp', 5353), dnatTo('10.1.0.2', 53)],
        comment: 'cid-1',
      })
      .addRule({
        table: 'tscfx',
        chain: 'masquerading',
        exprs: [matchSaddr('10.1.0.2'), matchDaddr('10.1.0.2'), masquerade()],
        comment: 'cid-1',
      })
      .addRule({
        table: 'tscfx',
        chain: 'masquerading',
        exprs: [matchSaddr('127.0.0.1'), matchDaddr('10.1.0.2'), masquerade()],
        comment: 'cid-1',
      });
    expect(splitHex(b.encode({ ack: false }))).toEqual(fixture('portmap-dnat').sent);
  });

  it('bridge ipMasq ruleset (inet family, comments, prefixes, nfproto dependencies), byte for byte', () => {
    const b = new NftBatch({ family: 'inet' })
      .addTable({ name: 'tscmasq', comment: 'Masquerading for plugins' })
      .addChain({
        table: 'tscmasq',
        name: 'masq_checks',
        comment: 'Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet',
      })
      .addChain({
        table: 'tscmasq',
        name: 'postrouting',
        base: { type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' },
      })
      .addRule({ table: 'tscmasq', chain: 'postrouting', exprs: [matchDaddr('224.0.0.0/4'), ret()] })
      .addRule({ table: 'tscmasq', chain: 'postrouting', exprs: [matchDaddr('ff00::/8'), ret()] })
      .addRule({ table: 'tscmasq', chain: 'postrouting', exprs: [goTo('masq_checks')] })
      .addRule({
        table: 'tscmasq',
        chain: 'masq_checks',
        exprs: [matchSaddr('10.88.0.5'), matchDaddr('10.88.0.0/16', 'neq'), masquerade()],
        comment: 'abc, net: n, if: eth0, id: c1',
      })
      .addRule({
        table: 'tscmasq',
        chain: 'masq_checks',
        exprs: [matchSaddr('fd00::5'), matchDaddr('fd00::/64', 'neq'), masquerade()],
        comment: 'abc6',
      });
    expect(splitHex(b.encode({ ack: false }))).toEqual(fixture('ipmasq-inet').sent);
  });

  it('firewall-style matches (iifname, ct state, mark, ct original daddr, snat, masquerade ports), byte for byte', () => {
    const b = new NftBatch({ family: 'inet' })
      .addTable({ name: 'tscfw' })
      .addChain({ table: 'tscfw', name: 'forward', base: { type: 'filter', hook: 'forward', priority: 'filter', policy: 'drop' } })
      .addChain({ table: 'tscfw', name: 'nat_out', base: { type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' } })
      .addRule({
        table: 'tscfw',
        chain: 'forward',
        exprs: [matchIifname('eth0'), matchOifname('cni0'), matchCtState(['established', 'related']), accept()],
      })
      .addRule({ table: 'tscfw', chain: 'forward', exprs: [matchMark(1), counter(), drop()] })
      .addRule({ table: 'tscfw', chain: 'forward', exprs: [matchCtOriginalDaddr('10.0.0.1'), counter(), accept()] })
      .addRule({ table: 'tscfw', chain: 'forward', exprs: [matchL4proto('udp'), matchL4Dport('udp', 53), accept()] })
      .addRule({ table: 'tscfw', chain: 'forward', exprs: [matchNfproto('ipv4'), matchL4Dport('tcp', 22), drop()] })
      .addRule({ table: 'tscfw', chain: 'nat_out', exprs: [matchOifname('eth0'), snatTo('192.0.2.10')] })
      .addRule({ table: 'tscfw', chain: 'nat_out', exprs: [matchL4Dport('tcp', 8080), snatTo('192.0.2.10', 9000)] })
      .addRule({ table: 'tscfw', chain: 'nat_out', exprs: [matchL4Dport('tcp', 81), masquerade({ ports: [1024, 2048] })] });
    // An explicit `meta l4proto udp` / `meta nfproto ipv4` satisfies the dependency of the match
    // after it, so it is not emitted twice (as nft does).
    expect(splitHex(b.encode({ ack: false }))).toEqual(fixture('firewall').sent);
  });

  it('sets, maps and verdict maps: rules byte for byte, set messages equal once decoded', () => {
    const b = new NftBatch({ family: 'ip' })
      .addTable({ name: 'tscmap' })
      .addChain({ table: 'tscmap', name: 'per_ctr' })
      .addChain({
        table: 'tscmap',
        name: 'prerouting',
        base: { type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' },
      })
      .addSet({ table: 'tscmap', name: 'dnat_ports', key: ['inet_proto', 'inet_service'], data: ['ipv4_addr', 'inet_service'] })
      .addSet({ table: 'tscmap', name: 'hostport_vmap', key: ['ipv4_addr', 'inet_service'], data: 'verdict' })
      .addSet({ table: 'tscmap', name: 'blocked', key: ['ipv4_addr'] })
      .addRule({
        table: 'tscmap',
        chain: 'prerouting',
        exprs: [matchFibDaddrLocal(), dnatToMap('dnat_ports', [sel.l4proto, sel.thDport])],
        comment: 'cid-2',
      })
      .addRule({ table: 'tscmap', chain: 'prerouting', exprs: [vmap('hostport_vmap', [sel.ipDaddr, sel.tcpDport])] })
      .addRule({ table: 'tscmap', chain: 'prerouting', exprs: [matchInSet('blocked', [sel.ipSaddr]), drop()] });
    const theirs = fixture('maps').sent;
    const ours = splitHex(b.encode({ ack: false }));
    // nft orders the objects differently (chains, then sets, then rules) and adds "typeof" user data
    // for concatenated set types; the kernel does not care about either. Compare per object kind.
    const byType = (xs: readonly string[], type: number) => xs.filter((h) => msg(h).header.type === nftMsgType(type));
    expect(byType(ours, NFT_MSG.NEWTABLE)).toEqual(byType(theirs, NFT_MSG.NEWTABLE));
    expect(byType(ours, NFT_MSG.NEWCHAIN)).toEqual(byType(theirs, NFT_MSG.NEWCHAIN));
    expect(byType(ours, NFT_MSG.NEWRULE)).toEqual(byType(theirs, NFT_MSG.NEWRULE));
    const oursSets = byType(ours, NFT_MSG.NEWSET).map((h) => decodeSet(msg(h)));
    const theirSets = byType(theirs, NFT_MSG.NEWSET).map((h) => decodeSet(msg(h)));
    expect(oursSets).toEqual(theirSets);
    // The plain set carries no concatenation, so its user data is nft's exactly.
    expect(byType(ours, NFT_MSG.NEWSET)[2]).toBe(byType(theirs, NFT_MSG.NEWSET)[2]);
    expect(theirSets.map((s) => s.flags)).toEqual([0, 0, 0]);
    expect(theirSets[0]).toMatchObject({ key: ['inet_proto', 'inet_service'], data: ['ipv4_addr', 'inet_service'], keyLen: 8, dataLen: 8 });
    expect(theirSets[1]).toMatchObject({ key: ['ipv4_addr', 'inet_service'], data: 'verdict' });
  });

  it('set elements: map values, verdict map jumps, plain keys, deletion', () => {
    const cases: Array<[string, string]> = [
      [
        'map-add-element',
        build((w) =>
          encodeSetElems(w, NFT_MSG.NEWSETELEM, 0x401, {
            family: 'ip',
            table: 'tscmap',
            set: 'dnat_ports',
            setId: 1,
            elements: [
              { key: val.concat(val.proto('tcp'), val.port(8080)), data: { value: val.concat(val.ip('10.1.0.2'), val.port(80)) } },
              { key: val.concat(val.proto('udp'), val.port(53)), data: { value: val.concat(val.ip('10.1.0.3'), val.port(5353)) } },
            ],
          }),
        ),
      ],
      [
        'vmap-add-element',
        build((w) =>
          encodeSetElems(w, NFT_MSG.NEWSETELEM, 0x401, {
            family: 'ip',
            table: 'tscmap',
            set: 'hostport_vmap',
            setId: 2,
            elements: [{ key: val.concat(val.ip('192.0.2.1'), val.port(80)), data: { verdict: { code: 'jump', chain: 'per_ctr' } } }],
          }),
        ),
      ],
      [
        'set-add-element',
        build((w) =>
          encodeSetElems(w, NFT_MSG.NEWSETELEM, 0x401, {
            family: 'ip',
            table: 'tscmap',
            set: 'blocked',
            setId: 3,
            elements: [{ key: val.ip('198.51.100.7') }],
          }),
        ),
      ],
      [
        'map-del-element',
        build((w) =>
          encodeSetElems(w, NFT_MSG.DELSETELEM, 0x1, {
            family: 'ip',
            table: 'tscmap',
            set: 'dnat_ports',
            elements: [{ key: val.concat(val.proto('tcp'), val.port(8080)) }],
          }),
        ),
      ],
    ];
    for (const [name, ours] of cases) {
      const sent = fixture(name).sent;
      expect(sent).toHaveLength(3); // BEGIN, the element message, END
      expect(ours, name).toBe(sent[1]);
    }
  });

  it('deletions: rule by handle, flush chain, chain, table', () => {
    const handle = decodeRule(msg(fixture('delete-rule-handle').sent[1] ?? '')).handle;
    expect(typeof handle).toBe('bigint');
    const b = new NftBatch({ family: 'ip' })
      .deleteRule({ table: 'tscfx', chain: 'hostports', handle: handle ?? 0n })
      .flushChain({ table: 'tscfx', name: 'masquerading' })
      .deleteChain({ table: 'tscfx', name: 'spare' })
      .deleteTable({ name: 'tscfx' });
    const [, ...rest] = splitHex(b.encode({ ack: false }));
    const expected = ['delete-rule-handle', 'flush-chain', 'delete-chain', 'delete-table'].map((n) => fixture(n).sent[1]);
    expect(rest.slice(0, 4)).toEqual(expected);
  });
});

describe('decoders', () => {
  const batches = ['portmap-dnat', 'ipmasq-inet', 'firewall', 'maps'];

  it('decode -> encode reproduces every table, chain and rule message nft sent', () => {
    let n = 0;
    for (const name of batches) {
      for (const h of fixture(name).sent) {
        const m = msg(h);
        const flags = m.header.flags;
        let again: string | undefined;
        if (m.header.type === nftMsgType(NFT_MSG.NEWTABLE)) {
          again = build((w) => encodeTable(w, NFT_MSG.NEWTABLE, flags, decodeTable(m)));
        } else if (m.header.type === nftMsgType(NFT_MSG.NEWCHAIN)) {
          again = build((w) => encodeChain(w, NFT_MSG.NEWCHAIN, flags, decodeChain(m)));
        } else if (m.header.type === nftMsgType(NFT_MSG.NEWRULE)) {
          again = build((w) => encodeRule(w, NFT_MSG.NEWRULE, flags, decodeRule(m)));
        }
        if (again !== undefined) {
          expect(again, `${name}: ${h.slice(0, 24)}`).toBe(h);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(30);
  });

  it('reads the kernel dump of a chain: table, chain and the rule with its handle and comment', () => {
    const replies = fixture('list-rules').received.map(msg);
    const table = replies.find((m) => m.header.type === nftMsgType(NFT_MSG.NEWTABLE));
    const rule = replies.find((m) => m.header.type === nftMsgType(NFT_MSG.NEWRULE));
    expect(table && decodeTable(table)).toMatchObject({ family: 'ip', name: 'tscfx', comment: 'CNI portmap plugin' });
    const r = rule && decodeRule(rule);
    expect(r).toMatchObject({ family: 'ip', table: 'tscfx', chain: 'hostports', comment: 'cid-1' });
    expect(typeof r?.handle).toBe('bigint');
    // The kernel fills in what nft left out (NAT max registers, flags), so compare the meaning.
    expect(r?.exprs.map((e) => e.kind)).toEqual(['meta', 'cmp', 'payload', 'cmp', 'immediate', 'immediate', 'nat']);
    expect(r?.exprs[6]).toMatchObject({ kind: 'nat', type: 'dnat', family: 'ip', addrMin: 1, protoMin: 2 });
  });

  it('reads every object of a full ruleset dump without leaving anything undecoded', () => {
    const replies = fixture('list-ruleset').received.map(msg);
    const rules = replies.filter((m) => m.header.type === nftMsgType(NFT_MSG.NEWRULE)).map(decodeRule);
    const chains = replies.filter((m) => m.header.type === nftMsgType(NFT_MSG.NEWCHAIN)).map(decodeChain);
    expect(chains.map((c) => c.name).sort()).toEqual(['hostip_hostports', 'hostports', 'masquerading', 'output', 'prerouting', 'spare']);
    expect(chains.find((c) => c.name === 'prerouting')?.base).toEqual({ type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' });
    expect(rules).toHaveLength(8);
    for (const r of rules) for (const e of r.exprs) expect(e.kind).not.toBe('raw');
    expect(rules.filter((r) => r.comment === 'cid-1')).toHaveLength(4);
  });

  it('reads a dumped map with its elements', () => {
    const replies = fixture('list-set').received.map(msg);
    const set = replies.find((m) => m.header.type === nftMsgType(NFT_MSG.NEWSET));
    expect(set && decodeSet(set)).toMatchObject({
      name: 'dnat_ports',
      key: ['inet_proto', 'inet_service'],
      data: ['ipv4_addr', 'inet_service'],
    });
    const elems = replies.filter((m) => m.header.type === nftMsgType(NFT_MSG.NEWSETELEM)).flatMap((m) => decodeSetElems(m).elements);
    // map-del-element removed tcp . 8080 before the listing; udp . 53 remains.
    expect(elems).toEqual([{ key: val.concat(val.proto('udp'), val.port(53)), data: { value: val.concat(val.ip('10.1.0.3'), val.port(5353)) } }]);
  });

});
