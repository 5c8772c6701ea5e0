// Floor 3 (plugins/sbr): source-based routing inside the container namespace, as the reference's
// plugins/meta/sbr: `from <ip> lookup <table>` rules, the interface's routes moved into that table
// with a default route via the gateway; DEL removes the rules of the interface's addresses. Unlike
// the reference, CHECK verifies rules and routes, and DEL also clears the routes of tables it chose.
import { CniError, ErrorCode } from '@tscni/spec';
import type { IPConfig, Result } from '@tscni/spec';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { AF_INET, AF_INET6, RT_SCOPE, RT_TABLE } from '@tscni/netlink';
import type { Link, RouteInfo, RouteSpec, RtNetlink, RuleInfo } from '@tscni/netlink';
import { canonicalIP, canonicalNet, cidrContains, formatCIDR, formatIP, ipEqual, maskedNet, parseCIDR, parseIP } from '@tscni/ip';
import type { IP, IPNet } from '@tscni/ip';
import { requirePrevResult } from '../shared/conf.js';
import { defaultOpener, isMissingLink, kernelError, openContainerNetns, openNetnsIfPresent } from '../shared/kernel.js';
import type { RtOpener } from '../shared/kernel.js';
import { orKernelError } from '../shared/kernel-call.js';
import { routeInTable, routeToDelete } from '../shared/routes.js';
import { loadSbrConfig } from './config.js';
import type { SbrConfig } from './config.js';

/** The first table id sbr picks (the reference's firstTableID). */
export const FIRST_TABLE = 100;
/** How often ADD picks another table when a concurrent ADD in the namespace chose the same one. */
const CLAIM_ATTEMPTS = 16;
/** Tables the kernel itself uses; sbr never clears them. */
const RESERVED_TABLES: ReadonlySet<number> = new Set([RT_TABLE.UNSPEC, RT_TABLE.DEFAULT, RT_TABLE.MAIN, RT_TABLE.LOCAL]);

export interface SbrOptions {
  /** Opens rtnetlink in a namespace (tests pass a fake). */
  open?: RtOpener;
}

/** One address of the interface with what sbr needs about it. */
export interface SbrAddress {
  net: IPNet;
  ip: IP;
  family: 4 | 6;
  /** `ip/32` or `ip/128`: the rule's source. */
  host: string;
  /** The gateway its table's default route goes through, if any. */
  gateway?: string;
}

