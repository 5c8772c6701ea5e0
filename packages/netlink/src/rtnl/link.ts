// rtnetlink layer: RTM_NEWLINK/DELLINK/GETLINK/SETLINK messages (struct ifinfomsg + IFLA_* attributes)
// of linux/rtnetlink.h and linux/if_link.h, with the per-kind IFLA_INFO_DATA of veth.h, if_link.h
// (bridge, macvlan, ipvlan, vlan, vxlan, vrf, bond, tun) and the AF_BRIDGE port/VLAN attributes of
// if_bridge.h. encodeLinkMessage/decodeLinkMessage are a pair; attributes are written in one fixed
// order that matches what iproute2 sends for the same request.

import { NlWriter } from '../codec/writer.js';
import { AttrMap, NetlinkDecodeError, StructReader } from '../codec/reader.js';
import { decodeMessages } from '../codec/message.js';
import { NLA_F_NESTED } from '../codec/netlink.js';
import { AF_BRIDGE, formatMac, parseMac } from '../codec/ip.js';
import {
  BRIDGE_VLAN_INFO,
  IFF,
  IFLA,
  IFLA_BOND,
  IFLA_BR,
  IFLA_BRIDGE,
  IFLA_BRPORT,
  IFLA_INFO,
  IFLA_IPVLAN,
  IFLA_MACVLAN,
  IFLA_TUN,
  IFLA_VLAN,
  IFLA_VRF,
  IFLA_VXLAN,
  IF_OPER,
  VETH_INFO,
} from '../codec/iflink.js';

export const IFINFOMSG_LEN = 16;

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
export type IpvlanMode = 'l2' | 'l3' | 'l3s';
export type IpvlanFlag = 'bridge' | 'private' | 'vepa';
export type VlanProtocol = '802.1Q' | '802.1ad';
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';

const MACVLAN_MODES: Record<MacvlanMode, number> = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 };
const IPVLAN_MODES: Record<IpvlanMode, number> = { l2: 0, l3: 1, l3s: 2 };
const IPVLAN_FLAGS: Record<IpvlanFlag, number> = { bridge: 0, private: 1, vepa: 2 };
const VLAN_PROTOCOLS: Record<VlanProtocol, number> = { '802.1Q': 0x8100, '802.1ad': 0x88a8 };
const OPER_STATES: OperState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

function nameOf<K extends string>(table: Record<K, number>, v: number | undefined): K | undefined {
  if (v === undefined) return undefined;
  return (Object.keys(table) as K[]).find((k) => table[k] === v);
}

/** IFLA_BRPORT_* of a bridge port (IFLA_PROTINFO for AF_BRIDGE, or IFLA_INFO_SLAVE_DATA). */
export interface BridgePortAttrs {
  state?: number;
  priority?: number;
  cost?: number;
  /** IFLA_BRPORT_MODE: hairpin mode. */
  hairpin?: boolean;
  guard?: boolean;
  /** IFLA_BRPORT_PROTECT: root block. */
  rootBlock?: boolean;
  fastLeave?: boolean;
  learning?: boolean;
  unicastFlood?: boolean;
  proxyArp?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  neighSuppress?: boolean;
  isolated?: boolean;
}

const BRPORT_BOOLS: ReadonlyArray<[keyof BridgePortAttrs, number]> = [
  ['hairpin', IFLA_BRPORT.MODE],
  ['guard', IFLA_BRPORT.GUARD],
  ['rootBlock', IFLA_BRPORT.PROTECT],
  ['fastLeave', IFLA_BRPORT.FAST_LEAVE],
  ['learning', IFLA_BRPORT.LEARNING],
  ['unicastFlood', IFLA_BRPORT.UNICAST_FLOOD],
  ['proxyArp', IFLA_BRPORT.PROXYARP],
  ['mcastFlood', IFLA_BRPORT.MCAST_FLOOD],
  ['bcastFlood', IFLA_BRPORT.BCAST_FLOOD],
  ['neighSuppress', IFLA_BRPORT.NEIGH_SUPPRESS],
  ['isolated', IFLA_BRPORT.ISOLATED],
];

