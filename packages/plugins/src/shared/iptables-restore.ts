// Floor 3 (plugins/shared): iptables for the plugins that must keep an iptables backend, applied
// the batched way — read a table once with `iptables-save -t TABLE`, write every change in ONE
// `iptables-restore --noflush` per IP version — instead of the reference's exec per rule (go-iptables),
// whose xtables-lock contention is a known pain point (plugins#510, #662). The one home for finding
// and running these tools: runtimes may exec a plugin without PATH, where execvp's default
// (/bin:/usr/bin) misses sbin, where they live.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Searched after PATH. */
const SBIN_DIRS: readonly string[] = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin'];

/** The absolute path of a tool: PATH first, then the sbin directories; undefined when absent. */
export function findTool(name: string, path: string = process.env['PATH'] ?? ''): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of [...path.split(delimiter).filter((d) => d !== ''), ...SBIN_DIRS]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The default runner: the program found by findTool (an unknown name is spawned as is, to fail as
 * ENOENT), fed `input`, output collected; never throws. child_process loads on the first run, so
 * plugins that never exec pay nothing for it at start-up.
 */
export const toolRunner: CommandRunner = async (cmd, args, input) => {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(findTool(cmd) ?? cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
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
};

export function saveCommand(v: IptVersion): string {
  return v === 4 ? 'iptables-save' : 'ip6tables-save';
}

function restoreCommand(v: IptVersion): string {
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

/**
 * A failed iptables tool run as a CNI error naming the command: a tool that is not installed is
 * code 50 (PluginNotAvailable), any other failure code 999 with the tool's stderr.
 */
export function iptablesToolError(what: string, r: CommandResult): CniError {
  if (r.error?.code === 'ENOENT') {
    return new CniError(ErrorCode.PluginNotAvailable, `${what}: not found (looked in PATH and ${SBIN_DIRS.join(', ')})`);
  }
  if (r.error !== undefined) return new CniError(ErrorCode.Internal, `${what}: ${r.error.message}`);
  return new CniError(ErrorCode.Internal, `${what}: exit status ${r.code}: ${r.stderr.trim()}`);
}

/** `iptables-save -t TABLE` parsed; undefined when the tool is missing and `absentOk`. */
async function readTable(run: CommandRunner, v: IptVersion, table: string, absentOk: boolean): Promise<SavedTable | undefined> {
  const cmd = saveCommand(v);
  const r = await run(cmd, ['-t', table]);
  if (r.code === 0) return parseSave(r.stdout, table);
  if (absentOk && r.error?.code === 'ENOENT') return undefined;
  throw iptablesToolError(`${cmd} -t ${table}`, r);
}

/** `iptables-save -t TABLE` (or ip6tables-save), parsed. */
export async function saveTable(run: CommandRunner, v: IptVersion, table: string): Promise<SavedTable> {
  return (await readTable(run, v, table, false)) as SavedTable;
}

/**
 * Applies `lines` (chain declarations, -N/-A/-D/-F/-X commands) to TABLE in one
 * `iptables-restore --noflush` transaction: all of it or nothing. Returns the failure instead of
 * throwing, so callers can re-read the table and retry when another writer got in between.
 */
async function restoreTable(run: CommandRunner, v: IptVersion, table: string, lines: readonly string[]): Promise<CommandResult> {
  const text = `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  // -w: wait for the xtables lock (iptables-legacy) instead of failing.
  return run(restoreCommand(v), ['--noflush', '-w'], text);
}

/** How often a transaction reads and applies before it gives up on a table that keeps changing under it. */
const ATTEMPTS = 4;

export interface TransactOptions {
  /** A missing save tool (e.g. no ip6tables) means this IP version has nothing to change. */
  readonly absentOk?: boolean;
}

/**
 * Reads TABLE, asks `plan` for the restore lines that bring it where it should be, and applies them
 * in one restore. When the restore fails because another writer changed the table between read and
 * write (e.g. created a shared chain first), it reads, plans and applies again after a short random
 * pause. Returns the lines applied (empty: nothing was needed).
 */
export async function transactTable(
  run: CommandRunner,
  v: IptVersion,
  table: string,
  plan: (t: SavedTable) => string[],
  o: TransactOptions = {},
): Promise<string[]> {
  let last: CniError | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(20 + Math.floor(Math.random() * 50));
    const saved = await readTable(run, v, table, o.absentOk === true);
    if (saved === undefined) return [];
    const lines = plan(saved);
    if (lines.length === 0) return lines;
    const r = await restoreTable(run, v, table, lines);
    if (r.code === 0) return lines;
    last = iptablesToolError(`${restoreCommand(v)} --noflush`, r);
    // The restore tool did not run at all: another read will not change that.
    if (r.error !== undefined) break;
  }
  throw last;
}