function failed(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

function hostCidr(ip: IP): string {
  return `${formatIP(ip)}/${ip.family === 4 ? 32 : 128}`;
}

/**
 * The prevResult addresses of `ifName`, as the reference picks them: an IP with no interface index
 * counts, one whose index names another interface does not. Static gateways replace prevResult's.
 */
export function sbrAddresses(result: Result, ifName: string, conf: SbrConfig): SbrAddress[] {
  const interfaces = result.interfaces ?? [];
  const out: SbrAddress[] = [];
  for (const cfg of result.ips ?? []) {
    if (cfg.interface !== undefined && cfg.interface >= 0 && cfg.interface < interfaces.length && interfaces[cfg.interface]?.name !== ifName) {
      continue;
    }
    out.push(toAddress(cfg, conf));
  }
  return out;
}

function toAddress(cfg: IPConfig, conf: SbrConfig): SbrAddress {
  const parsed = parseCIDR(cfg.address);
  if (parsed === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, `prevResult: invalid IP address ${JSON.stringify(cfg.address)}`);
  // A v4-mapped address is IPv4, as Go's To4 sees it.
  const net = canonicalNet(parsed);
  const ip = canonicalIP(net.ip);
  const a: SbrAddress = { net, ip, family: ip.family, host: hostCidr(ip) };
  const family = ip.family;
  const gateway = (family === 4 ? conf.gatewayV4 : conf.gatewayV6) ?? cfg.gateway;
  if (gateway !== undefined) a.gateway = gateway;
  return a;
}

function ipOf(cidr: string | undefined): IP | undefined {
  if (cidr === undefined) return undefined;
  return parseCIDR(cidr)?.ip ?? parseIP(cidr);
}

function sameIp(a: IP | undefined, b: IP | undefined): boolean {
  return a !== undefined && b !== undefined && ipEqual(a, b);
}

/** The rule has `ip` as its source (a host prefix, which is all sbr adds). */
function ruleFrom(rule: RuleInfo, ip: IP): boolean {
  const src = rule.src === undefined ? undefined : parseCIDR(rule.src);
  return src !== undefined && src.prefix === (ip.family === 4 ? 32 : 128) && ipEqual(src.ip, ip);
}

function isDefault(route: RouteInfo): boolean {
  return route.dst.endsWith('/0');
}

function sameDst(route: RouteInfo, net: IPNet): boolean {
  const d = parseCIDR(route.dst);
  return d !== undefined && d.prefix === net.prefix && ipEqual(d.ip, maskedNet(net).ip);
}

/**
 * The routes of the interface that belong with an address, as the reference decides it: the
 * source hint or the gateway is inside the address's subnet, or the route has neither (a plain
 * on-link route). Only routes of the address's family move.
 */
export function routesFor(a: SbrAddress, routes: readonly RouteInfo[]): RouteInfo[] {
  return routes.filter((r) => {
    if ((r.family === AF_INET6 ? 6 : 4) !== a.family) return false;
    const src = ipOf(r.prefsrc);
    const gw = ipOf(r.gateway);
    if (src === undefined && gw === undefined) return true;
    return (src !== undefined && cidrContains(a.net, src)) || (gw !== undefined && cidrContains(a.net, gw));
  });
}

/** The first table from `from` on that no rule and no route refers to (the reference's getNextTableID). */
export function nextFreeTable(used: ReadonlySet<number>, from: number): number {
  let t = from;
  while (used.has(t) || RESERVED_TABLES.has(t)) t++;
  return t;
}

async function getLink(rt: RtNetlink, ifName: string): Promise<Link> {
  try {
    return await rt.getLink(ifName);
  } catch (e) {
    if (isMissingLink(e)) throw failed(`Cannot find network interface ${ifName}`);
    throw kernelError(`failed to look up ${ifName}`, e);
  }
}

/** `from <ip> lookup <table>` unless that very rule is already there (a retried ADD). */
async function ensureRule(rt: RtNetlink, rules: readonly RuleInfo[], a: SbrAddress, table: number): Promise<void> {
  if (rules.some((r) => r.table === table && ruleFrom(r, a.ip))) return;
  await orKernelError(`Failed to add rule from ${a.host} lookup ${table}`, rt.addRule({ src: a.host, table }));
}

/**
 * Adds the address's rule to the first free table and makes sure no concurrent ADD in this
 * namespace took the same table meanwhile. The reference serialises with flock on the namespace
 * file; plugins have no flock (it lives in the native addon), so rivals resolve it by the rules
 * themselves: the lower source address keeps the table, the other one moves on.
 */
async function claimTable(rt: RtNetlink, a: SbrAddress, used: Set<number>, from: number): Promise<number> {
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const table = nextFreeTable(used, from);
    await ensureRule(rt, [], a, table);
    const rivals = (await orKernelError('Failed to list rules', rt.listRules())).filter((r) => r.table === table && !ruleFrom(r, a.ip));
    const wins = rivals.every((r) => {
      const ip = ipOf(r.src);
      return ip !== undefined && ip.family === a.ip.family && ip.value > a.ip.value;
    });
    if (wins) {
      used.add(table);
      return table;
    }
    await orKernelError(`Failed to delete rule from ${a.host} lookup ${table}`, rt.deleteRule({ src: a.host, table }));
    used.add(table);
  }
  throw failed(`no free routing table for ${a.host} after ${CLAIM_ATTEMPTS} attempts`);
}

