// Kernel tests: each operation through RtNetlink inside fresh namespaces, checked with `ip -j`.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { RtNetlink } from './rtnetlink.js';
import type { CreateLinkSpec } from './rtnetlink.js';
import { NetlinkError } from '../codec/errors.js';
import { AF_INET, AF_INET6 } from '../codec/ip.js';
import { IFA_F, NUD, RT_SCOPE } from '../codec/rtnetlink.js';
import { NetnsPool, bridgeJson, ip, ipJson, kernelLacks, link, links, uniq } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';

const pool = new NetnsPool();
const open: RtNetlink[] = [];
afterEach(() => {
  for (const rt of open.splice(0)) rt.close();
  pool.cleanup();
});

function rtIn(ns: TestNetns): RtNetlink {
  const rt = RtNetlink.open(ns.path);
  open.push(rt);
  return rt;
}

/** A namespace with an up veth pair (`a` <-> `b`) to hang other devices off. */
async function nsWithVeth(): Promise<{ ns: TestNetns; rt: RtNetlink; a: string; b: string }> {
  const ns = pool.create();
  const rt = rtIn(ns);
  const a = uniq('va');
  const b = uniq('vb');
  await rt.createLink({ name: a, kind: 'veth', peer: { name: b }, up: true });
  await rt.setLinkUp(b);
  return { ns, rt, a, b };
}

interface IpAddr {
  addr_info: Array<{ family: string; local: string; prefixlen: number; nodad?: boolean; tentative?: boolean; broadcast?: string; label?: string }>;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  table?: string;
  protocol?: string;
  scope?: string;
  metrics?: Array<Record<string, number>>;
}

