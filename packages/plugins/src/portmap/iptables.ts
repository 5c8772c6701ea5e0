// Floor 3 (plugins/portmap): the iptables backend (`backend: iptables`), with the reference's chain
// layout so it coexists with Go portmap's rules on one host (either plugin's DEL removes the other's
// attachment, since the per-container chain name is the same hash):
//
//   nat PREROUTING / OUTPUT  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
//   nat POSTROUTING          -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
//   CNI-HOSTPORT-DNAT        [conditions] -p tcp -m comment --comment "dnat name: .. id: .. ifname: .." -m multiport --dports P,.. -j CNI-DN-<hash>
//   CNI-DN-<hash>            -s <subnet> -p tcp -m tcp --dport P -j CNI-HOSTPORT-SETMARK   (hairpin)
//                            -s 127.0.0.1/32 -p tcp -m tcp --dport P -j CNI-HOSTPORT-SETMARK (localhost, v4)
//                            -p tcp -m tcp --dport P -j DNAT --to-destination IP:PORT
//   CNI-HOSTPORT-SETMARK     -j MARK --set-xmark <bit>/<bit>;  CNI-HOSTPORT-MASQ  -m mark --mark <bit>/<bit> -j MASQUERADE
//
// Unlike the reference (one iptables exec per rule check and per rule), each operation reads the nat
// table once (iptables-save) and applies everything in one iptables-restore --noflush per IP version.
// Shared chains are created with -N, which fails if another writer created them in the meantime;
// then the table is read again and the transaction retried, so nobody's rules are ever flushed.
import { CniError, ErrorCode } from '@tscni/spec';
import type { GCAttachment } from '@tscni/spec';
import { formatRuleLine, iptablesToolError, ruleOption, ruleTarget, sameSpec, saveCommand, saveTable, toolRunner, transactTable } from '../shared/iptables-restore.js';
import type { CommandRunner, IptVersion, SavedRule, SavedTable } from '../shared/iptables-restore.js';
import { chainName } from '../shared/crypto.js';
import { mappingsFor } from './config.js';
import type { ContainerAddr, ContainerAddrs, Mapping, Owner, PortmapConfig, Protocol } from './config.js';

export const DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
export const MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';
const TABLE = 'nat';
/** iptables' multiport match takes at most 15 ports. */
const MULTIPORT_MAX = 15;

export function dnChainName(o: Owner): string {
  return chainName(o.network, o.containerId, 'DN-');
}

/** The reference's comment, plus the interface so that GC can tell two attachments of one container apart. */
export function jumpComment(o: Owner): string {
  return `dnat name: "${o.network}" id: "${o.containerId}" ifname: "${o.ifName}"`;
}

export function parseJumpComment(c: string | undefined): { network: string; containerId: string; ifName?: string } | undefined {
  const m = /^dnat name: "(.*)" id: "([^"]*)"(?: ifname: "([^"]*)")?$/.exec(c ?? '');
  if (m === null) return undefined;
  return { network: m[1]!, containerId: m[2]!, ...(m[3] === undefined ? {} : { ifName: m[3] }) };
}

function markHex(bit: number): string {
  return `0x${((1 << bit) >>> 0).toString(16)}`;
}

function hostSpec(v: IptVersion, ip: string): string {
  return `${ip}/${v === 4 ? 32 : 128}`;
}

function target(v: IptVersion, ip: string, port: number): string {
  return v === 4 ? `${ip}:${port}` : `[${ip}]:${port}`;
}

