// Floor 3 (plugins/firewall): the nftables backend, which the reference lacks (plugins#461, #519,
// closed PR #462). Programmed over nfnetlink in one atomic batch per operation, in a table of its
// own so it never touches iptables-nft's tables:
//
//   table inet cni_firewall {
//     chain forward { type filter hook forward priority -1; policy accept;
//       jump isolation_stage_1                      comment "tscni-firewall: ingress policies"
//       jump admin                                  comment "tscni-firewall: admin overrides"
//       ip daddr X ct state established,related accept   comment "tscni-firewall <net>-<attachment> ..."
//       ip saddr X accept                                comment (same)
//     }
//     chain admin { }                               (the user's; never changed by the plugin)
//     chain isolation_stage_1 { iifname B oifname != B jump isolation_stage_2; [isolated] iifname B oifname B drop }
//     chain isolation_stage_2 { oifname B drop }
//   }
//
// Priority -1 runs just before iptables' filter FORWARD (0). In nftables an accept ends only the
// chain it is in; a drop in any base chain is final. So isolation drops are effective whatever else
// is loaded, while the per-address accepts cannot lift a DROP policy of another table (such as
// iptables' FORWARD); the plugin's default backend choice accounts for that (plugin.ts).
import { NftBatch, NftBatchError, accept, drop, getNftGeneration, jump, listNftChains, listNftRules, matchCtState, matchDaddr, matchIifname, matchOifname, matchSaddr } from '@tscni/netlink';
import type { NetlinkTransport, NftRule, NftRuleItem } from '@tscni/netlink';
import { isWantedRule } from '../shared/nft-rules.js';
import type { WantedRule } from '../shared/nft-rules.js';
import type { FirewallAddress, IngressPolicy } from './config.js';

export const NFT_TABLE = 'cni_firewall';
export const NFT_FORWARD = 'forward';
export const NFT_ADMIN = 'admin';
export const NFT_STAGE1 = 'isolation_stage_1';
export const NFT_STAGE2 = 'isolation_stage_2';
/** filter - 1: ahead of iptables' filter FORWARD chain. */
export const NFT_PRIORITY = -1;
const FAMILY = 'inet';
const ISOLATION_JUMP = 'tscni-firewall: ingress policies';
const ADMIN_JUMP = 'tscni-firewall: admin overrides';
const bridgeComment = (bridge: string, what: 'cross' | 'isolated'): string => `tscni-firewall: bridge ${bridge} ${what}`;

export interface NftPlan {
  addresses: readonly FirewallAddress[];
  comment: string;
  isolation?: { bridge: string; policy: IngressPolicy };
}

interface ChainRule extends WantedRule {
  readonly chain: string;
  readonly exprs: NftRuleItem[];
  readonly comment: string;
}

/** The two rules of an address, as the iptables backend's `-d ... RELATED,ESTABLISHED` and `-s`. */
export function addressRuleItems(a: FirewallAddress): NftRuleItem[][] {
  return [
    [matchDaddr(a.host), matchCtState(['established', 'related']), accept()],
    [matchSaddr(a.host), accept()],
  ];
}

function bridgeRules(bridge: string, policy: IngressPolicy): ChainRule[] {
  const out: ChainRule[] = [
    { chain: NFT_STAGE1, exprs: [matchIifname(bridge), matchOifname(bridge, 'neq'), jump(NFT_STAGE2)], comment: bridgeComment(bridge, 'cross') },
    { chain: NFT_STAGE2, exprs: [matchOifname(bridge), drop()], comment: bridgeComment(bridge, 'cross') },
  ];
  if (policy === 'isolated') {
    out.push({ chain: NFT_STAGE1, exprs: [matchIifname(bridge), matchOifname(bridge), drop()], comment: bridgeComment(bridge, 'isolated') });
  }
  return out;
}

function plannedRules(plan: NftPlan): ChainRule[] {
  const out = plan.addresses.flatMap((a) => addressRuleItems(a).map((exprs) => ({ chain: NFT_FORWARD, exprs, comment: plan.comment })));
  if (plan.isolation !== undefined) out.push(...bridgeRules(plan.isolation.bridge, plan.isolation.policy));
  return out;
}

function matches(r: NftRule, want: ChainRule): boolean {
  return r.chain === want.chain && isWantedRule(FAMILY, r, want);
}

const ATTEMPTS = 4;

/** Runs `build` on a fresh listing and commits its batch; a batch refused because the table changed meanwhile is rebuilt. */
async function commitWithRetry(t: NetlinkTransport, build: (rules: NftRule[]) => NftBatch | undefined): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const batch = build(await listNftRules(t, { family: FAMILY, table: NFT_TABLE }));
    if (batch === undefined || batch.length === 0) return;
    try {
      await batch.commit(t);
      return;
    } catch (e) {
      if (!(e instanceof NftBatchError)) throw e;
      last = e;
      await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * 40)));
    }
  }
  throw last;
}

