// rtnetlink layer: the operations plugins need (links, addresses, routes, rules, neighbours) over one
// NETLINK_ROUTE socket that was opened inside a namespace — the shape of vishvananda/netlink's Handle,
// with requests laid out like iproute2's. Nothing here enters a namespace or execs a process.

import { closeSync } from 'node:fs';
import { loadNative } from '@tscni/native';
import type { NativeBinding } from '@tscni/native';
import { lastBytes, networkBytes } from '@tscni/ip';
import { NETLINK_ROUTE, NLM_F } from '../codec/netlink.js';
import { AF_BRIDGE, AF_INET, AF_INET6, AF_UNSPEC, familyOf, formatIp, parseCidr, parseIp } from '../codec/ip.js';
import type { IpFamily } from '../codec/ip.js';
import { FR_ACT, IFA_F, NUD, RTM, RTN, RTNH_F, RTPROT, RT_SCOPE, RT_TABLE, RTEXT_FILTER } from '../codec/rtnetlink.js';
import { BRIDGE_FLAGS, BRIDGE_VLAN_INFO, IFF } from '../codec/iflink.js';
import { NetlinkError } from '../codec/errors.js';
import { SocketTransport, messageBody } from '../transport.js';
import type { NetlinkTransport } from '../transport.js';
import { openNetns } from '../netns.js';
import {
  bridgeVlanEntries,
  decodeLinkBody,
  encodeLinkMessage,
  toLink,
} from './link.js';
import type {
  BridgeAttrs,
  BridgePortAttrs,
  BridgeVlan,
  IpvlanFlag,
  IpvlanMode,
  Link,
  LinkKindData,
  LinkMessage,
  MacvlanMode,
  VlanProtocol,
} from './link.js';
import { decodeAddrBody, encodeAddrMessage, toAddress } from './addr.js';
import type { Address, AddrMessage } from './addr.js';
import { decodeRouteBody, encodeRouteMessage, toRouteInfo } from './route.js';
import type { RouteInfo, RouteMessage, RouteMetrics } from './route.js';
import { decodeRuleBody, encodeRuleMessage, toRuleInfo } from './rule.js';
import type { RuleInfo, RuleMessage } from './rule.js';
import { decodeNeighBody, encodeNeighMessage } from './neigh.js';
import type { NeighMessage } from './neigh.js';

/** A link by name or by ifindex. */
export type LinkRef = string | number;

/** A network namespace to move a link into: a namespace file path, an open fd, or a process. */
export type NetnsTarget = string | { readonly fd: number } | { readonly pid: number };

/** Attributes any link can be created with. */
export interface CommonLinkOptions {
  mtu?: number;
  mac?: string;
  txQueueLen?: number;
  /** Create the link directly in this namespace (IFLA_NET_NS_FD / IFLA_NET_NS_PID). */
  netns?: NetnsTarget;
  master?: LinkRef;
  alias?: string;
  /** Bring the link up as part of creation (ifi_flags IFF_UP). */
  up?: boolean;
}

export interface VethPeerOptions {
  name: string;
  mtu?: number;
  mac?: string;
  txQueueLen?: number;
  /** Create the peer directly in another namespace. */
  netns?: NetnsTarget;
}

export type LinkKindSpec =
  | { kind: 'veth'; peer: VethPeerOptions }
  | ({ kind: 'bridge' } & BridgeAttrs)
  | { kind: 'macvlan' | 'macvtap'; parent: LinkRef; mode?: MacvlanMode }
  | { kind: 'ipvlan'; parent: LinkRef; mode?: IpvlanMode; flag?: IpvlanFlag }
  | { kind: 'vlan'; parent: LinkRef; id: number; protocol?: VlanProtocol }
  | {
      kind: 'vxlan';
      vni: number;
      /** Multicast group; exclusive with remote. */
      group?: string;
      /** Unicast remote; exclusive with group. */
      remote?: string;
      local?: string;
      /** UDP port; iproute2 requires it be explicit, the kernel defaults to 8472. */
      port?: number;
      dev?: LinkRef;
      learning?: boolean;
      ttl?: number;
      tos?: number;
    }
  | { kind: 'dummy' }
  | { kind: 'ifb' }
  | { kind: 'vrf'; table: number }
  | { kind: 'bond'; mode?: number }
  /** TUN/TAP: created through the addon's TUNSETIFF (the kernel refuses tun creation over rtnetlink). */
  | { kind: 'tun' | 'tap'; owner?: number; group?: number; multiQueue?: boolean; vnetHdr?: boolean };