export function encodeBridgePort(w: NlWriter, p: BridgePortAttrs): void {
  if (p.state !== undefined) w.putU8(IFLA_BRPORT.STATE, p.state);
  if (p.priority !== undefined) w.putU16(IFLA_BRPORT.PRIORITY, p.priority);
  if (p.cost !== undefined) w.putU32(IFLA_BRPORT.COST, p.cost);
  for (const [key, type] of BRPORT_BOOLS) {
    const v = p[key];
    if (v !== undefined) w.putU8(type, v ? 1 : 0);
  }
}

export function decodeBridgePort(a: AttrMap): BridgePortAttrs {
  const p: BridgePortAttrs = {};
  const state = a.u8(IFLA_BRPORT.STATE);
  if (state !== undefined) p.state = state;
  const prio = a.u16(IFLA_BRPORT.PRIORITY);
  if (prio !== undefined) p.priority = prio;
  const cost = a.u32(IFLA_BRPORT.COST);
  if (cost !== undefined) p.cost = cost;
  for (const [key, type] of BRPORT_BOOLS) {
    const v = a.u8(type);
    if (v !== undefined) (p as Record<string, unknown>)[key] = v !== 0;
  }
  return p;
}

/** One struct bridge_vlan_info entry as the kernel takes it (ranges are two entries). */
export interface BridgeVlanInfo {
  flags: number;
  vid: number;
}

/** IFLA_AF_SPEC of an AF_BRIDGE message. */
export interface BridgeAfSpec {
  /** IFLA_BRIDGE_FLAGS: BRIDGE_FLAGS_MASTER / BRIDGE_FLAGS_SELF. */
  flags?: number;
  vlans: BridgeVlanInfo[];
}

export interface BridgeAttrs {
  vlanFiltering?: boolean;
  vlanDefaultPvid?: number;
  stpState?: number;
  forwardDelay?: number;
  ageingTime?: number;
  mcastSnooping?: boolean;
  vlanProtocol?: VlanProtocol;
}

export interface VxlanAttrs {
  /** IFLA_VXLAN_LINK: the underlay device. */
  link?: number;
  /** VNI. */
  id?: number;
  local?: string;
  /** Remote (unicast) or multicast group (IFLA_VXLAN_GROUP / GROUP6). */
  group?: string;
  ttl?: number;
  tos?: number;
  learning?: boolean;
  /** UDP destination port. */
  port?: number;
}

export interface TunAttrs {
  type?: 'tun' | 'tap';
  owner?: number;
  group?: number;
  pi?: boolean;
  vnetHdr?: boolean;
  persist?: boolean;
  multiQueue?: boolean;
  numQueues?: number;
}

/** IFLA_INFO_DATA by kind. dummy and ifb have none. */
export type LinkKindData =
  | { kind: 'veth'; peer?: LinkMessage }
  | ({ kind: 'bridge' } & BridgeAttrs)
  | { kind: 'macvlan' | 'macvtap'; mode?: MacvlanMode; flags?: number }
  | { kind: 'ipvlan'; mode?: IpvlanMode; flag?: IpvlanFlag }
  | { kind: 'vlan'; id?: number; protocol?: VlanProtocol }
  | ({ kind: 'vxlan' } & VxlanAttrs)
  | { kind: 'vrf'; table?: number }
  | { kind: 'bond'; mode?: number }
  | ({ kind: 'tun' } & TunAttrs);

/** IFLA_LINKINFO. */
export interface LinkInfo {
  kind?: string;
  data?: LinkKindData;
  slaveKind?: string;
  /** Decoded when slaveKind is 'bridge'. */
  slaveData?: BridgePortAttrs;
}

