// Floor 3 (plugins/firewall): the firewall meta plugin, as the reference's plugins/meta/firewall
// (ADD needs prevResult and passes it on, DEL works without one, CHECK verifies the rules), plus
// an nftables backend, GC of the rules of attachments that no longer exist, and STATUS.
//
// Backend choice when `backend` is not set (the reference: firewalld if it runs, else iptables):
// iptables when the configuration names an iptables admin chain, or when the host's iptables drops
// forwarded packets by policy (an nftables accept cannot lift a drop of another table; see
// nftables.ts) or uses legacy iptables; otherwise nftables when nf_tables is reachable; else
// iptables. DEL, GC and CHECK without `backend` look in both, so a choice that changed between ADD
// and DEL still finds the rules.
import { readFileSync } from 'node:fs';
import { CniError, ErrorCode, isCniError, parseGcAttachments, versionsFrom } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { requirePrevResult } from '../shared/conf.js';
import { defaultNftOpener, withNetfilter } from '../shared/netfilter.js';
import type { NftOpener } from '../shared/netfilter.js';
import { bridgeName, loadFirewallConfig, networkPrefix, ownerComment, ownerPrefix, resultAddresses } from './config.js';
import type { FirewallAddress, FirewallConfig, IngressPolicy, Owner } from './config.js';
import { firewalldRunning } from './firewalld.js';
import { saveTable, toolRunner, transactTable } from '../shared/iptables-restore.js';
import type { CommandRunner, IptVersion } from '../shared/iptables-restore.js';
import { addScript, checkState, deleteScript } from './iptables.js';
import { iptablesNftForwardDrops, nftAdd, nftCheck, nftDelete, nftHasRules, nftUsable } from './nftables.js';

/** The spec versions the reference firewall plugin accepts (0.4.0 on). */
export const FIREWALL_VERSIONS: readonly string[] = versionsFrom('0.4.0');

export interface FirewallDeps {
  /** NETLINK_NETFILTER in the host namespace (default: our own namespace); null: no nftables. */
  nft?: NftOpener | null;
  /** Runs iptables-save / iptables-restore (default: found on PATH or in sbin). */
  run?: CommandRunner;
  firewalldRunning?: () => boolean;
  /** Legacy (x_tables) iptables has a filter table loaded. */
  legacyIptablesInUse?: () => boolean;
}

type Engine = 'iptables' | 'nftables';

function nftOf(deps: FirewallDeps): NftOpener | undefined {
  return deps.nft === undefined ? defaultNftOpener : (deps.nft ?? undefined);
}

function legacyFilterLoaded(): boolean {
  try {
    return readFileSync('/proc/net/ip_tables_names', 'utf8').split('\n').includes('filter');
  } catch {
    return false;
  }
}

function unavailable(msg: string): CniError {
  return new CniError(ErrorCode.PluginNotAvailable, msg);
}

function firewalldError(deps: FirewallDeps): CniError {
  const running = (deps.firewalldRunning ?? firewalldRunning)();
  return unavailable(
    running
      ? 'backend "firewalld": firewalld is running, but this plugin has no D-Bus client; use backend "iptables" or "nftables"'
      : 'backend "firewalld": firewalld is not running (no system D-Bus socket or no firewalld process)',
  );
}

function noNft(): CniError {
  return unavailable('backend "nftables": this plugin build has no nftables (NETLINK_NETFILTER) access');
}

/** Can nftables serve ADD here, and would its accepts be enough on this host? */
async function nftFits(deps: FirewallDeps): Promise<boolean> {
  const nft = nftOf(deps);
  if (nft === undefined || (deps.legacyIptablesInUse ?? legacyFilterLoaded)()) return false;
  try {
    return await withNetfilter(nft, 'nftables', async (t) => (await nftUsable(t)) && !(await iptablesNftForwardDrops(t)));
  } catch {
    return false;
  }
}

/** The backend ADD uses (see the header). */
export async function chooseBackend(conf: FirewallConfig, deps: FirewallDeps): Promise<Engine> {
  if (conf.backend === 'firewalld') throw firewalldError(deps);
  if (conf.backend === 'nftables') {
    if (nftOf(deps) === undefined) throw noNft();
    return 'nftables';
  }
  if (conf.backend === 'iptables' || conf.adminChainGiven) return 'iptables';
  return (await nftFits(deps)) ? 'nftables' : 'iptables';
}

