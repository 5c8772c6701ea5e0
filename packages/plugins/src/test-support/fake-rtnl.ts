// Test support (not built, not exported): a small model of rtnetlink in several network namespaces
// behind @tscni/netlink's FakeTransport, for plugin logic on link kinds this machine's kernel lacks
// (ipvlan, vlan, dummy, bridge VLAN filtering, VRF with its l3mdev side effects). Each namespace records the requests it received,
// so tests assert the exact messages a plugin built. A "namespace path" is any file: the plugin
// opens it for IFLA_NET_NS_FD as it would /run/netns/x, and the fake resolves the descriptor back
// to the path through /proc/self/fd to know where a link goes.
import { existsSync, readlinkSync } from 'node:fs';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  BRIDGE_VLAN_INFO,
  FakeTransport,
  IFF,
  NLM_F,
  RTM,
  RtNetlink,
  decodeAddrBody,
  decodeLinkBody,
  decodeRouteBody,
  encodeLinkBody,
  IFLA,
  NlWriter,
  encodeAddrMessage,
  encodeLinkMessage,
  encodeRouteMessage,
} from '@tscni/netlink';
import type { AddrMessage, FakeReply, LinkKindData, LinkMessage, NlMessage, RouteMessage } from '@tscni/netlink';

const ENODEV = 19;
const EEXIST = 17;
const ESRCH = 3;
const EOPNOTSUPP = 95;
const IF_OPER_UP = 6;
const IF_OPER_DOWN = 2;

export interface FakeLink {
  index: number;
  name: string;
  kind?: string;
  data?: LinkKindData;
  /** IFLA_LINK: parent (macvlan, vlan, ipvlan) or veth peer. */
  parent?: number;
  master?: number;
  mtu: number;
  mac: string;
  up: boolean;
  alias?: string;
  /** Bridge port VLANs (vid -> pvid/untagged flags as sent). */
  vlans?: Map<number, number>;
}

/** One decoded request as the fake received it. */
export interface SeenRequest {
  type: number;
  flags: number;
  link?: LinkMessage;
  addr?: AddrMessage;
  route?: RouteMessage;
}

export class FakeNs {
  readonly links = new Map<number, FakeLink>();
  addrs: AddrMessage[] = [];
  routes: RouteMessage[] = [];
  readonly seen: SeenRequest[] = [];
  /** Kinds whose creation fails with EOPNOTSUPP (a kernel without the module). */
  readonly unsupported = new Set<string>();

  constructor(
    readonly net: FakeNet,
    readonly path: string | null,
  ) {
    this.add({ name: 'lo', up: true, mtu: 65536, mac: '00:00:00:00:00:00' });
  }

  add(l: Omit<FakeLink, 'index'> & { index?: number }): FakeLink {
    const link: FakeLink = { ...l, index: l.index ?? this.net.nextIndex() };
    this.links.set(link.index, link);
    return link;
  }

  byName(name: string): FakeLink | undefined {
    return [...this.links.values()].find((l) => l.name === name);
  }

  /** Requests of one rtnetlink type (RTM_*), decoded. */
  requests(type: number): SeenRequest[] {
    return this.seen.filter((r) => r.type === type);
  }

  transport(): FakeTransport {
    return new FakeTransport((m) => this.handle(m));
  }

  linkMessage(l: FakeLink): Uint8Array {
    const m: LinkMessage = { index: l.index, ifname: l.name, flags: l.up ? IFF.UP : 0, mtu: l.mtu, address: l.mac };
    if (l.parent !== undefined) m.link = l.parent;
    if (l.master !== undefined) m.master = l.master;
    if (l.alias !== undefined) m.alias = l.alias;
    if (l.kind !== undefined) m.linkInfo = { kind: l.kind, ...(l.data === undefined ? {} : { data: l.data }) };
    // IFLA_OPERSTATE is reported by the kernel only, so the link codec does not write it: add it here.
    const w = new NlWriter();
    const at = w.beginMessage(RTM.NEWLINK, 0);
    encodeLinkBody(w, m);
    w.putU8(IFLA.OPERSTATE, l.up ? IF_OPER_UP : IF_OPER_DOWN);
    return w.endMessage(at).finish();
  }

