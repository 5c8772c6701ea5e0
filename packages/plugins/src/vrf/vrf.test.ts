// Unit tests of the vrf plugin against a small model of the kernel behind the netlink
// FakeTransport (this test kernel has no vrf module, so the kernel test can only skip): links with
// masters, addresses, routes per table, and what enslaving to a VRF does to them (routes via the
// device flushed, global IPv6 addresses dropped, connected and local routes re-made in the VRF's table).
import { describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';
import {
  AF_INET,
  AF_INET6,
  FakeTransport,
  NLM_F,
  RTM,
  RtNetlink,
  decodeAddrBody,
  decodeLinkBody,
  decodeRouteBody,
  encodeAddrMessage,
  encodeLinkMessage,
  encodeRouteMessage,
} from '@tscni/netlink';
import type { FakeReply, NlMessage, RouteMessage } from '@tscni/netlink';
import { VRF_VERSIONS, freeVrfTable, loadVrfConfig, vrfAdd, vrfCheck, vrfDel, vrfPlugin } from './plugin.js';

const ENODEV = 19;
const EEXIST = 17;
const EOPNOTSUPP = 95;
const IFF_UP = 1;

interface FakeLink {
  index: number;
  name: string;
  kind?: string;
  table?: number;
  master?: number;
  up: boolean;
}
interface FakeAddr {
  index: number;
  family: number;
  local: string;
  prefixLen: number;
  scope: number;
  flags: number;
}

/** Just enough of rtnetlink for the vrf plugin, with the kernel's VRF enslaving side effects. */
class FakeKernel {
  readonly links = new Map<number, FakeLink>();
  addrs: FakeAddr[] = [];
  routes: RouteMessage[] = [];
  vrfSupported = true;
  /** Every request type seen, in order (RTM_*). */
  readonly seen: number[] = [];
  #next = 1;

  constructor() {
    this.addLink({ name: 'lo', up: true });
  }

  addLink(l: Omit<FakeLink, 'index'>): FakeLink {
    const link = { index: this.#next++, ...l };
    this.links.set(link.index, link);
    return link;
  }

  byName(name: string): FakeLink | undefined {
    return [...this.links.values()].find((l) => l.name === name);
  }

  /** eth0 with 10.1.0.5/24 and fd00:1::5/64 and the routes bridge+IPAM would leave. */
  container(): FakeLink {
    const eth0 = this.addLink({ name: 'eth0', up: true });
    this.addAddr(eth0, AF_INET, '10.1.0.5', 24);
    this.addAddr(eth0, AF_INET6, 'fd00:1::5', 64);
    this.routes.push(
      route({ family: AF_INET, dst: '10.1.0.0', dstLen: 24, oif: eth0.index, scope: 253, protocol: 2, prefsrc: '10.1.0.5' }),
      route({ family: AF_INET, dstLen: 0, oif: eth0.index, gateway: '10.1.0.1' }),
      route({ family: AF_INET, dst: '192.168.0.0', dstLen: 16, oif: eth0.index, gateway: '10.1.0.1' }),
      route({ family: AF_INET6, dst: 'fd00:1::', dstLen: 64, oif: eth0.index, protocol: 2, priority: 256 }),
      route({ family: AF_INET6, dstLen: 0, oif: eth0.index, gateway: 'fd00:1::1', priority: 1024 }),
    );
    return eth0;
  }

  addAddr(link: FakeLink, family: number, local: string, prefixLen: number, flags = 0): void {
    this.addrs.push({ index: link.index, family, local, prefixLen, scope: 0, flags });
    const master = link.master === undefined ? undefined : this.links.get(link.master);
    if (master?.kind === 'vrf') {
      this.routes.push(route({ family, dst: local, dstLen: family === AF_INET ? 32 : 128, oif: link.index, table: master.table ?? 0, type: 2 }));
    }
  }

  opener = (): RtNetlink => new RtNetlink(new FakeTransport((m) => this.handle(m)));

  #linkMsg(l: FakeLink): Uint8Array {
    return encodeLinkMessage(RTM.NEWLINK, 0, {
      index: l.index,
      ifname: l.name,
      flags: l.up ? IFF_UP : 0,
      ...(l.master === undefined ? {} : { master: l.master }),
      ...(l.kind === undefined ? {} : { linkInfo: { kind: l.kind, ...(l.kind === 'vrf' ? { data: { kind: 'vrf' as const, table: l.table ?? 0 } } : {}) } }),
    });
  }

  handle(m: NlMessage): FakeReply {
    const type = m.header.type;
    this.seen.push(type);
    const dump = (m.header.flags & NLM_F.DUMP) === NLM_F.DUMP;
    switch (type) {
      case RTM.GETLINK: {
        if (dump) return { messages: [...this.links.values()].map((l) => this.#linkMsg(l)) };
        const q = decodeLinkBody(m.payload);
        const l = q.index ? this.links.get(q.index) : this.byName(q.ifname ?? '');
        return l ? { messages: [this.#linkMsg(l)] } : { errno: ENODEV };
      }
      case RTM.NEWLINK: {
        const q = decodeLinkBody(m.payload);
        if (m.header.flags & NLM_F.CREATE) {
          if (q.linkInfo?.kind === 'vrf' && !this.vrfSupported) return { errno: EOPNOTSUPP };
          if (this.byName(q.ifname ?? '')) return { errno: EEXIST };
          const data = q.linkInfo?.data;
          this.addLink({
            name: q.ifname ?? '',
            up: ((q.flags ?? 0) & IFF_UP) !== 0,
            ...(q.linkInfo?.kind === undefined ? {} : { kind: q.linkInfo.kind }),
            ...(data?.kind === 'vrf' && data.table !== undefined ? { table: data.table } : {}),
          });
          return {};
        }
        const l = this.links.get(q.index ?? 0);
        if (!l) return { errno: ENODEV };
        if (q.master !== undefined) this.#setMaster(l, q.master);
        return {};
      }
      case RTM.DELLINK: {
        const q = decodeLinkBody(m.payload);
        if (!this.links.delete(q.index ?? 0)) return { errno: ENODEV };
        for (const l of this.links.values()) if (l.master === q.index) delete l.master;
        this.routes = this.routes.filter((r) => r.oif !== q.index);
        return {};
      }
      case RTM.GETADDR:
        return {
          messages: this.addrs.map((a) =>
            encodeAddrMessage(RTM.NEWADDR, 0, { family: a.family, prefixLen: a.prefixLen, flags: a.flags, scope: a.scope, index: a.index, local: a.local, address: a.local }),
          ),
        };
      case RTM.NEWADDR: {
        const q = decodeAddrBody(m.payload);
        const l = this.links.get(q.index);
        if (!l) return { errno: ENODEV };
        this.addAddr(l, q.family, q.local ?? q.address ?? '', q.prefixLen, q.flags);
        return {};
      }
      case RTM.GETROUTE:
        return { messages: this.routes.map((r) => encodeRouteMessage(RTM.NEWROUTE, 0, r)) };
      case RTM.NEWROUTE: {
        const q = decodeRouteBody(m.payload);
        this.routes = this.routes.filter((r) => !(r.table === q.table && r.family === q.family && r.dst === q.dst && r.dstLen === q.dstLen && r.priority === q.priority));
        this.routes.push(q);
        return {};
      }
      default:
        throw new Error(`fake kernel: unexpected request type ${type}`);
    }
  }

  /** What l3mdev does: the device cycles, routes through it go, IPv6 global addresses go (no keep_addr_on_down). */
  #setMaster(l: FakeLink, master: number): void {
    if (master === 0) {
      delete l.master;
      return;
    }
    const vrf = this.links.get(master);
    l.master = master;
    this.routes = this.routes.filter((r) => r.oif !== l.index);
    this.addrs = this.addrs.filter((a) => !(a.index === l.index && a.family === AF_INET6 && a.scope === 0));
    for (const a of this.addrs.filter((x) => x.index === l.index)) {
      this.routes.push(route({ family: a.family, dst: a.local, dstLen: a.family === AF_INET ? 32 : 128, oif: l.index, table: vrf?.table ?? 0, type: 2 }));
    }
  }
}

function route(r: Partial<RouteMessage> & { family: number; dstLen: number }): RouteMessage {
  return { srcLen: 0, tos: 0, table: 254, protocol: 4, scope: 0, type: 1, flags: 0, ...r };
}

function conf(extra: Record<string, unknown>, withPrev = true): NetConf {
  return parseNetConf({
    cniVersion: '1.0.0',
    name: 'n',
    type: 'vrf',
    ...extra,
    ...(withPrev ? { prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }], ips: [{ interface: 0, address: '10.1.0.5/24' }] } } : {}),
  });
}

function args(netconf: NetConf, netns = '/run/netns/x'): CmdArgs {
  return { containerId: 'c', netns, ifName: 'eth0', args: '', path: [], stdinData: new Uint8Array(), netconf, netnsOverride: false };
}

const quick = { pollMs: () => 0 };

describe('vrf config', () => {
  it('needs vrfname (code 7) and accepts an optional table', () => {
    expect(() => loadVrfConfig(conf({}))).toThrow(expect.objectContaining({ code: 7, msg: expect.stringContaining('vrfname') }) as unknown as CniError);
    expect(loadVrfConfig(conf({ vrfname: 'blue' }))).toEqual({ vrfName: 'blue' });
    expect(loadVrfConfig(conf({ VRFName: 'blue', table: 0 }))).toEqual({ vrfName: 'blue' });
    expect(loadVrfConfig(conf({ vrfname: 'blue', table: 4242 }))).toEqual({ vrfName: 'blue', table: 4242 });
  });

  it.each([[{ vrfname: 'a/b' }], [{ vrfname: 'x'.repeat(16) }], [{ vrfname: 7 }], [{ vrfname: 'b', table: -1 }], [{ vrfname: 'b', table: 2 ** 32 }]])(
    'rejects %j with code 7',
    (extra) => {
      expect(() => loadVrfConfig(conf(extra))).toThrow(CniError);
    },
  );

  it('lists the reference versions (0.3.1 on)', () => {
    expect(VRF_VERSIONS).toEqual(['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  });

  it('picks the first table no VRF uses, skipping the kernel tables', () => {
    const vrf = (table: number) => ({ index: 0, name: '', type: 0, flags: 0, up: true, operState: 'up' as const, kind: 'vrf', data: { kind: 'vrf' as const, table } });
    expect(freeVrfTable([])).toBe(1);
    expect(freeVrfTable([vrf(1), vrf(2), vrf(4)])).toBe(3);
    expect(freeVrfTable(Array.from({ length: 252 }, (_, i) => vrf(i + 1)))).toBe(256);
  });
});

describe('vrf ADD', () => {
  it('creates the VRF with a free table, up, enslaves the interface, restores IPv6 addresses and moves routes into its table', async () => {
    const k = new FakeKernel();
    k.addLink({ name: 'red', kind: 'vrf', table: 1, up: true });
    const eth0 = k.container();
    const prev = await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick });
    expect(prev.ips?.[0]?.address).toBe('10.1.0.5/24');

    const blue = k.byName('blue');
    expect(blue).toMatchObject({ kind: 'vrf', table: 2, up: true });
    expect(eth0.master).toBe(blue?.index);
    expect(k.addrs.filter((a) => a.index === eth0.index).map((a) => a.local)).toEqual(['10.1.0.5', 'fd00:1::5']);
    const inVrf = k.routes.filter((r) => r.table === 2).map((r) => `${r.dst ?? 'default'}/${r.dstLen} ${r.gateway ?? ''}`.trim());
    expect(inVrf).toEqual(
      expect.arrayContaining(['default/0 10.1.0.1', '192.168.0.0/16 10.1.0.1', 'default/0 fd00:1::1', 'fd00:1::5/128']),
    );
    // Connected routes are the kernel's business (re-made in the VRF table), not copied.
    expect(k.routes.filter((r) => r.table === 254)).toEqual([]);
  });

  it('uses an existing VRF, with the configured table or none; a different table is an error', async () => {
    const k = new FakeKernel();
    k.addLink({ name: 'blue', kind: 'vrf', table: 10, up: true });
    const eth0 = k.container();
    await expect(vrfAdd(args(conf({ vrfname: 'blue', table: 11 })), { open: k.opener, ...quick })).rejects.toMatchObject({
      msg: 'VRF blue already exist with different routing table 10',
    });
    expect(eth0.master).toBeUndefined();
    await vrfAdd(args(conf({ vrfname: 'blue', table: 10 })), { open: k.opener, ...quick });
    expect(eth0.master).toBe(k.byName('blue')?.index);
  });

  it('is idempotent: a retried ADD changes nothing', async () => {
    const k = new FakeKernel();
    k.container();
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick });
    const routes = JSON.stringify(k.routes);
    k.seen.length = 0;
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick });
    expect(k.seen.filter((t) => t === RTM.NEWLINK || t === RTM.NEWROUTE || t === RTM.NEWADDR)).toEqual([]);
    expect(JSON.stringify(k.routes)).toBe(routes);
  });

  it('refuses an interface that already has a master, and a non-VRF link by the VRF name', async () => {
    const k = new FakeKernel();
    const br = k.addLink({ name: 'br0', kind: 'bridge', up: true });
    const eth0 = k.container();
    eth0.master = br.index;
    await expect(vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick })).rejects.toMatchObject({
      msg: 'interface eth0 has already a master set: br0',
    });
    await expect(vrfAdd(args(conf({ vrfname: 'br0' })), { open: k.opener, ...quick })).rejects.toMatchObject({ msg: 'Netlink br0 is not a VRF' });
  });

  it('says so when the kernel has no VRF support', async () => {
    const k = new FakeKernel();
    k.vrfSupported = false;
    k.container();
    await expect(vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick })).rejects.toMatchObject({
      code: 999,
      msg: expect.stringContaining('no VRF support'),
    });
  });

  it('needs prevResult (code 7)', async () => {
    const k = new FakeKernel();
    await expect(vrfAdd(args(conf({ vrfname: 'blue' }, false)), { open: k.opener })).rejects.toMatchObject({ code: 7 });
  });

  it('fails clearly when the interface is missing', async () => {
    const k = new FakeKernel();
    await expect(vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick })).rejects.toMatchObject({ msg: 'could not get link by name eth0' });
  });
});

