// Floor 3 (plugins/portmap): the nftables backend, written over nfnetlink with @tscni/netlink — one
// atomic transaction per ADD and DEL, no `nft` exec. Does what the reference's portmap_nftables.go
// does (DNAT host ports to the container, masquerade hairpin and localhost traffic), laid out so that
// a packet and an ADD cost the same with 5 or 5,000 containers.
//
// Design (one table per IP version: `ip tscni_hostport` and `ip6 tscni_hostport`):
//
//   map hostip_ports  { type ipv4_addr . inet_proto . inet_service : verdict }  host IP given
//   map ports         { type inet_proto . inet_service : verdict }              any host address
//   map masq_targets  { type ipv4_addr : verdict }                              container address
//
//   chain prerouting  { type nat hook prerouting priority dstnat;
//                       fib daddr type local ip daddr . meta l4proto . th dport vmap @hostip_ports
//                       fib daddr type local meta l4proto . th dport vmap @ports }
//   chain output      { type nat hook output priority dstnat; the same two rules }
//   chain postrouting { type nat hook postrouting priority srcnat; ct status dnat ip daddr vmap @masq_targets }
//
//   per attachment (h = hash of network, container ID and interface; comment names all three):
//   chain dnat-<h> { [conditions] [ip daddr HOSTIP] tcp dport 8080 dnat ip to 10.210.0.2:80
//                    comment "tcp *:8080 -> 10.210.0.2:80" ... one rule per mapping }
//   chain masq-<h> { ip saddr 10.210.0.0/24 masquerade   (hairpin)
//                    ip saddr 127.0.0.0/8 masquerade     (localhost, IPv4)  — or one `masquerade` (masqAll) }
//   elements  tcp . 8080 : jump dnat-<h>  in ports (or hostip_ports),  10.210.0.2 : jump masq-<h>  in masq_targets
//
// A packet pays two hash lookups to find its container, then only that container's rules. ADD
// reads its own two chains and the three base chains (dumps filtered by chain in the kernel, so
// their size does not depend on other containers), writes the base objects only when they are not
// exactly as above, and adds its chains and elements: a transaction that deletes nothing. DEL reads
// back only its own two chains to learn which elements to remove. A host port held by another
// attachment makes the kernel refuse the element (EEXIST): ADD then fails naming the holder instead
// of silently shadowing it as the reference's iptables rules do.
import { CniError, ErrorCode } from '@tscni/spec';
import type { GCAttachment } from '@tscni/spec';
import {
  NftBatch,
  dnatTo,
  getNftGeneration,
  isNetlinkError,
  listNftChains,
  listNftElements,
  listNftRules,
  masquerade,
  matchDaddr,
  matchFibDaddrLocal,
  matchL4Dport,
  matchSaddr,
  nftKey,
  nftValue,
  vmap,
} from '@tscni/netlink';
import type { NetlinkTransport, NftExpr, NftExprGroup, NftFamily, NftSelector, NftSetElem } from '@tscni/netlink';
import { hexDigest } from '../shared/crypto.js';
import { withNetfilter } from '../shared/netfilter.js';
import { chainHolds } from '../shared/nft-rules.js';
import type { WantedRule } from '../shared/nft-rules.js';
import type { NftOpener } from '../shared/netfilter.js';
import { mappingsFor } from './config.js';
import type { ContainerAddr, ContainerAddrs, IpVersion, Mapping, Owner, PortmapConfig, Protocol } from './config.js';
import { parseNftConditions } from './conditions.js';

export const NFT_TABLE = 'tscni_hostport';
const MAP_HOSTIP = 'hostip_ports';
const MAP_PORTS = 'ports';
const MAP_MASQ = 'masq_targets';
const MAPS = [MAP_HOSTIP, MAP_PORTS, MAP_MASQ] as const;
type MapName = (typeof MAPS)[number];

