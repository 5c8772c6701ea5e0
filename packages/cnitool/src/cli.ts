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
}

/** Parsed command line: the verb, its positional arguments and the global flags. */
export interface Invocation {
  verb: string;
  args: string[];
  ifName: string | undefined;
  /** Overrides the container ID derived from the netns path (an extension over the reference). */
  containerId: string | undefined;
  timeoutMs: number | undefined;
}

export interface CommandContext {
  io: CliIO;
  inv: Invocation;
}

export type Command = (ctx: CommandContext) => Promise<void>;

/** A bad command line (unknown verb or flag, missing argument). Exit status 64 (EX_USAGE), not a CNI code. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE_EXIT_CODE = 64;

interface CommandSpec {
  /** Positional argument names; a trailing `?` marks an optional one. */
  args: readonly string[];
  load: () => Promise<Command>;
}

// Commands are loaded lazily so a run only pays for the one it executes.
const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  add: { args: ['network-name', 'netns'], load: async () => (await import('./commands/add.js')).add },
  check: { args: ['network-name', 'netns'], load: async () => (await import('./commands/check.js')).check },
  del: { args: ['network-name', 'netns'], load: async () => (await import('./commands/del.js')).del },
  gc: { args: ['network-name', 'netns?'], load: async () => (await import('./commands/gc.js')).gc },
  status: { args: ['network-name', 'netns?'], load: async () => (await import('./commands/status.js')).status },
  version: { args: ['plugin-type'], load: async () => (await import('./commands/version.js')).version },
};

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
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown flag: ${a}`);
    else positional.push(a);
  }
  const [verb, ...args] = positional;
  if (verb === undefined || verb === 'help') {
    if (verb === 'help' && args[0] !== undefined) return { help: verbHelp(args[0]) ?? HELP };
    return 'help';
  }
  if (help) return { help: verbHelp(verb) ?? HELP };
  return { verb, args, ifName, containerId, timeoutMs };
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
    const spec = COMMANDS[parsed.verb];
    if (spec === undefined) throw new UsageError(`unknown command ${JSON.stringify(parsed.verb)}`);
    const required = spec.args.filter((a) => !a.endsWith('?'));
    if (parsed.args.length < required.length) {
      throw new UsageError(`${parsed.verb} needs ${spec.args.map((a) => `<${a.replace('?', '')}>`).join(' ')}; missing <${required[parsed.args.length]}>`);
    }
    if (parsed.args.length > spec.args.length) throw new UsageError(`${parsed.verb}: unexpected argument ${JSON.stringify(parsed.args[spec.args.length])}`);
    const command = await spec.load();
    await command({ io, inv: parsed });
    return 0;
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