describe('links', () => {
  it('creates a veth pair with the peer directly in another namespace', async () => {
    const nsA = pool.create();
    const nsB = pool.create();
    const rt = rtIn(nsA);
    await rt.createLink({ name: 'eth-a', kind: 'veth', mtu: 1400, peer: { name: 'eth-b', netns: nsB.path, mtu: 1400 } });
    const a = link(nsA, 'eth-a');
    const b = link(nsB, 'eth-b');
    expect(a?.linkinfo?.info_kind).toBe('veth');
    expect(b?.linkinfo?.info_kind).toBe('veth');
    expect(a?.mtu).toBe(1400);
    expect(b?.mtu).toBe(1400);
    expect(link(nsA, 'eth-b')).toBeUndefined();
    // Our decoded view: kind, peer index in the other namespace, and that namespace's id.
    const got = await rt.getLink('eth-a');
    expect(got.kind).toBe('veth');
    expect(got.link).toBe(b?.ifindex);
    expect(got.linkNetnsId).toBe(a?.link_netnsid);
    expect(got.linkNetnsId).toBeGreaterThanOrEqual(0);
    // Deleting one end removes the pair.
    await rt.deleteLink('eth-a');
    expect(link(nsA, 'eth-a')).toBeUndefined();
    expect(link(nsB, 'eth-b')).toBeUndefined();
  });

  it('moves a link to another namespace by path, fd-less pid, and back', async () => {
    const { ns, rt, a, b } = await nsWithVeth();
    const other = pool.create();
    await rt.setLink(b, { netns: other.path, name: 'moved0' });
    expect(link(ns, b)).toBeUndefined();
    expect(link(other, 'moved0')?.linkinfo?.info_kind).toBe('veth');
    const rt2 = rtIn(other);
    await rt2.setLink('moved0', { netns: ns.path, name: b });
    expect(link(ns, b)).toBeDefined();
    expect((await rt.getLink(a)).linkNetnsId).toBeUndefined();
  });

  it('sets up/down, mtu, mac, name, alias, txqueuelen, promisc, allmulti', async () => {
    const { ns, rt, a } = await nsWithVeth();
    await rt.setLink(a, { mtu: 1280, mac: '02:11:22:33:44:55', txQueueLen: 321, alias: 'hello world' });
    await rt.setLink(a, { promisc: true, allmulti: true });
    let l = link(ns, a);
    expect(l).toMatchObject({ mtu: 1280, address: '02:11:22:33:44:55', txqlen: 321, ifalias: 'hello world' });
    expect(l?.flags).toEqual(expect.arrayContaining(['UP', 'PROMISC', 'ALLMULTI']));
    const mine = await rt.getLink(a);
    expect(mine).toMatchObject({ mtu: 1280, mac: '02:11:22:33:44:55', txQueueLen: 321, alias: 'hello world', up: true });
    expect(mine.promiscuity).toBeGreaterThan(0);
    await rt.setLinkDown(a);
    await rt.setLink(a, { name: 'renamed0', promisc: false });
    l = link(ns, 'renamed0');
    expect(l?.flags).not.toContain('UP');
    expect(l?.flags).not.toContain('PROMISC');
    expect(link(ns, a)).toBeUndefined();
  });

  it('lists links, finds by name and index, and reports missing links as ENODEV', async () => {
    const { rt, a, b } = await nsWithVeth();
    const all = await rt.listLinks();
    expect(all.map((l) => l.name).sort()).toEqual([a, b, 'lo'].sort());
    const byName = await rt.getLink(a);
    expect((await rt.getLink(byName.index)).name).toBe(a);
    expect((await rt.listLinks({ kind: 'veth' })).map((l) => l.name).sort()).toEqual([a, b].sort());
    expect(await rt.findLink('nosuchlink0')).toBeUndefined();
    const err = await rt.getLink('nosuchlink0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).code).toBe('ENODEV');
    const dup = await rt.createLink({ name: a, kind: 'veth', peer: { name: uniq('vx') } }).catch((e: unknown) => e);
    expect((dup as NetlinkError).code).toBe('EEXIST');
  });

  it('bridge with ports: master/nomaster, hairpin, isolation, learning', async () => {
    const { ns, rt, a } = await nsWithVeth();
    const br = uniq('br');
    await rt.createLink({ name: br, kind: 'bridge', up: true });
    const p2 = uniq('vp');
    await rt.createLink({ name: p2, kind: 'veth', peer: { name: uniq('vq') }, master: br });
    await rt.setLink(a, { master: br });
    expect(link(ns, a)?.master).toBe(br);
    expect(link(ns, p2)?.master).toBe(br);
    await rt.setBridgePort(a, { hairpin: true, isolated: true, learning: false });
    const slave = link(ns, a)?.linkinfo?.info_slave_data;
    expect(slave).toMatchObject({ hairpin: true, isolated: true, learning: false });
    const mine = await rt.getLink(a);
    expect(mine.slaveKind).toBe('bridge');
    expect(mine.bridgePort).toMatchObject({ hairpin: true, isolated: true, learning: false });
    expect(mine.master).toBe((await rt.getLink(br)).index);
    expect((await rt.listLinks({ master: br })).map((l) => l.name).sort()).toEqual([a, p2].sort());
    await rt.setLink(a, { master: null });
    expect(link(ns, a)?.master).toBeUndefined();
  });

  it('bridge VLAN filtering entries (pvid/untagged, ranges)', async (ctx) => {
    const ns = pool.create();
    const rt = rtIn(ns);
    const br = uniq('br');
    try {
      await rt.createLink({ name: br, kind: 'bridge', vlanFiltering: true });
    } catch (e) {
      if (kernelLacks(e)) ctx.skip('kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)');
      throw e;
    }
    const port = uniq('vp');
    await rt.createLink({ name: port, kind: 'veth', peer: { name: uniq('vq') }, master: br });
    await rt.addBridgeVlan(port, [{ vid: 10, pvid: true, untagged: true }, { vid: 20, vidEnd: 22 }]);
    const shown = bridgeJson<Array<{ ifname: string; vlans: Array<{ vlan: number; vlanEnd?: number; flags?: string[] }> }>>(
      ns,
      'vlan',
      'show',
    ).find((x) => x.ifname === port);
    expect(shown?.vlans).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ vlan: 10, flags: expect.arrayContaining(['PVID', 'Egress Untagged']) }),
        expect.objectContaining({ vlan: 20, vlanEnd: 22 }),
      ]),
    );
    const mine = (await rt.listBridgeVlans()).find((x) => x.name === port);
    expect(mine?.vlans.map((v) => v.vid)).toEqual(expect.arrayContaining([10, 20, 21, 22]));
    await rt.deleteBridgeVlan(port, { vid: 10 });
    const after = (await rt.listBridgeVlans()).find((x) => x.name === port);
    expect(after?.vlans.map((v) => v.vid)).not.toContain(10);
  });

  it.each(['bridge', 'private', 'vepa', 'passthru', 'source'] as const)('macvlan mode %s', async (mode) => {
    const { ns, rt, a } = await nsWithVeth();
    const name = uniq('mv');
    await rt.createLink({ name, kind: 'macvlan', parent: a, mode, mtu: 1400 });
    const l = link(ns, name);
    expect(l?.linkinfo?.info_kind).toBe('macvlan');
    expect(l?.linkinfo?.info_data?.['mode']).toBe(mode);
    expect(l?.link).toBe(a);
    expect(l?.mtu).toBe(1400);
    const mine = await rt.getLink(name);
    expect(mine.data).toMatchObject({ kind: 'macvlan', mode });
    expect(mine.link).toBe((await rt.getLink(a)).index);
  });

  it('macvtap', async () => {
    const { ns, rt, a } = await nsWithVeth();
    const name = uniq('mt');
    await rt.createLink({ name, kind: 'macvtap', parent: a, mode: 'vepa' });
    const l = link(ns, name);
    expect(l?.linkinfo?.info_kind).toBe('macvtap');
    expect(l?.linkinfo?.info_data?.['mode']).toBe('vepa');
    expect((await rt.getLink(name)).data).toMatchObject({ kind: 'macvtap', mode: 'vepa' });
  });

  it('vxlan with remote, local, port, dev and learning off', async () => {
    const { ns, rt, a } = await nsWithVeth();
    const name = uniq('vx');
    await rt.createLink({
      name,
      kind: 'vxlan',
      vni: 4242,
      remote: '10.1.2.9',
      local: '10.1.2.2',
      port: 4789,
      dev: a,
      learning: false,
      ttl: 16,
    });
    const data = link(ns, name)?.linkinfo?.info_data;
    expect(data).toMatchObject({ id: 4242, remote: '10.1.2.9', local: '10.1.2.2', port: 4789, link: a, learning: false, ttl: 16 });
    expect((await rt.getLink(name)).data).toMatchObject({
      kind: 'vxlan',
      id: 4242,
      group: '10.1.2.9',
      local: '10.1.2.2',
      port: 4789,
      learning: false,
    });
    const grp = uniq('vx');
    await rt.createLink({ name: grp, kind: 'vxlan', vni: 7, group: '239.1.1.1', dev: a, port: 8472 });
    expect(link(ns, grp)?.linkinfo?.info_data).toMatchObject({ id: 7, group: '239.1.1.1', learning: true });
  });

  it('tap and tun through the addon, then configured over netlink', async () => {
    const ns = pool.create();
    const rt = rtIn(ns);
    const tap = uniq('tap');
    await rt.createLink({ name: tap, kind: 'tap', mtu: 1300, up: true, vnetHdr: true });
    const l = link(ns, tap);
    expect(l?.linkinfo?.info_kind).toBe('tun');
    expect(l?.linkinfo?.info_data?.['type']).toBe('tap');
    expect(l?.mtu).toBe(1300);
    expect(l?.flags).toContain('UP');
    const tun = uniq('tun');
    await rt.createLink({ name: tun, kind: 'tun' });
    expect(link(ns, tun)?.linkinfo?.info_data?.['type']).toBe('tun');
    expect((await rt.getLink(tun)).data).toMatchObject({ kind: 'tun', type: 'tun' });
  });

  it('ifb', async () => {
    const ns = pool.create();
    const rt = rtIn(ns);
    const name = uniq('ifb');
    await rt.createLink({ name, kind: 'ifb', up: true });
    expect(link(ns, name)?.linkinfo?.info_kind).toBe('ifb');
    expect((await rt.getLink(name)).up).toBe(true);
  });

  // Kinds this kernel may lack: the test is skipped with the kernel's reason, never passed.
  const optional: Array<[string, (parent: string) => CreateLinkSpec, (l: ReturnType<typeof link>) => void]> = [
    ['dummy', () => ({ name: uniq('dm'), kind: 'dummy' }), (l) => expect(l?.linkinfo?.info_kind).toBe('dummy')],
    [
      'ipvlan',
      (parent) => ({ name: uniq('iv'), kind: 'ipvlan', parent, mode: 'l3', flag: 'private' }),
      (l) => expect(l?.linkinfo?.info_data).toMatchObject({ mode: 'l3', private: true }),
    ],
    [
      'vlan',
      (parent) => ({ name: uniq('vl'), kind: 'vlan', parent, id: 100 }),
      (l) => expect(l?.linkinfo?.info_data).toMatchObject({ id: 100, protocol: '802.1Q' }),
    ],
    [
      'vrf',
      () => ({ name: uniq('vrf'), kind: 'vrf', table: 100 }),
      (l) => expect(l?.linkinfo?.info_data).toMatchObject({ table: 100 }),
    ],
    ['bond', () => ({ name: uniq('bd'), kind: 'bond', mode: 1 }), (l) => expect(l?.linkinfo?.info_kind).toBe('bond')],
  ];
  for (const [kind, spec, check] of optional) {
    it(`${kind} (skipped when the kernel lacks it)`, async (ctx) => {
      const { ns, rt, a } = await nsWithVeth();
      const s = spec(a);
      try {
        await rt.createLink(s);
      } catch (e) {
        if (kernelLacks(e)) ctx.skip(`kernel lacks ${kind}: ${(e as NetlinkError).message}`);
        throw e;
      }
      check(link(ns, s.name));
      await rt.deleteLink(s.name);
      expect(link(ns, s.name)).toBeUndefined();
    });
  }

  it('delete leaves nothing behind', async () => {
    const { ns, rt, a } = await nsWithVeth();
    const br = uniq('br');
    await rt.createLink({ name: br, kind: 'bridge' });
    const mv = uniq('mv');
    await rt.createLink({ name: mv, kind: 'macvlan', parent: a });
    const vx = uniq('vx');
    await rt.createLink({ name: vx, kind: 'vxlan', vni: 9, port: 4789, dev: a });
    await rt.createLink({ name: uniq('ifb'), kind: 'ifb' });
    for (const l of await rt.listLinks()) if (l.name !== 'lo' && l.kind !== 'veth') await rt.deleteLink(l.index);
    await rt.deleteLink(a);
    expect(links(ns).map((l) => l.ifname)).toEqual(['lo']);
  });
});

