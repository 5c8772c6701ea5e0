// Unit tests of bridge ports and the VLAN gateway interface against the fake rtnetlink (this
// machine's kernel has no bridge VLAN filtering, so the kernel test skips): the exact requests for
// an access port, a trunk port, and `<bridge>.<vlan>` with its port in the VLAN.
import { describe, expect, it } from 'vitest';
import { AF_BRIDGE, BRIDGE_FLAGS, BRIDGE_VLAN_INFO, IFF, NLM_F, RTM } from '@tscni/netlink';
import { FakeNet, sent } from '../test-support/fake-rtnl.js';
import type { FakeNs, SeenRequest } from '../test-support/fake-rtnl.js';
import { ensureVlanGateway, setupPort } from './port.js';
import type { PortConfig } from './port.js';

const { PVID, UNTAGGED } = BRIDGE_VLAN_INFO;

function withBridge(): { net: FakeNet; host: FakeNs; br: number } {
  const net = new FakeNet();
  const host = net.ns(null);
  const br = host.add({ name: 'br0', kind: 'bridge', data: { kind: 'bridge', vlanFiltering: true }, mtu: 1400, mac: '02:aa:00:00:00:01', up: true });
  return { net, host, br: br.index };
}

const base: PortConfig = { bridge: 'br0', hairpinMode: false, portIsolation: false, vlan: 0, vlanTrunk: undefined, preserveDefaultVlan: true };

/** The link-changing requests (not lookups), as sent (unset header fields left out). */
function changes(ns: FakeNs): unknown[] {
  return ns.seen
    .filter((r) => r.type !== RTM.GETLINK)
    .map((r: SeenRequest) => ({ type: r.type, ...((r.flags & NLM_F.CREATE) !== 0 ? { create: true } : {}), ...(sent(r.link ?? {}) as object) }));
}

describe('bridge ports', () => {
  it('an access port: enslaved, the default VLAN removed (preserveDefaultVlan false), PVID untagged', async () => {
    const { net, host, br } = withBridge();
    const port = host.add({ name: 'veth1', mtu: 1400, mac: '02:00:00:00:00:09', up: true, kind: 'veth' });
    const rt = net.opener(null);
    await setupPort(rt, await rt.getLink(port.index), await rt.getLink(br), { ...base, vlan: 100, preserveDefaultVlan: false, hairpinMode: true });
    expect(changes(host)).toEqual([
      { type: RTM.NEWLINK, index: port.index, master: br },
      { type: RTM.SETLINK, family: AF_BRIDGE, index: port.index, protinfo: { hairpin: true } },
      { type: RTM.DELLINK, family: AF_BRIDGE, index: port.index, afSpec: { flags: BRIDGE_FLAGS.MASTER, vlans: [{ vid: 1 }] } },
      { type: RTM.SETLINK, family: AF_BRIDGE, index: port.index, afSpec: { flags: BRIDGE_FLAGS.MASTER, vlans: [{ vid: 100, flags: PVID | UNTAGGED }] } },
    ]);
    expect([...(port.vlans ?? new Map<number, number>())]).toEqual([[100, PVID | UNTAGGED]]);
  });

  it('a trunk port keeps the default VLAN and adds the tagged ones', async () => {
    const { net, host, br } = withBridge();
    const port = host.add({ name: 'veth1', mtu: 1400, mac: '02:00:00:00:00:09', up: true, kind: 'veth' });
    const rt = net.opener(null);
    await setupPort(rt, await rt.getLink(port.index), await rt.getLink(br), { ...base, vlanTrunk: [5, 7] });
    expect([...(port.vlans ?? new Map<number, number>())]).toEqual([
      [1, PVID | UNTAGGED],
      [5, 0],
      [7, 0],
    ]);
  });
});

describe('VLAN gateway interface', () => {
  it('creates <bridge>.<vlan> as a veth whose peer is an access port of the VLAN, with the bridge MTU, up', async () => {
    const { net, host, br } = withBridge();
    const rt = net.opener(null);
    const gw = await ensureVlanGateway(rt, await rt.getLink(br), { ...base, vlan: 100, preserveDefaultVlan: false, hairpinMode: true });
    expect(gw).toMatchObject({ name: 'br0.100', up: true, mtu: 1400 });
    const port = [...host.links.values()].find((l) => l.kind === 'veth' && l.name !== 'br0.100');
    expect(port?.name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(changes(host)).toEqual([
      {
        type: RTM.NEWLINK,
        create: true,
        ifname: port?.name,
        mtu: 1400,
        flags: IFF.UP,
        change: IFF.UP,
        linkInfo: { kind: 'veth', data: { kind: 'veth', peer: { ifname: 'br0.100', mtu: 1400 } } },
      },
      { type: RTM.NEWLINK, index: port?.index, master: br },
      // No hairpin on the gateway's port, whatever the attachment asked for.
      { type: RTM.DELLINK, family: AF_BRIDGE, index: port?.index, afSpec: { flags: BRIDGE_FLAGS.MASTER, vlans: [{ vid: 1 }] } },
      { type: RTM.SETLINK, family: AF_BRIDGE, index: port?.index, afSpec: { flags: BRIDGE_FLAGS.MASTER, vlans: [{ vid: 100, flags: PVID | UNTAGGED }] } },
      { type: RTM.NEWLINK, index: gw.index, flags: IFF.UP, change: IFF.UP },
    ]);

    // The next attachment of the VLAN finds it and changes nothing.
    const brLink = await rt.getLink(br);
    const before = host.seen.length;
    const again = await ensureVlanGateway(rt, brLink, { ...base, vlan: 100 });
    expect(again.index).toBe(gw.index);
    expect(host.seen.slice(before).map((r) => r.type)).toEqual([RTM.GETLINK]);
  });

  it('removes the half-made pair when the VLAN cannot be set', async () => {
    const { net, host } = withBridge();
    // A bridge index that does not exist: enslaving fails.
    const rt = net.opener(null);
    const ghost = { index: 999, name: 'br0', type: 1, flags: 0, up: true, operState: 'up' as const, mtu: 1400 };
    await expect(ensureVlanGateway(rt, ghost, { ...base, vlan: 100 })).rejects.toMatchObject({ code: 999 });
    expect([...host.links.values()].map((l) => l.name).sort()).toEqual(['br0', 'lo']);
  });
});