/** Auto mode: one table per address with its rule, the default route and the interface's routes. */
async function routeBySource(rt: RtNetlink, ifName: string, addrs: readonly SbrAddress[], conf: SbrConfig): Promise<void> {
  const rules = await orKernelError('Failed to list all rules', rt.listRules());
  const all = await orKernelError('Failed to list all routes', rt.listRoutes({ table: 'all' }));
  const used = new Set<number>([...rules.map((r) => r.table), ...all.map((r) => r.table)]);
  const link = await getLink(rt, ifName);
  const mainRoutes = all.filter((r) => r.table === RT_TABLE.MAIN && r.oif === link.index);

  const moved = new Set<RouteInfo>();
  let from = FIRST_TABLE;
  for (const a of addrs) {
    // A retried ADD finds its earlier rule and keeps that table.
    const earlier = rules.find((r) => r.table >= FIRST_TABLE && !RESERVED_TABLES.has(r.table) && ruleFrom(r, a.ip));
    const table = earlier?.table ?? (await claimTable(rt, a, used, from));
    if (a.gateway !== undefined) {
      const gw = a.gateway;
      await orKernelError(
        `Failed to add default route to ${gw}`,
        rt.replaceRoute({ dst: 'default', family: a.family === 4 ? AF_INET : AF_INET6, gateway: gw, dev: link.index, table }),
      );
    }
    for (const r of routesFor(a, mainRoutes)) {
      // The table's default route is the one just added (a static gateway must not be replaced by
      // main's default route through prevResult's gateway); main's still goes away below.
      if (a.gateway !== undefined && isDefault(r)) {
        moved.add(r);
        continue;
      }
      await orKernelError(`Failed to readd route ${r.dst} in table ${table}`, rt.replaceRoute(routeInTable(r, table)));
      moved.add(r);
    }
    from = table + 1;
  }

  const keep = new Set<RouteInfo>();
  if (conf.addSourceHints) {
    // Destination-based routing keeps working for traffic that did not pick a source: the subnet
    // route stays in main, now with the address as its preferred source.
    for (const a of addrs) {
      const existing = mainRoutes.find((r) => sameDst(r, a.net));
      const spec: RouteSpec = existing
        ? { ...routeInTable(existing, RT_TABLE.MAIN), prefsrc: formatIP(a.ip) }
        : { dst: formatCIDR(maskedNet(a.net)), dev: link.index, prefsrc: formatIP(a.ip), table: RT_TABLE.MAIN, ...(a.family === 4 ? { scope: RT_SCOPE.LINK } : {}) };
      await orKernelError(`Failed to add source hint ${formatIP(a.ip)} to ${spec.dst}`, rt.replaceRoute(spec));
      if (existing) keep.add(existing);
    }
  }
  for (const r of moved) {
    if (keep.has(r)) continue;
    await orKernelError(`Failed to delete route ${r.dst} from table ${r.table}`, rt.deleteRoute(routeToDelete(r)));
  }
}

export async function sbrAdd(args: CmdArgs, open: RtOpener = defaultOpener): Promise<Result> {
  const conf = loadSbrConfig(args.netconf);
  const prev = requirePrevResult(args.netconf, 'sbr');
  if ((prev.ips ?? []).length === 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `No IP addresses supplied on interface: ${args.ifName}`);
  }
  const addrs = sbrAddresses(prev, args.ifName, conf);
  const rt = openContainerNetns(args.netns, open);
  try {
    if (conf.table !== undefined) {
      const rules = await orKernelError('Failed to list all rules', rt.listRules());
      for (const a of addrs) await ensureRule(rt, rules, a, conf.table);
    } else {
      await routeBySource(rt, args.ifName, addrs, conf);
    }
  } finally {
    rt.close();
  }
  return prev;
}

/** The addresses whose rules DEL removes: those on the interface now, and prevResult's for it. */
async function addressesToTidy(rt: RtNetlink, link: Link | undefined, args: CmdArgs): Promise<IP[]> {
  const ips: IP[] = [];
  if (link !== undefined) {
    for (const a of await orKernelError(`Failed to list addresses of ${args.ifName}`, rt.listAddresses({ link: link.index }))) {
      const ip = parseIP(a.address);
      if (ip !== undefined) ips.push(ip);
    }
  }
  if (args.netconf.prevResult !== undefined && args.netconf.prevResult !== null) {
    const prev = requirePrevResult(args.netconf, 'sbr');
    for (const a of sbrAddresses(prev, args.ifName, { addSourceHints: false })) ips.push(a.ip);
  }
  return ips;
}