describe('addresses', () => {
  it('adds IPv4 (with broadcast/label) and IPv6 nodad, lists and deletes them', async () => {
    const { ns, rt, a } = await nsWithVeth();
    await rt.addAddress(a, '10.1.2.3/24', { broadcast: 'auto' });
    await rt.addAddress(a, '10.1.3.3/24', { label: `${a}:x`.slice(0, 15) });
    await rt.addAddress(a, 'fd00:1::3/64', { nodad: true });
    const shown = ipJson<IpAddr[]>(ns, 'addr', 'show', 'dev', a)[0]?.addr_info ?? [];
    expect(shown).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: 'inet', local: '10.1.2.3', prefixlen: 24, broadcast: '10.1.2.255' }),
        expect.objectContaining({ family: 'inet', local: '10.1.3.3', prefixlen: 24 }),
        expect.objectContaining({ family: 'inet6', local: 'fd00:1::3', prefixlen: 64, nodad: true }),
      ]),
    );
    const v6 = shown.find((x) => x.local === 'fd00:1::3');
    expect(v6?.tentative).toBeUndefined();
    const mine = await rt.listAddresses({ link: a });
    expect(mine.map((x) => x.cidr)).toEqual(expect.arrayContaining(['10.1.2.3/24', '10.1.3.3/24', 'fd00:1::3/64']));
    const mineV6 = mine.find((x) => x.address === 'fd00:1::3');
    expect(mineV6?.flags ?? 0).toSatisfy((f: number) => (f & IFA_F.NODAD) !== 0);
    expect(mineV6?.tentative).toBe(false);
    expect(mine.find((x) => x.address === '10.1.2.3')?.broadcast).toBe('10.1.2.255');
    expect((await rt.listAddresses({ family: AF_INET6, link: a })).every((x) => x.family === AF_INET6)).toBe(true);
    const dup = await rt.addAddress(a, '10.1.2.3/24').catch((e: unknown) => e);
    expect((dup as NetlinkError).code).toBe('EEXIST');
    await rt.addAddress(a, '10.1.2.3/24', { replace: true });
    await rt.deleteAddress(a, '10.1.2.3/24');
    await rt.deleteAddress(a, 'fd00:1::3/64');
    const left = ipJson<IpAddr[]>(ns, 'addr', 'show', 'dev', a)[0]?.addr_info.map((x) => x.local) ?? [];
    expect(left).not.toContain('10.1.2.3');
    expect(left).not.toContain('fd00:1::3');
    expect(left).toContain('10.1.3.3');
  });
});