/** struct ifinfomsg + the IFLA_* attributes this library reads or writes. */
export interface LinkMessage {
  family?: number;
  /** ARPHRD_*. */
  ifType?: number;
  index?: number;
  flags?: number;
  change?: number;
  /** IFLA_LINK: parent (macvlan, vlan, ...) or the veth peer's index. */
  link?: number;
  mtu?: number;
  address?: string;
  broadcast?: string;
  txQueueLen?: number;
  netnsPid?: number;
  netnsFd?: number;
  master?: number;
  alias?: string;
  ifname?: string;
  extMask?: number;
  linkInfo?: LinkInfo;
  protinfo?: BridgePortAttrs;
  afSpec?: BridgeAfSpec;
  // Reported by the kernel only.
  operstate?: number;
  linkNetnsId?: number;
  promiscuity?: number;
  allmulti?: number;
  numTxQueues?: number;
  numRxQueues?: number;
  permAddress?: string;
}

// ---- encode ----

function encodeKindData(w: NlWriter, d: LinkKindData): void {
  switch (d.kind) {
    case 'veth':
      if (d.peer) {
        w.nested(VETH_INFO.PEER, () => encodeLinkBody(w, d.peer as LinkMessage));
      }
      return;
    case 'bridge':
      if (d.vlanFiltering !== undefined) w.putU8(IFLA_BR.VLAN_FILTERING, d.vlanFiltering ? 1 : 0);
      if (d.vlanDefaultPvid !== undefined) w.putU16(IFLA_BR.VLAN_DEFAULT_PVID, d.vlanDefaultPvid);
      if (d.stpState !== undefined) w.putU32(IFLA_BR.STP_STATE, d.stpState);
      if (d.forwardDelay !== undefined) w.putU32(IFLA_BR.FORWARD_DELAY, d.forwardDelay);
      if (d.ageingTime !== undefined) w.putU32(IFLA_BR.AGEING_TIME, d.ageingTime);
      if (d.mcastSnooping !== undefined) w.putU8(IFLA_BR.MCAST_SNOOPING, d.mcastSnooping ? 1 : 0);
      if (d.vlanProtocol !== undefined) w.putBe16(IFLA_BR.VLAN_PROTOCOL, VLAN_PROTOCOLS[d.vlanProtocol]);
      return;
    case 'macvlan':
    case 'macvtap':
      if (d.mode !== undefined) w.putU32(IFLA_MACVLAN.MODE, MACVLAN_MODES[d.mode]);
      if (d.flags !== undefined) w.putU16(IFLA_MACVLAN.FLAGS, d.flags);
      return;
    case 'ipvlan':
      if (d.mode !== undefined) w.putU16(IFLA_IPVLAN.MODE, IPVLAN_MODES[d.mode]);
      if (d.flag !== undefined) w.putU16(IFLA_IPVLAN.FLAGS, IPVLAN_FLAGS[d.flag]);
      return;
    case 'vlan':
      if (d.protocol !== undefined) w.putBe16(IFLA_VLAN.PROTOCOL, VLAN_PROTOCOLS[d.protocol]);
      if (d.id !== undefined) w.putU16(IFLA_VLAN.ID, d.id);
      return;
    case 'vxlan': {
      if (d.link !== undefined) w.putU32(IFLA_VXLAN.LINK, d.link);
      if (d.id !== undefined) w.putU32(IFLA_VXLAN.ID, d.id);
      if (d.local !== undefined) w.putIp(d.local.includes(':') ? IFLA_VXLAN.LOCAL6 : IFLA_VXLAN.LOCAL, d.local);
      if (d.group !== undefined) w.putIp(d.group.includes(':') ? IFLA_VXLAN.GROUP6 : IFLA_VXLAN.GROUP, d.group);
      if (d.ttl !== undefined) w.putU8(IFLA_VXLAN.TTL, d.ttl);
      if (d.tos !== undefined) w.putU8(IFLA_VXLAN.TOS, d.tos);
      if (d.learning !== undefined) w.putU8(IFLA_VXLAN.LEARNING, d.learning ? 1 : 0);
      if (d.port !== undefined) w.putBe16(IFLA_VXLAN.PORT, d.port);
      return;
    }
    case 'vrf':
      if (d.table !== undefined) w.putU32(IFLA_VRF.TABLE, d.table);
      return;
    case 'bond':
      if (d.mode !== undefined) w.putU8(IFLA_BOND.MODE, d.mode);
      return;
    case 'tun':
      if (d.type !== undefined) w.putU8(IFLA_TUN.TYPE, d.type === 'tun' ? IFF_TUN : IFF_TAP);
      if (d.owner !== undefined) w.putU32(IFLA_TUN.OWNER, d.owner);
      if (d.group !== undefined) w.putU32(IFLA_TUN.GROUP, d.group);
      if (d.pi !== undefined) w.putU8(IFLA_TUN.PI, d.pi ? 1 : 0);
      if (d.vnetHdr !== undefined) w.putU8(IFLA_TUN.VNET_HDR, d.vnetHdr ? 1 : 0);
      if (d.persist !== undefined) w.putU8(IFLA_TUN.PERSIST, d.persist ? 1 : 0);
      if (d.multiQueue !== undefined) w.putU8(IFLA_TUN.MULTI_QUEUE, d.multiQueue ? 1 : 0);
      if (d.numQueues !== undefined) w.putU32(IFLA_TUN.NUM_QUEUES, d.numQueues);
      return;
  }
}

