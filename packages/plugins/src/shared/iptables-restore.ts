// Floor 3 (plugins/shared): iptables for the plugins that must keep an iptables backend, applied
// the batched way — read a table once with `iptables-save -t TABLE`, write every change in ONE
// `iptables-restore --noflush` per IP version — instead of the reference's exec per rule (go-iptables),
// whose xtables-lock contention is a known pain point (plugins#510, #662).
import { spawn } from 'node:child_process';
import { CniError, ErrorCode } from '@tscni/spec';

export type IptVersion = 4 | 6;

export interface CommandResult {
  /** Exit status; null when the process did not start (`error` says why) or was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: NodeJS.ErrnoException;
}

/** Runs a program with optional stdin. Tests wrap it (e.g. `nsenter --net=...`) to aim elsewhere. */
export type CommandRunner = (cmd: string, args: readonly string[], input?: string) => Promise<CommandResult>;

/** The default runner: spawn on PATH, collect output, never throw. */
export const spawnRunner: CommandRunner = (cmd, args, input) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failure: NodeJS.ErrnoException | undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      failure = e;
    });
    // A program that exits without reading stdin closes the pipe; that is its answer, not ours.
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      resolve({
        code: failure === undefined ? code : null,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ...(failure === undefined ? {} : { error: failure }),
      });
    });
    child.stdin.end(input ?? '');
  });

export function saveCommand(v: IptVersion): string {
  return v === 4 ? 'iptables-save' : 'ip6tables-save';
}

export function restoreCommand(v: IptVersion): string {
  return v === 4 ? 'iptables-restore' : 'ip6tables-restore';
}

/** One rule as iptables-save prints it: the chain and the tokens after `-A CHAIN` (quotes removed). */
export interface SavedRule {
  readonly chain: string;
  readonly spec: readonly string[];
}

/** A table as iptables-save printed it. */
export interface SavedTable {
  readonly chains: ReadonlySet<string>;
  readonly rules: readonly SavedRule[];
}

/** Splits a rule line into arguments as iptables-restore does: "double quotes" with \" and \\ escapes. */
export function splitRuleLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
        cur += line[++i];
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** One argument for a restore file: quoted (with escapes) when it holds blanks or quotes. */
export function quoteArg(a: string): string {
  if (a !== '' && !/[\s"\\]/.test(a)) return a;
  return `"${a.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function formatRuleLine(op: '-A' | '-D' | '-I', chain: string, spec: readonly string[]): string {
  return [op, chain, ...spec].map(quoteArg).join(' ');
}

/** Parses the `*TABLE ... COMMIT` block of iptables-save output for one table. */
export function parseSave(text: string, table: string): SavedTable {
  const chains = new Set<string>();
  const rules: SavedRule[] = [];
  let inTable = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      inTable = line.slice(1) === table;
      continue;
    }
    if (!inTable) continue;
    if (line === 'COMMIT') {
      inTable = false;
      continue;
    }
    if (line.startsWith(':')) {
      chains.add(line.slice(1).split(' ')[0]!);
      continue;
    }
    const args = splitRuleLine(line);
    if (args[0] === '-A' && args[1] !== undefined) rules.push({ chain: args[1], spec: args.slice(2) });
  }
  return { chains, rules };
}

/** The rule's target (`-j X`), if any. */
export function ruleTarget(spec: readonly string[]): string | undefined {
  const i = spec.indexOf('-j');
  return i < 0 ? undefined : spec[i + 1];
}

/** The value after an option, e.g. `--comment`. */
export function ruleOption(spec: readonly string[], option: string): string | undefined {
  const i = spec.indexOf(option);
  return i < 0 ? undefined : spec[i + 1];
}

export function sameSpec(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A failed iptables tool run as a CNI error (code 999) naming the command and its stderr. */
export function iptablesToolError(what: string, r: CommandResult): CniError {
  if (r.error !== undefined) {
    return new CniError(ErrorCode.Internal, `${what}: ${r.error.code === 'ENOENT' ? 'not found in PATH' : r.error.message}`);
  }
  return new CniError(ErrorCode.Internal, `${what}: exit status ${r.code}: ${r.stderr.trim()}`);
}

/** `iptables-save -t TABLE` (or ip6tables-save), parsed. */
export async function saveTable(run: CommandRunner, v: IptVersion, table: string): Promise<SavedTable> {
  const cmd = saveCommand(v);
  const r = await run(cmd, ['-t', table]);
  if (r.code !== 0) throw iptablesToolError(`${cmd} -t ${table}`, r);
  return parseSave(r.stdout, table);
}

/**
 * Applies `lines` (chain declarations, -N/-A/-D/-F/-X commands) to TABLE in one
 * `iptables-restore --noflush` transaction: all of it or nothing. Returns the failure instead of
 * throwing, so callers can re-read the table and retry when another writer got in between.
 */
export async function restoreTable(run: CommandRunner, v: IptVersion, table: string, lines: readonly string[]): Promise<CommandResult> {
  const text = `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  // -w: wait for the xtables lock (iptables-legacy) instead of failing.
  return run(restoreCommand(v), ['--noflush', '-w'], text);
}

/** restoreTable that throws a CNI error (code 999) naming the command and its stderr. */
export async function restoreTableOrThrow(run: CommandRunner, v: IptVersion, table: string, lines: readonly string[]): Promise<void> {
  const r = await restoreTable(run, v, table, lines);
  if (r.code !== 0) throw iptablesToolError(`${restoreCommand(v)} --noflush`, r);
}