  handle(m: NlMessage): FakeReply {
    const type = m.header.type;
    const dump = (m.header.flags & NLM_F.DUMP) === NLM_F.DUMP;
    const seen: SeenRequest = { type, flags: m.header.flags };
    this.seen.push(seen);
    switch (type) {
      case RTM.GETLINK: {
        const q = decodeLinkBody(m.payload);
        seen.link = q;
        if (dump && q.family === AF_BRIDGE) return { messages: this.bridgeVlanDump() };
        if (dump) return { messages: [...this.links.values()].map((l) => this.linkMessage(l)) };
        const l = q.index ? this.links.get(q.index) : this.byName(q.ifname ?? '');
        return l ? { messages: [this.linkMessage(l)] } : { errno: ENODEV };
      }
      case RTM.NEWLINK: {
        const q = decodeLinkBody(m.payload);
        seen.link = q;
        return m.header.flags & NLM_F.CREATE ? this.create(q) : this.set(q);
      }
      case RTM.SETLINK: {
        const q = decodeLinkBody(m.payload);
        seen.link = q;
        const l = this.links.get(q.index ?? 0);
        if (!l) return { errno: ENODEV };
        for (const v of q.afSpec?.vlans ?? []) (l.vlans ??= new Map()).set(v.vid, v.flags);
        return {};
      }
      case RTM.DELLINK: {
        const q = decodeLinkBody(m.payload);
        seen.link = q;
        const l = this.links.get(q.index ?? 0);
        if (!l) return { errno: ENODEV };
        if (q.family === AF_BRIDGE) {
          for (const v of q.afSpec?.vlans ?? []) l.vlans?.delete(v.vid);
          return {};
        }
        this.remove(l);
        return {};
      }
      case RTM.GETADDR:
        return { messages: this.addrs.map((a) => encodeAddrMessage(RTM.NEWADDR, 0, a)) };
      case RTM.NEWADDR: {
        const q = decodeAddrBody(m.payload);
        seen.addr = q;
        const l = this.links.get(q.index);
        if (!l) return { errno: ENODEV };
        if (this.addrs.some((a) => a.index === q.index && a.local === q.local && a.prefixLen === q.prefixLen)) return { errno: EEXIST };
        this.addAddr(l, q);
        return {};
      }
      case RTM.DELADDR: {
        const q = decodeAddrBody(m.payload);
        seen.addr = q;
        const before = this.addrs.length;
        this.addrs = this.addrs.filter((a) => !(a.index === q.index && a.local === q.local && a.prefixLen === q.prefixLen));
        return this.addrs.length === before ? { errno: 99 } : {};
      }
      case RTM.GETROUTE:
        return { messages: this.routes.map((r) => encodeRouteMessage(RTM.NEWROUTE, 0, r)) };
      case RTM.NEWROUTE: {
        const q = decodeRouteBody(m.payload);
        seen.route = q;
        if (m.header.flags & NLM_F.REPLACE) {
          // The kernel replaces the route with the same key (table, destination, metric), whatever its gateway.
          this.routes = this.routes.filter((r) => !sameKey(r, q));
        } else if (this.routes.some((r) => sameRoute(r, q))) {
          return { errno: EEXIST };
        }
        this.routes.push(q);
        return {};
      }
      case RTM.DELROUTE: {
        const q = decodeRouteBody(m.payload);
        seen.route = q;
        const before = this.routes.length;
        this.routes = this.routes.filter((r) => !sameRoute(r, q));
        return this.routes.length === before ? { errno: ESRCH } : {};
      }
      default:
        throw new Error(`fake rtnetlink: unexpected request type ${type}`);
    }
  }

  /** An address on `l`; on a VRF port the kernel also adds its local route to the VRF's table. */
  addAddr(l: FakeLink, a: AddrMessage): void {
    this.addrs.push(a);
    const vrf = this.#vrfOf(l);
    if (vrf !== undefined && a.local !== undefined) this.routes.push(vrfLocalRoute(a.family, a.local, l.index, vrf));
  }