export type CreateLinkSpec = { name: string } & CommonLinkOptions & LinkKindSpec;

/** Changes to an existing link, sent as one RTM_NEWLINK like `ip link set` with several options. */
export interface SetLinkOptions {
  up?: boolean;
  mtu?: number;
  mac?: string;
  name?: string;
  alias?: string;
  /** null: nomaster. */
  master?: LinkRef | null;
  netns?: NetnsTarget;
  txQueueLen?: number;
  promisc?: boolean;
  allmulti?: boolean;
}

export interface AddAddressOptions {
  /** Skip duplicate address detection (IPv6). */
  nodad?: boolean;
  noprefixroute?: boolean;
  scope?: number;
  label?: string;
  /** An IPv4 broadcast address, or 'auto' to derive it from the prefix (as Go's netlink.AddrAdd does). */
  broadcast?: string | 'auto';
  /** Point-to-point peer (IFA_ADDRESS). */
  peer?: string;
  /** Replace an existing address instead of failing with EEXIST. */
  replace?: boolean;
}

export type RouteTypeName = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';
const ROUTE_TYPES: Record<RouteTypeName, number> = {
  unicast: RTN.UNICAST,
  local: RTN.LOCAL,
  broadcast: RTN.BROADCAST,
  blackhole: RTN.BLACKHOLE,
  unreachable: RTN.UNREACHABLE,
  prohibit: RTN.PROHIBIT,
  throw: RTN.THROW,
};

export interface RouteSpec {
  /** CIDR, or 'default'. */
  dst: string;
  gateway?: string;
  dev?: LinkRef;
  /** Routing table; default main (254). */
  table?: number;
  scope?: number;
  /** Preferred source address (RTA_PREFSRC). */
  prefsrc?: string;
  /** Source prefix to match (RTA_SRC), as `ip route add ... from <cidr>`. */
  src?: string;
  /** RTA_PRIORITY, shown as "metric". */
  metric?: number;
  mtu?: number;
  advmss?: number;
  metrics?: RouteMetrics;
  type?: RouteTypeName | number;
  /** Default RTPROT_BOOT, as iproute2. */
  protocol?: number;
  onlink?: boolean;
  /** Needed only for 'default' without a gateway. */
  family?: IpFamily;
}

export interface RouteFilter {
  family?: IpFamily;
  /** Default main (254); 'all' for every table. */
  table?: number | 'all';
  dev?: LinkRef;
  dst?: string;
}

export interface RuleSpec {
  family?: IpFamily;
  priority?: number;
  table?: number;
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
  fwmark?: number;
  fwmask?: number;
  /** FR_ACT_*; default FR_ACT_TO_TBL when adding. */
  action?: number;
  invert?: boolean;
  suppressPrefixLen?: number;
  protocol?: number;
}

export interface NeighbourSpec {
  dev: LinkRef;
  /** IP address of the neighbour. */
  address: string;
  lladdr?: string;
  /** NUD_* state; default NUD_PERMANENT. */
  state?: number;
  flags?: number;
  /** Replace an existing entry instead of failing with EEXIST. */
  replace?: boolean;
}

export interface NeighbourInfo {
  index: number;
  family: IpFamily;
  address: string;
  lladdr?: string;
  state: number;
  flags: number;
}

export interface BridgeVlanOptions {
  /** BRIDGE_FLAGS_SELF: program the bridge device itself rather than its port's master. */
  self?: boolean;
  master?: boolean;
}

const NEW = NLM_F.REQUEST | NLM_F.ACK;
const CREATE_EXCL = NEW | NLM_F.CREATE | NLM_F.EXCL;
const CREATE_REPLACE = NEW | NLM_F.CREATE | NLM_F.REPLACE;
const DUMP = NLM_F.REQUEST | NLM_F.DUMP;

/** "10.1.2.3/24" -> "10.1.2.255", the broadcast `ip addr add ... broadcast +` computes. */
function ipv4Broadcast(address: string, prefixLen: number): string {
  return formatIp(lastBytes(parseIp(address), prefixLen));
}

/** "10.1.2.3/24" -> "10.1.2.0": host bits cleared (IPv4 routes and rules with host bits are EINVAL). */
function networkOf(address: string, prefixLen: number): string {
  return formatIp(networkBytes(parseIp(address), prefixLen));
}

export class RtNetlink {
  readonly #transport: NetlinkTransport;
  readonly #binding: NativeBinding | undefined;
  readonly #netnsPath: string | null;