/** The fixed rules of the shared chains, as iptables-save prints them. */
function baseRules(conf: PortmapConfig): SavedRule[] {
  const entry = ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DNAT_CHAIN];
  const rules: SavedRule[] = [
    { chain: 'PREROUTING', spec: entry },
    { chain: 'OUTPUT', spec: entry },
  ];
  if (conf.snat && conf.externalSetMarkChain === undefined) {
    const mark = markHex(conf.markMasqBit);
    rules.push(
      { chain: 'POSTROUTING', spec: ['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', MASQ_CHAIN] },
      { chain: SETMARK_CHAIN, spec: ['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', `${mark}/${mark}`] },
      { chain: MASQ_CHAIN, spec: ['-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'MASQUERADE'] },
    );
  }
  return rules;
}

/** The per-container chain's rules, in the reference's order and as iptables-save prints them. */
export function dnRules(v: IptVersion, conf: PortmapConfig, mappings: readonly Mapping[], addr: ContainerAddr): string[][] {
  const setMark = conf.externalSetMarkChain ?? SETMARK_CHAIN;
  const out: string[][] = [];
  for (const m of mappings) {
    const dst = m.hostIP === undefined ? [] : ['-d', hostSpec(v, m.hostIP)];
    const port = ['-p', m.protocol, '-m', m.protocol, '--dport', String(m.hostPort)];
    if (conf.snat) {
      if (conf.masqAll) {
        out.push([...dst, ...port, '-j', setMark]);
      } else {
        out.push(['-s', addr.subnet, ...dst, ...port, '-j', setMark]);
        if (v === 4) out.push(['-s', '127.0.0.1/32', ...dst, ...port, '-j', setMark]);
      }
    }
    out.push([...dst, ...port, '-j', 'DNAT', '--to-destination', target(v, addr.ip, m.containerPort)]);
  }
  return out;
}

/** CNI-HOSTPORT-DNAT jumps: one per protocol and group of at most 15 ports. */
export function jumpRules(conf: PortmapConfig, conditions: readonly string[], mappings: readonly Mapping[], owner: Owner): string[][] {
  const chain = dnChainName(owner);
  const byProto = new Map<Protocol, number[]>();
  for (const m of mappings) {
    const ports = byProto.get(m.protocol) ?? [];
    if (!ports.includes(m.hostPort)) ports.push(m.hostPort);
    byProto.set(m.protocol, ports);
  }
  const out: string[][] = [];
  for (const [proto, ports] of byProto) {
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
      const group = ports.slice(i, i + MULTIPORT_MAX).join(',');
      out.push([...conditions, '-p', proto, '-m', 'comment', '--comment', jumpComment(owner), '-m', 'multiport', '--dports', group, '-j', chain]);
    }
  }
  return out;
}

function has(t: SavedTable, r: SavedRule): boolean {
  return t.rules.some((x) => x.chain === r.chain && sameSpec(x.spec, r.spec));
}

const VERSIONS: readonly IptVersion[] = [4, 6];

export class IptablesBackend {
  readonly name = 'iptables';
  readonly #run: CommandRunner;

  constructor(run: CommandRunner = toolRunner) {
    this.#run = run;
  }

  /** iptables-save can read the nat table. */
  async available(): Promise<boolean> {
    return (await this.unusable()) === undefined;
  }

  /** Why the backend is unusable, for STATUS; undefined when it is usable. */
  async unusable(): Promise<string | undefined> {
    const r = await this.#run(saveCommand(4), ['-t', TABLE]);
    if (r.code === 0) return undefined;
    return iptablesToolError(`${saveCommand(4)} -t ${TABLE}`, r).msg;
  }

