// Floor 3 (plugins/shared): nftables rules read back from the kernel compared with the rules a
// plugin writes, so a plugin rewrites a shared chain only when it is missing or changed (and CHECK
// can say so). Rewriting means deleting rules, and a transaction that deletes anything makes the
// socket's close wait for an RCU grace period (nf_tables flushes its destroy work on
// NETLINK_URELEASE): about 10 ms on a busy host, on every ADD.
import { listNftRules, resolveRuleItems } from '@tscni/netlink';
import type { NetlinkTransport, NftExpr, NftFamily, NftRule, NftRuleItem } from '@tscni/netlink';

/** A rule as a plugin writes it: expressions (helper groups allowed) and its comment, if any. */
export interface WantedRule {
  readonly exprs: readonly NftRuleItem[];
  readonly comment?: string;
}

/** Where a chain is. */
export interface NftChainRef {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
}

/**
 * Expressions in a comparable form (bytes as hex, bigints as decimal). A lookup's `setId` only
 * names a set made in the same batch; the kernel resolves it to the set's name and never dumps it.
 */
function exprKey(exprs: readonly NftExpr[]): string {
  return JSON.stringify(exprs, (k, v: unknown) => {
    if (k === 'setId') return undefined;
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

/** The dumped rule is `want`: the same comment and the same expressions (groups resolved for `family`). */
export function isWantedRule(family: NftFamily, r: NftRule, want: WantedRule): boolean {
  return r.comment === want.comment && exprKey(r.exprs) === exprKey(resolveRuleItems(family, want.exprs));
}

/** The chain holds exactly `want`, in order; a missing table or chain holds nothing. One dump filtered by chain in the kernel. */
export async function chainHolds(t: NetlinkTransport, where: NftChainRef, want: readonly WantedRule[]): Promise<boolean> {
  const rules = await listNftRules(t, where);
  return rules.length === want.length && rules.every((r, i) => isWantedRule(where.family, r, want[i] as WantedRule));
}
