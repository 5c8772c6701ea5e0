// Lock layer: advisory whole-file locks with flock(2), as Go's plugins take them (host-local's disk
// store lock, a namespace file). Node has no flock; the addon takes it, waiting off the JS thread.

import { closeSync, constants, openSync } from 'node:fs';
import { loadNative } from '@tscni/native';
import type { NativeBinding } from '@tscni/native';

export interface LockFileOptions {
  /** LOCK_EX (default) or LOCK_SH. */
  readonly exclusive?: boolean;
  /** Create the file (O_CREAT) when it is missing, with `mode` (default 0o600). Default false:
   * a missing file fails with ENOENT. */
  readonly create?: boolean;
  readonly mode?: number;
}

/** A held lock. `release()` unlocks and closes the file; later calls do nothing. */
export interface FileLock {
  readonly path: string;
  /** The locked descriptor (read-only); valid until release. */
  readonly fd: number;
  release(): void;
}

/**
 * Opens `path` read-only (a lock needs no write access, so this works on a namespace file under
 * /run/netns too) and takes flock on it. Resolves once the lock is held; a contended lock is waited
 * for without blocking the event loop. The lock excludes every other open of the file, in this
 * process as in others (Go's host-local, util-linux `flock`). Open errors are Node's (`code`
 * ENOENT, EACCES, …); flock errors carry errno/code/syscall from the addon.
 */
export async function lockFile(path: string, opts: LockFileOptions = {}, binding?: NativeBinding): Promise<FileLock> {
  const b = binding ?? loadNative();
  const flags = constants.O_RDONLY | (opts.create === true ? constants.O_CREAT : 0);
  // libuv opens every file O_CLOEXEC, so a lock never leaks into a child process.
  const fd = openSync(path, flags, opts.mode ?? 0o600);
  try {
    await b.flock(fd, opts.exclusive ?? true);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let held = true;
  return {
    path,
    fd,
    release() {
      if (!held) return;
      held = false;
      try {
        b.funlock(fd);
      } finally {
        // Closing drops the lock anyway; the explicit unlock also covers a descriptor duplicated
        // meanwhile (dup or fork), which would otherwise keep it.
        closeSync(fd);
      }
    },
  };
}
