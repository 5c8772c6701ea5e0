// Floor 3 (ipam/static): the static IPAM plugin as the reference: fixed `addresses`, `routes` and
// `dns`, with overrides (highest first) runtimeConfig.ips, args.cni.ips (each replaces the list),
// then CNI_ARGS IP (appended, comma-separated CIDRs) and GATEWAY. Nothing is allocated: DEL is a no-op.
import { CURRENT_VERSION, CniError, ErrorCode, SPEC_VERSIONS, loadCniArgs, parseResult, toCurrentResult, versionAtLeast } from '@tscni/spec';
import type { DNS, IPConfig, NetConf, Result, Route } from '@tscni/spec';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import * as z from 'zod/mini';
import { checkShape, goFields, parseRoutes, structAt } from '../conf.js';
import { canonicalIP, canonicalNet, cidrContains, formatCIDR, formatIP, ipEqual, parseCIDR, parseIP } from '@tscni/ip';
import type { IP, IPNet } from '@tscni/ip';

/** The cniVersions static accepts: every spec version, as the reference. */
export const STATIC_VERSIONS: readonly string[] = SPEC_VERSIONS;

export interface StaticAddress {
  readonly address: IPNet;
  readonly gateway: IP | undefined;
}

export interface StaticConfig {
  readonly name: string;
  readonly cniVersion: string;
  readonly addresses: readonly StaticAddress[];
  readonly routes: Route[] | undefined;
  readonly dns: DNS;
}

const IPAM_KEYS = ['addresses', 'routes', 'dns'];
const DNS_KEYS = ['nameservers', 'domain', 'search', 'options'];

const dnsShape = () =>
  z.object({
    nameservers: z.optional(z.array(z.string())),
    domain: z.optional(z.string()),
    search: z.optional(z.array(z.string())),
    options: z.optional(z.array(z.string())),
  });

/** A CIDR with the address canonical (v4-mapped -> IPv4, as Go prints it) and host bits kept. */
function cidrAddress(s: string): IPNet | undefined {
  const n = parseCIDR(s.trim());
  return n === undefined ? undefined : canonicalNet(n);
}

/** `ips` from args.cni or runtimeConfig: CIDRs that replace the configured addresses. */
function replacementIPs(value: unknown, path: Array<string | number>): StaticAddress[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = checkShape(z.array(z.string()), value, path);
  if (list.length === 0) return undefined;
  return list.map((s) => {
    const address = cidrAddress(s);
    if (address === undefined) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `${path.join('.')}: an entry in the 'ips' field is NOT in CIDR notation, got: '${s}'`);
    }
    return { address, gateway: undefined };
  });
}