export async function sbrDel(args: CmdArgs, open: RtOpener = defaultOpener): Promise<void> {
  const conf = loadSbrConfig(args.netconf);
  if (args.netns === '') return;
  const rt = openNetnsIfPresent(args.netns, open);
  if (rt === undefined) return;
  try {
    const link = await orKernelError(`Failed to get link ${args.ifName}`, rt.findLink(args.ifName));
    const ips = await addressesToTidy(rt, link, args);
    if (ips.length === 0) return;
    const rules = (await orKernelError('Failed to list rules to tidy', rt.listRules())).filter(
      (r) => (conf.table === undefined || r.table === conf.table) && ips.some((ip) => ruleFrom(r, ip)),
    );
    // Like the reference, keep going after a failure and report it at the end.
    let firstError: CniError | undefined;
    const tables = new Set<number>();
    for (const r of rules) {
      try {
        await rt.deleteRule({ family: r.family, table: r.table, priority: r.priority, ...(r.src === undefined ? {} : { src: r.src }) });
        tables.add(r.table);
      } catch (e) {
        firstError ??= kernelError(`Failed to delete rule from ${r.src} lookup ${r.table}`, e);
      }
    }
    // Tables sbr picked itself hold only this interface's routes; a configured table is the user's.
    if (conf.table === undefined && link !== undefined && tables.size > 0) {
      const routes = await orKernelError('Failed to list routes', rt.listRoutes({ table: 'all', dev: link.index }));
      for (const r of routes) {
        if (!tables.has(r.table) || RESERVED_TABLES.has(r.table)) continue;
        try {
          await rt.deleteRoute(routeToDelete(r));
        } catch (e) {
          firstError ??= kernelError(`Failed to delete route ${r.dst} from table ${r.table}`, e);
        }
      }
    }
    if (firstError !== undefined) throw firstError;
  } finally {
    rt.close();
  }
}

/** CHECK: every address has its rule; in auto mode its table routes through the interface. */
export async function sbrCheck(args: CmdArgs, open: RtOpener = defaultOpener): Promise<void> {
  const conf = loadSbrConfig(args.netconf);
  const prev = requirePrevResult(args.netconf, 'sbr');
  const addrs = sbrAddresses(prev, args.ifName, conf);
  const rt = openContainerNetns(args.netns, open);
  try {
    const link = await getLink(rt, args.ifName);
    const rules = await orKernelError('Failed to list rules', rt.listRules());
    const routes = conf.table === undefined ? await orKernelError('Failed to list routes', rt.listRoutes({ table: 'all' })) : [];
    for (const a of addrs) {
      if (conf.table !== undefined) {
        if (!rules.some((r) => r.table === conf.table && ruleFrom(r, a.ip))) {
          throw failed(`sbr: rule "from ${a.host} lookup ${conf.table}" not found`);
        }
        continue;
      }
      const rule = rules.find((r) => r.table >= FIRST_TABLE && !RESERVED_TABLES.has(r.table) && ruleFrom(r, a.ip));
      if (rule === undefined) throw failed(`sbr: no rule "from ${a.host} lookup <table>" found`);
      const inTable = routes.filter((r) => r.table === rule.table && r.oif === link.index);
      if (inTable.length === 0) throw failed(`sbr: table ${rule.table} has no route through ${args.ifName}`);
      if (a.gateway !== undefined) {
        const gw = parseIP(a.gateway);
        const ok = inTable.some((r) => isDefault(r) && sameIp(ipOf(r.gateway), gw));
        if (!ok) throw failed(`sbr: table ${rule.table} has no default route via ${a.gateway} dev ${args.ifName}`);
      }
      if (conf.addSourceHints) {
        const hinted = routes.some(
          (r) => r.table === RT_TABLE.MAIN && r.oif === link.index && sameDst(r, a.net) && sameIp(ipOf(r.prefsrc), a.ip),
        );
        if (!hinted) throw failed(`sbr: main table has no route to ${formatCIDR(maskedNet(a.net))} with source hint ${formatIP(a.ip)}`);
      }
    }
  } finally {
    rt.close();
  }
}

export function sbrPlugin(opts: SbrOptions = {}): PluginFuncs {
  const open = opts.open ?? defaultOpener;
  return {
    add: (a) => sbrAdd(a, open),
    del: (a) => sbrDel(a, open),
    check: (a) => sbrCheck(a, open),
    // sbr's state (rules, routes) lives inside each container's namespace and goes away with it;
    // nothing on the host can belong to a stale attachment, so GC has nothing to collect.
    gc: async () => {},
    // No daemon and no host resource: sbr can always serve ADD.
    status: async () => {},
  };
}