  /** The table of the VRF `l` is a port of, if any. */
  #vrfOf(l: FakeLink): number | undefined {
    const master = l.master === undefined ? undefined : this.links.get(l.master);
    return master?.data?.kind === 'vrf' ? (master.data.table ?? 0) : undefined;
  }

  /** Where a message's IFLA_NET_NS_FD points (this namespace when absent). */
  #target(q: LinkMessage): FakeNs {
    return q.netnsFd === undefined ? this : this.net.byFd(q.netnsFd);
  }

  create(q: LinkMessage): FakeReply {
    const kind = q.linkInfo?.kind;
    if (kind !== undefined && this.unsupported.has(kind)) return { errno: EOPNOTSUPP };
    const where = this.#target(q);
    const name = q.ifname ?? '';
    if (where.byName(name)) return { errno: EEXIST };
    const up = ((q.flags ?? 0) & IFF.UP) !== 0;
    const data = q.linkInfo?.data;
    const peer = data?.kind === 'veth' ? data.peer : undefined;
    if (peer !== undefined) {
      const peerNs = peer.netnsFd === undefined ? this : this.net.byFd(peer.netnsFd);
      if (peerNs.byName(peer.ifname ?? '')) return { errno: EEXIST };
    }
    const parent = q.link === undefined ? undefined : this.links.get(q.link);
    if (q.link !== undefined && parent === undefined) return { errno: ENODEV };
    const link = where.add({
      name,
      up,
      mtu: q.mtu ?? parent?.mtu ?? 1500,
      mac: q.address ?? this.net.nextMac(),
      ...(kind === undefined ? {} : { kind }),
      ...(data === undefined || peer !== undefined ? {} : { data }),
      ...(q.link === undefined ? {} : { parent: q.link }),
      ...(q.master === undefined ? {} : { master: q.master }),
      ...(q.alias === undefined ? {} : { alias: q.alias }),
    });
    if (peer !== undefined) {
      const peerNs = peer.netnsFd === undefined ? this : this.net.byFd(peer.netnsFd);
      const p = peerNs.add({ name: peer.ifname ?? '', up: false, mtu: peer.mtu ?? link.mtu, mac: peer.address ?? this.net.nextMac(), kind: 'veth', parent: link.index });
      link.parent = p.index;
    }
    return {};
  }

  set(q: LinkMessage): FakeReply {
    const l = this.links.get(q.index ?? 0) ?? (q.ifname !== undefined && q.index === undefined ? this.byName(q.ifname) : undefined);
    if (!l) return { errno: ENODEV };
    if (q.master !== undefined && q.master !== 0 && !this.links.has(q.master)) return { errno: ENODEV };
    if ((q.change ?? 0) & IFF.UP) l.up = ((q.flags ?? 0) & IFF.UP) !== 0;
    if (q.mtu !== undefined) l.mtu = q.mtu;
    if (q.address !== undefined) l.mac = q.address;
    if (q.alias !== undefined) l.alias = q.alias;
    if (q.master !== undefined) {
      if (q.master === 0) delete l.master;
      else {
        l.master = q.master;
        // A new port of a VLAN-filtering bridge starts in the default VLAN 1 (PVID, untagged).
        const br = this.links.get(q.master);
        if (br?.data?.kind === 'bridge' && br.data.vlanFiltering === true) {
          l.vlans = new Map([[1, BRIDGE_VLAN_INFO.PVID | BRIDGE_VLAN_INFO.UNTAGGED]]);
        }
        const vrf = this.#vrfOf(l);
        if (vrf !== undefined) {
          // l3mdev cycles the device: its routes go, its IPv6 global addresses go (no keep_addr_on_down),
          // and the local routes of what is left are made in the VRF's table.
          this.routes = this.routes.filter((r) => r.oif !== l.index);
          this.addrs = this.addrs.filter((a) => !(a.index === l.index && a.family === AF_INET6 && a.scope === 0));
          for (const a of this.addrs) if (a.index === l.index && a.local !== undefined) this.routes.push(vrfLocalRoute(a.family, a.local, l.index, vrf));
        }
      }
    }
    const where = this.#target(q);
    if (q.ifname !== undefined && q.ifname !== l.name) {
      if (l.up && where === this) return { errno: 16 }; // EBUSY: a running device cannot be renamed
      if (where.byName(q.ifname)) return { errno: EEXIST };
      l.name = q.ifname;
    }
    if (where !== this) {
      if (where.byName(l.name)) return { errno: EEXIST };
      this.links.delete(l.index);
      // Addresses do not survive a namespace move; the link is down in its new namespace.
      this.addrs = this.addrs.filter((a) => a.index !== l.index);
      this.routes = this.routes.filter((r) => r.oif !== l.index);
      l.up = false;
      delete l.master;
      where.links.set(l.index, l);
    }
    return {};
  }

  remove(l: FakeLink): void {
    this.links.delete(l.index);
    this.addrs = this.addrs.filter((a) => a.index !== l.index);
    this.routes = this.routes.filter((r) => r.oif !== l.index);
    // Ports of a deleted master (bridge, VRF) are released.
    for (const other of this.links.values()) if (other.master === l.index) delete other.master;
    // A veth takes its peer along; links on a deleted parent (in any namespace) go too.
    for (const ns of this.net.all()) {
      for (const other of [...ns.links.values()]) if (other.parent === l.index) ns.remove(other);
    }
  }

  bridgeVlanDump(): Uint8Array[] {
    return [...this.links.values()]
      .filter((l) => l.vlans !== undefined && l.vlans.size > 0)
      .map((l) =>
        encodeLinkMessage(RTM.NEWLINK, 0, {
          family: AF_BRIDGE,
          index: l.index,
          ifname: l.name,
          afSpec: { vlans: [...(l.vlans ?? new Map<number, number>())].map(([vid, flags]) => ({ vid, flags })) },
        }),
      );
  }
}

