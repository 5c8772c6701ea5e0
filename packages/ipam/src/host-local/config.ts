// Floor 3 (ipam/host-local): reads host-local's configuration as the reference does (LoadIPAMConfig):
// `ranges`, the legacy top-level range, the `ipRanges` capability (prepended), requested IPs from
// CNI_ARGS `IP`, `args.cni.ips` and the `ips` capability; then validates every range (code 7).
import { CniError, ErrorCode, loadCniArgs, versionAtLeast } from '@tscni/spec';
import type { NetConf, Route } from '@tscni/spec';
import * as z from 'zod/mini';
import { checkShape, configError, goFields, parseRequestedIP, parseRequestedIPs, parseRoutes, structAt } from '../conf.js';
import type { Path } from '../conf.js';
import {
  bitLength,
  canonicalIP,
  cidrContains,
  compareIP,
  formatCIDR,
  formatIP,
  hasHostBits,
  isV4Mapped,
  lastAddress,
  maskedNet,
  networkAddress,
  nextIP,
  parseCIDR,
  parseIP,
  prevIP,
} from '@tscni/ip';
import type { IP, IPNet } from '@tscni/ip';
import { rangeSetsOverlap, rangeToString, rangesOverlap } from './range.js';
import type { Range, RangeSet } from './range.js';

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface HostLocalConfig extends StoreLocation {
  /** The config's cniVersion ('' when absent, which means 0.1.0). */
  readonly cniVersion: string;
  readonly resolvConf: string | undefined;
  readonly routes: Route[] | undefined;
  readonly rangeSets: readonly RangeSet[];
  /** Requested addresses (canonical, de-duplicated), in the order CNI_ARGS, args.cni.ips, runtimeConfig.ips. */
  readonly requestedIPs: readonly IP[];
}

export interface LoadOptions {
  /** Accept a config without any range (STATUS has no runtimeConfig, so capability-only ranges are absent). */
  readonly allowNoRanges?: boolean;
}

const ipamShape = () =>
  z.looseObject({
    dataDir: z.optional(z.string()),
    resolvConf: z.optional(z.string()),
    ranges: z.optional(z.array(z.unknown())),
    subnet: z.optional(z.string()),
  });

const IPAM_KEYS = ['dataDir', 'resolvConf', 'ranges', 'routes', 'subnet', 'rangeStart', 'rangeEnd', 'gateway'];
const RANGE_KEYS = ['subnet', 'rangeStart', 'rangeEnd', 'gateway'];

const rangeShape = () =>
  z.looseObject({
    subnet: z.string(),
    rangeStart: z.optional(z.string()),
    rangeEnd: z.optional(z.string()),
    gateway: z.optional(z.string()),
  });

/** An address field of a range: "" and absent are the same (Go's net.IP reads "" as nil). */
function optionalIP(value: string | undefined, path: Path): IP | undefined {
  if (value === undefined || value === '') return undefined;
  const ip = parseIP(value);
  if (ip === undefined) throw configError(path, `invalid IP address: ${JSON.stringify(value)}`);
  return canonicalIP(ip);
}

function inSubnet(subnet: IPNet, ip: IP): boolean {
  return ip.family === subnet.ip.family && cidrContains(subnet, ip);
}

