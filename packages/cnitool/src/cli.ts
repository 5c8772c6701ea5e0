// CLI layer (floor 3): argument parsing, the command table and the one place errors become exit
// codes, for the `cnitool` command (mirrors the reference cnitool's verbs, flags and environment).
import { CniError } from '@tscni/spec';
import type { PluginExec } from '@tscni/engine';
import { HELP, verbHelp } from './help.js';

/** Where a run reads its environment and writes its output; the bin passes the real process. */
export interface CliIO {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Base for a relative netns path (default process.cwd()). */
  cwd?: string;
  /** Plugin execution (default: the engine's RawExec); tests pass a FakeExec. */
  exec?: PluginExec;
  /** Aborts the running plugin (the bin wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Subscribes to the signals the process receives (SIGINT, SIGTERM, SIGHUP, SIGQUIT) and returns
   * the unsubscribe; `netns exec` passes them on to its command. */
  onSignal?: (listener: (signal: NodeJS.Signals) => void) => () => void;
}

/** Parsed command line: the verb, its positional arguments and the global flags. */
export interface Invocation {
  verb: string;
  args: string[];
  ifName: string | undefined;
  /** Overrides the container ID derived from the netns path (an extension over the reference). */
  containerId: string | undefined;
  timeoutMs: number | undefined;
  /** `--json`: machine-readable output (only commands that declare it accept it). */
  json: boolean;
}

export interface CommandContext {
  io: CliIO;
  inv: Invocation;
}

/** A command resolves with its exit status when it has one of its own (`netns exec`), else 0. */
export type Command = (ctx: CommandContext) => Promise<number | void>;

/** A bad command line (unknown verb or flag, missing argument). Exit status 64 (EX_USAGE), not a CNI code. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE_EXIT_CODE = 64;

interface CommandSpec {
  /** Positional argument names; a trailing `?` marks an optional one, a trailing `...` a command
   * line that takes the rest of argv verbatim (flags included) from its first word on. */
  args: readonly string[];
  /** Accepts `--json`. */
  json?: true;
  load: () => Promise<Command>;
}

// Commands are loaded lazily so a run only pays for the one it executes (the netns commands are
// the only ones that load @tscni/netlink). Two-word keys are subcommands of a group (`netns`).
const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  add: { args: ['network-name', 'netns'], load: async () => (await import('./commands/add.js')).add },
  check: { args: ['network-name', 'netns'], load: async () => (await import('./commands/check.js')).check },
  del: { args: ['network-name', 'netns'], load: async () => (await import('./commands/del.js')).del },
  gc: { args: ['network-name', 'netns?'], load: async () => (await import('./commands/gc.js')).gc },
  status: { args: ['network-name', 'netns?'], load: async () => (await import('./commands/status.js')).status },
  version: { args: ['plugin-type'], load: async () => (await import('./commands/version.js')).version },
  'netns add': { args: ['name'], load: async () => (await import('./commands/netns-add.js')).netnsAdd },
  'netns del': { args: ['name'], load: async () => (await import('./commands/netns-del.js')).netnsDel },
  'netns list': { args: [], json: true, load: async () => (await import('./commands/netns-list.js')).netnsList },
  'netns exec': { args: ['name', 'command...'], load: async () => (await import('./commands/netns-exec.js')).netnsExec },
};

function lookupCommand(key: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, key) ? COMMANDS[key] : undefined;
}

/** The subcommands of a group verb (`netns` → add, del, list, exec); empty for other words. */
function subcommandsOf(group: string): string[] {
  return Object.keys(COMMANDS)
    .filter((k) => k.startsWith(`${group} `))
    .map((k) => k.slice(group.length + 1));
}

/** The command key named by the leading positionals and how many words it takes. */
function commandKey(positional: readonly string[]): { key: string; words: number } | undefined {
  const [first, second] = positional;
  if (first === undefined) return undefined;
  if (subcommandsOf(first).length > 0) return second === undefined ? undefined : { key: `${first} ${second}`, words: 2 };
  return { key: first, words: 1 };
}

/** True once the positionals reach the first word of a command line argument (`netns exec NAME CMD`). */
function atVerbatimArgs(positional: readonly string[]): boolean {
  const found = commandKey(positional);
  const spec = found === undefined ? undefined : lookupCommand(found.key);
  if (found === undefined || spec === undefined || spec.args.at(-1)?.endsWith('...') !== true) return false;
  return positional.length === found.words + spec.args.length;
}