describe('routes', () => {
  async function routed(): Promise<{ ns: TestNetns; rt: RtNetlink; a: string }> {
    const env = await nsWithVeth();
    await env.rt.addAddress(env.a, '10.1.2.2/24');
    await env.rt.addAddress(env.a, 'fd00:1::2/64', { nodad: true });
    return env;
  }

  it('default via gateway (v4 and v6), listed and deleted', async () => {
    const { ns, rt, a } = await routed();
    await rt.addRoute({ dst: 'default', gateway: '10.1.2.1' });
    await rt.addRoute({ dst: 'default', gateway: 'fd00:1::1', dev: a });
    const v4 = ipJson<IpRoute[]>(ns, 'route', 'show', 'default');
    expect(v4).toEqual([expect.objectContaining({ dst: 'default', gateway: '10.1.2.1', dev: a })]);
    const v6 = ipJson<IpRoute[]>(ns, '-6', 'route', 'show', 'default');
    expect(v6).toEqual([expect.objectContaining({ dst: 'default', gateway: 'fd00:1::1', dev: a })]);
    const mine = await rt.listRoutes({ dst: 'default' });
    expect(mine.map((r) => [r.dst, r.gateway])).toEqual(
      expect.arrayContaining([
        ['0.0.0.0/0', '10.1.2.1'],
        ['::/0', 'fd00:1::1'],
      ]),
    );
    await rt.deleteRoute({ dst: 'default', gateway: '10.1.2.1' });
    expect(ipJson<IpRoute[]>(ns, 'route', 'show', 'default')).toEqual([]);
  });

  it('table > 255, metric, mtu/advmss, scope link, prefsrc, replace', async () => {
    const { ns, rt, a } = await routed();
    await rt.addRoute({ dst: '10.9.0.0/16', gateway: '10.1.2.1', table: 1000, metric: 50, mtu: 1400, advmss: 1360 });
    await rt.addRoute({ dst: '10.8.0.0/16', dev: a, prefsrc: '10.1.2.2', table: 100 });
    const t1000 = ipJson<IpRoute[]>(ns, 'route', 'show', 'table', '1000');
    expect(t1000).toEqual([
      expect.objectContaining({ dst: '10.9.0.0/16', gateway: '10.1.2.1', metric: 50, metrics: [{ mtu: 1400, advmss: 1360 }] }),
    ]);
    const t100 = ipJson<IpRoute[]>(ns, 'route', 'show', 'table', '100');
    expect(t100).toEqual([expect.objectContaining({ dst: '10.8.0.0/16', dev: a, scope: 'link', prefsrc: '10.1.2.2' })]);
    const mine = await rt.listRoutes({ table: 1000 });
    expect(mine).toEqual([
      expect.objectContaining({ dst: '10.9.0.0/16', gateway: '10.1.2.1', table: 1000, priority: 50, mtu: 1400, advmss: 1360 }),
    ]);
    expect((await rt.listRoutes({ table: 100 }))[0]).toMatchObject({ scope: RT_SCOPE.LINK, prefsrc: '10.1.2.2' });
    // replace changes the gateway in place
    await rt.replaceRoute({ dst: '10.9.0.0/16', gateway: '10.1.2.7', table: 1000, metric: 50 });
    expect(ipJson<IpRoute[]>(ns, 'route', 'show', 'table', '1000')).toEqual([
      expect.objectContaining({ dst: '10.9.0.0/16', gateway: '10.1.2.7' }),
    ]);
    const dup = await rt.addRoute({ dst: '10.9.0.0/16', gateway: '10.1.2.1', table: 1000, metric: 50 }).catch((e: unknown) => e);
    expect((dup as NetlinkError).code).toBe('EEXIST');
    await rt.deleteRoute({ dst: '10.9.0.0/16', table: 1000, metric: 50 });
    await rt.deleteRoute({ dst: '10.8.0.0/16', dev: a, table: 100 });
    expect(ipJson<IpRoute[]>(ns, 'route', 'show', 'table', '1000')).toEqual([]);
    expect(ipJson<IpRoute[]>(ns, 'route', 'show', 'table', '100')).toEqual([]);
  });

  it('lists the main table by default with the connected routes', async () => {
    const { rt, a } = await routed();
    const main = await rt.listRoutes({ family: AF_INET });
    expect(main).toEqual([expect.objectContaining({ dst: '10.1.2.0/24', oif: (await rt.getLink(a)).index, table: 254 })]);
  });
});