// linux/if_tun.h
const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;

/** The ifinfomsg and attributes, without the nlmsghdr (also the body of VETH_INFO_PEER). */
export function encodeLinkBody(w: NlWriter, m: LinkMessage): void {
  w.writeU8(m.family ?? 0).writeU8(0).writeU16(m.ifType ?? 0);
  w.writeS32(m.index ?? 0).writeU32(m.flags ?? 0).writeU32(m.change ?? 0);
  if (m.link !== undefined) w.putU32(IFLA.LINK, m.link);
  if (m.mtu !== undefined) w.putU32(IFLA.MTU, m.mtu);
  if (m.address !== undefined) w.putBytes(IFLA.ADDRESS, parseMac(m.address));
  if (m.broadcast !== undefined) w.putBytes(IFLA.BROADCAST, parseMac(m.broadcast));
  if (m.txQueueLen !== undefined) w.putU32(IFLA.TXQLEN, m.txQueueLen);
  if (m.netnsPid !== undefined) w.putU32(IFLA.NET_NS_PID, m.netnsPid);
  if (m.netnsFd !== undefined) w.putU32(IFLA.NET_NS_FD, m.netnsFd);
  if (m.master !== undefined) w.putU32(IFLA.MASTER, m.master);
  // iproute2 sends the alias unterminated; the kernel takes either.
  if (m.alias !== undefined) w.putStringRaw(IFLA.IFALIAS, m.alias);
  if (m.ifname !== undefined) w.putString(IFLA.IFNAME, m.ifname);
  if (m.extMask !== undefined) w.putU32(IFLA.EXT_MASK, m.extMask);
  const li = m.linkInfo;
  if (li) {
    w.nested(IFLA.LINKINFO, () => {
      if (li.kind !== undefined) w.putStringRaw(IFLA_INFO.KIND, li.kind);
      if (li.data) {
        const data = li.data;
        w.nested(IFLA_INFO.DATA, () => encodeKindData(w, data));
      }
      if (li.slaveKind !== undefined) w.putStringRaw(IFLA_INFO.SLAVE_KIND, li.slaveKind);
      if (li.slaveData) {
        const sd = li.slaveData;
        w.nested(IFLA_INFO.SLAVE_DATA, () => encodeBridgePort(w, sd));
      }
    });
  }
  if (m.protinfo) {
    const p = m.protinfo;
    // bridge(8) marks this nest NLA_F_NESTED; the kernel accepts both.
    w.nested(IFLA.PROTINFO | NLA_F_NESTED, () => encodeBridgePort(w, p));
  }
  if (m.afSpec) {
    const spec = m.afSpec;
    w.nested(IFLA.AF_SPEC, () => {
      if (spec.flags !== undefined) w.putU16(IFLA_BRIDGE.FLAGS, spec.flags);
      for (const v of spec.vlans) {
        w.putBytes(IFLA_BRIDGE.VLAN_INFO, encodeBridgeVlanInfo(v));
      }
    });
  }
}

