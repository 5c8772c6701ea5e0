// Floor 3 (plugins/shared): the install marker that lets a plugin recognise an executable on
// CNI_PATH as one of ours from the same build, by reading a few hundred bytes instead of running it.
// tools/install-plugins writes it as the second line of every installed executable:
//   //tscni-plugin type=<plugin type> build=<hex id of the installed set>
// The build id is a hash over all executables installed together, so "same build id" means "same
// source": running the implementation in-process is then exactly what exec'ing it would run.
import { closeSync, openSync, readSync } from 'node:fs';

export interface PluginMarker {
  /** The plugin the executable implements (independent of its file name). */
  type: string;
  build: string;
}

export const MARKER_PREFIX = '//tscni-plugin ';
const MARKER_RE = /^\/\/tscni-plugin type=([a-z0-9][a-z0-9._-]*) build=([0-9a-f]{8,64})$/;

/** How much of a file's head is read: a shebang line plus the marker line fit easily. */
const HEAD_BYTES = 512;

/** The marker line for an installed executable. */
export function formatMarker(m: PluginMarker): string {
  return `${MARKER_PREFIX}type=${m.type} build=${m.build}`;
}

/** The marker in a file's text head: the first line, or the second after a `#!` line. */
export function parseMarker(head: string): PluginMarker | undefined {
  const lines = head.split('\n', 3);
  const line = lines[0]?.startsWith('#!') ? lines[1] : lines[0];
  const m = line === undefined ? null : MARKER_RE.exec(line);
  return m === null ? undefined : { type: m[1] as string, build: m[2] as string };
}

/** The marker of the executable at `path`, or undefined (unreadable, or not one of ours). */
export function readMarker(path: string): PluginMarker | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    return parseMarker(buf.subarray(0, n).toString('latin1'));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

let self: { marker: PluginMarker | undefined } | undefined;

/** The marker of the running executable (process.argv[1]), read once. */
export function selfMarker(): PluginMarker | undefined {
  if (self === undefined) {
    const script = process.argv[1];
    self = { marker: script === undefined || script === '' ? undefined : readMarker(script) };
  }
  return self.marker;
}
