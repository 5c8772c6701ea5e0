// Unit tests of the vlan plugin against the fake rtnetlink (this machine's kernel has no 802.1Q, so
// the kernel test skips): the exact RTM_NEWLINK it builds, the link landing in the container with
// its addresses and routes, the result, CHECK passing then failing, DEL order and idempotence.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NLM_F, RTM } from '@tscni/netlink';
import { FakeNet, sent } from '../test-support/fake-rtnl.js';
import { fakeIpam, invoke } from '../test-support/fake-ipam.js';
import type { FakeIpam } from '../test-support/fake-ipam.js';
import { vlanPlugin } from './plugin.js';

const RESULT = { cniVersion: '1.1.0', ips: [{ address: '10.9.0.5/24', gateway: '10.9.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['10.9.0.53'] } };
let dir: string;
let ctr: string;
let ipam: FakeIpam;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'tscni-vlan-')));
  ctr = join(dir, 'ctr');
  writeFileSync(ctr, '');
  ipam = fakeIpam(RESULT);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  ipam.cleanup();
});

const conf = (extra: Record<string, unknown> = {}) => ({ cniVersion: '1.1.0', name: 'vnet', type: 'vlan', master: 'eth1', vlanId: 100, ipam: { type: 'fake-ipam' }, ...extra });

function setup() {
  const net = new FakeNet();
  const host = net.ns(null);
  const eth1 = host.add({ name: 'eth1', mtu: 1500, mac: '02:00:00:00:aa:01', up: true });
  const plugin = vlanPlugin({ open: net.opener, ipam: ipam.ctx });
  const env = (command: string) => ({ command, containerId: 'c1', netns: ctr, ifName: 'eth0', path: ipam.dir });
  return { net, host, eth1, plugin, env };
}

