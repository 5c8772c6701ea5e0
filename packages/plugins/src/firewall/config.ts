// Floor 3 (plugins/firewall): the firewall plugin's keys as the reference's FirewallNetConf reads
// them (`backend`, `iptablesAdminChainName`, `firewalldZone`, `ingressPolicy`), plus the inputs
// every backend needs from prevResult: the container addresses and the bridge name.
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import { canonicalIP, formatIP, parseCIDR } from '@tscni/ip';
import { GoObject } from '../shared/conf.js';
import { hashForInstance, hashForNetwork } from '../shared/ipmasq.js';

export const BACKENDS = ['iptables', 'nftables', 'firewalld'] as const;
export type Backend = (typeof BACKENDS)[number];

export const INGRESS_POLICIES = ['open', 'same-bridge', 'isolated'] as const;
export type IngressPolicy = (typeof INGRESS_POLICIES)[number];

export const DEFAULT_ADMIN_CHAIN = 'CNI-ADMIN';
export const DEFAULT_FIREWALLD_ZONE = 'trusted';

export interface FirewallConfig {
  network: string;
  /** Absent: chosen at run time (see plugin.ts). */
  backend?: Backend;
  adminChain: string;
  /** `iptablesAdminChainName` was given: the configuration was written for iptables. */
  adminChainGiven: boolean;
  firewalldZone: string;
  ingressPolicy: IngressPolicy;
}

function invalid(field: string, text: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${text}`);
}

/** iptables user chain names: at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1), no blanks or quotes, not an option. */
export function validChainName(name: string): boolean {
  return name.length > 0 && name.length <= 28 && !/[\s"'\\]/.test(name) && !name.startsWith('-') && !name.startsWith('!');
}

export function loadFirewallConfig(netconf: NetConf): FirewallConfig {
  const o = new GoObject(netconf);
  const backendRaw = o.string('backend') ?? '';
  if (backendRaw !== '' && !(BACKENDS as readonly string[]).includes(backendRaw)) {
    throw invalid('backend', `must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(backendRaw)}`);
  }
  const adminRaw = o.string('iptablesAdminChainName') ?? '';
  if (adminRaw !== '' && !validChainName(adminRaw)) {
    throw invalid('iptablesAdminChainName', `${JSON.stringify(adminRaw)} is not a valid iptables chain name (1-28 characters, no blanks or quotes)`);
  }
  if (adminRaw !== '' && backendRaw === 'nftables') {
    throw invalid('iptablesAdminChainName', 'applies to the iptables backend only; the nftables backend has its own "admin" chain');
  }
  const policyRaw = o.string('ingressPolicy') ?? '';
  if (policyRaw !== '' && !(INGRESS_POLICIES as readonly string[]).includes(policyRaw)) {
    throw invalid('ingressPolicy', `unknown ingress policy: ${JSON.stringify(policyRaw)} (one of ${INGRESS_POLICIES.join(', ')})`);
  }
  const conf: FirewallConfig = {
    network: netconf.name,
    adminChain: adminRaw === '' ? DEFAULT_ADMIN_CHAIN : adminRaw,
    adminChainGiven: adminRaw !== '',
    firewalldZone: (o.string('firewalldZone') ?? '') || DEFAULT_FIREWALLD_ZONE,
    ingressPolicy: (policyRaw === '' ? 'open' : policyRaw) as IngressPolicy,
  };
  if (backendRaw !== '') conf.backend = backendRaw as Backend;
  return conf;
}

/** A container address as the rules name it. */
export interface FirewallAddress {
  family: 4 | 6;
  /** The address alone, Go-formatted. */
  ip: string;
  /** `ip/32` or `ip/128`, as the reference's ipString. */
  host: string;
}

/** Every address of prevResult (the reference does not filter by interface). */
export function resultAddresses(result: Result): FirewallAddress[] {
  return (result.ips ?? []).map((cfg) => {
    const n = parseCIDR(cfg.address);
    if (n === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, `prevResult: invalid IP address ${JSON.stringify(cfg.address)}`);
    const ip = canonicalIP(n.ip);
    const text = formatIP(ip);
    return { family: ip.family, ip: text, host: `${text}/${ip.family === 4 ? 32 : 128}` };
  });
}

/** The bridge the ingress policies key on: prevResult's first interface, as the reference (the bridge plugin lists it first). */
export function bridgeName(result: Result, policy: IngressPolicy): string {
  const first = result.interfaces?.[0];
  if (first === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `interface needs to be set for ingress policy "${policy}", make sure to chain "firewall" plugin with "bridge"`,
    );
  }
  const name = first.name;
  if (name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'got empty bridge name');
  if (name.length > 15 || /[\s"'\\/:]/.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `prevResult: bridge name ${JSON.stringify(name)} is not a valid interface name`);
  }
  return name;
}

/** Whose rules these are: the attachment (network, container, interface). */
export interface Owner {
  network: string;
  containerId: string;
  ifName: string;
}

/** Every rule comment this plugin writes starts with this tag. */
export const COMMENT_TAG = 'tscni-firewall';
/** nft keeps comments of up to 128 bytes; iptables up to 255. One length serves both. */
const COMMENT_MAX = 128;

/** The prefix of the comments of one attachment's rules (tag + network hash + attachment hash). */
export function ownerPrefix(o: Owner): string {
  return `${COMMENT_TAG} ${hashForInstance({ network: o.network, containerId: o.containerId, ifName: o.ifName })}`;
}

/** The prefix of every comment of a network's rules (what GC scans). */
export function networkPrefix(network: string): string {
  return `${COMMENT_TAG} ${hashForNetwork(network)}-`;
}

/**
 * The comment of an attachment's rules: the hashes (what DEL and GC match on), then a readable
 * description cut to fit. Only characters that need no quoting anywhere are kept.
 */
export function ownerComment(o: Owner): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  const c = `${ownerPrefix(o)} net: ${clean(o.network)}, if: ${clean(o.ifName)}, id: ${clean(o.containerId)}`;
  return c.length > COMMENT_MAX ? c.slice(0, COMMENT_MAX) : c;
}
