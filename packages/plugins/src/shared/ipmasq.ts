// Floor 3 (plugins/shared): ipMasq for bridge and ptp. The default backend is nftables, programmed
// over netlink (no nft exec), with the reference's nftables layout and naming so both can share one
// host: table `inet cni_plugins_masquerade`, a `postrouting` nat base chain that skips multicast and
// jumps to `masq_checks`, and in `masq_checks` one rule per address
//   ip saddr <addr> ip daddr != <subnet> masquerade comment "<net hash>-<attachment hash>, net: …"
// Rules are found again by their comment prefix, so DEL and GC need no address and no namespace.
// `ipMasqBackend: "iptables"` goes to ipmasq-iptables.ts (a static import: child_process, the costly
// part, loads only when a tool runs).
import { CniError, ErrorCode } from '@tscni/spec';
import type { GCAttachment } from '@tscni/spec';
import { NftBatch, findNftRulesByComment, goTo, masquerade, matchDaddr, matchSaddr, ret } from '@tscni/netlink';
import { formatCIDR, formatIP, maskedNet } from '@tscni/ip';
import type { GoObject } from './conf.js';
import { hashWithPrefix } from './crypto.js';
import { gcIpMasqIptables, setupIpMasqIptables, teardownIpMasqIptables } from './ipmasq-iptables.js';
import { toolRunner } from './iptables-restore.js';
import type { CommandRunner } from './iptables-restore.js';
import { resultNet } from './iface.js';
import { defaultNftOpener, withNetfilter } from './netfilter.js';
import { chainHolds } from './nft-rules.js';
import type { WantedRule } from './nft-rules.js';
import type { NftOpener } from './netfilter.js';

export const IPMASQ_TABLE = 'cni_plugins_masquerade';
export const IPMASQ_CHAIN = 'masq_checks';
const POSTROUTING = 'postrouting';
/** The kernel keeps at most this much of a rule comment (NFT_USERDATA_MAXLEN minus framing). */
const COMMENT_MAX = 128;

export type IpMasqBackend = 'nftables' | 'iptables';

export interface IpMasqSettings {
  enabled: boolean;
  backend: IpMasqBackend;
}

/** How ipMasq reaches the host's packet filter; tests aim these at another namespace. */
export interface IpMasqDeps {
  /** nftables access (default: NETLINK_NETFILTER in our namespace). */
  nft?: NftOpener;
  /** Runs iptables-save/iptables-restore for the iptables backend (default: found in PATH or sbin). */
  iptables?: CommandRunner;
}

/** The attachment a rule belongs to. */
export interface MasqOwner {
  network: string;
  ifName: string;
  containerId: string;
}

/**
 * `ipMasq` and `ipMasqBackend` ("nftables" or "iptables"). Unset means nftables: tscni programs it
 * over netlink without any binary, where the reference prefers iptables when the binary exists.
 */
export function loadIpMasq(o: GoObject): IpMasqSettings {
  const enabled = o.bool('ipMasq');
  const backend = o.string('ipMasqBackend');
  if (backend === undefined || backend === '' || backend === 'nftables') return { enabled, backend: 'nftables' };
  if (backend === 'iptables') return { enabled, backend: 'iptables' };
  throw new CniError(ErrorCode.InvalidNetworkConfig, `${o.field('ipMasqBackend')}: unknown ipmasq backend ${JSON.stringify(backend)}`);
}

function hash16(s: string): string {
  return hashWithPrefix(16, '', s);
}

/** Prefix of the comments of every rule of a network. */
export function hashForNetwork(network: string): string {
  return hash16(network);
}

/** Prefix of the comments of one attachment's rules. */
export function hashForInstance(o: MasqOwner): string {
  return `${hashForNetwork(o.network)}-${hash16(`${o.ifName}:${o.containerId}`)}`;
}

/** The rule comment: the hashes, then a (possibly cut) human-readable description. */
export function commentForInstance(o: MasqOwner): string {
  const clean = (s: string): string => s.replaceAll('"', '');
  const c = `${hashForInstance(o)}, net: ${clean(o.network)}, if: ${clean(o.ifName)}, id: ${clean(o.containerId)}`;
  return c.length > COMMENT_MAX ? c.slice(0, COMMENT_MAX) : c;
}

const WHERE = { family: 'inet', table: IPMASQ_TABLE, chain: IPMASQ_CHAIN } as const;
const BASE_CHAIN = { family: 'inet', table: IPMASQ_TABLE, chain: POSTROUTING } as const;
/** The reference's base chain: multicast returns, everything else goes to the per-address checks (built on use, not at start-up). */
function baseRules(): WantedRule[] {
  return [{ exprs: [matchDaddr('224.0.0.0/4'), ret()] }, { exprs: [matchDaddr('ff00::/8'), ret()] }, { exprs: [goTo(IPMASQ_CHAIN)] }];
}

