// Unit tests of the vrf plugin against the shared fake rtnetlink (test-support/fake-rtnl.ts; this
// test kernel has no vrf module, so the kernel test can only skip): links with masters, addresses,
// routes per table, and what enslaving to a VRF does to them (routes via the device flushed, global
// IPv6 addresses dropped, local routes re-made in the VRF's table).
import { describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';
import { AF_INET, AF_INET6, RTM, RtNetlink } from '@tscni/netlink';
import type { RouteMessage } from '@tscni/netlink';
import { FakeNet } from '../test-support/fake-rtnl.js';
import type { FakeLink } from '../test-support/fake-rtnl.js';
import type { RtOpener } from '../shared/kernel.js';
import { VRF_VERSIONS, freeVrfTable, loadVrfConfig, vrfAdd, vrfCheck, vrfDel, vrfPlugin } from './plugin.js';
import { cmdArgs } from '../test-support/cmd-args.js';

/** The container namespace in the shared fake rtnetlink, and the setups these tests start from. */
class Sandbox {
  readonly ns = new FakeNet().ns('/run/netns/x');
  readonly open: RtOpener = (path) => new RtNetlink(this.ns.transport(), { netnsPath: path });

  link(name: string, extra: Partial<Omit<FakeLink, 'index' | 'name'>> = {}): FakeLink {
    return this.ns.add({ name, up: true, mtu: 1500, mac: this.ns.net.nextMac(), ...extra });
  }

  vrf(name: string, table: number): FakeLink {
    return this.link(name, { kind: 'vrf', data: { kind: 'vrf', table } });
  }

  /** eth0 with 10.1.0.5/24 and fd00:1::5/64 and the routes bridge+IPAM would leave. */
  container(): FakeLink {
    const eth0 = this.link('eth0');
    for (const [family, local, prefixLen] of [[AF_INET, '10.1.0.5', 24], [AF_INET6, 'fd00:1::5', 64]] as const) {
      this.ns.addAddr(eth0, { family, prefixLen, flags: 0, scope: 0, index: eth0.index, local, address: local });
    }
    this.ns.routes.push(
      route({ family: AF_INET, dst: '10.1.0.0', dstLen: 24, oif: eth0.index, scope: 253, protocol: 2, prefsrc: '10.1.0.5' }),
      route({ family: AF_INET, dstLen: 0, oif: eth0.index, gateway: '10.1.0.1' }),
      route({ family: AF_INET, dst: '192.168.0.0', dstLen: 16, oif: eth0.index, gateway: '10.1.0.1' }),
      route({ family: AF_INET6, dst: 'fd00:1::', dstLen: 64, oif: eth0.index, protocol: 2, priority: 256 }),
      route({ family: AF_INET6, dstLen: 0, oif: eth0.index, gateway: 'fd00:1::1', priority: 1024 }),
    );
    return eth0;
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
  return cmdArgs(netconf, { containerId: 'c', netns });
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
    const k = new Sandbox();
    k.vrf('red', 1);
    const eth0 = k.container();
    const prev = await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick });
    expect(prev.ips?.[0]?.address).toBe('10.1.0.5/24');

    const blue = k.ns.byName('blue');
    expect(blue).toMatchObject({ kind: 'vrf', data: { kind: 'vrf', table: 2 }, up: true });
    expect(eth0.master).toBe(blue?.index);
    expect(k.ns.addrs.filter((a) => a.index === eth0.index).map((a) => a.local)).toEqual(['10.1.0.5', 'fd00:1::5']);
    const inVrf = k.ns.routes.filter((r) => r.table === 2).map((r) => `${r.dst ?? 'default'}/${r.dstLen} ${r.gateway ?? ''}`.trim());
    expect(inVrf).toEqual(
      expect.arrayContaining(['default/0 10.1.0.1', '192.168.0.0/16 10.1.0.1', 'default/0 fd00:1::1', 'fd00:1::5/128']),
    );
    // Connected routes are the kernel's business (re-made in the VRF table), not copied.
    expect(k.ns.routes.filter((r) => r.table === 254)).toEqual([]);
  });

  it('uses an existing VRF, with the configured table or none; a different table is an error', async () => {
    const k = new Sandbox();
    k.vrf('blue', 10);
    const eth0 = k.container();
    await expect(vrfAdd(args(conf({ vrfname: 'blue', table: 11 })), { open: k.open, ...quick })).rejects.toMatchObject({
      msg: 'VRF blue already exist with different routing table 10',
    });
    expect(eth0.master).toBeUndefined();
    await vrfAdd(args(conf({ vrfname: 'blue', table: 10 })), { open: k.open, ...quick });
    expect(eth0.master).toBe(k.ns.byName('blue')?.index);
  });

  it('is idempotent: a retried ADD changes nothing', async () => {
    const k = new Sandbox();
    k.container();
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick });
    const routes = JSON.stringify(k.ns.routes);
    k.ns.seen.length = 0;
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick });
    expect(k.ns.seen.map((r) => r.type).filter((t) => t === RTM.NEWLINK || t === RTM.NEWROUTE || t === RTM.NEWADDR)).toEqual([]);
    expect(JSON.stringify(k.ns.routes)).toBe(routes);
  });

  it('refuses an interface that already has a master, and a non-VRF link by the VRF name', async () => {
    const k = new Sandbox();
    const br = k.link('br0', { kind: 'bridge' });
    const eth0 = k.container();
    eth0.master = br.index;
    await expect(vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick })).rejects.toMatchObject({
      msg: 'interface eth0 has already a master set: br0',
    });
    await expect(vrfAdd(args(conf({ vrfname: 'br0' })), { open: k.open, ...quick })).rejects.toMatchObject({ msg: 'Netlink br0 is not a VRF' });
  });

  it('says so when the kernel has no VRF support', async () => {
    const k = new Sandbox();
    k.ns.unsupported.add('vrf');
    k.container();
    await expect(vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick })).rejects.toMatchObject({
      code: 999,
      msg: expect.stringContaining('no VRF support'),
    });
  });

  it('needs prevResult (code 7)', async () => {
    const k = new Sandbox();
    await expect(vrfAdd(args(conf({ vrfname: 'blue' }, false)), { open: k.open })).rejects.toMatchObject({ code: 7 });
  });

  it('fails clearly when the interface is missing', async () => {
    const k = new Sandbox();
    await expect(vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick })).rejects.toMatchObject({ msg: 'could not get link by name eth0' });
  });
});