  /**
   * Wrap a transport. `binding` and `netnsPath` are needed only for TUN/TAP creation, which goes
   * through the addon rather than netlink.
   */
  constructor(transport: NetlinkTransport, opts: { binding?: NativeBinding; netnsPath?: string | null } = {}) {
    this.#transport = transport;
    this.#binding = opts.binding;
    this.#netnsPath = opts.netnsPath ?? null;
  }

  /** A NETLINK_ROUTE socket inside the namespace at `netnsPath` (default: our own). */
  static open(netnsPath: string | null = null, binding: NativeBinding = loadNative()): RtNetlink {
    return new RtNetlink(SocketTransport.open(NETLINK_ROUTE, netnsPath, binding), { binding, netnsPath });
  }

  get transport(): NetlinkTransport {
    return this.#transport;
  }

  close(): void {
    this.#transport.close();
  }

  // ---------------------------------------------------------------- links

  /** The ifindex of a link (names are looked up with one RTM_GETLINK). */
  async linkIndex(ref: LinkRef): Promise<number> {
    if (typeof ref === 'number') return ref;
    return (await this.getLink(ref)).index;
  }

  async getLink(ref: LinkRef): Promise<Link> {
    const m: LinkMessage =
      typeof ref === 'number' ? { index: ref } : { ifname: ref };
    const replies = await this.#transport.request(encodeLinkMessage(RTM.GETLINK, NEW, m), {
      operation: `link get ${ref}`,
    });
    const first = replies[0];
    if (!first) throw new NetlinkError(19, { operation: `link get ${ref}` });
    return toLink(decodeLinkBody(messageBody(first)));
  }

  /** Like getLink, but undefined when the link does not exist. */
  async findLink(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.getLink(ref);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
  }

  async listLinks(filter: { kind?: string; master?: LinkRef } = {}): Promise<Link[]> {
    const m: LinkMessage = { extMask: RTEXT_FILTER.SKIP_STATS };
    if (filter.master !== undefined) m.master = await this.linkIndex(filter.master);
    // The kernel filters by kind itself when asked with IFLA_LINKINFO/IFLA_INFO_KIND.
    if (filter.kind !== undefined) m.linkInfo = { kind: filter.kind };
    const replies = await this.#transport.request(encodeLinkMessage(RTM.GETLINK, DUMP, m), {
      dump: true,
      operation: 'link list',
    });
    const links = replies.map((r) => toLink(decodeLinkBody(messageBody(r))));
    return links.filter(
      (l) =>
        (filter.kind === undefined || l.kind === filter.kind) &&
        (m.master === undefined || l.master === m.master),
    );
  }

  /** Create a link. Fails with EEXIST if the name is taken; EOPNOTSUPP when the kernel lacks the kind. */
  async createLink(spec: CreateLinkSpec): Promise<void> {
    if (spec.kind === 'tun' || spec.kind === 'tap') return this.#createTun(spec);
    const opened: number[] = [];
    try {
      const m = await this.#commonAttrs(spec, opened);
      m.ifname = spec.name;
      m.linkInfo = { kind: spec.kind };
      const data = await this.#kindData(spec, m, opened);
      if (data) m.linkInfo.data = data;
      await this.#transport.request(encodeLinkMessage(RTM.NEWLINK, CREATE_EXCL, m), {
        operation: `link add ${spec.name} type ${spec.kind}`,
      });
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }

  async #commonAttrs(o: CommonLinkOptions, opened: number[]): Promise<LinkMessage> {
    const m: LinkMessage = {};
    if (o.up) {
      m.flags = IFF.UP;
      m.change = IFF.UP;
    }
    if (o.mtu !== undefined) m.mtu = o.mtu;
    if (o.mac !== undefined) m.address = o.mac;
    if (o.txQueueLen !== undefined) m.txQueueLen = o.txQueueLen;
    if (o.netns !== undefined) this.#netnsAttr(m, o.netns, opened);
    if (o.master !== undefined) m.master = await this.linkIndex(o.master);
    if (o.alias !== undefined) m.alias = o.alias;
    return m;
  }

  #netnsAttr(m: LinkMessage, t: NetnsTarget, opened: number[]): void {
    if (typeof t === 'string') {
      const fd = openNetns(t);
      opened.push(fd);
      m.netnsFd = fd;
    } else if ('fd' in t) {
      m.netnsFd = t.fd;
    } else {
      m.netnsPid = t.pid;
    }
  }

  async #kindData(spec: CreateLinkSpec, m: LinkMessage, opened: number[]): Promise<LinkKindData | undefined> {
    switch (spec.kind) {
      case 'veth': {
        const p = spec.peer;
        const peer: LinkMessage = {};
        if (p.mtu !== undefined) peer.mtu = p.mtu;
        if (p.mac !== undefined) peer.address = p.mac;
        if (p.txQueueLen !== undefined) peer.txQueueLen = p.txQueueLen;
        if (p.netns !== undefined) this.#netnsAttr(peer, p.netns, opened);
        peer.ifname = p.name;
        return { kind: 'veth', peer };
      }
      case 'bridge': {
        const { kind, vlanFiltering, vlanDefaultPvid, stpState, forwardDelay, ageingTime, mcastSnooping, vlanProtocol } =
          spec;
        const d: LinkKindData = { kind };
        if (vlanFiltering !== undefined) d.vlanFiltering = vlanFiltering;
        if (vlanDefaultPvid !== undefined) d.vlanDefaultPvid = vlanDefaultPvid;
        if (stpState !== undefined) d.stpState = stpState;
        if (forwardDelay !== undefined) d.forwardDelay = forwardDelay;
        if (ageingTime !== undefined) d.ageingTime = ageingTime;
        if (mcastSnooping !== undefined) d.mcastSnooping = mcastSnooping;
        if (vlanProtocol !== undefined) d.vlanProtocol = vlanProtocol;
        return Object.keys(d).length > 1 ? d : undefined;
      }
      case 'macvlan':
      case 'macvtap':
        m.link = await this.linkIndex(spec.parent);
        return spec.mode === undefined ? undefined : { kind: spec.kind, mode: spec.mode };
      case 'ipvlan': {
        m.link = await this.linkIndex(spec.parent);
        const d: LinkKindData = { kind: 'ipvlan' };
        if (spec.mode !== undefined) d.mode = spec.mode;
        if (spec.flag !== undefined) d.flag = spec.flag;
        return d;
      }
      case 'vlan': {
        m.link = await this.linkIndex(spec.parent);
        if (!Number.isInteger(spec.id) || spec.id < 0 || spec.id > 4094) {
          throw new RangeError(`vlan id ${spec.id} is not in 0..4094`);
        }
        return spec.protocol === undefined
          ? { kind: 'vlan', id: spec.id }
          : { kind: 'vlan', protocol: spec.protocol, id: spec.id };
      }
      case 'vxlan': {
        if (spec.group !== undefined && spec.remote !== undefined) {
          throw new TypeError('vxlan: group and remote are exclusive');
        }
        const d: LinkKindData = { kind: 'vxlan' };
        if (spec.dev !== undefined) d.link = await this.linkIndex(spec.dev);
        d.id = spec.vni;
        if (spec.local !== undefined) d.local = spec.local;
        const peer = spec.group ?? spec.remote;
        if (peer !== undefined) d.group = peer;
        if (spec.ttl !== undefined) d.ttl = spec.ttl;
        if (spec.tos !== undefined) d.tos = spec.tos;
        // iproute2 always states learning; the kernel's default is on as well.
        d.learning = spec.learning ?? true;
        if (spec.port !== undefined) d.port = spec.port;
        return d;
      }
      case 'vrf':
        return { kind: 'vrf', table: spec.table };
      case 'bond':
        return spec.mode === undefined ? undefined : { kind: 'bond', mode: spec.mode };
      case 'dummy':
      case 'ifb':
      case 'tun':
      case 'tap':
        return undefined;
    }
  }

  async #createTun(spec: CreateLinkSpec & { kind: 'tun' | 'tap' }): Promise<void> {
    if (!this.#binding) throw new TypeError('tun/tap creation needs the native binding (use RtNetlink.open)');
    const opts: Parameters<NativeBinding['tunCreate']>[1] = { tap: spec.kind === 'tap', persist: true };
    if (spec.owner !== undefined) opts.owner = spec.owner;
    if (spec.group !== undefined) opts.group = spec.group;
    if (spec.multiQueue !== undefined) opts.multiQueue = spec.multiQueue;
    if (spec.vnetHdr !== undefined) opts.vnetHdr = spec.vnetHdr;
    const name = this.#binding.tunCreate(spec.name, opts, this.#netnsPath);
    const set: SetLinkOptions = {};
    if (spec.mtu !== undefined) set.mtu = spec.mtu;
    if (spec.mac !== undefined) set.mac = spec.mac;
    if (spec.txQueueLen !== undefined) set.txQueueLen = spec.txQueueLen;
    if (spec.alias !== undefined) set.alias = spec.alias;
    if (spec.master !== undefined) set.master = spec.master;
    if (spec.netns !== undefined) set.netns = spec.netns;
    if (spec.up !== undefined) set.up = spec.up;
    if (Object.keys(set).length > 0) await this.setLink(name, set);
  }

  async deleteLink(ref: LinkRef): Promise<void> {
    const index = await this.linkIndex(ref);
    await this.#transport.request(encodeLinkMessage(RTM.DELLINK, NEW, { index }), { operation: `link del ${ref}` });
  }

  async setLink(ref: LinkRef, o: SetLinkOptions): Promise<void> {
    const m: LinkMessage = { index: await this.linkIndex(ref), flags: 0, change: 0 };
    const flag = (bit: number, on: boolean | undefined): void => {
      if (on === undefined) return;
      m.change = (m.change ?? 0) | bit;
      if (on) m.flags = (m.flags ?? 0) | bit;
    };
    flag(IFF.UP, o.up);
    flag(IFF.PROMISC, o.promisc);
    flag(IFF.ALLMULTI, o.allmulti);
    if (o.mtu !== undefined) m.mtu = o.mtu;
    if (o.mac !== undefined) m.address = o.mac;
    if (o.txQueueLen !== undefined) m.txQueueLen = o.txQueueLen;
    const opened: number[] = [];
    try {
      if (o.netns !== undefined) this.#netnsAttr(m, o.netns, opened);
      if (o.master !== undefined) m.master = o.master === null ? 0 : await this.linkIndex(o.master);
      if (o.alias !== undefined) m.alias = o.alias;
      if (o.name !== undefined) m.ifname = o.name;
      await this.#transport.request(encodeLinkMessage(RTM.NEWLINK, NEW, m), { operation: `link set ${ref}` });
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }

  setLinkUp(ref: LinkRef): Promise<void> {
    return this.setLink(ref, { up: true });
  }
  setLinkDown(ref: LinkRef): Promise<void> {
    return this.setLink(ref, { up: false });
  }

  /** Bridge port flags (hairpin, learning, isolated, ...) via AF_BRIDGE IFLA_PROTINFO, like `bridge link set`. */
  async setBridgePort(ref: LinkRef, attrs: BridgePortAttrs): Promise<void> {
    const index = await this.linkIndex(ref);
    const m: LinkMessage = { family: AF_BRIDGE, index, protinfo: attrs };
    await this.#transport.request(encodeLinkMessage(RTM.SETLINK, NEW, m), { operation: `bridge link set ${ref}` });
  }

  async #bridgeVlan(type: number, ref: LinkRef, vlans: BridgeVlan | readonly BridgeVlan[], o: BridgeVlanOptions) {
    const index = await this.linkIndex(ref);
    const list = Array.isArray(vlans) ? vlans : [vlans as BridgeVlan];
    const spec: { flags?: number; vlans: ReturnType<typeof bridgeVlanEntries> } = {
      vlans: list.flatMap((v) => bridgeVlanEntries(v)),
    };
    const flags = (o.self ? BRIDGE_FLAGS.SELF : 0) | (o.master ? BRIDGE_FLAGS.MASTER : 0);
    if (flags) spec.flags = flags;
    const m: LinkMessage = { family: AF_BRIDGE, index, afSpec: spec };
    const verb = type === RTM.DELLINK ? 'del' : 'add';
    await this.#transport.request(encodeLinkMessage(type, NEW, m), { operation: `bridge vlan ${verb} dev ${ref}` });
  }

  /** Add VLAN memberships to a bridge port (or, with self, to the bridge itself). */
  addBridgeVlan(ref: LinkRef, vlans: BridgeVlan | readonly BridgeVlan[], o: BridgeVlanOptions = {}): Promise<void> {
    return this.#bridgeVlan(RTM.SETLINK, ref, vlans, o);
  }
  deleteBridgeVlan(ref: LinkRef, vlans: BridgeVlan | readonly BridgeVlan[], o: BridgeVlanOptions = {}): Promise<void> {
    return this.#bridgeVlan(RTM.DELLINK, ref, vlans, o);
  }

  /** VLANs of every bridge port (and bridge) in this namespace, ranges expanded to single vids. */
  async listBridgeVlans(): Promise<Array<{ index: number; name: string; vlans: BridgeVlan[] }>> {
    const m: LinkMessage = { family: AF_BRIDGE, extMask: RTEXT_FILTER.BRVLAN };
    const replies = await this.#transport.request(encodeLinkMessage(RTM.GETLINK, DUMP, m), {
      dump: true,
      operation: 'bridge vlan show',
    });
    const out: Array<{ index: number; name: string; vlans: BridgeVlan[] }> = [];
    for (const r of replies) {
      const l = decodeLinkBody(messageBody(r));
      const entries = l.afSpec?.vlans ?? [];
      if (entries.length === 0) continue;
      const vlans: BridgeVlan[] = [];
      let begin: number | undefined;
      for (const e of entries) {
        const base = {
          pvid: (e.flags & BRIDGE_VLAN_INFO.PVID) !== 0,
          untagged: (e.flags & BRIDGE_VLAN_INFO.UNTAGGED) !== 0,
        };
        if (e.flags & BRIDGE_VLAN_INFO.RANGE_BEGIN) begin = e.vid;
        else if (e.flags & BRIDGE_VLAN_INFO.RANGE_END && begin !== undefined) {
          for (let v = begin; v <= e.vid; v++) vlans.push({ vid: v, ...base });
          begin = undefined;
        } else vlans.push({ vid: e.vid, ...base });
      }
      out.push({ index: l.index ?? 0, name: l.ifname ?? '', vlans });
    }
    return out;
  }

  // ---------------------------------------------------------------- addresses

  async addAddress(ref: LinkRef, cidr: string, o: AddAddressOptions = {}): Promise<void> {
    const m = await this.#addrMessage(ref, cidr);
    let flags = 0;
    if (o.nodad) flags |= IFA_F.NODAD;
    if (o.noprefixroute) flags |= IFA_F.NOPREFIXROUTE;
    // Like iproute2: flags that fit go in ifa_flags, the rest needs IFA_FLAGS.
    if (flags > 0xff) m.extFlags = flags;
    else m.flags = flags;
    if (o.scope !== undefined) m.scope = o.scope;
    if (o.broadcast !== undefined && m.family === AF_INET) {
      m.broadcast = o.broadcast === 'auto' ? ipv4Broadcast(m.local ?? '', m.prefixLen) : o.broadcast;
    }
    if (o.label !== undefined) m.label = o.label;
    if (o.peer !== undefined) m.address = o.peer;
    await this.#transport.request(encodeAddrMessage(RTM.NEWADDR, o.replace ? CREATE_REPLACE : CREATE_EXCL, m), {
      operation: `addr add ${cidr} dev ${ref}`,
    });
  }

  async deleteAddress(ref: LinkRef, cidr: string): Promise<void> {
    const m = await this.#addrMessage(ref, cidr);
    await this.#transport.request(encodeAddrMessage(RTM.DELADDR, NEW, m), { operation: `addr del ${cidr} dev ${ref}` });
  }

  async #addrMessage(ref: LinkRef, cidr: string): Promise<AddrMessage> {
    const p = parseCidr(cidr);
    const index = await this.linkIndex(ref);
    return { family: p.family, prefixLen: p.prefixLen, flags: 0, scope: 0, index, local: p.address, address: p.address };
  }

  async listAddresses(filter: { link?: LinkRef; family?: IpFamily } = {}): Promise<Address[]> {
    const index = filter.link === undefined ? 0 : await this.linkIndex(filter.link);
    const m: AddrMessage = { family: filter.family ?? AF_UNSPEC, prefixLen: 0, flags: 0, scope: 0, index };
    const replies = await this.#transport.request(encodeAddrMessage(RTM.GETADDR, DUMP, m), {
      dump: true,
      operation: 'addr list',
    });
    return replies
      .map((r) => toAddress(decodeAddrBody(messageBody(r))))
      .filter((a) => (index === 0 || a.index === index) && (filter.family === undefined || a.family === filter.family));
  }

  // ---------------------------------------------------------------- routes

  async #routeMessage(r: RouteSpec, forDelete: boolean): Promise<RouteMessage> {
    const isDefault = r.dst === 'default';
    const dst = isDefault ? undefined : parseCidr(r.dst);
    const src = r.src === undefined ? undefined : parseCidr(r.src);
    const family: IpFamily =
      dst?.family ?? (r.gateway !== undefined ? familyOf(r.gateway) : (r.family ?? AF_INET));
    if (r.gateway !== undefined && familyOf(r.gateway) !== family) {
      throw new TypeError(`route ${r.dst}: gateway ${r.gateway} is not of the destination's family`);
    }
    if (src && src.family !== family) {
      throw new TypeError(`route ${r.dst}: source ${r.src} is not of the destination's family`);
    }
    const type = typeof r.type === 'string' ? ROUTE_TYPES[r.type] : (r.type ?? RTN.UNICAST);
    let scope = r.scope;
    if (scope === undefined) {
      if (forDelete) scope = RT_SCOPE.NOWHERE;
      else if (type === RTN.LOCAL) scope = RT_SCOPE.HOST;
      else if (type === RTN.UNICAST && r.gateway === undefined && r.dev !== undefined) scope = RT_SCOPE.LINK;
      else scope = RT_SCOPE.UNIVERSE;
    }
    const m: RouteMessage = {
      family,
      dstLen: dst?.prefixLen ?? 0,
      srcLen: src?.prefixLen ?? 0,
      tos: 0,
      table: r.table ?? RT_TABLE.MAIN,
      protocol: r.protocol ?? (forDelete ? RTPROT.UNSPEC : RTPROT.BOOT),
      scope,
      type: forDelete && r.type === undefined ? RTN.UNSPEC : type,
      flags: r.onlink ? RTNH_F.ONLINK : 0,
    };
    // A zero-length prefix needs no RTA_DST; the kernel reads its absence as the default route.
    if (dst && dst.prefixLen > 0) m.dst = networkOf(dst.address, dst.prefixLen);
    if (src && src.prefixLen > 0) m.src = networkOf(src.address, src.prefixLen);
    if (r.prefsrc !== undefined) m.prefsrc = r.prefsrc;
    if (r.gateway !== undefined) m.gateway = r.gateway;
    if (r.metric !== undefined) m.priority = r.metric;
    const metrics: RouteMetrics = { ...r.metrics };
    if (r.mtu !== undefined) metrics.mtu = r.mtu;
    if (r.advmss !== undefined) metrics.advmss = r.advmss;
    if (Object.keys(metrics).length > 0) m.metrics = metrics;
    if (r.dev !== undefined) m.oif = await this.linkIndex(r.dev);
    return m;
  }

  async addRoute(r: RouteSpec): Promise<void> {
    const m = await this.#routeMessage(r, false);
    await this.#transport.request(encodeRouteMessage(RTM.NEWROUTE, CREATE_EXCL, m), { operation: `route add ${r.dst}` });
  }

  async replaceRoute(r: RouteSpec): Promise<void> {
    const m = await this.#routeMessage(r, false);
    await this.#transport.request(encodeRouteMessage(RTM.NEWROUTE, CREATE_REPLACE, m), {
      operation: `route replace ${r.dst}`,
    });
  }

  async deleteRoute(r: RouteSpec): Promise<void> {
    const m = await this.#routeMessage(r, true);
    await this.#transport.request(encodeRouteMessage(RTM.DELROUTE, NEW, m), { operation: `route del ${r.dst}` });
  }

  async listRoutes(filter: RouteFilter = {}): Promise<RouteInfo[]> {
    const m: RouteMessage = {
      family: filter.family ?? AF_UNSPEC,
      dstLen: 0,
      srcLen: 0,
      tos: 0,
      table: 0,
      protocol: 0,
      scope: 0,
      type: 0,
      flags: 0,
    };
    const replies = await this.#transport.request(encodeRouteMessage(RTM.GETROUTE, DUMP, m), {
      dump: true,
      operation: 'route list',
    });
    const table = filter.table ?? RT_TABLE.MAIN;
    const oif = filter.dev === undefined ? undefined : await this.linkIndex(filter.dev);
    const dst = filter.dst === undefined ? undefined : filter.dst === 'default' ? undefined : parseCidr(filter.dst);
    return replies
      .map((r) => decodeRouteBody(messageBody(r)))
      .filter((r) => !(r.flags & 0x200)) // RTM_F_CLONED: IPv6 route cache entries
      .map(toRouteInfo)
      .filter(
        (r) =>
          (table === 'all' || r.table === table) &&
          (filter.family === undefined || r.family === filter.family) &&
          (oif === undefined || r.oif === oif) &&
          (filter.dst === undefined ||
            (filter.dst === 'default'
              ? r.dst.endsWith('/0')
              : r.dst === `${networkOf(dst!.address, dst!.prefixLen)}/${dst!.prefixLen}`)),
      );
  }

  // ---------------------------------------------------------------- rules

  #ruleMessage(r: RuleSpec, forDelete: boolean): RuleMessage {
    const src = r.src === undefined ? undefined : parseCidr(r.src);
    const dst = r.dst === undefined ? undefined : parseCidr(r.dst);
    const family = src?.family ?? dst?.family ?? r.family ?? AF_INET;
    const m: RuleMessage = {
      family,
      dstLen: dst?.prefixLen ?? 0,
      srcLen: src?.prefixLen ?? 0,
      tos: 0,
      table: r.table ?? (forDelete ? RT_TABLE.UNSPEC : RT_TABLE.MAIN),
      action: r.action ?? (forDelete ? FR_ACT.UNSPEC : FR_ACT.TO_TBL),
      flags: r.invert ? 2 : 0,
    };
    if (src && src.prefixLen > 0) m.src = networkOf(src.address, src.prefixLen);
    if (dst && dst.prefixLen > 0) m.dst = networkOf(dst.address, dst.prefixLen);
    if (r.fwmark !== undefined) m.fwmark = r.fwmark;
    if (r.fwmask !== undefined) m.fwmask = r.fwmask;
    if (r.iif !== undefined) m.iifname = r.iif;
    if (r.oif !== undefined) m.oifname = r.oif;
    if (r.suppressPrefixLen !== undefined) m.suppressPrefixLen = r.suppressPrefixLen;
    if (r.priority !== undefined) m.priority = r.priority;
    if (r.protocol !== undefined) m.protocol = r.protocol;
    return m;
  }

  async addRule(r: RuleSpec): Promise<void> {
    await this.#transport.request(encodeRuleMessage(RTM.NEWRULE, CREATE_EXCL, this.#ruleMessage(r, false)), {
      operation: 'rule add',
    });
  }

  async deleteRule(r: RuleSpec): Promise<void> {
    await this.#transport.request(encodeRuleMessage(RTM.DELRULE, NEW, this.#ruleMessage(r, true)), {
      operation: 'rule del',
    });
  }

  async listRules(family?: IpFamily): Promise<RuleInfo[]> {
    const m: RuleMessage = { family: family ?? AF_UNSPEC, dstLen: 0, srcLen: 0, tos: 0, table: 0, action: 0, flags: 0 };
    const replies = await this.#transport.request(encodeRuleMessage(RTM.GETRULE, DUMP, m), {
      dump: true,
      operation: 'rule list',
    });
    return replies.map((r) => toRuleInfo(decodeRuleBody(messageBody(r))));
  }

  // ---------------------------------------------------------------- neighbours

  async addNeighbour(n: NeighbourSpec): Promise<void> {
    const m: NeighMessage = {
      family: familyOf(n.address),
      index: await this.linkIndex(n.dev),
      state: n.state ?? NUD.PERMANENT,
      flags: n.flags ?? 0,
      type: 0,
      dst: n.address,
    };
    if (n.lladdr !== undefined) m.lladdr = n.lladdr;
    await this.#transport.request(encodeNeighMessage(RTM.NEWNEIGH, n.replace ? CREATE_REPLACE : CREATE_EXCL, m), {
      operation: `neigh add ${n.address}`,
    });
  }

  async deleteNeighbour(n: { dev: LinkRef; address: string }): Promise<void> {
    const m: NeighMessage = {
      family: familyOf(n.address),
      index: await this.linkIndex(n.dev),
      state: NUD.PERMANENT,
      flags: 0,
      type: 0,
      dst: n.address,
    };
    await this.#transport.request(encodeNeighMessage(RTM.DELNEIGH, NEW, m), { operation: `neigh del ${n.address}` });
  }

  async listNeighbours(filter: { dev?: LinkRef; family?: IpFamily } = {}): Promise<NeighbourInfo[]> {
    const index = filter.dev === undefined ? 0 : await this.linkIndex(filter.dev);
    // Strict dump checking refuses a non-zero ndm_ifindex (the kernel filters via NDA_IFINDEX); filter here.
    const m: NeighMessage = { family: filter.family ?? AF_UNSPEC, index: 0, state: 0, flags: 0, type: 0 };
    const replies = await this.#transport.request(encodeNeighMessage(RTM.GETNEIGH, DUMP, m), {
      dump: true,
      operation: 'neigh list',
    });
    const out: NeighbourInfo[] = [];
    for (const r of replies) {
      const n = decodeNeighBody(messageBody(r));
      if (n.dst === undefined || (n.family !== AF_INET && n.family !== AF_INET6)) continue;
      if (index !== 0 && n.index !== index) continue;
      const info: NeighbourInfo = { index: n.index, family: n.family, address: n.dst, state: n.state, flags: n.flags };
      if (n.lladdr !== undefined) info.lladdr = n.lladdr;
      out.push(info);
    }
    return out;
  }
}
