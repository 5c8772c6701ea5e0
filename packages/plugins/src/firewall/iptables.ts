// Floor 3 (plugins/firewall): the reference iptables backend's rules, with the reference's chain
// names and comments so the Go plugin and this one can share a host: filter FORWARD -> CNI-FORWARD
// -> admin chain, two ACCEPT rules per container address, and the CNI-ISOLATION-STAGE-1/2 chains of
// the same-bridge / isolated ingress policies. The state is read with iptables-save and changed with
// ONE `iptables-restore --noflush` per family and operation (the reference execs iptables per rule).
// Per-address rules carry a comment naming the attachment, so DEL needs no prevResult and GC works.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CniError, ErrorCode } from '@tscni/spec';
import { ipEqual, parseCIDR } from '@tscni/ipam';
import type { FirewallAddress, IngressPolicy } from './config.js';

export const FORWARD = 'FORWARD';
export const PRIV_CHAIN = 'CNI-FORWARD';
export const STAGE1 = 'CNI-ISOLATION-STAGE-1';
export const STAGE2 = 'CNI-ISOLATION-STAGE-2';
const PRIV_COMMENT = 'CNI firewall plugin rules';
const ADMIN_COMMENT = 'CNI firewall plugin admin overrides';
const ISOLATION_COMMENT = 'CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)';
const policyComment = (p: IngressPolicy): string => `CNI firewall plugin rules (ingressPolicy: ${p})`;

export type Family = 4 | 6;

/** How iptables is reached: read one family's filter table, apply one restore script. */
export interface IptablesRunner {
  save(family: Family): Promise<string>;
  restore(family: Family, script: string): Promise<void>;
}

/** One rule as iptables-save prints it: `-A <chain> <spec>`. */
export interface SavedRule {
  chain: string;
  spec: string;
  /** The value of `-m comment --comment`, unquoted. */
  comment?: string;
}

/** The filter table of one family as iptables-save shows it. */
export interface FilterState {
  /** Chain name -> policy ('-' for user chains). */
  chains: Map<string, string>;
  rules: SavedRule[];
}

const COMMENT_RE = /(?:^| )-m comment --comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/;

/** Parses `iptables-save -t filter` output (only the filter table is read). */
export function parseFilterSave(text: string): FilterState {
  const state: FilterState = { chains: new Map(), rules: [] };
  let inFilter = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
      continue;
    }
    if (!inFilter || line === '' || line.startsWith('#')) continue;
    if (line === 'COMMIT') {
      inFilter = false;
      continue;
    }
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      if (name !== undefined) state.chains.set(name, policy ?? '-');
      continue;
    }
    const m = /^-A (\S+) (.*)$/.exec(line);
    if (m === null) continue;
    const spec = m[2] as string;
    const rule: SavedRule = { chain: m[1] as string, spec };
    const c = COMMENT_RE.exec(spec);
    if (c !== null) rule.comment = c[1] !== undefined ? c[1].replace(/\\(.)/g, '$1') : (c[2] as string);
    state.rules.push(rule);
  }
  return state;
}

/** The spec with its comment match removed and addresses in one form, for comparing rules. */
export function normalizeSpec(spec: string): string {
  const tokens = spec.replace(COMMENT_RE, '').trim().split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (tokens[i] !== '-s' && tokens[i] !== '-d') continue;
    const n = parseCIDR(tokens[i + 1] as string);
    if (n !== undefined) tokens[i + 1] = `${n.ip.value.toString(16)}:${n.ip.family}/${n.prefix}`;
  }
  return tokens.join(' ');
}

function withComment(spec: string, comment: string): string {
  // iptables-save prints matches in order and the target last; keep that order so rules read back identically.
  const j = spec.lastIndexOf(' -j ');
  const head = j < 0 ? '' : spec.slice(0, j);
  const target = j < 0 ? spec : spec.slice(j + 1);
  return `${head === '' ? '' : `${head} `}-m comment --comment "${comment}" ${target}`;
}

/** The two rules of one address (the reference's getPrivChainRules), with the attachment comment. */
export function addressRules(a: FirewallAddress, comment: string | undefined): string[] {
  const rules = [`-d ${a.host} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-s ${a.host} -j ACCEPT`];
  return comment === undefined ? rules : rules.map((r) => withComment(r, comment));
}

const jumpsTo = (r: SavedRule, chain: string): boolean => r.spec.endsWith(` -j ${chain}`) || r.spec === `-j ${chain}`;
const isBareReturn = (r: SavedRule): boolean => normalizeSpec(r.spec) === '-j RETURN';