describe('policy rules', () => {
  it('adds, lists and deletes from/to/iif/oif/fwmark rules', async () => {
    const { ns, rt, a } = await nsWithVeth();
    await rt.addRule({ src: '10.1.0.0/16', table: 100, priority: 1000 });
    await rt.addRule({ fwmark: 0x10, fwmask: 0xff, iif: a, table: 1000, priority: 1001 });
    await rt.addRule({ dst: 'fd00::/64', oif: a, table: 200, priority: 1002 });
    const v4 = ipJson<Array<Record<string, unknown>>>(ns, 'rule', 'show');
    expect(v4).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ priority: 1000, src: '10.1.0.0', srclen: 16, table: '100' }),
        expect.objectContaining({ priority: 1001, fwmark: '0x10', fwmask: '0xff', iif: a, table: '1000' }),
      ]),
    );
    const v6 = ipJson<Array<Record<string, unknown>>>(ns, '-6', 'rule', 'show');
    expect(v6).toEqual(
      expect.arrayContaining([expect.objectContaining({ priority: 1002, dst: 'fd00::', dstlen: 64, oif: a, table: '200' })]),
    );
    const mine = await rt.listRules();
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: AF_INET, priority: 1000, src: '10.1.0.0/16', table: 100 }),
        expect.objectContaining({ family: AF_INET, priority: 1001, fwmark: 0x10, fwmask: 0xff, iif: a, table: 1000 }),
        expect.objectContaining({ family: AF_INET6, priority: 1002, dst: 'fd00::/64', oif: a, table: 200 }),
      ]),
    );
    await rt.deleteRule({ src: '10.1.0.0/16', table: 100, priority: 1000 });
    await rt.deleteRule({ priority: 1001 });
    await rt.deleteRule({ family: AF_INET6, priority: 1002 });
    const left = (await rt.listRules()).map((r) => r.priority);
    expect(left).not.toContain(1000);
    expect(left).not.toContain(1001);
    expect(left).not.toContain(1002);
  });
});