interface FamilySpec {
  readonly version: IpVersion;
  readonly family: Extract<NftFamily, 'ip' | 'ip6'>;
  readonly addrType: 'ipv4_addr' | 'ipv6_addr';
  readonly daddr: NftSelector;
}

const FAMILIES: readonly FamilySpec[] = [
  { version: 4, family: 'ip', addrType: 'ipv4_addr', daddr: nftKey.ipDaddr },
  { version: 6, family: 'ip6', addrType: 'ipv6_addr', daddr: nftKey.ip6Daddr },
];

// ---------------------------------------------------------------------------------------------
// Names and comments

/** The per-attachment suffix: 16 hex digits of SHA-256 over network, container ID and interface. */
export function attachmentHash(o: Owner): string {
  return hexDigest('sha256', `${o.network}\0${o.containerId}\0${o.ifName}`).slice(0, 16);
}

export function dnatChainName(o: Owner): string {
  return `dnat-${attachmentHash(o)}`;
}

export function masqChainName(o: Owner): string {
  return `masq-${attachmentHash(o)}`;
}

/** The chains' comment: network names, container IDs and ifnames never contain spaces. */
export function ownerComment(o: Owner): string {
  return `net=${o.network} id=${o.containerId} if=${o.ifName}`;
}

export function parseOwnerComment(c: string | undefined): Owner | undefined {
  const m = /^net=(\S+) id=(\S+) if=(\S+)$/.exec(c ?? '');
  if (m === null) return undefined;
  return { network: m[1]!, containerId: m[2]!, ifName: m[3]! };
}

