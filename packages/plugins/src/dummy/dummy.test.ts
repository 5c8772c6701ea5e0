// Unit tests of the dummy plugin against the fake rtnetlink (this machine's kernel has no dummy
// module, so the kernel test skips): the link is created inside the container, IPAM is required,
// CHECK compares addresses but not routes, DEL releases IPAM then removes the link.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NLM_F, RTM } from '@tscni/netlink';
import { FakeNet, sent } from '../test-support/fake-rtnl.js';
import { fakeIpam, invoke } from '../test-support/fake-ipam.js';
import type { FakeIpam } from '../test-support/fake-ipam.js';
import { dummyPlugin } from './plugin.js';

const RESULT = { cniVersion: '1.1.0', ips: [{ address: '10.9.0.5/24' }], routes: [{ dst: '198.51.100.0/24', gw: '10.9.0.1' }] };
let dir: string;
let ctr: string;
let ipam: FakeIpam;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'tscni-dummy-')));
  ctr = join(dir, 'ctr');
  writeFileSync(ctr, '');
  ipam = fakeIpam(RESULT);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  ipam.cleanup();
});

const conf = (extra: Record<string, unknown> = {}) => ({ cniVersion: '1.1.0', name: 'dnet', type: 'dummy', ipam: { type: 'fake-ipam' }, ...extra });

describe('dummy', () => {
  it('ADD creates a dummy link in the container and configures it; CHECK ignores routes; DEL', async () => {
    const net = new FakeNet();
    const plugin = dummyPlugin({ open: net.opener, ipam: ipam.ctx });
    const env = (command: string) => ({ command, containerId: 'c1', netns: ctr, ifName: 'dum0', path: ipam.dir });
    const r = await invoke(plugin, env('ADD'), conf());
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    const c = net.ns(ctr);
    expect(net.ns(null).seen).toEqual([]);
    const creates = c.requests(RTM.NEWLINK).filter((q) => (q.flags & NLM_F.CREATE) !== 0);
    expect(creates.map((q) => sent(q.link))).toEqual([{ ifname: 'dum0', linkInfo: { kind: 'dummy' } }]);
    const l = c.byName('dum0');
    expect(l).toMatchObject({ kind: 'dummy', up: true });
    expect(c.routes).toEqual([expect.objectContaining({ dst: '198.51.100.0', dstLen: 24, gateway: '10.9.0.1', oif: l?.index })]);
    expect(r.json).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'dum0', mac: l?.mac, sandbox: ctr }],
      ips: [{ interface: 0, address: '10.9.0.5/24' }],
      routes: [{ dst: '198.51.100.0/24', gw: '10.9.0.1' }],
    });
    c.routes = [];
    expect((await invoke(plugin, env('CHECK'), conf({ prevResult: r.json }))).code).toBe(0);
    c.addrs = [];
    expect((await invoke(plugin, env('CHECK'), conf({ prevResult: r.json }))).json).toMatchObject({ code: 999, msg: 'Failed to match addr 10.9.0.5/24 on interface dum0' });
    expect((await invoke(plugin, env('DEL'), conf())).code).toBe(0);
    expect(c.byName('dum0')).toBeUndefined();
    rmSync(ctr);
    expect((await invoke(plugin, env('DEL'), conf())).code).toBe(0);
    expect(ipam.calls).toEqual(['ADD c1 dum0', 'CHECK c1 dum0', 'CHECK c1 dum0', 'DEL c1 dum0', 'DEL c1 dum0']);
  });

  it('requires IPAM (code 7, the reference\'s message)', async () => {
    const net = new FakeNet();
    const r = await invoke(dummyPlugin({ open: net.opener, ipam: ipam.ctx }), { command: 'ADD', containerId: 'c1', netns: ctr, ifName: 'dum0', path: ipam.dir }, { ...conf(), ipam: {} });
    expect(r.json).toMatchObject({ code: 7, msg: 'ipam: dummy interface requires an IPAM configuration' });
    expect(net.ns(ctr).seen).toEqual([]);
  });
});
