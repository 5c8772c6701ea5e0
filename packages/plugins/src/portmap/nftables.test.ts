// The nftables backend against a scripted nf_tables (FakeTransport): what ADD and DEL send — one
// transaction each, and reads that stay the same size however many containers the host has — plus
// the comments DEL relies on, and the error for a host port another attachment holds.
import { describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '@tscni/spec';
import {
  FakeTransport,
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG,
  NLM_F,
  NftBatch,
  NlWriter,
  decodeMessages,
  decodeNftChain,
  decodeNftRule,
  decodeNftSetElems,
  masquerade,
  nftValue,
} from '@tscni/netlink';
import type { FakeReply, NlMessage, NftSetElem } from '@tscni/netlink';
import { parseConfig } from './config.js';
import type { ContainerAddrs, Owner } from './config.js';
import {
  NftablesBackend,
  dnatChainName,
  masqChainName,
  mappingComment,
  ownerComment,
  parseMappingComment,
  parseOwnerComment,
} from './nftables.js';

const owner: Owner = { network: 'net', containerId: 'ctr', ifName: 'eth0' };
const addrs: ContainerAddrs = { v4: { ip: '10.0.0.2', subnet: '10.0.0.0/24' }, v6: { ip: 'fd00::2', subnet: 'fd00::/64' } };
const NFT = NFNL_SUBSYS_NFTABLES << 8;
const msgName = Object.fromEntries(Object.entries(NFT_MSG).map(([k, v]) => [NFT | v, k]));

function config(mappings: unknown[]) {
  return parseConfig(parseNetConf({ cniVersion: '1.1.0', name: 'net', type: 'portmap', runtimeConfig: { portMappings: mappings } }));
}

function whole(m: NlMessage): Uint8Array {
  return new Uint8Array(m.payload.buffer, m.payload.byteOffset - 16, m.header.len).slice();
}

/** Reply messages in dump form, taken from what a batch would send (NEW* messages). */
function replies(b: NftBatch, type: number): Uint8Array[] {
  return decodeMessages(b.encode())
    .filter((m) => m.header.type === (NFT | type))
    .map(whole);
}

function newGen(): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(NFT | NFT_MSG.NEWGEN, 0);
  w.writeU8(0).writeU8(0).writeBe16(0);
  w.putBe32(1, 42); // NFTA_GEN_ID
  w.endMessage(at);
  return w.finish();
}

/** The nft_data fields of a dump filter: table, chain (NFTA_RULE_TABLE=1, CHAIN=2) as strings. */
function ruleDumpChain(m: NlMessage): string | undefined {
  const text = new TextDecoder().decode(m.payload);
  return /(dnat|masq)-[0-9a-f]{16}/.exec(text)?.[0];
}

function baseDumpChain(m: NlMessage): string | undefined {
  return /prerouting|output|postrouting/.exec(new TextDecoder().decode(m.payload))?.[0];
}

function kernel(respond: (m: NlMessage) => FakeReply | undefined = () => undefined): FakeTransport {
  return new FakeTransport((m) => {
    if (m.header.type === (NFT | NFT_MSG.GETGEN)) return { messages: [newGen()] };
    return respond(m);
  });
}

const names = (t: FakeTransport) => t.requests.map((m) => msgName[m.header.type] ?? m.header.type);

