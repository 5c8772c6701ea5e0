// Test support (private): small fixtures shared by every package's tests: temporary directories,
// names unique per run, an in-memory PluginIO, and where the bundled test plugins are.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginIO } from '@tscni/skel';
import type { DebugRecord } from './debug-plugin.js';

export interface TempDir {
  readonly path: string;
  /** Removes the directory and everything in it; safe to call twice. */
  remove(): Promise<void>;
}

export async function makeTempDir(prefix = 'tscni-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * `prefix` + random hex, at most `maxLength` characters (default 15, the kernel's interface name
 * limit), so namespaces, links and files from parallel runs never collide.
 */
export function uniqueName(prefix: string, maxLength = 15): string {
  const room = maxLength - prefix.length;
  if (room < 4) throw new Error(`uniqueName: prefix "${prefix}" leaves fewer than 4 characters of ${maxLength}`);
  return prefix + randomBytes(Math.ceil(room / 2)).toString('hex').slice(0, room);
}

export interface CapturedIO {
  io: PluginIO;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** The code passed to `exit`, or undefined when it was not called. */
  exitCode(): number | undefined;
}

/** A PluginIO over memory: the given env and stdin, stdout/stderr/exit recorded. */
export function captureIO(env: Record<string, string | undefined>, stdin: string | Uint8Array = ''): CapturedIO {
  let out = '';
  let err = '';
  let code: number | undefined;
  const bytes = typeof stdin === 'string' ? new TextEncoder().encode(stdin) : stdin;
  return {
    io: {
      env,
      stdin: () => Promise.resolve(bytes),
      stdout: (s) => {
        out += s;
      },
      stderr: (s) => {
        err += s;
      },
      exit: (c) => {
        code = c;
      },
    },
    stdout: () => out,
    stderr: () => err,
    exitCode: () => code,
  };
}

export const TEST_PLUGIN_NAMES = ['tscni-debug', 'tscni-noop'] as const;
export type TestPluginName = (typeof TEST_PLUGIN_NAMES)[number];

/** The directory holding the bundled test plugins (`pnpm --filter @tscni/testing build`). */
export function testPluginDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin');
}

/** Absolute path of a bundled test plugin; a clear error when it has not been built. */
export function testPluginPath(name: TestPluginName): string {
  const path = join(testPluginDir(), name);
  if (!existsSync(path)) {
    throw new Error(`test plugin ${name} is not built (looked for ${path}); run: pnpm --filter @tscni/testing build`);
  }
  return path;
}

/** The calls tscni-debug recorded in its `debugFile`, oldest first ([] when it never ran). */
export async function readDebugRecords(file: string): Promise<DebugRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as DebugRecord);
}
