// Floor 3 (plugins/bridge): the bridge plugin's configuration, with the reference's keys, defaults
// and cross-checks (hairpin vs promisc, vlan vs vlanTrunk, IPAM vs disableContainerInterface) and the
// container MAC from CNI_ARGS / args.cni / runtimeConfig. Errors are code 7 naming the key.
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { GoObject, ipamType, readMtu, requestedMac } from '../shared/conf.js';
import { loadIpMasq } from '../shared/ipmasq.js';
import type { IpMasqSettings } from '../shared/ipmasq.js';

export const DEFAULT_BRIDGE = 'cni0';

export interface BridgeConfig {
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: IpMasqSettings;
  mtu: number | undefined;
  hairpinMode: boolean;
  promiscMode: boolean;
  /** Access VLAN (PVID, untagged) of the port; 0 = none. */
  vlan: number;
  /** Tagged VLANs of a trunk port, sorted and without duplicates; undefined = not a trunk. */
  vlanTrunk: number[] | undefined;
  preserveDefaultVlan: boolean;
  macspoofchk: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** The container veth's MAC, if requested. */
  mac: string | undefined;
  /** An IPAM type is configured (else the attachment is L2 only). */
  layer3: boolean;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function vlanId(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(`${field}: must be an integer`);
  if (v < min || v > 4094) throw invalid(`${field}: VLAN ID ${v} is not in ${min}..4094`);
  return v;
}

/** `vlanTrunk: [{id} | {minID, maxID}]` -> the sorted set of VLAN ids. */
export function parseVlanTrunk(list: unknown[], field = 'vlanTrunk'): number[] | undefined {
  const ids = new Set<number>();
  list.forEach((raw, i) => {
    const at = `${field}[${i}]`;
    const o = new GoObject(raw, at);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`${at}: must be an object`);
    const min = o.get('minID');
    const max = o.get('maxID');
    if ((min === undefined) !== (max === undefined)) {
      throw invalid(`${at}: minID and maxID should be configured simultaneously, ${min === undefined ? 'minID' : 'maxID'} is missing`);
    }
    if (min !== undefined && max !== undefined) {
      const lo = vlanId(min, `${at}.minID`, 1);
      const hi = vlanId(max, `${at}.maxID`, 1);
      if (hi < lo) throw invalid(`${at}: minID is greater than maxID`);
      for (let v = lo; v <= hi; v++) ids.add(v);
    }
    const id = o.get('id');
    if (id !== undefined) ids.add(vlanId(id, `${at}.id`, 1));
  });
  return ids.size === 0 ? undefined : [...ids].sort((a, b) => a - b);
}

export function loadBridgeConfig(netconf: NetConf, cniArgs: string): BridgeConfig {
  const o = new GoObject(netconf);
  const bridge = o.string('bridge') ?? DEFAULT_BRIDGE;
  if (bridge === '' || bridge.length > 15 || /[/\s:]/.test(bridge) || bridge === '.' || bridge === '..') {
    throw invalid(`bridge: invalid interface name ${JSON.stringify(bridge)}`);
  }
  const vlanRaw = o.int('vlan') ?? 0;
  if (vlanRaw < 0 || vlanRaw > 4094) throw invalid(`vlan: invalid VLAN ID ${vlanRaw} (must be between 0 and 4094)`);
  const trunk = o.array('vlanTrunk');
  const vlanTrunk = trunk === undefined ? undefined : parseVlanTrunk(trunk);
  if (vlanRaw > 0 && vlanTrunk !== undefined) throw invalid('cannot set vlan and vlanTrunk at the same time');

  const isDefaultGateway = o.bool('isDefaultGateway');
  const c: BridgeConfig = {
    bridge,
    isDefaultGateway,
    // A default gateway is a gateway.
    isGateway: o.bool('isGateway') || isDefaultGateway,
    forceAddress: o.bool('forceAddress'),
    ipMasq: loadIpMasq(o),
    mtu: readMtu(o),
    hairpinMode: o.bool('hairpinMode'),
    promiscMode: o.bool('promiscMode'),
    vlan: vlanRaw,
    vlanTrunk,
    preserveDefaultVlan: o.bool('preserveDefaultVlan', true),
    macspoofchk: o.bool('macspoofchk'),
    enabledad: o.bool('enabledad'),
    disableContainerInterface: o.bool('disableContainerInterface'),
    portIsolation: o.bool('portIsolation'),
    mac: requestedMac(netconf, cniArgs),
    layer3: ipamType(netconf) !== '',
  };
  if (c.hairpinMode && c.promiscMode) throw invalid('cannot set hairpin mode and promiscuous mode at the same time');
  if (c.disableContainerInterface && c.layer3) {
    throw invalid('disableContainerInterface: cannot be used with IPAM (the interface would stay down with addresses on it)');
  }
  return c;
}
