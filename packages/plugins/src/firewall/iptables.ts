// Floor 3 (plugins/firewall): the reference iptables backend's rules, with the reference's chain
// names and comments so the Go plugin and this one can share a host: filter FORWARD -> CNI-FORWARD
// -> admin chain, two ACCEPT rules per container address, and the CNI-ISOLATION-STAGE-1/2 chains of
// the same-bridge / isolated ingress policies. The table is read with iptables-save and changed with
// ONE `iptables-restore --noflush` per family and operation (shared/iptables-restore.ts; the
// reference execs iptables per rule). Per-address rules carry a comment naming the attachment, so
// DEL needs no prevResult and GC can tell whose rules they are.
import { parseCIDR } from '@tscni/ip';
import { formatRuleLine, ruleOption, ruleTarget } from '../shared/iptables-restore.js';
import type { SavedRule, SavedTable } from '../shared/iptables-restore.js';
import type { FirewallAddress, IngressPolicy } from './config.js';

export const FORWARD = 'FORWARD';
export const PRIV_CHAIN = 'CNI-FORWARD';
export const STAGE1 = 'CNI-ISOLATION-STAGE-1';
export const STAGE2 = 'CNI-ISOLATION-STAGE-2';
const PRIV_COMMENT = 'CNI firewall plugin rules';
const ADMIN_COMMENT = 'CNI firewall plugin admin overrides';
const ISOLATION_COMMENT = 'CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)';
const policyComment = (p: IngressPolicy): string => `CNI firewall plugin rules (ingressPolicy: ${p})`;

export type Spec = readonly string[];

/** The value of `-m comment --comment`. */
export function commentOf(r: SavedRule): string | undefined {
  return ruleOption(r.spec, '--comment');
}

/** A spec without its comment match and with addresses in one form, for comparing rules. */
export function normalizeSpec(spec: Spec): string {
  const out: string[] = [];
  for (let i = 0; i < spec.length; i++) {
    const t = spec[i] as string;
    if (t === '-m' && spec[i + 1] === 'comment' && spec[i + 2] === '--comment') {
      i += 3;
      continue;
    }
    out.push(t);
    if ((t === '-s' || t === '-d') && i + 1 < spec.length) {
      const n = parseCIDR(spec[i + 1] as string);
      out.push(n === undefined ? (spec[i + 1] as string) : `${n.ip.value.toString(16)}:${n.ip.family}/${n.prefix}`);
      i++;
    }
  }
  return out.join(' ');
}

/** `spec` with `-m comment --comment c` before its target, where iptables-save prints it. */
function withComment(spec: Spec, comment: string): string[] {
  const j = spec.indexOf('-j');
  const at = j < 0 ? spec.length : j;
  return [...spec.slice(0, at), '-m', 'comment', '--comment', comment, ...spec.slice(at)];
}