function hostPort(ip: string | undefined, port: number): string {
  if (ip === undefined) return `*:${port}`;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `tcp *:8080 -> 10.210.0.2:80`: readable in `nft list`, and how DEL finds the element keys. */
export function mappingComment(m: Mapping, target: ContainerAddr): string {
  return `${m.protocol} ${hostPort(m.hostIP, m.hostPort)} -> ${hostPort(target.ip, m.containerPort)}`;
}

interface MappingKey {
  readonly protocol: Protocol;
  readonly hostIP?: string;
  readonly hostPort: number;
  readonly target: string;
}

export function parseMappingComment(c: string | undefined): MappingKey | undefined {
  const m = /^(tcp|udp|sctp) (\*|\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+) -> \[?([0-9a-fA-F:.]+)\]?:\d+$/.exec(c ?? '');
  if (m === null) return undefined;
  const host = m[2]!;
  return {
    protocol: m[1] as Protocol,
    ...(host === '*' ? {} : { hostIP: host.replace(/^\[|\]$/g, '') }),
    hostPort: Number(m[3]),
    target: m[4]!,
  };
}

/** Masquerade rules say which container address they serve: `hairpin to 10.210.0.2`. */
function masqComment(kind: 'hairpin' | 'localhost' | 'all', ip: string): string {
  return `${kind} to ${ip}`;
}

function masqTarget(c: string | undefined): string | undefined {
  return /^(?:hairpin|localhost|all) to (\S+)$/.exec(c ?? '')?.[1];
}

// ---------------------------------------------------------------------------------------------
// Element keys

function portKey(protocol: Protocol, port: number): Uint8Array {
  return nftValue.concat(nftValue.proto(protocol), nftValue.port(port));
}

function hostIpKey(ip: string, protocol: Protocol, port: number): Uint8Array {
  return nftValue.concat(nftValue.ip(ip), nftValue.proto(protocol), nftValue.port(port));
}

function keyOf(k: MappingKey): { map: MapName; key: Uint8Array } {
  return k.hostIP === undefined
    ? { map: MAP_PORTS, key: portKey(k.protocol, k.hostPort) }
    : { map: MAP_HOSTIP, key: hostIpKey(k.hostIP, k.protocol, k.hostPort) };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function jumpTarget(e: NftSetElem): string | undefined {
  const d = e.data;
  if (d === undefined || !('verdict' in d)) return undefined;
  return d.verdict.code === 'jump' || d.verdict.code === 'goto' ? d.verdict.chain : undefined;
}

/** `ct status dnat`: the connection's destination was rewritten (IPS_DST_NAT). */
function ctStatusDnat(): NftExprGroup {
  const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
  const REG = 1; // NFT_REG_1
  const exprs: NftExpr[] = [
    { kind: 'ct', key: 'status', dreg: REG },
    { kind: 'bitwise', sreg: REG, dreg: REG, len: 4, mask: u32(0x20), xor: u32(0) },
    { kind: 'cmp', sreg: REG, op: 'neq', data: u32(0) },
  ];
  return { exprs };
}

// ---------------------------------------------------------------------------------------------
// What an attachment owns in one family

interface ElementRef {
  readonly map: MapName;
  readonly key: Uint8Array;
}

interface FamilyState {
  /** The chains exist with rules (an empty chain cannot be told from a missing one by a rule dump). */
  dnatChain: boolean;
  masqChain: boolean;
  elements: ElementRef[];
}

interface Plan {
  readonly spec: FamilySpec;
  readonly addr: ContainerAddr;
  readonly mappings: readonly Mapping[];
  readonly conditions: readonly NftExprGroup[];
}

function plansFor(conf: PortmapConfig, addrs: ContainerAddrs): Plan[] {
  const out: Plan[] = [];
  for (const spec of FAMILIES) {
    const addr = spec.version === 4 ? addrs.v4 : addrs.v6;
    if (addr === undefined) continue;
    const mappings = mappingsFor(conf.mappings, spec.version);
    if (mappings.length === 0) continue;
    const raw = spec.version === 4 ? conf.conditionsV4 : conf.conditionsV6;
    const conditions = raw === undefined ? [] : parseNftConditions(raw, spec.version, spec.version === 4 ? 'conditionsV4' : 'conditionsV6');
    out.push({ spec, addr, mappings, conditions });
  }
  return out;
}

/**
 * Reads the attachment's chains (kernel-filtered dumps) and derives its elements from the rule
 * comments. Cheap and independent of the number of containers; `fullState` is the fallback when the
 * two disagree with the maps.
 */
async function fastState(t: NetlinkTransport, spec: FamilySpec, owner: Owner): Promise<FamilyState> {
  const where = { family: spec.family, table: NFT_TABLE };
  const dnat = await listNftRules(t, { ...where, chain: dnatChainName(owner) });
  const masq = await listNftRules(t, { ...where, chain: masqChainName(owner) });
  const elements: ElementRef[] = [];
  for (const r of dnat) {
    const k = parseMappingComment(r.comment);
    if (k !== undefined) elements.push(keyOf(k));
  }
  const target = masq.map((r) => masqTarget(r.comment)).find((x) => x !== undefined);
  if (target !== undefined) elements.push({ map: MAP_MASQ, key: nftValue.ip(target) });
  return { dnatChain: dnat.length > 0, masqChain: masq.length > 0, elements };
}

/** The elements of our maps, each with the chain it jumps to. */
async function listMapElements(t: NetlinkTransport, spec: FamilySpec): Promise<Array<ElementRef & { chain: string | undefined }>> {
  const out: Array<ElementRef & { chain: string | undefined }> = [];
  for (const map of MAPS) {
    for (const e of await listNftElements(t, { family: spec.family, table: NFT_TABLE, set: map })) {
      out.push({ map, key: e.key, chain: jumpTarget(e) });
    }
  }
  return out;
}

/** The exact state from the maps and the chain list (one dump each). */
async function fullState(t: NetlinkTransport, spec: FamilySpec, owner: Owner): Promise<FamilyState> {
  const dnatName = dnatChainName(owner);
  const masqName = masqChainName(owner);
  const chains = new Set((await listNftChains(t, { family: spec.family, table: NFT_TABLE })).map((c) => c.name));
  const elements = (await listMapElements(t, spec)).filter((e) => e.chain === dnatName || e.chain === masqName);
  return { dnatChain: chains.has(dnatName), masqChain: chains.has(masqName), elements };
}

function deleteState(b: NftBatch, spec: FamilySpec, owner: Owner, s: FamilyState, keepChains: boolean): void {
  const family = spec.family;
  for (const e of s.elements) b.deleteElements({ family, table: NFT_TABLE, set: e.map, elements: [{ key: e.key }] });
  if (keepChains) return;
  for (const [exists, name] of [[s.dnatChain, dnatChainName(owner)], [s.masqChain, masqChainName(owner)]] as const) {
    if (!exists) continue;
    b.flushChain({ family, table: NFT_TABLE, name });
    b.deleteChain({ family, table: NFT_TABLE, name });
  }
}

/** The base chains and the comments of their rules (how ADD sees that they are in place). */
type BaseChain = 'prerouting' | 'output' | 'postrouting';

/** The base chains of one family with exactly the rules they hold. */
function baseChains(spec: FamilySpec): ReadonlyArray<readonly [BaseChain, readonly WantedRule[]]> {
  const rule = (hook: BaseChain, map: MapName, key: readonly NftSelector[]): WantedRule => ({
    exprs: [hook === 'postrouting' ? ctStatusDnat() : matchFibDaddrLocal(), vmap(map, key)],
    comment: `${map} lookup`,
  });
  const dnat = (hook: BaseChain): WantedRule[] => [
    rule(hook, MAP_HOSTIP, [spec.daddr, nftKey.l4proto, nftKey.thDport]),
    rule(hook, MAP_PORTS, [nftKey.l4proto, nftKey.thDport]),
  ];
  return [
    ['prerouting', dnat('prerouting')],
    ['output', dnat('output')],
    ['postrouting', [rule('postrouting', MAP_MASQ, [spec.daddr])]],
  ];
}

/**
 * Are the base chains in place with exactly their rules? Three dumps filtered by chain in the
 * kernel, so ADD on a host that is set up writes only its own objects (shared/nft-rules.ts says
 * why rewriting them every time costs).
 */
async function baseReady(t: NetlinkTransport, spec: FamilySpec): Promise<boolean> {
  for (const [chain, rules] of baseChains(spec)) {
    if (!(await chainHolds(t, { family: spec.family, table: NFT_TABLE, chain }, rules))) return false;
  }
  return true;
}

/** Table, maps and base chains; the base chains are rewritten so they hold exactly their rules. */
function ensureBase(b: NftBatch, spec: FamilySpec): void {
  const { family, addrType } = spec;
  const table = NFT_TABLE;
  b.addTable({ family, name: table, comment: 'tscni portmap: host port forwarding' });
  b.addSet({ family, table, name: MAP_HOSTIP, key: [addrType, 'inet_proto', 'inet_service'], data: 'verdict' });
  b.addSet({ family, table, name: MAP_PORTS, key: ['inet_proto', 'inet_service'], data: 'verdict' });
  b.addSet({ family, table, name: MAP_MASQ, key: [addrType], data: 'verdict' });
  for (const [hook, rules] of baseChains(spec)) {
    const priority = hook === 'postrouting' ? 'srcnat' : 'dstnat';
    b.addChain({ family, table, name: hook, base: { type: 'nat', hook, priority, policy: 'accept' } });
    b.flushChain({ family, table, name: hook });
    for (const r of rules) b.addRule({ family, table, chain: hook, exprs: [...r.exprs], ...(r.comment === undefined ? {} : { comment: r.comment }) });
  }
}

/** The attachment's chains and elements; its chains are emptied first only if they hold rules. */
function addAttachment(b: NftBatch, p: Plan, owner: Owner, conf: PortmapConfig, state: FamilyState): void {
  const { family, version } = p.spec;
  const table = NFT_TABLE;
  const comment = ownerComment(owner);
  const dnat = dnatChainName(owner);
  b.addChain({ family, table, name: dnat, comment });
  if (state.dnatChain) b.flushChain({ family, table, name: dnat });
  const hostip: NftSetElem[] = [];
  const ports: NftSetElem[] = [];
  const jumpDnat = { verdict: { code: 'jump', chain: dnat } } as const;
  for (const m of p.mappings) {
    b.addRule({
      family,
      table,
      chain: dnat,
      exprs: [
        ...p.conditions,
        ...(m.hostIP === undefined ? [] : [matchDaddr(m.hostIP)]),
        matchL4Dport(m.protocol, m.hostPort),
        dnatTo(p.addr.ip, m.containerPort),
      ],
      comment: mappingComment(m, p.addr),
    });
    if (m.hostIP === undefined) ports.push({ key: portKey(m.protocol, m.hostPort), data: jumpDnat });
    else hostip.push({ key: hostIpKey(m.hostIP, m.protocol, m.hostPort), data: jumpDnat });
  }
  if (hostip.length > 0) b.addElements({ family, table, set: MAP_HOSTIP, elements: hostip });
  if (ports.length > 0) b.addElements({ family, table, set: MAP_PORTS, elements: ports });

  if (!conf.snat) return;
  const masq = masqChainName(owner);
  b.addChain({ family, table, name: masq, comment });
  if (state.masqChain) b.flushChain({ family, table, name: masq });
  const ip = p.addr.ip;
  if (conf.masqAll) {
    b.addRule({ family, table, chain: masq, exprs: [masquerade()], comment: masqComment('all', ip) });
  } else {
    b.addRule({ family, table, chain: masq, exprs: [matchSaddr(p.addr.subnet), masquerade()], comment: masqComment('hairpin', ip) });
    // Linux cannot route ::1 off the host, so only IPv4 has a localhost rule.
    if (version === 4) {
      b.addRule({ family, table, chain: masq, exprs: [matchSaddr('127.0.0.0/8'), masquerade()], comment: masqComment('localhost', ip) });
    }
  }
  b.addElements({ family, table, set: MAP_MASQ, elements: [{ key: nftValue.ip(ip), data: { verdict: { code: 'jump', chain: masq } } }] });
}

// ---------------------------------------------------------------------------------------------
// The backend

export class NftablesBackend {
  readonly name = 'nftables';
  readonly #open: NftOpener;

  constructor(open: NftOpener) {
    this.#open = open;
  }

  async #with<T>(what: string, fn: (t: NetlinkTransport) => Promise<T>): Promise<T> {
    return withNetfilter(this.#open, `portmap (nftables): ${what}`, fn);
  }

  /** nf_tables answers (a kernel without it, or without permission, does not). */
  async available(): Promise<boolean> {
    return this.#with('probe', getNftGeneration).then(
      () => true,
      () => false,
    );
  }

  async add(owner: Owner, conf: PortmapConfig, addrs: ContainerAddrs): Promise<void> {
    const plans = plansFor(conf, addrs);
    await this.#with('failed to add port mappings', async (t) => {
      // What an earlier ADD of this attachment left (a retried ADD, or other mappings) is replaced.
      const states = new Map<FamilySpec, FamilyState>();
      const ready = new Map<FamilySpec, boolean>();
      for (const spec of FAMILIES) {
        states.set(spec, await fastState(t, spec, owner));
        if (plans.some((p) => p.spec === spec)) ready.set(spec, await baseReady(t, spec));
      }
      const foreign: Array<{ spec: FamilySpec; ref: ElementRef }> = [];
      for (let attempt = 0; ; attempt++) {
        const b = new NftBatch();
        for (const spec of FAMILIES) {
          const plan = plans.find((p) => p.spec === spec);
          const state = states.get(spec)!;
          if (plan === undefined) {
            deleteState(b, spec, owner, state, false);
            continue;
          }
          if (!ready.get(spec)) ensureBase(b, spec);
          deleteState(b, spec, owner, state, true);
          for (const f of foreign) {
            if (f.spec === spec) b.deleteElements({ family: spec.family, table: NFT_TABLE, set: f.ref.map, elements: [{ key: f.ref.key }] });
          }
          // Masquerading that was on and is now off.
          if (!conf.snat && state.masqChain) {
            b.flushChain({ family: spec.family, table: NFT_TABLE, name: masqChainName(owner) });
            b.deleteChain({ family: spec.family, table: NFT_TABLE, name: masqChainName(owner) });
          }
          addAttachment(b, plan, owner, conf, state);
        }
        try {
          await b.commit(t);
          return;
        } catch (e) {
          if (attempt >= 2) throw e;
          if (isNetlinkError(e, 'ENOENT')) {
            // Our chains and the maps disagree (edited by hand?): take the state from the maps,
            // and rewrite the base objects too.
            for (const spec of FAMILIES) {
              states.set(spec, await fullState(t, spec, owner));
              ready.set(spec, false);
            }
            continue;
          }
          if (!isNetlinkError(e, 'EEXIST')) throw e;
          const found = await this.#conflicts(t, plans, owner);
          if (found.length === 0) throw e;
          foreign.push(...found);
        }
      }
    });
  }

  /**
   * Why an element could not be added. A host port held by another attachment is an error naming
   * it; a container address whose masquerade element belongs to a gone attachment (the address was
   * reused before that attachment's DEL or GC) is taken over.
   */
  async #conflicts(t: NetlinkTransport, plans: readonly Plan[], owner: Owner): Promise<Array<{ spec: FamilySpec; ref: ElementRef }>> {
    const dnat = dnatChainName(owner);
    const masq = masqChainName(owner);
    const takeOver: Array<{ spec: FamilySpec; ref: ElementRef }> = [];
    const clashes: string[] = [];
    for (const p of plans) {
      const existing = await listMapElements(t, p.spec);
      const holder = new Map(existing.map((e) => [`${e.map} ${hex(e.key)}`, e.chain]));
      const owners = new Map((await listNftChains(t, { family: p.spec.family, table: NFT_TABLE })).map((c) => [c.name, parseOwnerComment(c.comment)]));
      for (const m of p.mappings) {
        const { map, key } = m.hostIP === undefined ? { map: MAP_PORTS, key: portKey(m.protocol, m.hostPort) } : { map: MAP_HOSTIP, key: hostIpKey(m.hostIP, m.protocol, m.hostPort) };
        const chain = holder.get(`${map} ${hex(key)}`);
        if (chain === undefined || chain === dnat) continue;
        const o = owners.get(chain);
        const who = o === undefined ? `chain ${chain}` : `container ${o.containerId} (interface ${o.ifName}, network ${o.network})`;
        clashes.push(`host port ${hostPort(m.hostIP, m.hostPort)}/${m.protocol} is already forwarded to ${who}`);
      }
      const masqKey = nftValue.ip(p.addr.ip);
      const masqHolder = holder.get(`${MAP_MASQ} ${hex(masqKey)}`);
      if (masqHolder !== undefined && masqHolder !== masq) takeOver.push({ spec: p.spec, ref: { map: MAP_MASQ, key: masqKey } });
    }
    if (clashes.length > 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `portmap: ${clashes.join('; ')}`);
    return takeOver;
  }

  async del(owner: Owner): Promise<void> {
    await this.#with('failed to remove port mappings', async (t) => {
      let states = await Promise.all(FAMILIES.map((spec) => fastState(t, spec, owner)));
      for (let attempt = 0; ; attempt++) {
        const b = new NftBatch();
        FAMILIES.forEach((spec, i) => deleteState(b, spec, owner, states[i]!, false));
        try {
          await b.commit(t);
          return;
        } catch (e) {
          if (attempt >= 1 || !isNetlinkError(e, 'ENOENT')) throw e;
          states = await Promise.all(FAMILIES.map((spec) => fullState(t, spec, owner)));
        }
      }
    });
  }

  /** The attachment's rules and elements are what ADD would write now. */
  async check(owner: Owner, conf: PortmapConfig, addrs: ContainerAddrs): Promise<void> {
    const plans = plansFor(conf, addrs);
    const problems: string[] = [];
    await this.#with('failed to read port mappings', async (t) => {
      for (const p of plans) {
        const { family } = p.spec;
        const where = { family, table: NFT_TABLE };
        const rules = await listNftRules(t, { ...where, chain: dnatChainName(owner) });
        const have = new Set(rules.map((r) => r.comment ?? ''));
        const elements = await listMapElements(t, p.spec);
        const jumps = new Map(elements.map((e) => [`${e.map} ${hex(e.key)}`, e.chain]));
        for (const m of p.mappings) {
          const c = mappingComment(m, p.addr);
          if (!have.has(c)) problems.push(`no IPv${p.spec.version} rule for ${c}`);
          const { map, key } = keyOf({ protocol: m.protocol, hostPort: m.hostPort, target: p.addr.ip, ...(m.hostIP === undefined ? {} : { hostIP: m.hostIP }) });
          if (jumps.get(`${map} ${hex(key)}`) !== dnatChainName(owner)) problems.push(`host port ${hostPort(m.hostIP, m.hostPort)}/${m.protocol} does not lead to this attachment (IPv${p.spec.version})`);
        }
        if (rules.length !== p.mappings.length) problems.push(`IPv${p.spec.version}: ${rules.length} DNAT rules, expected ${p.mappings.length}`);
        if (!(await baseReady(t, p.spec))) problems.push(`IPv${p.spec.version}: the base chains of ${NFT_TABLE} are missing or changed`);
        if (conf.snat) {
          const masq = await listNftRules(t, { ...where, chain: masqChainName(owner) });
          const want = conf.masqAll ? 1 : p.spec.version === 4 ? 2 : 1;
          if (masq.length !== want || masq.some((r) => masqTarget(r.comment) !== p.addr.ip)) {
            problems.push(`IPv${p.spec.version}: masquerade rules for ${p.addr.ip} are missing or different`);
          }
          if (jumps.get(`${MAP_MASQ} ${hex(nftValue.ip(p.addr.ip))}`) !== masqChainName(owner)) {
            problems.push(`IPv${p.spec.version}: ${p.addr.ip} is not in ${MAP_MASQ}`);
          }
        }
      }
    });
    if (problems.length > 0) throw new CniError(ErrorCode.Internal, `portmap: ${problems.join('; ')}`);
  }

  /** Removes the chains and elements of this network's attachments that are not in `valid`. */
  async gc(network: string, valid: readonly GCAttachment[]): Promise<void> {
    const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
    await this.#with('failed to garbage-collect port mappings', async (t) => {
      const b = new NftBatch();
      for (const spec of FAMILIES) {
        const family = spec.family;
        const stale = new Set(
          (await listNftChains(t, { family, table: NFT_TABLE }))
            .filter((c) => {
              const o = parseOwnerComment(c.comment);
              return o !== undefined && o.network === network && !keep.has(`${o.containerId}\0${o.ifName}`);
            })
            .map((c) => c.name),
        );
        if (stale.size === 0) continue;
        for (const e of await listMapElements(t, spec)) {
          if (e.chain !== undefined && stale.has(e.chain)) {
            b.deleteElements({ family, table: NFT_TABLE, set: e.map, elements: [{ key: e.key }] });
          }
        }
        for (const name of stale) {
          b.flushChain({ family, table: NFT_TABLE, name });
          b.deleteChain({ family, table: NFT_TABLE, name });
        }
      }
      await b.commit(t);
    });
  }
}