function owner(args: CmdArgs, conf: FirewallConfig): Owner {
  return { network: conf.network, containerId: args.containerId, ifName: args.ifName };
}

function families(addrs: readonly FirewallAddress[]): IptVersion[] {
  return ([4, 6] as const).filter((f) => addrs.some((a) => a.family === f));
}

interface Plan {
  addresses: FirewallAddress[];
  comment: string;
  isolation?: { bridge: string; policy: IngressPolicy };
}

function plan(args: CmdArgs, conf: FirewallConfig, prev: Result): Plan {
  const p: Plan = { addresses: resultAddresses(prev), comment: ownerComment(owner(args, conf)) };
  if (conf.ingressPolicy !== 'open') p.isolation = { bridge: bridgeName(prev, conf.ingressPolicy), policy: conf.ingressPolicy };
  return p;
}

const runner = (deps: FirewallDeps): CommandRunner => deps.run ?? toolRunner;

async function iptablesAdd(deps: FirewallDeps, conf: FirewallConfig, p: Plan): Promise<void> {
  const r = runner(deps);
  for (const f of families(p.addresses)) {
    const addresses = p.addresses.filter((a) => a.family === f);
    await transactTable(r, f, 'filter', (s) => addScript(s, { adminChain: conf.adminChain, addresses, comment: p.comment, ...(p.isolation ? { isolation: p.isolation } : {}) }));
  }
}

export async function firewallAdd(args: CmdArgs, deps: FirewallDeps = {}): Promise<Result> {
  const conf = loadFirewallConfig(args.netconf);
  const prev = requirePrevResult(args.netconf, 'firewall');
  const p = plan(args, conf, prev);
  if (p.addresses.length === 0) return prev;
  const engine = await chooseBackend(conf, deps);
  if (engine === 'nftables') {
    await withNetfilter(nftOf(deps) as NftOpener, 'nftables', (t) => nftAdd(t, p));
  } else {
    await iptablesAdd(deps, conf, p);
  }
  return prev;
}

/** prevResult's addresses when DEL got one (to clean rules the reference plugin made); never fails DEL. */
function delAddresses(netconf: NetConf): FirewallAddress[] {
  if (netconf.prevResult === undefined || netconf.prevResult === null) return [];
  try {
    return resultAddresses(requirePrevResult(netconf, 'firewall'));
  } catch {
    return [];
  }
}

/** Is this backend absent altogether (so an auto-mode DEL/GC skips it)? */
function isUnavailable(e: unknown): boolean {
  return isCniError(e) && e.code === ErrorCode.PluginNotAvailable;
}

/**
 * Removes the rules whose comment `match`es, in the configured backend or (no `backend`) in both.
 * `legacy`: addresses whose comment-less reference-style rules go too (iptables only).
 */
async function removeRules(conf: FirewallConfig, deps: FirewallDeps, match: (c: string) => boolean, legacy: readonly FirewallAddress[]): Promise<void> {
  // Nothing can have been added through firewalld by this plugin.
  if (conf.backend === 'firewalld') return;
  const auto = conf.backend === undefined;
  if (conf.backend === 'nftables' || auto) {
    const nft = nftOf(deps);
    if (nft !== undefined) {
      try {
        await withNetfilter(nft, 'nftables', async (t) => {
          // Without `backend`, a host without nf_tables simply has no such rules.
          if (auto && !(await nftUsable(t))) return;
          await nftDelete(t, match);
        });
      } catch (e) {
        if (!(auto && isUnavailable(e))) throw e;
      }
    } else if (!auto) {
      throw noNft();
    }
  }
  if (conf.backend === 'iptables' || auto) {
    const r = runner(deps);
    for (const f of [4, 6] as const) {
      try {
        await transactTable(r, f, 'filter', (s) => deleteScript(s, match, legacy.filter((a) => a.family === f)));
      } catch (e) {
        if (!(auto && isUnavailable(e))) throw e;
      }
    }
  }
}

export async function firewallDel(args: CmdArgs, deps: FirewallDeps = {}): Promise<void> {
  const conf = loadFirewallConfig(args.netconf);
  const prefix = ownerPrefix(owner(args, conf));
  // Isolation rules stay, as in the reference: other containers may still use the bridge.
  await removeRules(conf, deps, (c) => c.startsWith(prefix), delAddresses(args.netconf));
}

