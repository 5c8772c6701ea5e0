// Floor 3 (plugins/bridge): bridge ports. A host veth joins the bridge with the configured port flags
// and VLANs (access VLAN as PVID + untagged, or trunk VLANs tagged), as the reference's setupVeth;
// and the reference's VLAN gateway (ensureVlanInterface): for `isGateway` with `vlan`, the gateway
// addresses go on `<bridge>.<vlan>`, one end of a host-side veth pair whose other end is a port in
// that VLAN, shared by every attachment of the VLAN (like the bridge, never deleted by DEL).
import { CniError, ErrorCode } from '@tscni/spec';
import type { Link, RtNetlink } from '@tscni/netlink';
import { isExists, kernelError } from '../shared/kernel.js';
import { randomVethName } from '../shared/veth.js';
import type { BridgeConfig } from './config.js';

export type PortConfig = Pick<BridgeConfig, 'bridge' | 'hairpinMode' | 'portIsolation' | 'vlan' | 'vlanTrunk' | 'preserveDefaultVlan'>;

/** Port settings of a host veth: master, hairpin, isolation, VLANs. */
export async function setupPort(host: RtNetlink, port: Link, br: Link, c: PortConfig): Promise<void> {
  try {
    await host.setLink(port.index, { master: br.index });
  } catch (e) {
    throw kernelError(`failed to connect "${port.name}" to bridge ${c.bridge}`, e);
  }
  try {
    if (c.hairpinMode || c.portIsolation) {
      await host.setBridgePort(port.index, {
        ...(c.hairpinMode ? { hairpin: true } : {}),
        ...(c.portIsolation ? { isolated: true } : {}),
      });
    }
  } catch (e) {
    throw kernelError(`failed to set bridge port flags on ${port.name}`, e);
  }
  if (c.vlan === 0 && c.vlanTrunk === undefined) return;
  try {
    if (!c.preserveDefaultVlan) {
      const mine = (await host.listBridgeVlans()).find((v) => v.index === port.index);
      for (const v of mine?.vlans ?? []) await host.deleteBridgeVlan(port.index, { vid: v.vid }, { master: true });
    }
    if (c.vlan !== 0) await host.addBridgeVlan(port.index, { vid: c.vlan, pvid: true, untagged: true }, { master: true });
    for (const vid of c.vlanTrunk ?? []) await host.addBridgeVlan(port.index, { vid }, { master: true });
  } catch (e) {
    throw kernelError(`failed to set up VLANs on interface "${port.name}"`, e);
  }
}

/** Random names collide rarely; give up after this many. */
const NAME_ATTEMPTS = 10;

/**
 * The VLAN gateway interface `<bridge>.<vlan>` (existing, or created with its port in the VLAN and
 * brought up), with the bridge's MTU.
 */
export async function ensureVlanGateway(host: RtNetlink, br: Link, c: PortConfig): Promise<Link> {
  const name = `${c.bridge}.${c.vlan}`;
  const existing = await host.findLink(name);
  if (existing !== undefined) return existing;
  let portName = '';
  for (let attempt = 1; ; attempt++) {
    portName = randomVethName();
    try {
      const mtu = br.mtu === undefined ? {} : { mtu: br.mtu };
      await host.createLink({ name: portName, kind: 'veth', ...mtu, up: true, peer: { name, ...mtu } });
      break;
    } catch (e) {
      if (!isExists(e)) throw kernelError(`failed to create vlan gateway "${name}"`, e);
      // Another ADD made the gateway meanwhile: use it.
      const raced = await host.findLink(name);
      if (raced !== undefined) return raced;
      if (attempt >= NAME_ATTEMPTS) throw new CniError(ErrorCode.Internal, `failed to find a free veth name for vlan gateway "${name}"`);
    }
  }
  try {
    const port = await host.getLink(portName);
    await setupPort(host, port, br, { ...c, hairpinMode: false, portIsolation: false, vlanTrunk: undefined });
    await host.setLinkUp(name);
    return await host.getLink(name);
  } catch (e) {
    await host.deleteLink(portName).catch(() => undefined);
    throw kernelError(`failed to set up vlan gateway "${name}"`, e);
  }
}
