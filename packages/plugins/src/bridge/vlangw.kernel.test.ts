// The bridge's ADD with a gateway on an access VLAN, end to end against the fake rtnetlink (this
// machine's kernel has no bridge VLAN filtering, see bridge.kernel.test.ts): the gateway address on
// `<bridge>.<vlan>` rather than the bridge, its port in the VLAN, the 4th result interface, and a
// second attachment reusing it. In the kernel suite only because ADD turns on the host's real
// ip_forward (restored afterwards).
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BRIDGE_VLAN_INFO } from '@tscni/netlink';
import { FakeNet } from '../test-support/fake-rtnl.js';
import { fakeIpam, invoke } from '../test-support/fake-ipam.js';
import type { FakeIpam } from '../test-support/fake-ipam.js';
import { saveForwarding } from '../test-support/cni.js';
import { bridgePlugin } from './plugin.js';

let restoreForwarding: () => void;
let dir: string;
let ipam: FakeIpam;
beforeAll(() => {
  restoreForwarding = saveForwarding();
});
afterAll(() => restoreForwarding());
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'tscni-vgw-')));
  ipam = fakeIpam({ cniVersion: '1.1.0', ips: [{ address: '10.30.0.5/24' }] });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  ipam.cleanup();
});

function container(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, '');
  return p;
}

describe('bridge VLAN gateway (fake rtnetlink)', () => {
  it('puts the gateway on <bridge>.<vlan>, a veth whose peer is an access port of the VLAN, and reports it', async () => {
    const net = new FakeNet();
    const plugin = bridgePlugin({ open: net.opener, ipam: ipam.ctx, portUpRetriesMs: [0] });
    const conf = { cniVersion: '1.1.0', name: 'vnet', type: 'bridge', bridge: 'brv', isGateway: true, vlan: 30, preserveDefaultVlan: false, ipam: { type: 'fake-ipam' } };
    const c1 = container('c1');
    const r = await invoke(plugin, { command: 'ADD', containerId: 'c1', netns: c1, ifName: 'eth0', path: ipam.dir }, conf);
    expect(r.code, JSON.stringify(r.json)).toBe(0);

    const host = net.ns(null);
    const br = host.byName('brv');
    const gw = host.byName('brv.30');
    expect(br?.data).toMatchObject({ kind: 'bridge', vlanFiltering: true });
    expect(gw).toMatchObject({ kind: 'veth', up: true });
    // The gateway's address is on brv.30, not on the bridge.
    expect(host.addrs.filter((a) => a.index === gw?.index).map((a) => `${a.local}/${a.prefixLen}`)).toEqual(['10.30.0.1/24']);
    expect(host.addrs.filter((a) => a.index === br?.index)).toEqual([]);
    // Both ports (the container's and the gateway's) are access ports of VLAN 30 only.
    const ports = [...host.links.values()].filter((l) => l.master === br?.index);
    expect(ports).toHaveLength(2);
    for (const p of ports) expect([...(p.vlans ?? new Map<number, number>())]).toEqual([[30, BRIDGE_VLAN_INFO.PVID | BRIDGE_VLAN_INFO.UNTAGGED]]);
    expect(ports.map((p) => p.parent)).toContain(gw?.index);

    const ifs = (r.json?.['interfaces'] ?? []) as Array<{ name: string; mac?: string; sandbox?: string }>;
    expect(ifs.map((i) => i.name)).toEqual(['brv', expect.stringMatching(/^veth[0-9a-f]{8}$/), 'eth0', 'brv.30']);
    expect(ifs[3]).toEqual({ name: 'brv.30', mac: gw?.mac });
    expect(r.json?.['ips']).toEqual([{ interface: 2, address: '10.30.0.5/24', gateway: '10.30.0.1' }]);

    // A second attachment of the VLAN reuses the gateway interface.
    const second = fakeIpam({ cniVersion: '1.1.0', ips: [{ address: '10.30.0.6/24' }] });
    try {
      const r2 = await invoke(bridgePlugin({ open: net.opener, ipam: second.ctx, portUpRetriesMs: [0] }), { command: 'ADD', containerId: 'c2', netns: container('c2'), ifName: 'eth0', path: second.dir }, conf);
      expect(r2.code, JSON.stringify(r2.json)).toBe(0);
      expect([...host.links.values()].filter((l) => l.name === 'brv.30')).toHaveLength(1);
      expect([...host.links.values()].filter((l) => l.master === br?.index)).toHaveLength(3);
    } finally {
      second.cleanup();
    }

    // DEL removes the attachment; the shared gateway interface stays.
    expect((await invoke(plugin, { command: 'DEL', containerId: 'c1', netns: c1, ifName: 'eth0', path: ipam.dir }, conf)).code).toBe(0);
    expect(net.ns(c1).byName('eth0')).toBeUndefined();
    expect(host.byName('brv.30')).toBeDefined();
  });
});