describe('vlan', () => {
  it('ADD sends one RTM_NEWLINK for <master>.<id> straight into the container, then configures it from IPAM', async () => {
    const { net, host, eth1, plugin, env } = setup();
    const r = await invoke(plugin, env('ADD'), conf({ mtu: 1400 }));
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    const creates = host.requests(RTM.NEWLINK).filter((q) => (q.flags & NLM_F.CREATE) !== 0);
    expect(creates.map((q) => ({ flags: q.flags, ...(sent(q.link) as object) }))).toEqual([
      {
        flags: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL,
        ifname: 'eth0',
        link: eth1.index,
        mtu: 1400,
        netnsFd: expect.any(Number),
        linkInfo: { kind: 'vlan', data: { kind: 'vlan', id: 100 } },
      },
    ]);
    const c = net.ns(ctr);
    const l = c.byName('eth0');
    expect(l).toMatchObject({ kind: 'vlan', parent: eth1.index, mtu: 1400, up: true });
    expect(host.byName('eth0')).toBeUndefined();
    expect(c.addrs).toEqual([expect.objectContaining({ index: l?.index, local: '10.9.0.5', prefixLen: 24, broadcast: '10.9.0.255' })]);
    expect(c.routes).toEqual([expect.objectContaining({ dstLen: 0, gateway: '10.9.0.1', oif: l?.index })]);
    expect(r.json).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: l?.mac, sandbox: ctr }],
      ips: [{ interface: 0, address: '10.9.0.5/24', gateway: '10.9.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.9.0.53'] },
    });

    // CHECK: passes; fails when the VLAN id differs or an address is gone.
    expect((await invoke(plugin, env('CHECK'), conf({ mtu: 1400, prevResult: r.json }))).code).toBe(0);
    if (l?.data?.kind === 'vlan') l.data.id = 101;
    const wrongId = await invoke(plugin, env('CHECK'), conf({ mtu: 1400, prevResult: r.json }));
    expect(wrongId.json).toMatchObject({ code: 999, msg: 'container vlan eth0 has VLAN id 101, configured 100' });
    if (l?.data?.kind === 'vlan') l.data.id = 100;
    c.addrs = [];
    const noAddr = await invoke(plugin, env('CHECK'), conf({ mtu: 1400, prevResult: r.json }));
    expect(noAddr.json).toMatchObject({ code: 999, msg: 'Failed to match addr 10.9.0.5/24 on interface eth0' });

    // DEL: IPAM, then the link; again; and with the namespace gone, IPAM only.
    expect((await invoke(plugin, env('DEL'), conf())).code).toBe(0);
    expect(c.byName('eth0')).toBeUndefined();
    expect((await invoke(plugin, env('DEL'), conf())).code).toBe(0);
    rmSync(ctr);
    expect((await invoke(plugin, env('DEL'), conf())).code).toBe(0);
    expect(ipam.calls).toEqual(['ADD c1 eth0', 'CHECK c1 eth0', 'CHECK c1 eth0', 'CHECK c1 eth0', 'DEL c1 eth0', 'DEL c1 eth0', 'DEL c1 eth0']);
  });

  it('creates the link from inside the container with linkInContainer', async () => {
    const { net, host, plugin, env } = setup();
    const c = net.ns(ctr);
    const inner = c.add({ name: 'in0', mtu: 9000, mac: '02:00:00:00:bb:01', up: true });
    const r = await invoke(plugin, env('ADD'), conf({ master: 'in0', linkInContainer: true, vlanId: 7 }));
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(host.requests(RTM.NEWLINK)).toEqual([]);
    const [create] = c.requests(RTM.NEWLINK).filter((q) => (q.flags & NLM_F.CREATE) !== 0);
    expect(sent(create?.link)).toEqual({ ifname: 'eth0', link: inner.index, linkInfo: { kind: 'vlan', data: { kind: 'vlan', id: 7 } } });
  });

  it('IPAM failing after the link was made removes the link; a failure after IPAM releases the address', async () => {
    const failing = fakeIpam(RESULT, { ADD: { code: 11, msg: 'no addresses left' } });
    try {
      const net = new FakeNet();
      net.ns(null).add({ name: 'eth1', mtu: 1500, mac: '02:00:00:00:aa:01', up: true });
      const r = await invoke(vlanPlugin({ open: net.opener, ipam: failing.ctx }), { command: 'ADD', containerId: 'c1', netns: ctr, ifName: 'eth0', path: failing.dir }, conf());
      expect(r.json).toMatchObject({ code: 11, msg: 'no addresses left' });
      expect(net.ns(ctr).byName('eth0')).toBeUndefined();
    } finally {
      failing.cleanup();
    }
    const noIps = fakeIpam({ cniVersion: '1.1.0', ips: [] });
    try {
      const net = new FakeNet();
      net.ns(null).add({ name: 'eth1', mtu: 1500, mac: '02:00:00:00:aa:01', up: true });
      const r = await invoke(vlanPlugin({ open: net.opener, ipam: noIps.ctx }), { command: 'ADD', containerId: 'c1', netns: ctr, ifName: 'eth0', path: noIps.dir }, conf());
      expect(r.json).toMatchObject({ code: 999, msg: 'IPAM plugin returned missing IP config' });
      expect(noIps.calls).toEqual(['ADD c1 eth0', 'DEL c1 eth0']);
      expect(net.ns(ctr).byName('eth0')).toBeUndefined();
    } finally {
      noIps.cleanup();
    }
  });

  it('refuses bad configurations with code 7 naming the key', async () => {
    const { plugin, env } = setup();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ master: undefined }, 'master: "master" field is required. It specifies the host interface name to create the VLAN for'],
      [{ vlanId: 4095 }, 'vlanId: invalid VLAN ID 4095 (must be between 0 and 4094)'],
      [{ ipam: {} }, 'ipam.type: vlan needs an IPAM plugin'],
      [{ mtu: 1600 }, 'mtu: invalid MTU 1600, must be [0, master MTU(1500)]'],
    ];
    for (const [extra, msg] of cases) {
      const r = await invoke(plugin, env('ADD'), conf(extra));
      expect(r.json, msg).toMatchObject({ code: 7, msg });
    }
    expect(ipam.calls).toEqual([]);
  });

  it('GC and STATUS go to IPAM', async () => {
    const { plugin } = setup();
    expect((await invoke(plugin, { command: 'STATUS', path: ipam.dir }, conf())).code).toBe(0);
    expect((await invoke(plugin, { command: 'GC', path: ipam.dir }, conf({ 'cni.dev/valid-attachments': [] }))).code).toBe(0);
    expect(ipam.calls).toEqual(['STATUS', 'GC']);
  });
});
