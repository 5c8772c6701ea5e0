// Reply decoding: kernel replies captured from iproute2's show commands (scripts/capture-fixtures.mjs),
// fed through FakeTransport into RtNetlink's list/get calls, compared with iproute2's own JSON of
// the same replies.
import { describe, expect, it } from 'vitest';
import replies from './fixtures/replies.json' with { type: 'json' };
import { FakeTransport } from '../transport.js';
import { RtNetlink } from './rtnetlink.js';
import { decodeLinkBody } from './link.js';
import { RTM } from '../codec/rtnetlink.js';
import { AF_INET, AF_INET6 } from '../codec/ip.js';
import { IFA_F } from '../codec/rtnetlink.js';

type Json = Record<string, unknown> & {
  ifindex?: number;
  ifname?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_data?: Record<string, unknown> };
};
interface Capture {
  command: string;
  messages: string[];
  json: Json[];
}

const R = replies as Record<string, Capture>;
const msg = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** A fake kernel that answers a dump with the captured messages and a GETLINK by name or index. */
function kernelWith(c: Capture): RtNetlink {
  const all = c.messages.map(msg);
  const fake = new FakeTransport((req) => {
    if (req.header.type === RTM.GETLINK && (req.header.flags & 0x300) !== 0x300) {
      const want = decodeLinkBody(req.payload);
      const hit = all.find((m) => {
        const l = decodeLinkBody(m.subarray(16));
        return want.index ? l.index === want.index : l.ifname === want.ifname;
      });
      return hit ? { messages: [hit] } : { errno: 19 };
    }
    return { messages: all };
  });
  return new RtNetlink(fake);
}

const byName = (json: Json[]): Map<string, Json> => new Map(json.map((j) => [j.ifname ?? '', j]));

describe('link replies', () => {
  it('a dump decodes to what ip -d link shows', async () => {
    const c = R['linkDump']!;
    const links = await kernelWith(c).listLinks();
    const ip = byName(c.json);
    expect(links.map((l) => l.name).sort()).toEqual([...ip.keys()].sort());
    for (const l of links) {
      const j = ip.get(l.name)!;
      expect(l.index).toBe(j.ifindex);
      expect(l.mtu).toBe(j['mtu']);
      expect(l.mac).toBe(j['address']);
      expect(l.operState.toUpperCase()).toBe(j['operstate']);
      expect(l.up).toBe((j['flags'] as string[]).includes('UP'));
      expect(l.txQueueLen).toBe(j['txqlen']);
      expect(l.promiscuity).toBe(j['promiscuity']);
      expect(l.alias).toBe(j['ifalias']);
      expect(l.kind).toBe(j.linkinfo?.info_kind);
      const master = j['master'] as string | undefined;
      expect(l.master).toBe(master === undefined ? undefined : ip.get(master)?.ifindex);
      // ip prints the parent by name in our namespace, by index when it lives in another one.
      const parent = j['link'] as string | undefined;
      const expectedLink = parent !== undefined ? ip.get(parent)?.ifindex : (j['link_index'] as number | undefined);
      expect(l.link).toBe(expectedLink);
      expect(l.linkNetnsId).toBe(j['link_netnsid']);
    }
  });

  it('bridge port attributes', async () => {
    const l = await kernelWith(R['linkBridgePort']!).getLink('tport');
    const slave = R['linkBridgePort']!.json[0]!.linkinfo!.info_slave_data!;
    expect(l.slaveKind).toBe('bridge');
    expect(l.bridgePort).toMatchObject({
      hairpin: slave['hairpin'],
      learning: slave['learning'],
      isolated: slave['isolated'],
      guard: slave['guard'],
      rootBlock: slave['root_block'],
      fastLeave: slave['fastleave'],
      unicastFlood: slave['flood'],
      mcastFlood: slave['mcast_flood'],
      bcastFlood: slave['bcast_flood'],
      neighSuppress: slave['neigh_suppress'],
      proxyArp: slave['proxy_arp'],
      priority: slave['priority'],
      cost: slave['cost'],
    });
  });

  it('bridge, macvtap, vxlan and cross-namespace veth data', async () => {
    const br = await kernelWith(R['linkBridge']!).getLink('tbr');
    const brData = R['linkBridge']!.json[0]!.linkinfo!.info_data!;
    expect(br.data).toMatchObject({ kind: 'bridge', stpState: brData['stp_state'], ageingTime: brData['ageing_time'] });
    expect(br.data).toMatchObject({ vlanFiltering: brData['vlan_filtering'] === 1 });

    const mt = await kernelWith(R['linkMacvtap']!).getLink('tmt');
    expect(mt.data).toMatchObject({ kind: 'macvtap', mode: R['linkMacvtap']!.json[0]!.linkinfo!.info_data!['mode'] });

    const vxJson = R['linkVxlan']!.json[0]!.linkinfo!.info_data!;
    const vx = await kernelWith(R['linkVxlan']!).getLink('tvx');
    expect(vx.data).toMatchObject({
      kind: 'vxlan',
      id: vxJson['id'],
      group: vxJson['remote'],
      local: vxJson['local'],
      port: vxJson['port'],
      learning: vxJson['learning'],
      ttl: vxJson['ttl'],
    });

    const vethJson = R['linkVethPeerNetns']!.json[0]!;
    const veth = await kernelWith(R['linkVethPeerNetns']!).getLink('tvc');
    expect(veth.kind).toBe('veth');
    expect(veth.link).toBe(vethJson['link_index']);
    expect(veth.linkNetnsId).toBe(vethJson['link_netnsid']);
  });
});