function encodeBridgeVlanInfo(v: BridgeVlanInfo): Uint8Array {
  const w = new NlWriter(4);
  w.writeU16(v.flags).writeU16(v.vid);
  return w.finish();
}

export function encodeLinkMessage(type: number, flags: number, m: LinkMessage): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(type, flags);
  encodeLinkBody(w, m);
  return w.endMessage(at).finish();
}

// ---- decode ----

function decodeKindData(kind: string, a: AttrMap): LinkKindData | undefined {
  switch (kind) {
    case 'veth': {
      const peer = a.get(VETH_INFO.PEER);
      return peer ? { kind, peer: decodeLinkBody(peer) } : { kind };
    }
    case 'bridge': {
      const d: { kind: 'bridge' } & BridgeAttrs = { kind };
      const vf = a.u8(IFLA_BR.VLAN_FILTERING);
      if (vf !== undefined) d.vlanFiltering = vf !== 0;
      const pvid = a.u16(IFLA_BR.VLAN_DEFAULT_PVID);
      if (pvid !== undefined) d.vlanDefaultPvid = pvid;
      const stp = a.u32(IFLA_BR.STP_STATE);
      if (stp !== undefined) d.stpState = stp;
      const fd = a.u32(IFLA_BR.FORWARD_DELAY);
      if (fd !== undefined) d.forwardDelay = fd;
      const age = a.u32(IFLA_BR.AGEING_TIME);
      if (age !== undefined) d.ageingTime = age;
      const snoop = a.u8(IFLA_BR.MCAST_SNOOPING);
      if (snoop !== undefined) d.mcastSnooping = snoop !== 0;
      const proto = nameOf(VLAN_PROTOCOLS, a.be16(IFLA_BR.VLAN_PROTOCOL));
      if (proto !== undefined) d.vlanProtocol = proto;
      return d;
    }
    case 'macvlan':
    case 'macvtap': {
      const d: { kind: 'macvlan' | 'macvtap'; mode?: MacvlanMode; flags?: number } = { kind };
      const mode = nameOf(MACVLAN_MODES, a.u32(IFLA_MACVLAN.MODE));
      if (mode !== undefined) d.mode = mode;
      const flags = a.u16(IFLA_MACVLAN.FLAGS);
      if (flags !== undefined) d.flags = flags;
      return d;
    }
    case 'ipvlan': {
      const d: { kind: 'ipvlan'; mode?: IpvlanMode; flag?: IpvlanFlag } = { kind };
      const mode = nameOf(IPVLAN_MODES, a.u16(IFLA_IPVLAN.MODE));
      if (mode !== undefined) d.mode = mode;
      const flag = nameOf(IPVLAN_FLAGS, a.u16(IFLA_IPVLAN.FLAGS));
      if (flag !== undefined) d.flag = flag;
      return d;
    }
    case 'vlan': {
      const d: { kind: 'vlan'; id?: number; protocol?: VlanProtocol } = { kind };
      const proto = nameOf(VLAN_PROTOCOLS, a.be16(IFLA_VLAN.PROTOCOL));
      if (proto !== undefined) d.protocol = proto;
      const id = a.u16(IFLA_VLAN.ID);
      if (id !== undefined) d.id = id;
      return d;
    }
    case 'vxlan': {
      const d: { kind: 'vxlan' } & VxlanAttrs = { kind };
      const link = a.u32(IFLA_VXLAN.LINK);
      if (link !== undefined) d.link = link;
      const id = a.u32(IFLA_VXLAN.ID);
      if (id !== undefined) d.id = id;
      const local = a.ip(IFLA_VXLAN.LOCAL) ?? a.ip(IFLA_VXLAN.LOCAL6);
      if (local !== undefined) d.local = local;
      const group = a.ip(IFLA_VXLAN.GROUP) ?? a.ip(IFLA_VXLAN.GROUP6);
      if (group !== undefined) d.group = group;
      const ttl = a.u8(IFLA_VXLAN.TTL);
      if (ttl !== undefined) d.ttl = ttl;
      const tos = a.u8(IFLA_VXLAN.TOS);
      if (tos !== undefined) d.tos = tos;
      const learning = a.u8(IFLA_VXLAN.LEARNING);
      if (learning !== undefined) d.learning = learning !== 0;
      const port = a.be16(IFLA_VXLAN.PORT);
      if (port !== undefined) d.port = port;
      return d;
    }
    case 'vrf': {
      const table = a.u32(IFLA_VRF.TABLE);
      return table === undefined ? { kind } : { kind, table };
    }
    case 'bond': {
      const mode = a.u8(IFLA_BOND.MODE);
      return mode === undefined ? { kind } : { kind, mode };
    }
    case 'tun': {
      const d: { kind: 'tun' } & TunAttrs = { kind };
      const type = a.u8(IFLA_TUN.TYPE);
      if (type !== undefined) d.type = type === IFF_TAP ? 'tap' : 'tun';
      const owner = a.u32(IFLA_TUN.OWNER);
      if (owner !== undefined) d.owner = owner;
      const group = a.u32(IFLA_TUN.GROUP);
      if (group !== undefined) d.group = group;
      const bool = (t: number): boolean | undefined => {
        const v = a.u8(t);
        return v === undefined ? undefined : v !== 0;
      };
      const pi = bool(IFLA_TUN.PI);
      if (pi !== undefined) d.pi = pi;
      const vnet = bool(IFLA_TUN.VNET_HDR);
      if (vnet !== undefined) d.vnetHdr = vnet;
      const persist = bool(IFLA_TUN.PERSIST);
      if (persist !== undefined) d.persist = persist;
      const mq = bool(IFLA_TUN.MULTI_QUEUE);
      if (mq !== undefined) d.multiQueue = mq;
      const nq = a.u32(IFLA_TUN.NUM_QUEUES);
      if (nq !== undefined) d.numQueues = nq;
      return d;
    }
    default:
      return undefined;
  }
}