/** The two rules of one address (the reference's getPrivChainRules), with the attachment comment. */
export function addressRules(a: FirewallAddress, comment: string | undefined): string[][] {
  const rules = [
    ['-d', a.host, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
    ['-s', a.host, '-j', 'ACCEPT'],
  ];
  return comment === undefined ? rules : rules.map((r) => withComment(r, comment));
}

const jumpsTo = (r: SavedRule, chain: string): boolean => ruleTarget(r.spec) === chain;
const isBareReturn = (r: SavedRule): boolean => normalizeSpec(r.spec) === '-j RETURN';

function hasRule(t: SavedTable, chain: string, spec: Spec): boolean {
  const want = normalizeSpec(spec);
  return t.rules.some((r) => r.chain === chain && normalizeSpec(r.spec) === want);
}

function hasOwnRule(t: SavedTable, comment: string, spec: Spec): boolean {
  const want = normalizeSpec(spec);
  return t.rules.some((r) => r.chain === PRIV_CHAIN && commentOf(r) === comment && normalizeSpec(r.spec) === want);
}

/** The bridge rules of an ingress policy (the reference's setupIsolationChains), as [chain, spec]. */
function isolationRules(bridge: string, policy: IngressPolicy): Array<[string, string[]]> {
  const c = policyComment(policy);
  const out: Array<[string, string[]]> = [[STAGE1, withComment(['-i', bridge, '!', '-o', bridge, '-j', STAGE2], c)]];
  if (policy === 'isolated') out.push([STAGE1, withComment(['-i', bridge, '-o', bridge, '-j', 'DROP'], c)]);
  out.push([STAGE2, withComment(['-o', bridge, '-j', 'DROP'], ISOLATION_COMMENT)]);
  return out;
}

export interface AddPlan {
  adminChain: string;
  addresses: readonly FirewallAddress[];
  comment: string;
  /** Set for same-bridge / isolated. */
  isolation?: { bridge: string; policy: IngressPolicy };
}

/**
 * The restore lines that bring one family's filter table to what ADD wants, given its current
 * state; empty when nothing is missing. Chains are created with -N (never declared with `:`, which
 * would flush them under --noflush), jumps are inserted where the reference puts them, rules appended.
 */
export function addScript(t: SavedTable, plan: AddPlan): string[] {
  const lines: string[] = [];
  const ensureChain = (name: string): void => {
    if (!t.chains.has(name)) lines.push(`-N ${name}`);
  };
  ensureChain(PRIV_CHAIN);
  ensureChain(plan.adminChain);
  if (plan.isolation !== undefined) {
    ensureChain(STAGE1);
    ensureChain(STAGE2);
  }
  const forward = t.rules.filter((r) => r.chain === FORWARD);
  if (!forward.some((r) => jumpsTo(r, PRIV_CHAIN))) {
    // Behind an existing isolation jump: isolation must see packets before CNI-FORWARD accepts them.
    const lastStage1 = forward.map((r) => jumpsTo(r, STAGE1)).lastIndexOf(true);
    lines.push(formatRuleLine('-I', FORWARD, [String(lastStage1 + 2), '-m', 'comment', '--comment', PRIV_COMMENT, '-j', PRIV_CHAIN]));
  }
  if (!t.rules.some((r) => r.chain === PRIV_CHAIN && jumpsTo(r, plan.adminChain))) {
    lines.push(formatRuleLine('-I', PRIV_CHAIN, ['1', '-m', 'comment', '--comment', ADMIN_COMMENT, '-j', plan.adminChain]));
  }
  for (const a of plan.addresses) {
    for (const spec of addressRules(a, plan.comment)) {
      if (!hasOwnRule(t, plan.comment, spec)) lines.push(formatRuleLine('-A', PRIV_CHAIN, spec));
    }
  }
  if (plan.isolation !== undefined) {
    if (!forward.some((r) => jumpsTo(r, STAGE1))) {
      lines.push(formatRuleLine('-I', FORWARD, ['1', '-m', 'comment', '--comment', ISOLATION_COMMENT, '-j', STAGE1]));
    }
    for (const [chain, spec] of isolationRules(plan.isolation.bridge, plan.isolation.policy)) {
      // Before the chain's closing RETURN.
      if (!hasRule(t, chain, spec)) lines.push(formatRuleLine('-I', chain, ['1', ...spec]));
    }
    for (const chain of [STAGE1, STAGE2]) {
      if (!t.rules.some((r) => r.chain === chain && isBareReturn(r))) {
        lines.push(formatRuleLine('-A', chain, ['-m', 'comment', '--comment', ISOLATION_COMMENT, '-j', 'RETURN']));
      }
    }
  }
  return lines;
}

/**
 * The restore lines that delete rules: ours by comment (`match`), plus rules in the reference's
 * own form (no comment) for `legacyAddresses`, so an attachment the Go plugin made is cleaned too.
 */
export function deleteScript(t: SavedTable, match: (comment: string) => boolean, legacyAddresses: readonly FirewallAddress[] = []): string[] {
  const legacy = new Set(legacyAddresses.flatMap((a) => addressRules(a, undefined)).map(normalizeSpec));
  return t.rules
    .filter((r) => {
      if (r.chain !== PRIV_CHAIN) return false;
      const c = commentOf(r);
      return c !== undefined ? match(c) : legacy.has(normalizeSpec(r.spec));
    })
    .map((r) => formatRuleLine('-D', r.chain, r.spec));
}

/** What CHECK finds missing in one family's filter table (empty: all there). */
export function checkState(t: SavedTable, plan: AddPlan): string[] {
  const missing: string[] = [];
  for (const chain of [PRIV_CHAIN, plan.adminChain]) if (!t.chains.has(chain)) missing.push(`chain ${chain}`);
  if (!t.rules.some((r) => r.chain === FORWARD && jumpsTo(r, PRIV_CHAIN))) missing.push(`${FORWARD} rule -j ${PRIV_CHAIN}`);
  if (!t.rules.some((r) => r.chain === PRIV_CHAIN && jumpsTo(r, plan.adminChain))) missing.push(`${PRIV_CHAIN} rule -j ${plan.adminChain}`);
  for (const a of plan.addresses) {
    for (const spec of addressRules(a, plan.comment)) {
      if (!hasOwnRule(t, plan.comment, spec)) missing.push(`rule ${formatRuleLine('-A', PRIV_CHAIN, spec)}`);
    }
  }
  if (plan.isolation !== undefined) {
    if (!t.rules.some((r) => r.chain === FORWARD && jumpsTo(r, STAGE1))) missing.push(`${FORWARD} rule -j ${STAGE1}`);
    for (const [chain, spec] of isolationRules(plan.isolation.bridge, plan.isolation.policy)) {
      if (!hasRule(t, chain, spec)) missing.push(`rule ${formatRuleLine('-A', chain, spec)}`);
    }
  }
  return missing;
}