export function loadStaticConfig(netconf: NetConf, cniArgs: string): StaticConfig {
  if (netconf.ipam === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
  const ipam = checkShape(
    z.looseObject({ addresses: z.optional(z.array(z.unknown())) }),
    goFields(netconf.ipam, IPAM_KEYS),
    ['ipam'],
  ) as { addresses?: unknown[]; routes?: unknown; dns?: unknown };

  let addresses: StaticAddress[] = (ipam.addresses ?? []).map((raw, i) => {
    const path = ['ipam', 'addresses', i];
    const o = checkShape(z.object({ address: z.string(), gateway: z.optional(z.string()) }), goFields(raw, ['address', 'gateway']), path);
    const address = cidrAddress(o.address);
    if (address === undefined) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam.addresses[${i}].address: the 'address' field is expected to be in CIDR notation, got: '${o.address}'`);
    }
    let gateway: IP | undefined;
    if (o.gateway !== undefined && o.gateway !== '') {
      gateway = parseIP(o.gateway);
      if (gateway === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, `ipam.addresses[${i}].gateway: invalid IP address: ${JSON.stringify(o.gateway)}`);
      gateway = canonicalIP(gateway);
    }
    return { address, gateway };
  });

  // CNI_ARGS: IP appends; GATEWAY goes to the CNI_ARGS addresses whose subnet holds it (the
  // reference applies it before the configured addresses are parsed, so only those can match).
  const env = loadCniArgs(cniArgs, ['IP', 'GATEWAY'] as const);
  const fromEnv: Array<{ address: IPNet; gateway: IP | undefined }> = [];
  if (env.IP !== undefined && env.IP !== '') {
    for (const item of env.IP.split(',')) {
      const address = cidrAddress(item);
      if (address === undefined) {
        throw new CniError(ErrorCode.InvalidEnvironmentVariables, `CNI_ARGS IP: the 'ip' field is expected to be in CIDR notation, got: '${item.trim()}'`);
      }
      fromEnv.push({ address, gateway: undefined });
    }
  }
  if (env.GATEWAY !== undefined && env.GATEWAY !== '') {
    for (const item of env.GATEWAY.split(',')) {
      const gw = parseIP(item.trim());
      if (gw === undefined) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `CNI_ARGS GATEWAY: invalid gateway address: ${item}`);
      for (const a of fromEnv) if (cidrContains(a.address, gw)) a.gateway = canonicalIP(gw);
    }
  }
  addresses.push(...fromEnv);

  const argsCni = structAt(netconf.args, 'cni', ['ips'], ['args']);
  addresses = replacementIPs(argsCni?.['ips'], ['args', 'cni', 'ips']) ?? addresses;
  const runtimeConfig = goFields(netconf.runtimeConfig, ['ips']) as Record<string, unknown> | undefined;
  addresses = replacementIPs(runtimeConfig?.['ips'], ['runtimeConfig', 'ips']) ?? addresses;

  const cniVersion = netconf.cniVersion ?? '';
  const v4 = addresses.filter((a) => a.address.ip.family === 4).length;
  if ((v4 > 1 || addresses.length - v4 > 1) && !versionAtLeast(cniVersion === '' ? '0.1.0' : cniVersion, '0.3.0')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  const dnsRaw = structAt(ipam, 'dns', DNS_KEYS, ['ipam']);
  const dns = dnsRaw === undefined ? {} : checkShape(dnsShape(), dnsRaw, ['ipam', 'dns']);
  return { name: netconf.name, cniVersion, addresses, routes: parseRoutes(ipam.routes, ['ipam', 'routes']), dns: dropUndefined(dns) };
}

function dropUndefined(d: { [K in keyof DNS]?: DNS[K] | undefined }): DNS {
  const out: DNS = {};
  if (d.nameservers !== undefined) out.nameservers = d.nameservers;
  if (d.domain !== undefined && d.domain !== '') out.domain = d.domain;
  if (d.search !== undefined) out.search = d.search;
  if (d.options !== undefined) out.options = d.options;
  return out;
}

export async function staticAdd(args: CmdArgs): Promise<Result> {
  const conf = loadStaticConfig(args.netconf, args.args);
  const ips: IPConfig[] = conf.addresses.map((a) => {
    const c: IPConfig = { address: formatCIDR(a.address) };
    if (a.gateway !== undefined) c.gateway = formatIP(a.gateway);
    return c;
  });
  // The reference always prints `dns`, empty or not.
  const result: Result = { cniVersion: CURRENT_VERSION, ips, dns: conf.dns };
  if (conf.routes !== undefined) result.routes = conf.routes;
  return result;
}

/** Every configured address found in prevResult must carry the configured gateway (if one is configured). */
export async function staticCheck(args: CmdArgs): Promise<void> {
  const conf = loadStaticConfig(args.netconf, args.args);
  if (args.netconf.prevResult === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, 'Required prevResult missing');
  const prev = toCurrentResult(parseResult(args.netconf.prevResult, conf.cniVersion || undefined));
  for (const want of conf.addresses) {
    for (const got of prev.ips ?? []) {
      const addr = parseCIDR(got.address);
      if (addr === undefined || !ipEqual(addr.ip, want.address.ip)) continue;
      const gw = got.gateway === undefined ? undefined : parseIP(got.gateway);
      if (want.gateway === undefined || (gw !== undefined && ipEqual(gw, want.gateway))) break;
      throw new CniError(ErrorCode.Internal, `static: Failed to match addr ${formatIP(want.address.ip)} on interface ${args.ifName}`);
    }
  }
}

/** static as skel callbacks. DEL, GC and STATUS have nothing to do: static holds no state. */
export const staticPlugin: PluginFuncs = {
  add: staticAdd,
  check: staticCheck,
  // Nothing was allocated, and a DEL must succeed whatever the config has become.
  del: async () => {},
};