function decodeLinkInfo(a: AttrMap): LinkInfo {
  const li: LinkInfo = {};
  const kind = a.str(IFLA_INFO.KIND);
  if (kind !== undefined) li.kind = kind;
  const data = a.nested(IFLA_INFO.DATA);
  if (kind !== undefined && data) {
    const d = decodeKindData(kind, data);
    if (d) li.data = d;
  }
  const slaveKind = a.str(IFLA_INFO.SLAVE_KIND);
  if (slaveKind !== undefined) li.slaveKind = slaveKind;
  const sd = a.nested(IFLA_INFO.SLAVE_DATA);
  if (slaveKind === 'bridge' && sd) li.slaveData = decodeBridgePort(sd);
  return li;
}

function decodeAfSpecBridge(a: AttrMap): BridgeAfSpec {
  const spec: BridgeAfSpec = { vlans: [] };
  const flags = a.u16(IFLA_BRIDGE.FLAGS);
  if (flags !== undefined) spec.flags = flags;
  for (const d of a.all(IFLA_BRIDGE.VLAN_INFO)) {
    const r = new StructReader(d, 4, 'bridge_vlan_info');
    spec.vlans.push({ flags: r.u16(0), vid: r.u16(2) });
  }
  return spec;
}

/** Decode an ifinfomsg + attributes (a message body, or the payload of VETH_INFO_PEER). */
export function decodeLinkBody(body: Uint8Array): LinkMessage {
  const r = new StructReader(body, IFINFOMSG_LEN, 'ifinfomsg');
  const m: LinkMessage = {
    family: r.u8(0),
    ifType: r.u16(2),
    index: r.s32(4),
    flags: r.u32(8),
    change: r.u32(12),
  };
  const a = AttrMap.parse(body.subarray(IFINFOMSG_LEN));
  const u32 = (t: number): number | undefined => a.u32(t);
  const link = u32(IFLA.LINK);
  if (link !== undefined) m.link = link;
  const mtu = u32(IFLA.MTU);
  if (mtu !== undefined) m.mtu = mtu;
  const addr = a.get(IFLA.ADDRESS);
  if (addr !== undefined && addr.length > 0) m.address = formatMac(addr);
  const brd = a.get(IFLA.BROADCAST);
  if (brd !== undefined && brd.length > 0) m.broadcast = formatMac(brd);
  const txq = u32(IFLA.TXQLEN);
  if (txq !== undefined) m.txQueueLen = txq;
  const pid = u32(IFLA.NET_NS_PID);
  if (pid !== undefined) m.netnsPid = pid;
  const nsfd = u32(IFLA.NET_NS_FD);
  if (nsfd !== undefined) m.netnsFd = nsfd;
  const master = u32(IFLA.MASTER);
  if (master !== undefined) m.master = master;
  const alias = a.str(IFLA.IFALIAS);
  if (alias !== undefined) m.alias = alias;
  const name = a.str(IFLA.IFNAME);
  if (name !== undefined) m.ifname = name;
  const ext = u32(IFLA.EXT_MASK);
  if (ext !== undefined) m.extMask = ext;
  const li = a.nested(IFLA.LINKINFO);
  if (li) m.linkInfo = decodeLinkInfo(li);
  const pi = a.nested(IFLA.PROTINFO);
  // AF_INET6 replies reuse IFLA_PROTINFO for IFLA_INET6_*; only the bridge's is decoded.
  if (pi && m.family === AF_BRIDGE) m.protinfo = decodeBridgePort(pi);
  const spec = a.nested(IFLA.AF_SPEC);
  if (spec && m.family === AF_BRIDGE) m.afSpec = decodeAfSpecBridge(spec);
  const oper = a.u8(IFLA.OPERSTATE);
  if (oper !== undefined) m.operstate = oper;
  const nsid = a.s32(IFLA.LINK_NETNSID);
  if (nsid !== undefined) m.linkNetnsId = nsid;
  const promisc = u32(IFLA.PROMISCUITY);
  if (promisc !== undefined) m.promiscuity = promisc;
  const allmulti = u32(IFLA.ALLMULTI);
  if (allmulti !== undefined) m.allmulti = allmulti;
  const ntx = u32(IFLA.NUM_TX_QUEUES);
  if (ntx !== undefined) m.numTxQueues = ntx;
  const nrx = u32(IFLA.NUM_RX_QUEUES);
  if (nrx !== undefined) m.numRxQueues = nrx;
  const perm = a.get(IFLA.PERM_ADDRESS);
  if (perm !== undefined && perm.length > 0) m.permAddress = formatMac(perm);
  return m;
}