function sameKey(a: RouteMessage, b: RouteMessage): boolean {
  return a.family === b.family && a.table === b.table && a.dst === b.dst && a.dstLen === b.dstLen && (a.priority ?? 0) === (b.priority ?? 0);
}

function sameRoute(a: RouteMessage, b: RouteMessage): boolean {
  return sameKey(a, b) && a.gateway === b.gateway;
}

/** The kernel's local route (type local, host prefix) for an address of a VRF port, in the VRF's table. */
function vrfLocalRoute(family: number, local: string, oif: number, table: number): RouteMessage {
  return { family, dst: local, dstLen: family === AF_INET ? 32 : 128, srcLen: 0, tos: 0, table, protocol: 2, scope: 254, type: 2, flags: 0, oif };
}

/** Several fake namespaces; `null` is the host. Link indexes are unique across all of them. */
export class FakeNet {
  readonly #spaces = new Map<string | null, FakeNs>();
  #index = 1;
  #mac = 1;

  nextIndex(): number {
    return this.#index++;
  }

  nextMac(): string {
    const n = this.#mac++;
    return `02:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
  }

  ns(path: string | null): FakeNs {
    let ns = this.#spaces.get(path);
    if (ns === undefined) {
      ns = new FakeNs(this, path);
      this.#spaces.set(path, ns);
    }
    return ns;
  }

  all(): FakeNs[] {
    return [...this.#spaces.values()];
  }

  /**
   * The namespace a descriptor (opened by the plugin from a namespace path) stands for; our own
   * real namespace (e.g. /proc/self/ns/net, read back as `net:[inode]`) is the host.
   */
  byFd(fd: number): FakeNs {
    const target = readlinkSync(`/proc/self/fd/${fd}`);
    return this.ns(target.startsWith('net:[') ? null : target);
  }

  /** An RtOpener for plugins: rtnetlink "inside" the namespace at `path` (null: host); a missing path is ENOENT. */
  readonly opener = (path: string | null): RtNetlink => {
    if (path !== null && !existsSync(path)) throw Object.assign(new Error(`open ${path}: no such file`), { code: 'ENOENT' });
    return new RtNetlink(this.ns(path).transport(), { netnsPath: path });
  };
}

/** Header fields the decoder reports as 0 when a request left them unset. */
const ZERO_DEFAULTS = new Set(['family', 'ifType', 'index', 'flags', 'change']);

/** A decoded request as sent: fields a request left unset (zero header fields, undefined) removed. */
export function sent(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sent);
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!(ZERO_DEFAULTS.has(k) && x === 0) && x !== undefined) out[k] = sent(x);
  return out;
}