/** One range object -> a validated Range with the reference's defaults filled in. */
export function parseRange(raw: unknown, path: Path, setIdx: number): Range {
  const o = checkShape(rangeShape(), goFields(raw, RANGE_KEYS), path);
  const fail = (field: string, text: string): CniError => configError([...path, field], `invalid range set ${setIdx}: ${text}`);

  const parsed = parseCIDR(o.subnet);
  if (parsed === undefined) throw fail('subnet', `invalid CIDR address: ${JSON.stringify(o.subnet)}`);
  // A v4-mapped IPv6 prefix is an IPv4 address under an IPv6 mask: the reference rejects it.
  if (isV4Mapped(parsed.ip)) throw fail('subnet', `IPNet IP and Mask version mismatch in ${o.subnet}`);
  if (parsed.prefix > bitLength(parsed.ip.family) - 2) throw fail('subnet', `Network ${formatCIDR(parsed)} too small to allocate from`);
  if (hasHostBits(parsed)) {
    throw fail(
      'subnet',
      `Network has host bits set. For a subnet mask of length ${parsed.prefix} the network address is ${formatIP(networkAddress(parsed))}`,
    );
  }
  const subnet = maskedNet(parsed);
  const network = subnet.ip;

  let gateway = optionalIP(o.gateway, [...path, 'gateway']);
  if (gateway === undefined) gateway = nextIP(network) as IP; // a subnet of >= 4 addresses has a .1
  // The reference dropped its "gateway inside the subnet" check (plugins 59a746b), so a gateway
  // elsewhere is accepted; a gateway of the other family can only be a mistake.
  else if (gateway.family !== network.family) throw fail('gateway', `gateway ${formatIP(gateway)} is not an IPv${network.family} address`);

  let rangeStart = optionalIP(o.rangeStart, [...path, 'rangeStart']);
  if (rangeStart === undefined) rangeStart = nextIP(network) as IP;
  else if (!inSubnet(subnet, rangeStart)) throw fail('rangeStart', `RangeStart ${formatIP(rangeStart)} not in network ${formatCIDR(subnet)}`);

  let rangeEnd = optionalIP(o.rangeEnd, [...path, 'rangeEnd']);
  if (rangeEnd === undefined) {
    // The last address of the subnet, minus the broadcast address for IPv4.
    const last = lastAddress(subnet);
    rangeEnd = network.family === 4 ? (prevIP(last) as IP) : last;
  } else if (!inSubnet(subnet, rangeEnd)) {
    throw fail('rangeEnd', `RangeEnd ${formatIP(rangeEnd)} not in network ${formatCIDR(subnet)}`);
  }
  if (compareIP(rangeStart, rangeEnd) > 0) {
    throw fail('rangeEnd', `RangeEnd ${formatIP(rangeEnd)} is before RangeStart ${formatIP(rangeStart)}`);
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

/** A list of range objects -> a validated RangeSet (non-empty, one family, no overlaps). */
export function parseRangeSet(raw: unknown, path: Path, setIdx: number): RangeSet {
  const list = checkShape(z.array(z.unknown()), raw, path);
  if (list.length === 0) throw configError(path, `invalid range set ${setIdx}: empty range set`);
  const set = list.map((r, i) => parseRange(r, [...path, i], setIdx));
  const family = set[0]?.subnet.ip.family;
  set.forEach((r, i) => {
    if (r.subnet.ip.family !== family) throw configError([...path, i], `invalid range set ${setIdx}: mixed address families`);
  });
  for (let i = 0; i < set.length; i++) {
    for (let j = i + 1; j < set.length; j++) {
      const a = set[i] as Range;
      const b = set[j] as Range;
      if (rangesOverlap(a, b)) {
        throw configError([...path, j], `invalid range set ${setIdx}: subnets ${rangeToString(a)} and ${rangeToString(b)} overlap`);
      }
    }
  }
  return set;
}

/** CNI_ARGS for host-local: `IP` (one address, "ip[/prefix]") and IgnoreUnknown. */
function cniArgsIP(cniArgs: string): IP | undefined {
  const { IP: value } = loadCniArgs(cniArgs, ['IP'] as const);
  if (value === undefined || value === '') return undefined;
  const ip = parseRequestedIP(value);
  if (ip === undefined) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `ARGS: error parsing value of pair ${JSON.stringify(`IP=${value}`)}: invalid IP address`);
  }
  return ip;
}

/** Where a network's state lives: all DEL and GC need, so they work even when the ranges no longer validate. */
export interface StoreLocation {
  readonly name: string;
  readonly dataDir: string;
}