/** Decode one whole link message (nlmsghdr included): its type, flags and body. */
export function decodeLinkMessage(msg: Uint8Array): { type: number; flags: number; link: LinkMessage } {
  const [m] = decodeMessages(msg);
  if (!m) throw new NetlinkDecodeError('empty link message', 0);
  return { type: m.header.type, flags: m.header.flags, link: decodeLinkBody(m.payload) };
}

// ---- the typed view handed to users ----

export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* (1 = Ethernet). */
  type: number;
  /** IFF_* flags. */
  flags: number;
  /** IFF_UP is set (administratively up). */
  up: boolean;
  operState: OperState;
  mtu?: number;
  mac?: string;
  broadcast?: string;
  master?: number;
  /** IFLA_LINK: the parent of a macvlan/vlan/ipvlan, or a veth's peer (index in its own namespace). */
  link?: number;
  /** The namespace id of `link`'s namespace, when it is not this one. */
  linkNetnsId?: number;
  alias?: string;
  txQueueLen?: number;
  promiscuity?: number;
  allmulti?: number;
  kind?: string;
  data?: LinkKindData;
  slaveKind?: string;
  bridgePort?: BridgePortAttrs;
}

export function toLink(m: LinkMessage): Link {
  const flags = m.flags ?? 0;
  const l: Link = {
    index: m.index ?? 0,
    name: m.ifname ?? '',
    type: m.ifType ?? 0,
    flags,
    up: (flags & IFF.UP) !== 0,
    operState: OPER_STATES[m.operstate ?? IF_OPER.UNKNOWN] ?? 'unknown',
  };
  if (m.mtu !== undefined) l.mtu = m.mtu;
  if (m.address !== undefined) l.mac = m.address;
  if (m.broadcast !== undefined) l.broadcast = m.broadcast;
  if (m.master !== undefined && m.master !== 0) l.master = m.master;
  // Devices without a parent report their own index; a peer in another namespace may share the number.
  if (m.link !== undefined && (m.link !== m.index || m.linkNetnsId !== undefined)) l.link = m.link;
  if (m.linkNetnsId !== undefined) l.linkNetnsId = m.linkNetnsId;
  if (m.alias !== undefined) l.alias = m.alias;
  if (m.txQueueLen !== undefined) l.txQueueLen = m.txQueueLen;
  if (m.promiscuity !== undefined) l.promiscuity = m.promiscuity;
  if (m.allmulti !== undefined) l.allmulti = m.allmulti;
  const li = m.linkInfo;
  if (li?.kind !== undefined) l.kind = li.kind;
  if (li?.data !== undefined) l.data = li.data;
  if (li?.slaveKind !== undefined) l.slaveKind = li.slaveKind;
  if (li?.slaveData !== undefined) l.bridgePort = li.slaveData;
  return l;
}