describe('neighbours', () => {
  it('adds, replaces, lists and deletes v4 and v6 entries', async () => {
    const { ns, rt, a } = await nsWithVeth();
    await rt.addNeighbour({ dev: a, address: '10.1.2.9', lladdr: '02:00:00:00:00:09' });
    await rt.addNeighbour({ dev: a, address: 'fd00:1::9', lladdr: '02:00:00:00:00:0a', replace: true });
    const shown = ipJson<Array<{ dst: string; lladdr: string; state: string[] }>>(ns, 'neigh', 'show', 'dev', a);
    expect(shown).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: '10.1.2.9', lladdr: '02:00:00:00:00:09', state: ['PERMANENT'] }),
        expect.objectContaining({ dst: 'fd00:1::9', lladdr: '02:00:00:00:00:0a', state: ['PERMANENT'] }),
      ]),
    );
    const mine = await rt.listNeighbours({ dev: a });
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: AF_INET, address: '10.1.2.9', lladdr: '02:00:00:00:00:09', state: NUD.PERMANENT }),
        expect.objectContaining({ family: AF_INET6, address: 'fd00:1::9', lladdr: '02:00:00:00:00:0a' }),
      ]),
    );
    await rt.addNeighbour({ dev: a, address: '10.1.2.9', lladdr: '02:00:00:00:00:19', replace: true });
    expect((await rt.listNeighbours({ dev: a, family: AF_INET })).find((n) => n.address === '10.1.2.9')?.lladdr).toBe(
      '02:00:00:00:00:19',
    );
    await rt.deleteNeighbour({ dev: a, address: '10.1.2.9' });
    await rt.deleteNeighbour({ dev: a, address: 'fd00:1::9' });
    const left = ipJson<Array<{ dst: string }>>(ns, 'neigh', 'show', 'dev', a).map((n) => n.dst);
    expect(left).not.toContain('10.1.2.9');
    expect(left).not.toContain('fd00:1::9');
  });
});

describe('sockets stay in their namespace', () => {
  it('two handles in two namespaces see only their own links; ip in our namespace sees neither', async () => {
    const one = await nsWithVeth();
    const two = await nsWithVeth();
    const names1 = (await one.rt.listLinks()).map((l) => l.name);
    const names2 = (await two.rt.listLinks()).map((l) => l.name);
    expect(names1).toContain(one.a);
    expect(names1).not.toContain(two.a);
    expect(names2).toContain(two.a);
    const host = execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' });
    expect(host).not.toContain(one.a);
    expect(host).not.toContain(two.a);
    ip(one.ns, 'link', 'set', one.a, 'mtu', '1300');
    expect((await one.rt.getLink(one.a)).mtu).toBe(1300);
  });
});
