// Plugin side (skel): the process I/O a plugin uses, behind one injectable interface (like Go skel's
// dispatcher fields). Defaults use synchronous fd calls: no stream objects are built on start-up.
import { fstatSync, readFileSync, writeSync } from 'node:fs';

export interface PluginIO {
  env: Record<string, string | undefined>;
  stdin: () => Promise<Uint8Array>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  exit: (code: number) => void;
}

/** Writes all of `s` to a file descriptor, retrying when a non-blocking pipe is momentarily full. */
export function writeAllSync(fd: number, s: string): void {
  let buf = Buffer.from(s, 'utf8');
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

async function readStdinStream(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads all of fd 0. A non-blocking stdin (EAGAIN) falls back to the stream reader. */
export async function readProcessStdin(): Promise<Uint8Array> {
  try {
    return readFileSync(0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return readStdinStream();
    throw e;
  }
}

/**
 * True when fd 0 is a character device (a terminal, or /dev/null): VERSION then does not wait for
 * input that a person at a shell never sends. An fstat is cheaper than loading node:tty.
 */
export function stdinIsCharDevice(): boolean {
  try {
    return fstatSync(0).isCharacterDevice();
  } catch {
    return false;
  }
}

/** The real process: environment, fd 0/1/2 and `process.exit`. */
export function processIO(): PluginIO {
  return {
    env: process.env,
    stdin: readProcessStdin,
    stdout: (s) => writeAllSync(1, s),
    stderr: (s) => writeAllSync(2, s),
    exit: (code) => process.exit(code),
  };
}