/** A bridge VLAN membership as `bridge vlan add` takes it: one vid or an inclusive range. */
export interface BridgeVlan {
  vid: number;
  vidEnd?: number;
  pvid?: boolean;
  untagged?: boolean;
}

/** Expand to bridge_vlan_info entries; a range becomes RANGE_BEGIN + RANGE_END, as bridge(8) sends. */
export function bridgeVlanEntries(v: BridgeVlan): BridgeVlanInfo[] {
  const check = (vid: number): void => {
    if (!Number.isInteger(vid) || vid < 1 || vid > 4094) throw new RangeError(`VLAN id ${vid} is not in 1..4094`);
  };
  check(v.vid);
  const flags = (v.pvid ? BRIDGE_VLAN_INFO.PVID : 0) | (v.untagged ? BRIDGE_VLAN_INFO.UNTAGGED : 0);
  if (v.vidEnd === undefined || v.vidEnd === v.vid) return [{ flags, vid: v.vid }];
  check(v.vidEnd);
  if (v.vidEnd < v.vid) throw new RangeError(`VLAN range ${v.vid}-${v.vidEnd} is reversed`);
  return [
    { flags: flags | BRIDGE_VLAN_INFO.RANGE_BEGIN, vid: v.vid },
    { flags: flags | BRIDGE_VLAN_INFO.RANGE_END, vid: v.vidEnd },
  ];
}