describe('vrf CHECK and DEL', () => {
  it('CHECK passes when enslaved and fails otherwise', async () => {
    const k = new Sandbox();
    const eth0 = k.container();
    await expect(vrfCheck(args(conf({ vrfname: 'blue' })), { open: k.open })).rejects.toMatchObject({ msg: 'VRF blue not found' });
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick });
    await expect(vrfCheck(args(conf({ vrfname: 'blue' })), { open: k.open })).resolves.toBeUndefined();
    await expect(vrfCheck(args(conf({ vrfname: 'blue', table: 9 })), { open: k.open })).rejects.toMatchObject({ msg: expect.stringContaining('different routing table') });
    delete eth0.master;
    await expect(vrfCheck(args(conf({ vrfname: 'blue' })), { open: k.open })).rejects.toMatchObject({ msg: 'failed to find eth0 associated to vrf blue' });
  });

  it('DEL releases the interface and deletes the VRF with its last port only', async () => {
    const k = new Sandbox();
    const eth0 = k.container();
    const net1 = k.link('net1');
    await vrfAdd(args(conf({ vrfname: 'blue' })), { open: k.open, ...quick });
    await vrfAdd({ ...args(conf({ vrfname: 'blue' })), ifName: 'net1' }, { open: k.open, ...quick });

    await vrfDel(args(conf({ vrfname: 'blue' }, false)), { open: k.open });
    expect(eth0.master).toBeUndefined();
    expect(k.ns.byName('blue')).toBeDefined();
    await vrfDel({ ...args(conf({ vrfname: 'blue' }, false)), ifName: 'net1' }, { open: k.open });
    expect(net1.master).toBeUndefined();
    expect(k.ns.byName('blue')).toBeUndefined();
    // Again: nothing left, still fine.
    await expect(vrfDel(args(conf({ vrfname: 'blue' }, false)), { open: k.open })).resolves.toBeUndefined();
  });

  it('DEL leaves an interface enslaved elsewhere alone', async () => {
    const k = new Sandbox();
    k.vrf('blue', 5);
    const red = k.vrf('red', 6);
    const eth0 = k.container();
    eth0.master = red.index;
    await vrfDel(args(conf({ vrfname: 'blue' }, false)), { open: k.open });
    expect(eth0.master).toBe(red.index);
    expect(k.ns.byName('blue')).toBeUndefined();
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