describe('nftables backend (scripted kernel)', () => {
  it('comments carry what DEL and GC need', () => {
    expect(parseOwnerComment(ownerComment(owner))).toEqual(owner);
    expect(parseOwnerComment('something else')).toBeUndefined();
    const m = { hostPort: 8080, containerPort: 80, protocol: 'udp' as const, hostIP: 'fd00::1', family: 6 as const };
    expect(mappingComment(m, addrs.v6!)).toBe('udp [fd00::1]:8080 -> [fd00::2]:80');
    expect(parseMappingComment(mappingComment(m, addrs.v6!))).toEqual({ protocol: 'udp', hostIP: 'fd00::1', hostPort: 8080, target: 'fd00::2' });
    expect(parseMappingComment('tcp *:80 -> 10.0.0.2:8080')).toEqual({ protocol: 'tcp', hostPort: 80, target: '10.0.0.2' });
    expect(dnatChainName(owner)).toMatch(/^dnat-[0-9a-f]{16}$/);
    expect(dnatChainName({ ...owner, ifName: 'eth1' })).not.toBe(dnatChainName(owner));
  });

  it('ADD reads only its own and the base chains and writes one transaction', async () => {
    const t = kernel();
    const conf = config([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '192.0.2.1' },
    ]);
    await new NftablesBackend(() => t).add(owner, conf, addrs);
    const sent = names(t);
    // Per family: its own two chains, then the base chains until one is not in place (then all are written).
    expect(sent.slice(0, 7)).toEqual([...Array<string>(6).fill('GETRULE'), 16]);
    // No dump of a map or of the chain list: nothing read grows with the number of containers.
    expect(sent).not.toContain('GETSETELEM');
    expect(sent).not.toContain('GETCHAIN');
    expect(sent.filter((n) => n === 16)).toHaveLength(1); // NFNL_MSG_BATCH_BEGIN: one transaction
    expect(sent.indexOf(17)).toBe(sent.length - 1); // NFNL_MSG_BATCH_END last: nothing after it
    const own = [dnatChainName(owner), masqChainName(owner)];
    expect(t.requests.slice(0, 6).map((m) => ruleDumpChain(m) ?? baseDumpChain(m))).toEqual([...own, 'prerouting', ...own, 'prerouting']);

    const elems = t.requests.filter((m) => m.header.type === (NFT | NFT_MSG.NEWSETELEM)).map(decodeNftSetElems);
    const jump = (chain: string): NftSetElem['data'] => ({ verdict: { code: 'jump', chain } });
    const ip4 = elems.filter((e) => e.family === 'ip');
    expect(ip4.map((e) => e.set)).toEqual(['hostip_ports', 'ports', 'masq_targets']);
    expect(ip4[0]?.elements).toEqual([{ key: nftValue.concat(nftValue.ip('192.0.2.1'), nftValue.proto('udp'), nftValue.port(53)), data: jump(dnatChainName(owner)) }]);
    expect(ip4[1]?.elements).toEqual([{ key: nftValue.concat(nftValue.proto('tcp'), nftValue.port(8080)), data: jump(dnatChainName(owner)) }]);
    expect(ip4[2]?.elements).toEqual([{ key: nftValue.ip('10.0.0.2'), data: jump(masqChainName(owner)) }]);
    // The IPv4 host IP keeps its mapping out of the IPv6 table.
    expect(elems.filter((e) => e.family === 'ip6').map((e) => e.set)).toEqual(['ports', 'masq_targets']);

    const rules = t.requests.filter((m) => m.header.type === (NFT | NFT_MSG.NEWRULE)).map(decodeNftRule);
    expect(rules.filter((r) => r.chain === dnatChainName(owner) && r.family === 'ip').map((r) => r.comment)).toEqual([
      'tcp *:8080 -> 10.0.0.2:80',
      'udp 192.0.2.1:53 -> 10.0.0.2:53',
    ]);
    expect(rules.filter((r) => r.chain === masqChainName(owner)).map((r) => `${r.family} ${r.comment}`)).toEqual([
      'ip hairpin to 10.0.0.2',
      'ip localhost to 10.0.0.2',
      'ip6 hairpin to fd00::2',
    ]);
    const chains = t.requests.filter((m) => m.header.type === (NFT | NFT_MSG.NEWCHAIN)).map(decodeNftChain);
    expect(chains.filter((c) => c.name.startsWith('dnat-')).map((c) => c.comment)).toEqual(['net=net id=ctr if=eth0', 'net=net id=ctr if=eth0']);
  });

  it('ADD on a host that is set up deletes nothing (no flush of the base chains)', async () => {
    const base = new FakeTransport();
    const conf = config([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    await new NftablesBackend(() => base).add(owner, conf, { v4: addrs.v4! });
    // What the first ADD wrote to the base chains is what the kernel would dump back.
    const baseRules = base.requests.filter((m) => m.header.type === (NFT | NFT_MSG.NEWRULE) && baseDumpChain(m) !== undefined && ruleDumpChain(m) === undefined).map(whole);
    const t = kernel((m) => {
      if (m.header.type !== (NFT | NFT_MSG.GETRULE) || m.payload[0] !== 2) return undefined;
      const chain = ruleDumpChain(m) === undefined ? baseDumpChain(m) : undefined;
      return chain === undefined ? undefined : { messages: baseRules.filter((r) => decodeNftRule(decodeMessages(r)[0]!).chain === chain) };
    });
    await new NftablesBackend(() => t).add({ ...owner, containerId: 'second' }, config([{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }]), { v4: addrs.v4! });
    const sent = names(t);
    expect(sent).not.toContain('DELRULE');
    expect(sent).not.toContain('DELSETELEM');
    expect(sent).not.toContain('NEWTABLE');
    expect(sent.filter((n) => n === 'NEWCHAIN')).toHaveLength(2); // its dnat and masq chains
  });

  it('DEL finds the elements from its chains\' comments and removes everything in one transaction', async () => {
    const dnat = new NftBatch({ family: 'ip' }).addRule({ table: 'tscni_hostport', chain: dnatChainName(owner), exprs: [], comment: 'tcp *:8080 -> 10.0.0.2:80' });
    const masq = new NftBatch({ family: 'ip' }).addRule({ table: 'tscni_hostport', chain: masqChainName(owner), exprs: [masquerade()], comment: 'hairpin to 10.0.0.2' });
    const t = kernel((m) => {
      if (m.header.type !== (NFT | NFT_MSG.GETRULE) || m.payload[0] !== 2) return undefined; // IPv4 only
      const chain = ruleDumpChain(m);
      return { messages: chain === dnatChainName(owner) ? replies(dnat, NFT_MSG.NEWRULE) : replies(masq, NFT_MSG.NEWRULE) };
    });
    await new NftablesBackend(() => t).del(owner);
    const sent = names(t);
    expect(sent).not.toContain('GETSETELEM');
    const dels = t.requests.filter((m) => m.header.type === (NFT | NFT_MSG.DELSETELEM)).map(decodeNftSetElems);
    expect(dels.map((d) => [d.set, d.elements[0]?.key])).toEqual([
      ['ports', nftValue.concat(nftValue.proto('tcp'), nftValue.port(8080))],
      ['masq_targets', nftValue.ip('10.0.0.2')],
    ]);
    const chainDels = t.requests.filter((m) => m.header.type === (NFT | NFT_MSG.DELCHAIN)).map(decodeNftChain);
    expect(chainDels.map((c) => c.name)).toEqual([dnatChainName(owner), masqChainName(owner)]);
  });

  it('DEL of an attachment that has nothing sends no transaction', async () => {
    const t = kernel();
    await new NftablesBackend(() => t).del(owner);
    expect(names(t)).toEqual(['GETRULE', 'GETRULE', 'GETRULE', 'GETRULE']);
  });

  it('ADD fails with code 7 naming the attachment that holds the host port', async () => {
    const other: Owner = { network: 'net', containerId: 'other', ifName: 'eth0' };
    const held = new NftBatch({ family: 'ip' }).addElements({
      table: 'tscni_hostport',
      set: 'ports',
      elements: [{ key: nftValue.concat(nftValue.proto('tcp'), nftValue.port(8080)), data: { verdict: { code: 'jump', chain: dnatChainName(other) } } }],
    });
    const chain = new NftBatch({ family: 'ip' }).addChain({ table: 'tscni_hostport', name: dnatChainName(other), comment: ownerComment(other) });
    const t = kernel((m) => {
      const type = m.header.type;
      if (type === (NFT | NFT_MSG.NEWSETELEM) && (m.header.flags & NLM_F.DUMP) !== NLM_F.DUMP) return { errno: 17 };
      if (m.payload[0] !== 2) return undefined;
      if (type === (NFT | NFT_MSG.GETSETELEM) && new TextDecoder().decode(m.payload).includes('ports')) {
        return { messages: replies(held, NFT_MSG.NEWSETELEM) };
      }
      if (type === (NFT | NFT_MSG.GETCHAIN)) return { messages: replies(chain, NFT_MSG.NEWCHAIN) };
      return undefined;
    });
    const err = await new NftablesBackend(() => t).add(owner, config([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]), { v4: addrs.v4! }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(7);
    expect((err as CniError).msg).toBe('portmap: host port *:8080/tcp is already forwarded to container other (interface eth0, network net)');
  });
});