/** ADD: the table and chains (idempotent), the structural jumps once each, then the missing rules. */
export async function nftAdd(t: NetlinkTransport, plan: NftPlan): Promise<void> {
  const wanted = plannedRules(plan);
  const chains = new Set((await listNftChains(t, { family: FAMILY, table: NFT_TABLE })).map((c) => c.name));
  await commitWithRetry(t, (rules) => {
    const b = new NftBatch({ family: FAMILY });
    const forward = rules.filter((r) => r.chain === NFT_FORWARD);
    const iso = forward.filter((r) => r.comment === ISOLATION_JUMP);
    const adm = forward.filter((r) => r.comment === ADMIN_JUMP);
    const missing = wanted.filter((w) => !rules.some((r) => matches(r, w)));
    const allChains = [NFT_FORWARD, NFT_ADMIN, NFT_STAGE1, NFT_STAGE2].every((c) => chains.has(c));
    if (allChains && iso.length === 1 && adm.length === 1 && missing.length === 0) return undefined;

    b.addTable({ name: NFT_TABLE, comment: 'CNI firewall plugin (tscni)' });
    b.addChain({ table: NFT_TABLE, name: NFT_FORWARD, base: { type: 'filter', hook: 'forward', priority: NFT_PRIORITY, policy: 'accept' } });
    for (const name of [NFT_ADMIN, NFT_STAGE1, NFT_STAGE2]) b.addChain({ table: NFT_TABLE, name });
    // Order in `forward`: isolation, then admin, then the addresses (as FORWARD -> STAGE-1, CNI-FORWARD -> CNI-ADMIN).
    const head = { table: NFT_TABLE, chain: NFT_FORWARD } as const;
    if (adm.length === 0) {
      const after = iso[0]?.handle;
      b.addRule({ ...head, exprs: [jump(NFT_ADMIN)], comment: ADMIN_JUMP, ...(after === undefined ? { insert: true } : { position: after }) });
    }
    if (iso.length === 0) b.addRule({ ...head, exprs: [jump(NFT_STAGE1)], comment: ISOLATION_JUMP, insert: true });
    // Concurrent first ADDs can both add the jumps; keep one of each.
    for (const extra of [...iso.slice(1), ...adm.slice(1)]) {
      if (extra.handle !== undefined) b.deleteRule({ ...head, handle: extra.handle });
    }
    for (const w of missing) b.addRule({ table: NFT_TABLE, chain: w.chain, exprs: w.exprs, comment: w.comment });
    return b;
  });
}

/** Deletes the forward-chain rules whose comment `match`es; no table, nothing to do. */
export async function nftDelete(t: NetlinkTransport, match: (comment: string) => boolean): Promise<void> {
  await commitWithRetry(t, (rules) => {
    const doomed = rules.filter((r) => r.chain === NFT_FORWARD && r.comment !== undefined && match(r.comment) && r.handle !== undefined);
    if (doomed.length === 0) return undefined;
    const b = new NftBatch({ family: FAMILY });
    for (const r of doomed) b.deleteRule({ table: NFT_TABLE, chain: NFT_FORWARD, handle: r.handle as bigint });
    return b;
  });
}

/** CHECK: what is missing (empty: everything ADD made is there). */
export async function nftCheck(t: NetlinkTransport, plan: NftPlan): Promise<string[]> {
  const chains = await listNftChains(t, { family: FAMILY, table: NFT_TABLE });
  const forward = chains.find((c) => c.name === NFT_FORWARD);
  if (forward === undefined) return [`nftables chain ${FAMILY} ${NFT_TABLE} ${NFT_FORWARD}`];
  const missing: string[] = [];
  if (forward.base?.hook !== 'forward') missing.push(`the forward hook of ${FAMILY} ${NFT_TABLE} ${NFT_FORWARD}`);
  const rules = await listNftRules(t, { family: FAMILY, table: NFT_TABLE });
  if (!rules.some((r) => r.chain === NFT_FORWARD && r.comment === ISOLATION_JUMP)) missing.push(`rule jump ${NFT_STAGE1}`);
  if (!rules.some((r) => r.chain === NFT_FORWARD && r.comment === ADMIN_JUMP)) missing.push(`rule jump ${NFT_ADMIN}`);
  for (const w of plannedRules(plan)) {
    if (!rules.some((r) => matches(r, w))) missing.push(`rule in ${w.chain} "${w.comment}"`);
  }
  return missing;
}

/** Does the table hold rules whose comment starts with `prefix`? */
export async function nftHasRules(t: NetlinkTransport, prefix: string): Promise<boolean> {
  const rules = await listNftRules(t, { family: FAMILY, table: NFT_TABLE, chain: NFT_FORWARD });
  return rules.some((r) => r.comment?.startsWith(prefix) === true);
}

/** nf_tables answers (the module is there and we may talk to it). */
export async function nftUsable(t: NetlinkTransport): Promise<boolean> {
  try {
    await getNftGeneration(t);
    return true;
  } catch {
    return false;
  }
}

/**
 * Does iptables (the nf_tables flavour, whose tables nfnetlink can list) drop forwarded packets by
 * policy? Then an accept in our own table could not let containers through.
 */
export async function iptablesNftForwardDrops(t: NetlinkTransport): Promise<boolean> {
  for (const family of ['ip', 'ip6'] as const) {
    const chains = await listNftChains(t, { family, table: 'filter' });
    if (chains.some((c) => c.name === 'FORWARD' && c.base?.policy === 'drop')) return true;
  }
  return false;
}