const argName = (a: string): string => a.replace(/(\?|\.\.\.)$/, '');

function parseTimeout(v: string): number {
  const s = Number(v);
  if (v.trim() === '' || !Number.isFinite(s) || s < 0) throw new UsageError(`invalid --timeout ${JSON.stringify(v)}: want seconds >= 0`);
  return Math.round(s * 1000);
}

/** Splits argv into verb, positionals and flags; flags may appear anywhere, `--` ends them. */
export function parseArgv(argv: readonly string[]): Invocation | 'help' | { help: string } {
  const positional: string[] = [];
  let ifName: string | undefined;
  let containerId: string | undefined;
  let timeoutMs: number | undefined;
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const takeValue = (flag: string, inline: string | undefined): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: ${flag}`);
      return v;
    };
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    if (name === '-h' || name === '--help') help = true;
    else if (name === '-i' || name === '--ifname') ifName = takeValue(name, inline);
    else if (name === '--container-id') containerId = takeValue(name, inline);
    else if (name === '-t' || name === '--timeout') timeoutMs = parseTimeout(takeValue(name, inline));
    else if (a === '--json') json = true;
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown flag: ${a}`);
    else {
      positional.push(a);
      if (atVerbatimArgs(positional)) {
        positional.push(...argv.slice(i + 1));
        break;
      }
    }
  }
  if (positional[0] === undefined || positional[0] === 'help') {
    if (positional[0] === 'help' && positional[1] !== undefined) return { help: helpFor(positional.slice(1)) };
    return 'help';
  }
  if (help) return { help: helpFor(positional) };
  const words = commandKey(positional)?.words ?? 1;
  return { verb: positional.slice(0, words).join(' '), args: positional.slice(words), ifName, containerId, timeoutMs, json };
}

/** Help for `verb` or `group subcommand`, falling back to the group's, then the general help. */
function helpFor(words: readonly string[]): string {
  const [first = '', second] = words;
  return (second === undefined ? undefined : verbHelp(`${first} ${second}`)) ?? verbHelp(first) ?? HELP;
}

/** The exit status for a CNI error code: the code itself when it fits, 255 otherwise (0 and 999 included). */
export function exitCodeFor(code: number): number {
  return Number.isInteger(code) && code >= 1 && code <= 254 ? code : 255;
}

/** Runs one cnitool command line and returns the exit status. Never throws; errors go to io.stderr. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    const parsed = parseArgv(argv);
    if (parsed === 'help') {
      io.stdout(HELP);
      return 0;
    }
    if ('help' in parsed) {
      io.stdout(parsed.help);
      return 0;
    }
    const spec = lookupCommand(parsed.verb);
    if (spec === undefined) {
      const subs = subcommandsOf(parsed.verb);
      if (subs.length > 0) throw new UsageError(`${parsed.verb} needs a command: ${subs.join(', ')}`);
      throw new UsageError(`unknown command ${JSON.stringify(parsed.verb)}`);
    }
    const required = spec.args.filter((a) => !a.endsWith('?'));
    if (parsed.args.length < required.length) {
      throw new UsageError(`${parsed.verb} needs ${spec.args.map((a) => `<${argName(a)}>`).join(' ')}; missing <${argName(required[parsed.args.length] as string)}>`);
    }
    const variadic = spec.args.at(-1)?.endsWith('...') === true;
    if (!variadic && parsed.args.length > spec.args.length) throw new UsageError(`${parsed.verb}: unexpected argument ${JSON.stringify(parsed.args[spec.args.length])}`);
    if (parsed.json && spec.json !== true) throw new UsageError(`${parsed.verb} does not accept --json`);
    const command = await spec.load();
    return (await command({ io, inv: parsed })) ?? 0;
  } catch (e) {
    return reportError(e, io);
  }
}

/** The single error → exit status mapping: `Error: <msg>` on stderr, never a stack trace. */
function reportError(e: unknown, io: CliIO): number {
  if (e instanceof UsageError) {
    io.stderr(`Error: ${e.message}\nRun 'cnitool --help' for usage.\n`);
    return USAGE_EXIT_CODE;
  }
  if (e instanceof CniError) {
    io.stderr(`Error: ${e.message}\n`);
    return exitCodeFor(e.code);
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.stderr(`Error: ${msg}\n`);
  return exitCodeFor(999);
}