function hasRule(state: FilterState, chain: string, spec: string): boolean {
  const want = normalizeSpec(spec);
  return state.rules.some((r) => r.chain === chain && normalizeSpec(r.spec) === want);
}

/** The bridge rules of an ingress policy (the reference's setupIsolationChains), as [chain, spec]. */
function isolationRules(bridge: string, policy: IngressPolicy): Array<[string, string]> {
  const c = policyComment(policy);
  const out: Array<[string, string]> = [[STAGE1, withComment(`-i ${bridge} ! -o ${bridge} -j ${STAGE2}`, c)]];
  if (policy === 'isolated') out.push([STAGE1, withComment(`-i ${bridge} -o ${bridge} -j DROP`, c)]);
  out.push([STAGE2, withComment(`-o ${bridge} -j DROP`, ISOLATION_COMMENT)]);
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
export function addScript(state: FilterState, plan: AddPlan): string[] {
  const lines: string[] = [];
  const ensureChain = (name: string): void => {
    if (!state.chains.has(name)) lines.push(`-N ${name}`);
  };
  ensureChain(PRIV_CHAIN);
  ensureChain(plan.adminChain);
  if (plan.isolation !== undefined) {
    ensureChain(STAGE1);
    ensureChain(STAGE2);
  }
  const forward = state.rules.filter((r) => r.chain === FORWARD);
  if (!forward.some((r) => jumpsTo(r, PRIV_CHAIN))) {
    // Behind an existing isolation jump: isolation must see packets before CNI-FORWARD accepts them.
    const lastStage1 = forward.map((r) => jumpsTo(r, STAGE1)).lastIndexOf(true);
    lines.push(`-I ${FORWARD} ${lastStage1 + 2} -m comment --comment "${PRIV_COMMENT}" -j ${PRIV_CHAIN}`);
  }
  if (!state.rules.some((r) => r.chain === PRIV_CHAIN && jumpsTo(r, plan.adminChain))) {
    lines.push(`-I ${PRIV_CHAIN} 1 -m comment --comment "${ADMIN_COMMENT}" -j ${plan.adminChain}`);
  }
  for (const a of plan.addresses) {
    for (const spec of addressRules(a, plan.comment)) {
      const present = state.rules.some((r) => r.chain === PRIV_CHAIN && r.comment === plan.comment && normalizeSpec(r.spec) === normalizeSpec(spec));
      if (!present) lines.push(`-A ${PRIV_CHAIN} ${spec}`);
    }
  }
  if (plan.isolation !== undefined) {
    if (!forward.some((r) => jumpsTo(r, STAGE1))) lines.push(`-I ${FORWARD} 1 -m comment --comment "${ISOLATION_COMMENT}" -j ${STAGE1}`);
    for (const [chain, spec] of isolationRules(plan.isolation.bridge, plan.isolation.policy)) {
      if (!hasRule(state, chain, spec)) lines.push(`-I ${chain} 1 ${spec}`);
    }
    for (const chain of [STAGE1, STAGE2]) {
      if (!state.rules.some((r) => r.chain === chain && isBareReturn(r))) {
        lines.push(`-A ${chain} -m comment --comment "${ISOLATION_COMMENT}" -j RETURN`);
      }
    }
  }
  return lines;
}

/**
 * The restore lines that delete rules: ours by comment (`match`), plus rules in the reference's
 * own form (no comment) for `legacyAddresses`, so an attachment the Go plugin made is cleaned too.
 */
export function deleteScript(state: FilterState, match: (comment: string) => boolean, legacyAddresses: readonly FirewallAddress[] = []): string[] {
  const legacy = new Set(legacyAddresses.flatMap((a) => addressRules(a, undefined)).map(normalizeSpec));
  return state.rules
    .filter((r) => r.chain === PRIV_CHAIN && (r.comment !== undefined ? match(r.comment) : legacy.has(normalizeSpec(r.spec))))
    .map((r) => `-D ${r.chain} ${r.spec}`);
}

/** What CHECK finds missing in one family's filter table (empty: all there). */
export function checkState(state: FilterState, plan: AddPlan): string[] {
  const missing: string[] = [];
  for (const chain of [PRIV_CHAIN, plan.adminChain]) if (!state.chains.has(chain)) missing.push(`chain ${chain}`);
  if (!state.rules.some((r) => r.chain === FORWARD && jumpsTo(r, PRIV_CHAIN))) missing.push(`${FORWARD} rule -j ${PRIV_CHAIN}`);
  if (!state.rules.some((r) => r.chain === PRIV_CHAIN && jumpsTo(r, plan.adminChain))) missing.push(`${PRIV_CHAIN} rule -j ${plan.adminChain}`);
  for (const a of plan.addresses) {
    for (const spec of addressRules(a, plan.comment)) {
      const want = normalizeSpec(spec);
      if (!state.rules.some((r) => r.chain === PRIV_CHAIN && r.comment === plan.comment && normalizeSpec(r.spec) === want)) {
        missing.push(`${PRIV_CHAIN} rule ${spec}`);
      }
    }
  }
  if (plan.isolation !== undefined) {
    if (!state.rules.some((r) => r.chain === FORWARD && jumpsTo(r, STAGE1))) missing.push(`${FORWARD} rule -j ${STAGE1}`);
    for (const [chain, spec] of isolationRules(plan.isolation.bridge, plan.isolation.policy)) {
      if (!hasRule(state, chain, spec)) missing.push(`${chain} rule ${spec}`);
    }
  }
  return missing;
}

/** The restore input: one transaction on the filter table. */
export function restoreInput(lines: readonly string[]): string {
  return `*filter\n${lines.join('\n')}\nCOMMIT\n`;
}

/** Does the family's filter table hold rules of this attachment (by comment prefix)? */
export function hasOwnerRules(state: FilterState, prefix: string): boolean {
  return state.rules.some((r) => r.chain === PRIV_CHAIN && r.comment?.startsWith(prefix) === true);
}

/** The address of a rule spec (`-s`/`-d`), to tell which addresses a state covers. */
export function specAddressIs(spec: string, a: FirewallAddress): boolean {
  const m = /(?:^| )-[sd] (\S+)/.exec(spec);
  const n = m === null ? undefined : parseCIDR(m[1] as string);
  const want = parseCIDR(a.host);
  return n !== undefined && want !== undefined && ipEqual(n.ip, want.ip);
}

// ---------------------------------------------------------------------------------------------
// The real runner: iptables-save / iptables-restore (and the ip6 ones) found on PATH or in sbin.

/** Runtimes may exec plugins without PATH; iptables lives in sbin. */
const SBIN = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin'];

export function findTool(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter).filter((d) => d !== ''), ...SBIN]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function run(file: string, argv: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const text = stderr.trim() === '' ? err.message : stderr.trim();
        reject(new CniError(ErrorCode.Internal, `${file.slice(file.lastIndexOf('/') + 1)} failed: ${text}`, undefined, { cause: err }));
        return;
      }
      resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * iptables through its save/restore tools. `wrap` prefixes every command (tests run them inside a
 * namespace with `ip netns exec NAME`).
 */