  async add(owner: Owner, conf: PortmapConfig, addrs: ContainerAddrs): Promise<void> {
    const dn = dnChainName(owner);
    for (const v of VERSIONS) {
      const addr = v === 4 ? addrs.v4 : addrs.v6;
      const mappings = mappingsFor(conf.mappings, v);
      if (addr === undefined || mappings.length === 0) continue;
      const conditions = (v === 4 ? conf.conditionsV4 : conf.conditionsV6) ?? [];
      await transactTable(this.#run, v, TABLE, (t) => {
        const lines: string[] = [];
        const shared = [DNAT_CHAIN, ...(conf.snat && conf.externalSetMarkChain === undefined ? [SETMARK_CHAIN, MASQ_CHAIN] : [])];
        for (const c of shared) if (!t.chains.has(c)) lines.push(`-N ${c}`);
        // Declaring our own chain creates it, or empties it when an earlier ADD left it.
        lines.push(`:${dn} - [0:0]`);
        for (const r of baseRules(conf)) if (!has(t, r)) lines.push(formatRuleLine('-A', r.chain, r.spec));
        for (const r of t.rules) {
          if (r.chain === DNAT_CHAIN && ruleTarget(r.spec) === dn) lines.push(formatRuleLine('-D', r.chain, r.spec));
        }
        for (const spec of jumpRules(conf, conditions, mappings, owner)) lines.push(formatRuleLine('-A', DNAT_CHAIN, spec));
        for (const spec of dnRules(v, conf, mappings, addr)) lines.push(formatRuleLine('-A', dn, spec));
        return lines;
      });
    }
  }

  /** Removes the attachment's jumps and chain (and the reference's legacy CNI-SN chain). */
  async del(owner: Owner): Promise<void> {
    const chains = [dnChainName(owner), chainName(owner.network, owner.containerId, 'SN-')];
    for (const v of VERSIONS) {
      await transactTable(this.#run, v, TABLE, (t) => {
        const lines: string[] = [];
        for (const r of t.rules) {
          const to = ruleTarget(r.spec);
          if (to !== undefined && chains.includes(to)) lines.push(formatRuleLine('-D', r.chain, r.spec));
        }
        for (const c of chains) if (t.chains.has(c)) lines.push(`-F ${c}`, `-X ${c}`);
        return lines;
      }, { absentOk: v === 6 });
    }
  }

  async check(owner: Owner, conf: PortmapConfig, addrs: ContainerAddrs): Promise<void> {
    const dn = dnChainName(owner);
    const problems: string[] = [];
    for (const v of VERSIONS) {
      const addr = v === 4 ? addrs.v4 : addrs.v6;
      const mappings = mappingsFor(conf.mappings, v);
      if (addr === undefined || mappings.length === 0) continue;
      const t = await saveTable(this.#run, v, TABLE);
      const tag = `IPv${v}`;
      for (const r of baseRules(conf)) {
        if (!has(t, r)) problems.push(`${tag}: missing ${formatRuleLine('-A', r.chain, r.spec)}`);
      }
      if (!t.chains.has(dn)) {
        problems.push(`${tag}: chain ${dn} not found`);
        continue;
      }
      const actual = t.rules.filter((r) => r.chain === dn);
      const expected = dnRules(v, conf, mappings, addr);
      for (const spec of expected) {
        if (!actual.some((r) => sameSpec(r.spec, spec))) problems.push(`${tag}: missing ${formatRuleLine('-A', dn, spec)}`);
      }
      if (actual.length !== expected.length) problems.push(`${tag}: ${dn} has ${actual.length} rules, expected ${expected.length}`);
      // The jumps carry the user's conditions, which iptables may print differently: check the ports.
      const jumped = new Set<string>();
      for (const r of t.rules) {
        if (r.chain !== DNAT_CHAIN || ruleTarget(r.spec) !== dn) continue;
        const proto = ruleOption(r.spec, '-p');
        for (const p of (ruleOption(r.spec, '--dports') ?? '').split(',')) jumped.add(`${proto}/${p}`);
      }
      for (const m of mappings) {
        if (!jumped.has(`${m.protocol}/${m.hostPort}`)) problems.push(`${tag}: no ${DNAT_CHAIN} jump for ${m.protocol} port ${m.hostPort}`);
      }
    }
    if (problems.length > 0) throw new CniError(ErrorCode.Internal, `portmap: ${problems.join('; ')}`);
  }

  /** Removes jumps and chains of this network's attachments that are not in `valid`. */
  async gc(network: string, valid: readonly GCAttachment[]): Promise<void> {
    const keep = (id: string, ifName: string | undefined): boolean =>
      valid.some((a) => a.containerID === id && (ifName === undefined || a.ifname === ifName));
    for (const v of VERSIONS) {
      await transactTable(this.#run, v, TABLE, (t) => {
        const lines: string[] = [];
        const staleChains = new Set<string>();
        const kept = new Set<string>();
        for (const r of t.rules) {
          if (r.chain !== DNAT_CHAIN) continue;
          const to = ruleTarget(r.spec);
          const o = parseJumpComment(ruleOption(r.spec, '--comment'));
          if (to === undefined || o === undefined || o.network !== network) continue;
          if (keep(o.containerId, o.ifName)) {
            kept.add(to);
          } else {
            lines.push(formatRuleLine('-D', r.chain, r.spec));
            staleChains.add(to);
          }
        }
        // A chain still jumped to by a kept attachment (same container, other interface) stays.
        for (const c of staleChains) if (!kept.has(c) && t.chains.has(c)) lines.push(`-F ${c}`, `-X ${c}`);
        return lines;
      }, { absentOk: v === 6 });
    }
  }
}