export function loadStoreLocation(netconf: NetConf): StoreLocation {
  if (netconf.ipam === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
  const ipam = checkShape(z.looseObject({ dataDir: z.optional(z.string()) }), goFields(netconf.ipam, ['dataDir']), ['ipam']);
  return { name: netconf.name, dataDir: ipam.dataDir !== undefined && ipam.dataDir !== '' ? ipam.dataDir : DEFAULT_DATA_DIR };
}

export function loadHostLocalConfig(netconf: NetConf, cniArgs: string, opts: LoadOptions = {}): HostLocalConfig {
  if (netconf.ipam === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
  const ipam = checkShape(ipamShape(), goFields(netconf.ipam, IPAM_KEYS), ['ipam']);
  const runtimeConfig = goFields(netconf.runtimeConfig, ['ipRanges', 'ips']) as Record<string, unknown> | undefined;
  const argsCni = structAt(netconf.args, 'cni', ['ips'], ['args']);

  const requested: IP[] = [];
  const fromEnv = cniArgsIP(cniArgs);
  if (fromEnv !== undefined) requested.push(fromEnv);
  requested.push(...parseRequestedIPs(argsCni?.['ips'], ['args', 'cni', 'ips']));
  requested.push(...parseRequestedIPs(runtimeConfig?.['ips'], ['runtimeConfig', 'ips']));
  const seen = new Set<string>();
  const requestedIPs = requested.map(canonicalIP).filter((ip) => {
    const key = formatIP(ip);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });

  // Order as the reference: capability ipRanges, then the legacy top-level range, then `ranges`.
  const sources: Array<{ raw: unknown; path: Path }> = [];
  const ipRanges = runtimeConfig?.['ipRanges'];
  if (ipRanges !== undefined && ipRanges !== null) {
    const list = checkShape(z.array(z.unknown()), ipRanges, ['runtimeConfig', 'ipRanges']);
    list.forEach((raw, i) => sources.push({ raw, path: ['runtimeConfig', 'ipRanges', i] }));
  }
  if (ipam.subnet !== undefined && ipam.subnet !== '') {
    const legacy = { subnet: ipam.subnet, rangeStart: ipam['rangeStart'], rangeEnd: ipam['rangeEnd'], gateway: ipam['gateway'] };
    sources.push({ raw: [legacy], path: ['ipam'] });
  }
  (ipam.ranges ?? []).forEach((raw, i) => sources.push({ raw, path: ['ipam', 'ranges', i] }));

  if (sources.length === 0 && opts.allowNoRanges !== true) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'no IP ranges specified', 'set ipam.ranges (or the ipRanges capability)');
  }

  const rangeSets = sources.map(({ raw, path }, i) =>
    // The legacy range's fields sit directly under `ipam`, so its path has no list index.
    path.length === 1 ? parseLegacy(raw, i) : parseRangeSet(raw, path, i),
  );

  const cniVersion = netconf.cniVersion ?? '';
  const perFamily = { 4: 0, 6: 0 };
  for (const set of rangeSets) perFamily[(set[0] as Range).subnet.ip.family]++;
  if ((perFamily[4] > 1 || perFamily[6] > 1) && !versionAtLeast(cniVersion === '' ? '0.1.0' : cniVersion, '0.3.0')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  for (let i = 0; i < rangeSets.length; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(rangeSets[i] as RangeSet, rangeSets[j] as RangeSet)) {
        throw configError(sources[j]?.path ?? [], `range set ${i} overlaps with ${j}`);
      }
    }
  }

  const routes = parseRoutes(ipam['routes'], ['ipam', 'routes']);
  return {
    name: netconf.name,
    cniVersion,
    dataDir: ipam.dataDir !== undefined && ipam.dataDir !== '' ? ipam.dataDir : DEFAULT_DATA_DIR,
    resolvConf: ipam.resolvConf !== undefined && ipam.resolvConf !== '' ? ipam.resolvConf : undefined,
    routes,
    rangeSets,
    requestedIPs,
  };
}

/** The legacy single range (`ipam.subnet`, `ipam.rangeStart`, ...): errors name `ipam.<field>`. */
function parseLegacy(raw: unknown, setIdx: number): RangeSet {
  const item = (raw as unknown[])[0];
  return [parseRange(item, ['ipam'], setIdx)];
}