export function execRunner(opts: { wrap?: readonly string[]; path?: string } = {}): IptablesRunner {
  const tool = (family: Family, what: 'save' | 'restore'): string => {
    const name = `${family === 4 ? 'iptables' : 'ip6tables'}-${what}`;
    const found = findTool(name, opts.path);
    if (found === undefined) throw new CniError(ErrorCode.PluginNotAvailable, `${name} not found (looked in PATH and ${SBIN.join(', ')})`);
    return found;
  };
  const exec = (file: string, argv: string[], input?: string): Promise<string> => {
    const wrap = opts.wrap ?? [];
    return wrap.length === 0 ? run(file, argv, input) : run(wrap[0] as string, [...wrap.slice(1), file, ...argv], input);
  };
  return {
    save: (family) => exec(tool(family, 'save'), ['-t', 'filter']),
    restore: async (family, script) => {
      await exec(tool(family, 'restore'), ['--noflush', '-w'], script);
    },
  };
}

/** How often an operation re-reads and re-applies after a concurrent change made its restore fail. */
const ATTEMPTS = 4;

/**
 * Read the family's filter table, compute the restore lines, apply them in one restore; when the
 * restore fails (another agent changed the table between read and write, e.g. created the chain
 * first), read again and retry. Returns the lines applied (empty: nothing needed).
 */
export async function applyWithRetry(runner: IptablesRunner, family: Family, compute: (s: FilterState) => string[]): Promise<string[]> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const lines = compute(parseFilterSave(await runner.save(family)));
    if (lines.length === 0) return lines;
    try {
      await runner.restore(family, restoreInput(lines));
      return lines;
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 50)));
    }
  }
  throw lastError;
}
