// Unit tests of the ipvlan plugin against the fake rtnetlink (this machine's kernel has no ipvlan,
// so the kernel test skips): the RTM_NEWLINK it builds (mode, parent from the default route or
// from a chained prevResult), prevResult addresses used without IPAM, CHECK of the mode, DEL.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AF_INET, NLM_F, RTM } from '@tscni/netlink';
import { FakeNet, sent } from '../test-support/fake-rtnl.js';
import { fakeIpam, invoke } from '../test-support/fake-ipam.js';
import type { FakeIpam } from '../test-support/fake-ipam.js';
import { ipvlanPlugin } from './plugin.js';

const RESULT = { cniVersion: '1.1.0', ips: [{ address: '10.9.0.5/24', gateway: '10.9.0.1' }] };
let dir: string;
let ctr: string;
let ipam: FakeIpam;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'tscni-ipvlan-')));
  ctr = join(dir, 'ctr');
  writeFileSync(ctr, '');
  ipam = fakeIpam(RESULT);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  ipam.cleanup();
});

const conf = (extra: Record<string, unknown> = {}) => ({ cniVersion: '1.1.0', name: 'ipvnet', type: 'ipvlan', ipam: { type: 'fake-ipam' }, ...extra });

function setup() {
  const net = new FakeNet();
  const host = net.ns(null);
  const eth1 = host.add({ name: 'eth1', mtu: 1500, mac: '02:00:00:00:aa:01', up: true });
  // The host's default route goes out of eth1.
  host.routes.push({ family: AF_INET, dstLen: 0, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0, oif: eth1.index, gateway: '192.0.2.1' });
  const plugin = ipvlanPlugin({ open: net.opener, ipam: ipam.ctx });
  const env = (command: string) => ({ command, containerId: 'c1', netns: ctr, ifName: 'eth0', path: ipam.dir });
  return { net, host, eth1, plugin, env };
}

function creates(ns: ReturnType<FakeNet['ns']>): unknown[] {
  return ns.requests(RTM.NEWLINK).filter((q) => (q.flags & NLM_F.CREATE) !== 0).map((q) => sent(q.link));
}

describe('ipvlan', () => {
  it('ADD on the default-route interface (mode l3): one RTM_NEWLINK into the container; CHECK; DEL', async () => {
    const { net, host, eth1, plugin, env } = setup();
    const r = await invoke(plugin, env('ADD'), conf({ mode: 'l3', mtu: 1450 }));
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(creates(host)).toEqual([
      { ifname: 'eth0', link: eth1.index, mtu: 1450, netnsFd: expect.any(Number), linkInfo: { kind: 'ipvlan', data: { kind: 'ipvlan', mode: 'l3' } } },
    ]);
    const c = net.ns(ctr);
    const l = c.byName('eth0');
    expect(l).toMatchObject({ kind: 'ipvlan', parent: eth1.index, up: true });
    expect(r.json).toEqual({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mac: l?.mac, sandbox: ctr }], ips: [{ interface: 0, address: '10.9.0.5/24', gateway: '10.9.0.1' }] });

    expect((await invoke(plugin, env('CHECK'), conf({ mode: 'l3', prevResult: r.json }))).code).toBe(0);
    const other = await invoke(plugin, env('CHECK'), conf({ mode: 'l2', prevResult: r.json }));
    expect(other.json).toMatchObject({ code: 999, msg: 'Container IPVlan mode l3 does not match expected value: l2' });

    expect((await invoke(plugin, env('DEL'), conf())).code).toBe(0);
    expect(c.byName('eth0')).toBeUndefined();
    expect((await invoke(plugin, env('DEL'), conf())).code).toBe(0);
    expect(ipam.calls.filter((x) => x.startsWith('DEL'))).toHaveLength(2);
  });

  it('chained without IPAM: the master is prevResult\'s only interface and its addresses are applied', async () => {
    const { net, host, plugin, env } = setup();
    const up = host.add({ name: 'up0', mtu: 1500, mac: '02:00:00:00:aa:02', up: true });
    const prevResult = { cniVersion: '1.1.0', interfaces: [{ name: 'up0' }], ips: [{ interface: 0, address: '10.7.0.9/16' }] };
    const r = await invoke(plugin, env('ADD'), { ...conf({ prevResult }), ipam: {} });
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(creates(host)).toEqual([expect.objectContaining({ link: up.index, linkInfo: { kind: 'ipvlan', data: { kind: 'ipvlan', mode: 'l2' } } })]);
    expect(net.ns(ctr).addrs).toEqual([expect.objectContaining({ local: '10.7.0.9', prefixLen: 16 })]);
    expect(r.json).toMatchObject({ interfaces: [{ name: 'eth0', sandbox: ctr }], ips: [{ interface: 0, address: '10.7.0.9/16' }] });
    expect(ipam.calls).toEqual([]);
    // DEL without an IPAM type does not call IPAM.
    expect((await invoke(plugin, env('DEL'), { ...conf({ prevResult }), ipam: {} })).code).toBe(0);
    expect(ipam.calls).toEqual([]);
  });

  it('refuses what the reference refuses (code 7)', async () => {
    const { plugin, env } = setup();
    const two = { cniVersion: '1.1.0', interfaces: [{ name: 'a' }, { name: 'b' }], ips: [{ address: '10.7.0.9/16' }] };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ mode: 'l4' }, 'mode: unknown ipvlan mode: "l4"'],
      [{ ipam: {} }, 'ipam.type: ipvlan needs an IPAM plugin (or a prevResult with IPs)'],
      [{ prevResult: two }, 'master: chained master failure. PrevResult lacks a single named interface'],
      [{ master: 'eth1', mtu: 9000 }, 'mtu: invalid MTU 9000, must be [0, master MTU(1500)]'],
    ];
    for (const [extra, msg] of cases) {
      const r = await invoke(plugin, env('ADD'), conf(extra));
      expect(r.json, msg).toMatchObject({ code: 7, msg });
    }
  });
});