/**
 * Masquerades traffic from each address (a result CIDR) to anything outside its subnet. Rules left
 * by an earlier ADD of the same attachment are replaced in the same transaction.
 */
export async function setupIpMasq(open: NftOpener, addresses: readonly string[], owner: MasqOwner): Promise<void> {
  await withNetfilter(open, 'failed to set up ipMasq', async (t) => {
    const prefix = hashForInstance(owner);
    const stale = await findNftRulesByComment(t, WHERE, (c) => c.startsWith(prefix));
    const b = new NftBatch({ family: 'inet' });
    // The base chain is rewritten whole only when it is missing or changed (shared/nft-rules.ts
    // says why not every time), so it holds exactly these rules however often this runs.
    const base = baseRules();
    if (!(await chainHolds(t, BASE_CHAIN, base))) {
      b.addTable({ name: IPMASQ_TABLE, comment: 'Masquerading for CNI plugins' })
        .addChain({ table: IPMASQ_TABLE, name: IPMASQ_CHAIN, comment: 'Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet' })
        .addChain({ table: IPMASQ_TABLE, name: POSTROUTING, base: { type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' } })
        .flushChain({ table: IPMASQ_TABLE, name: POSTROUTING });
      for (const r of base) b.addRule({ table: IPMASQ_TABLE, chain: POSTROUTING, exprs: [...r.exprs] });
    }
    for (const r of stale) {
      if (r.handle !== undefined) b.deleteRule({ table: IPMASQ_TABLE, chain: IPMASQ_CHAIN, handle: r.handle });
    }
    const comment = commentForInstance(owner);
    for (const address of addresses) {
      const net = resultNet(address);
      b.addRule({
        table: IPMASQ_TABLE,
        chain: IPMASQ_CHAIN,
        exprs: [matchSaddr(formatIP(net.ip)), matchDaddr(formatCIDR(maskedNet(net)), 'neq'), masquerade()],
        comment,
      });
    }
    await b.commit(t);
  });
}

/** Removes the attachment's rules (none: nothing to do, also when the table does not exist). */
export async function teardownIpMasq(open: NftOpener, owner: MasqOwner): Promise<void> {
  await withNetfilter(open, 'failed to tear down ipMasq', async (t) => {
    const prefix = hashForInstance(owner);
    const rules = await findNftRulesByComment(t, WHERE, (c) => c.startsWith(prefix));
    if (rules.length === 0) return;
    const b = new NftBatch({ family: 'inet' });
    for (const r of rules) if (r.handle !== undefined) b.deleteRule({ table: IPMASQ_TABLE, chain: IPMASQ_CHAIN, handle: r.handle });
    await b.commit(t);
  });
}

/** Removes the network's rules that belong to no valid attachment. */
export async function gcIpMasq(open: NftOpener, network: string, valid: readonly GCAttachment[]): Promise<void> {
  await withNetfilter(open, 'failed to garbage-collect ipMasq', async (t) => {
    const keep = new Set(valid.map((a) => commentForInstance({ network, ifName: a.ifname, containerId: a.containerID })));
    const prefix = hashForNetwork(network);
    const rules = await findNftRulesByComment(t, WHERE, (c) => c.startsWith(prefix) && !keep.has(c));
    if (rules.length === 0) return;
    const b = new NftBatch({ family: 'inet' });
    for (const r of rules) if (r.handle !== undefined) b.deleteRule({ table: IPMASQ_TABLE, chain: IPMASQ_CHAIN, handle: r.handle });
    await b.commit(t);
  });
}

/** ipMasq for the attachment's addresses (result CIDRs) in the configured backend. */
export async function applyIpMasq(settings: IpMasqSettings, deps: IpMasqDeps, addresses: readonly string[], owner: MasqOwner): Promise<void> {
  if (settings.backend === 'nftables') return setupIpMasq(deps.nft ?? defaultNftOpener, addresses, owner);
  return setupIpMasqIptables(deps.iptables ?? toolRunner, addresses, owner);
}

/** Removes the attachment's ipMasq rules from the configured backend (found by owner, not address). */
export async function removeIpMasq(settings: IpMasqSettings, deps: IpMasqDeps, owner: MasqOwner): Promise<void> {
  if (settings.backend === 'nftables') return teardownIpMasq(deps.nft ?? defaultNftOpener, owner);
  return teardownIpMasqIptables(deps.iptables ?? toolRunner, owner);
}

/** GC: removes the network's ipMasq rules of attachments not in `valid`, in the configured backend. */
export async function collectIpMasq(settings: IpMasqSettings, deps: IpMasqDeps, network: string, valid: readonly GCAttachment[]): Promise<void> {
  if (settings.backend === 'nftables') return gcIpMasq(deps.nft ?? defaultNftOpener, network, valid);
  return gcIpMasqIptables(deps.iptables ?? toolRunner, network, valid);
}