describe('vrf CHECK and DEL', () => {
  it('CHECK passes when enslaved and fails otherwise', async () => {
    const k = new FakeKernel();
    const eth0 = k.container();
    await expect(vrfCheck(args(conf({ vrfname: 'blue' })), { open: k.opener })).rejects.toMatchObject({ msg: 'VRF blue not found' });
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick });
    await expect(vrfCheck(args(conf({ vrfname: 'blue' })), { open: k.opener })).resolves.toBeUndefined();
    await expect(vrfCheck(args(conf({ vrfname: 'blue', table: 9 })), { open: k.opener })).rejects.toMatchObject({ msg: expect.stringContaining('different routing table') });
    delete eth0.master;
    await expect(vrfCheck(args(conf({ vrfname: 'blue' })), { open: k.opener })).rejects.toMatchObject({ msg: 'failed to find eth0 associated to vrf blue' });
  });

  it('DEL releases the interface and deletes the VRF with its last port only', async () => {
    const k = new FakeKernel();
    const eth0 = k.container();
    const net1 = k.addLink({ name: 'net1', up: true });
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.opener, ...quick });
    await vrfAdd({ ...args(conf({ vrfname: 'blue' })), ifName: 'net1' }, { open: k.opener, ...quick });

    await vrfDel(args(conf({ vrfname: 'blue' }, false)), { open: k.opener });
    expect(eth0.master).toBeUndefined();
    expect(k.byName('blue')).toBeDefined();
    await vrfDel({ ...args(conf({ vrfname: 'blue' }, false)), ifName: 'net1' }, { open: k.opener });
    expect(net1.master).toBeUndefined();
    expect(k.byName('blue')).toBeUndefined();
    // Again: nothing left, still fine.
    await expect(vrfDel(args(conf({ vrfname: 'blue' }, false)), { open: k.opener })).resolves.toBeUndefined();
  });

  it('DEL leaves an interface enslaved elsewhere alone', async () => {
    const k = new FakeKernel();
    k.addLink({ name: 'blue', kind: 'vrf', table: 5, up: true });
    const red = k.addLink({ name: 'red', kind: 'vrf', table: 6, up: true });
    const eth0 = k.container();
    eth0.master = red.index;
    await vrfDel(args(conf({ vrfname: 'blue' }, false)), { open: k.opener });
    expect(eth0.master).toBe(red.index);
    expect(k.byName('blue')).toBeUndefined();
  });

  it('DEL succeeds without a namespace', async () => {
    const gone = () => {
      throw Object.assign(new Error('setns: ENOENT'), { code: 'ENOENT' });
    };
    await expect(vrfDel(args(conf({ vrfname: 'blue' }, false)), { open: gone })).resolves.toBeUndefined();
    await expect(vrfDel(args(conf({ vrfname: 'blue' }, false), ''), { open: gone })).resolves.toBeUndefined();
    await expect(vrfPlugin({ open: gone }).gc!(args(conf({ vrfname: 'blue', 'cni.dev/valid-attachments': [] }, false)))).resolves.toBeUndefined();
  });
});