/** GC: remove the rules of this network whose attachment is not in `cni.dev/valid-attachments`. */
export async function firewallGc(args: CmdArgs, deps: FirewallDeps = {}): Promise<void> {
  const conf = loadFirewallConfig(args.netconf);
  const valid = parseGcAttachments(args.netconf);
  const keep = new Set(valid.map((a) => ownerPrefix({ network: conf.network, containerId: a.containerID, ifName: a.ifname })));
  const net = networkPrefix(conf.network);
  const prefixLength = ownerPrefix({ network: conf.network, containerId: '', ifName: '' }).length;
  await removeRules(conf, deps, (c) => c.startsWith(net) && !keep.has(c.slice(0, prefixLength)), []);
}

function checkFailed(what: string, missing: readonly string[]): CniError {
  return new CniError(ErrorCode.Internal, `firewall: ${what}: expected ${missing.join('; ')} not found`);
}

export async function firewallCheck(args: CmdArgs, deps: FirewallDeps = {}): Promise<void> {
  const conf = loadFirewallConfig(args.netconf);
  const prev = requirePrevResult(args.netconf, 'firewall');
  const p = plan(args, conf, prev);
  if (p.addresses.length === 0) return;
  if (conf.backend === 'firewalld') throw firewalldError(deps);
  const nft = nftOf(deps);
  if (conf.backend === 'nftables' && nft === undefined) throw noNft();

  // Without `backend`, the rules are where ADD put them.
  let engine: Engine = conf.backend === 'nftables' ? 'nftables' : 'iptables';
  if (conf.backend === undefined && !conf.adminChainGiven && nft !== undefined) {
    const prefix = ownerPrefix(owner(args, conf));
    const inNft = await withNetfilter(nft, 'nftables', async (t) => (await nftUsable(t)) && (await nftHasRules(t, prefix))).catch((e: unknown) => {
      if (isUnavailable(e)) return false;
      throw e;
    });
    if (inNft) engine = 'nftables';
  }

  if (engine === 'nftables') {
    const missing = await withNetfilter(nft as NftOpener, 'nftables', (t) => nftCheck(t, p));
    if (missing.length > 0) throw checkFailed('nftables', missing);
    return;
  }
  const r = runner(deps);
  for (const f of families(p.addresses)) {
    const state = await saveTable(r, f, 'filter');
    const missing = checkState(state, {
      adminChain: conf.adminChain,
      addresses: p.addresses.filter((a) => a.family === f),
      comment: p.comment,
      ...(p.isolation ? { isolation: p.isolation } : {}),
    });
    if (missing.length > 0) throw checkFailed(f === 4 ? 'iptables' : 'ip6tables', missing);
  }
}

/** STATUS: the backend ADD would use can be used (for no `backend`: any of them). */
export async function firewallStatus(args: CmdArgs, deps: FirewallDeps = {}): Promise<void> {
  const conf = loadFirewallConfig(args.netconf);
  if (conf.backend === 'firewalld') throw firewalldError(deps);
  const nft = nftOf(deps);
  const nftOk = async (): Promise<boolean> => nft !== undefined && (await withNetfilter(nft, 'nftables', nftUsable).catch(() => false));
  const iptablesOk = async (): Promise<boolean> => {
    try {
      await saveTable(runner(deps), 4, 'filter');
      return true;
    } catch {
      return false;
    }
  };
  if (conf.backend === 'nftables') {
    if (!(await nftOk())) throw nft === undefined ? noNft() : unavailable('backend "nftables": nf_tables is not usable here');
    return;
  }
  if (conf.backend === 'iptables' || conf.adminChainGiven) {
    if (!(await iptablesOk())) throw unavailable('backend "iptables": iptables-save does not work here');
    return;
  }
  if (!(await nftOk()) && !(await iptablesOk())) throw unavailable('neither nftables nor iptables is usable here');
}

export function firewallPlugin(deps: FirewallDeps = {}): PluginFuncs {
  return {
    add: (a) => firewallAdd(a, deps),
    del: (a) => firewallDel(a, deps),
    check: (a) => firewallCheck(a, deps),
    gc: (a) => firewallGc(a, deps),
    status: (a) => firewallStatus(a, deps),
  };
}
