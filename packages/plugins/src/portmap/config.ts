// Floor 3 (plugins/portmap): the portmap plugin's configuration — the reference's keys and defaults
// (runtimeConfig.portMappings, snat, masqAll, markMasqBit, externalSetMarkChain, conditionsV4/V6,
// backend) — and the container addresses it forwards to, taken from prevResult as the reference does.
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import { formatIPBytes, isV4MappedBytes, networkBytes, parseIPBytes } from '@tscni/ip';
import { GoObject } from '../shared/conf.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';
export type IpVersion = 4 | 6;
export type BackendName = 'iptables' | 'nftables';

/** One port mapping, validated and normalised. */
export interface Mapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: Protocol;
  /** A specific host address (canonical text); absent for "any address". */
  readonly hostIP?: string;
  /** Set when a hostIP (possibly 0.0.0.0 or ::) restricts the mapping to one IP version. */
  readonly family?: IpVersion;
}

export interface PortmapConfig {
  readonly network: string;
  /** The backend the config asks for, explicitly or through backend-specific keys; undefined: detect. */
  readonly backend: BackendName | undefined;
  /** SNAT localhost and hairpin traffic (reference default: true). */
  readonly snat: boolean;
  /** SNAT every forwarded connection, whatever its source (for ipvlan/macvlan). */
  readonly masqAll: boolean;
  /** iptables: the mark bit CNI-HOSTPORT-SETMARK sets (default 13). */
  readonly markMasqBit: number;
  /** iptables: an existing chain that marks for masquerade instead of CNI-HOSTPORT-SETMARK. */
  readonly externalSetMarkChain: string | undefined;
  readonly conditionsV4: readonly string[] | undefined;
  readonly conditionsV6: readonly string[] | undefined;
  readonly mappings: readonly Mapping[];
}

/** An attachment: what every rule is recorded against (DEL and GC find rules by it). */
export interface Owner {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
}

/** A container address and its prefix (the hairpin source network). */
export interface ContainerAddr {
  readonly ip: string;
  /** The container's network, host bits cleared, e.g. 10.210.1.0/24. */
  readonly subnet: string;
}

export interface ContainerAddrs {
  readonly v4?: ContainerAddr;
  readonly v6?: ContainerAddr;
}

export const DEFAULT_MARK_MASQ_BIT = 13;
const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** An address as bytes in its canonical family: IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4, as Go's To4 does. */
export function canonicalAddr(text: string): Uint8Array | undefined {
  const b = parseIPBytes(text);
  if (b === undefined) return undefined;
  return isV4MappedBytes(b) ? b.slice(12) : b;
}

function invalid(field: string, text: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${text}`);
}

/** An iptables-style condition list starts with an option (`-s`) or a negation (`!`). */
export function isIptablesSyntax(conditions: readonly string[]): boolean {
  const first = conditions[0]?.trim() ?? '';
  return first.startsWith('-') || first.startsWith('!');
}

function stringList(o: GoObject, key: string): string[] | undefined {
  const list = o.array(key);
  if (list === undefined) return undefined;
  return list.map((v, i) => {
    if (typeof v !== 'string') throw invalid(`${o.field(key)}[${i}]`, `must be a string, got ${v === null ? 'null' : typeof v}`);
    return v;
  });
}

function port(o: GoObject, key: string): number {
  const v = o.int(key);
  if (v === undefined) throw invalid(o.field(key), 'missing');
  if (v < 1 || v > 65535) throw invalid(o.field(key), `invalid port number ${v} (must be 1-65535)`);
  return v;
}

function parseMapping(raw: unknown, field: string): Mapping {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(field, 'must be an object');
  const o = new GoObject(raw, field);
  const hostPort = port(o, 'hostPort');
  const containerPort = port(o, 'containerPort');
  // An absent or empty protocol is TCP (Docker and Podman's default; the reference would build a broken rule).
  const proto = (o.string('protocol') ?? '').toLowerCase() || 'tcp';
  if (!PROTOCOLS.includes(proto as Protocol)) {
    throw invalid(o.field('protocol'), `unsupported protocol ${JSON.stringify(proto)} (want tcp, udp or sctp)`);
  }
  const m: Mapping = { hostPort, containerPort, protocol: proto as Protocol };
  const hostIP = o.string('hostIP') ?? '';
  if (hostIP === '') return m;
  const ip = canonicalAddr(hostIP);
  if (ip === undefined) throw invalid(o.field('hostIP'), `invalid IP address ${JSON.stringify(hostIP)}`);
  const family: IpVersion = ip.length === 4 ? 4 : 6;
  // 0.0.0.0 and :: mean "every address of that version", as in the reference.
  if (ip.every((x) => x === 0)) return { ...m, family };
  return { ...m, hostIP: formatIPBytes(ip), family };
}

/** The mappings of runtimeConfig.portMappings (capability `portMappings`). */
export function parseMappings(netconf: NetConf): Mapping[] {
  const rc = new GoObject(netconf).object('runtimeConfig');
  const list = rc?.array('portMappings') ?? [];
  const field = rc?.field('portMappings') ?? 'runtimeConfig.portMappings';
  const out: Mapping[] = [];
  const seen = new Map<string, number>();
  for (const [i, raw] of list.entries()) {
    const m = parseMapping(raw, `${field}[${i}]`);
    // One host address, protocol and port can lead to one place only; an exact repeat is harmless.
    const key = `${m.family ?? '*'} ${m.hostIP ?? '*'} ${m.protocol} ${m.hostPort}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const first = out[earlier];
      if (first?.containerPort === m.containerPort) continue;
      throw invalid(`${field}[${i}]`, `hostPort ${m.hostPort}/${m.protocol} is already mapped by ${field}[${earlier}]`);
    }
    seen.set(key, out.length);
    out.push(m);
  }
  return out;
}