describe('address replies', () => {
  it('a dump decodes to what ip addr shows', async () => {
    const c = R['addrDump']!;
    const rt = kernelWith(c);
    const ours = await rt.listAddresses();
    type AddrInfo = { family: string; local: string; prefixlen: number; broadcast?: string; label?: string; nodad?: boolean; tentative?: boolean };
    const theirs = c.json.flatMap((j) => (j['addr_info'] as AddrInfo[]).map((a) => ({ ...a, ifindex: j.ifindex! })));
    expect(ours.length).toBe(theirs.length);
    for (const t of theirs) {
      const o = ours.find((x) => x.address === t.local && x.index === t.ifindex);
      expect(o, t.local).toBeDefined();
      expect(o!.prefixLen).toBe(t.prefixlen);
      expect(o!.family).toBe(t.family === 'inet' ? AF_INET : AF_INET6);
      expect(o!.broadcast).toBe(t.broadcast);
      expect(o!.label).toBe(t.label);
      expect((o!.flags & IFA_F.NODAD) !== 0).toBe(t.nodad === true);
      expect(o!.tentative).toBe(t.tentative === true);
    }
  });
});

describe('route replies', () => {
  it('a dump of all tables decodes to what ip route shows', async () => {
    const c = R['routeDump']!;
    const ours = await kernelWith(c).listRoutes({ table: 'all' });
    const tables: Record<string, number> = { local: 255, main: 254, default: 253 };
    const links = new Map<string, number>([['tparent', 3], ['tparentp', 2]]);
    const theirs = c.json.map((j) => {
      const dst = j['dst'] as string;
      const v6 = dst.includes(':') || String(j['gateway'] ?? '').includes(':');
      const full = dst === 'default' ? (v6 ? '::/0' : '0.0.0.0/0') : dst.includes('/') ? dst : `${dst}/${v6 ? 128 : 32}`;
      return {
        dst: full,
        gateway: j['gateway'],
        oif: links.get(j['dev'] as string),
        table: j['table'] === undefined ? 254 : (tables[j['table'] as string] ?? Number(j['table'])),
        priority: j['metric'],
        prefsrc: j['prefsrc'],
        mtu: (j['metrics'] as Array<Record<string, number>> | undefined)?.[0]?.['mtu'],
      };
    });
    const key = (r: { dst: string; table: number; oif?: number | undefined }): string => `${r.table} ${r.dst} ${r.oif}`;
    expect(ours.map(key).sort()).toEqual(theirs.map(key).sort());
    for (const t of theirs) {
      const o = ours.find((r) => key(r) === key(t))!;
      expect({ gateway: o.gateway, priority: o.priority, prefsrc: o.prefsrc, mtu: o.mtu }).toEqual({
        gateway: t.gateway,
        priority: t.priority,
        prefsrc: t.prefsrc,
        mtu: t.mtu,
      });
    }
  });
});

describe('rule and neighbour replies', () => {
  it('rules decode to what ip rule shows', async () => {
    const c = R['ruleDump']!;
    const ours = await kernelWith(c).listRules(AF_INET);
    const tables: Record<string, number> = { local: 255, main: 254, default: 253 };
    expect(ours.map((r) => r.priority)).toEqual(c.json.map((j) => j['priority']));
    c.json.forEach((j, i) => {
      const o = ours[i]!;
      expect(o.table).toBe(tables[j['table'] as string] ?? Number(j['table']));
      expect(o.iif).toBe(j['iif']);
      expect(o.fwmark === undefined ? undefined : `0x${o.fwmark.toString(16)}`).toBe(j['fwmark']);
      expect(o.fwmask === undefined || o.fwmask === 0xffffffff ? undefined : `0x${o.fwmask.toString(16)}`).toBe(j['fwmask']);
    });
  });

  it('neighbours decode to what ip neigh shows', async () => {
    const c = R['neighDump']!;
    const ours = await kernelWith(c).listNeighbours();
    // ip hides NOARP/unresolved entries without a lladdr by default; compare the ones it shows.
    for (const j of c.json) {
      const o = ours.find((n) => n.address === j['dst']);
      expect(o?.lladdr).toBe(j['lladdr']);
    }
    expect(ours.length).toBeGreaterThanOrEqual(c.json.length);
  });
});