/**
 * The plugin configuration. Keys that only one backend understands choose that backend when
 * `backend` is absent, and are an error (code 7, naming the key) when `backend` names the other.
 */
export function parseConfig(netconf: NetConf): PortmapConfig {
  const o = new GoObject(netconf);
  const backendRaw = o.string('backend');
  let backend: BackendName | undefined;
  if (backendRaw !== undefined && backendRaw !== '') {
    if (backendRaw !== 'iptables' && backendRaw !== 'nftables') {
      throw invalid(o.field('backend'), `unknown backend ${JSON.stringify(backendRaw)} (want "iptables" or "nftables")`);
    }
    backend = backendRaw;
  }

  const markMasqBit = o.int('markMasqBit');
  if (markMasqBit !== undefined && (markMasqBit < 0 || markMasqBit > 31)) {
    throw invalid(o.field('markMasqBit'), `must be between 0 and 31, got ${markMasqBit}`);
  }
  const external = o.string('externalSetMarkChain');
  const externalSetMarkChain = external === '' ? undefined : external;
  if (markMasqBit !== undefined && externalSetMarkChain !== undefined) {
    throw invalid('externalSetMarkChain', 'cannot be combined with markMasqBit');
  }

  const conditionsV4 = stringList(o, 'conditionsV4');
  const conditionsV6 = stringList(o, 'conditionsV6');
  const styles = new Map<string, BackendName>();
  for (const [key, list] of [['conditionsV4', conditionsV4], ['conditionsV6', conditionsV6]] as const) {
    if (list !== undefined && list.length > 0) styles.set(key, isIptablesSyntax(list) ? 'iptables' : 'nftables');
  }

  // Which backend the keys imply, and the key that implies it (for error messages).
  const implied: Array<[string, BackendName]> = [];
  if (markMasqBit !== undefined) implied.push(['markMasqBit', 'iptables']);
  if (externalSetMarkChain !== undefined) implied.push(['externalSetMarkChain', 'iptables']);
  for (const [key, style] of styles) implied.push([key, style]);

  if (backend !== undefined) {
    for (const [key, wants] of implied) {
      if (wants === backend) continue;
      const what = key.startsWith('conditions') ? `${wants} syntax` : `an ${wants}-only option`;
      throw invalid(key, `is ${what}, but backend is "${backend}"`);
    }
  } else if (implied.length > 0) {
    const first = implied[0]!;
    const clash = implied.find(([, wants]) => wants !== first[1]);
    if (clash !== undefined) {
      throw invalid(clash[0], `needs the ${clash[1]} backend, but ${first[0]} needs ${first[1]}`);
    }
    backend = first[1];
  }

  return {
    network: netconf.name,
    backend,
    snat: o.bool('snat', true),
    masqAll: o.bool('masqAll', false),
    markMasqBit: markMasqBit ?? DEFAULT_MARK_MASQ_BIT,
    externalSetMarkChain,
    conditionsV4,
    conditionsV6,
    mappings: parseMappings(netconf),
  };
}

/**
 * The first IPv4 and first IPv6 address of the sandbox interface `ifName`, chosen as the reference
 * does: an address naming an interface that is another one, or not in a sandbox, is skipped; an
 * address naming no interface (or one the result does not list) counts.
 */
export function containerAddrs(result: Result, ifName: string): ContainerAddrs {
  const interfaces = result.interfaces ?? [];
  let v4: ContainerAddr | undefined;
  let v6: ContainerAddr | undefined;
  for (const ipc of result.ips ?? []) {
    const idx = ipc.interface;
    if (idx !== undefined) {
      const intf = interfaces[idx];
      if (intf !== undefined && (intf.name !== ifName || (intf.sandbox ?? '') === '')) continue;
    }
    const slash = ipc.address.indexOf('/');
    const raw = parseIPBytes(slash < 0 ? ipc.address : ipc.address.slice(0, slash));
    const ip = canonicalAddr(slash < 0 ? ipc.address : ipc.address.slice(0, slash));
    const len = slash < 0 ? Number.NaN : Number(ipc.address.slice(slash + 1));
    if (raw === undefined || ip === undefined || !Number.isInteger(len) || len < 0 || len > raw.length * 8) continue;
    // A v4-mapped prefix counts the 96 bits of the mapping.
    const prefix = ip.length === raw.length ? len : Math.max(len - 96, 0);
    const addr: ContainerAddr = { ip: formatIPBytes(ip), subnet: `${formatIPBytes(networkBytes(ip, prefix))}/${prefix}` };
    if (ip.length === 4) v4 ??= addr;
    else v6 ??= addr;
  }
  return { ...(v4 ? { v4 } : {}), ...(v6 ? { v6 } : {}) };
}

/** The mappings that apply to one IP version (a hostIP of the other version excludes a mapping). */
export function mappingsFor(mappings: readonly Mapping[], version: IpVersion): Mapping[] {
  return mappings.filter((m) => m.family === undefined || m.family === version);
}
