// Floor 3 (ipam/host-local): the on-disk store, file-compatible with the reference host-local
// (backend/disk) so both can share one dataDir: `<dataDir>/<network>/` (0755) holds one file per
// reserved address named by its text, containing `<containerID>\r\n<ifname>` (0600, created with
// O_EXCL), `last_reserved_ip.<rangeIdx>`, and `lock`, which both implementations flock(LOCK_EX).
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { lockFile } from '@tscni/netlink';
import type { FileLock, LockFileOptions } from '@tscni/netlink';
import { formatIP, parseIP } from '@tscni/ip';
import type { IP } from '@tscni/ip';
import { Mutex, matchesExact, matchesLegacy } from './store.js';
import type { Allocation, Store } from './store.js';

/** How the store takes its cross-process lock: @tscni/netlink's lockFile (flock) unless a test
 * passes its own. */
export type FileLocker = (path: string, opts: LockFileOptions) => Promise<FileLock>;

const LAST_IP_PREFIX = 'last_reserved_ip.';
const LOCK_FILE = 'lock';
const LINE_BREAK = '\r\n';

function isErrno(e: unknown, code: string): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === code;
}

/** File content -> owner. The legacy format (before ifname was recorded) holds only the container ID. */
export function parseAllocationFile(ip: IP, content: string): Allocation {
  const text = content.trim();
  const i = text.indexOf(LINE_BREAK);
  if (i < 0) return { ip, containerId: text, ifname: undefined };
  return { ip, containerId: text.slice(0, i), ifname: text.slice(i + LINE_BREAK.length) };
}

export class DiskStore implements Store {
  /** `<dataDir>/<network>` */
  readonly dir: string;
  readonly #lock: FileLocker;
  readonly #mutex = new Mutex();
  #dirMade = false;

  constructor(dataDir: string, network: string, locker: FileLocker = lockFile) {
    this.dir = join(dataDir, network);
    this.#lock = locker;
  }

  /**
   * In-process callers queue on a mutex first, so that only one of them at a time holds (or waits
   * for) the flock on `<dir>/lock`; that lock excludes other processes.
   */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(async () => {
      if (!this.#dirMade) {
        mkdirSync(this.dir, { recursive: true, mode: 0o755 });
        this.#dirMade = true;
      }
      const lock = await this.#lock(join(this.dir, LOCK_FILE), { exclusive: true, create: true, mode: 0o600 });
      try {
        return await fn();
      } finally {
        lock.release();
      }
    });
  }

  async reserve(id: string, ifname: string, ip: IP, rangeId: string): Promise<boolean> {
    const text = formatIP(ip);
    const file = join(this.dir, text);
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (e) {
      if (isErrno(e, 'EEXIST')) return false;
      throw e;
    }
    try {
      writeSync(fd, `${id.trim()}${LINE_BREAK}${ifname}`);
      closeSync(fd);
    } catch (e) {
      try {
        closeSync(fd);
      } catch {
        // already closed or unusable: the unlink below is what matters
      }
      unlinkSync(file);
      throw e;
    }
    try {
      writeFileSync(join(this.dir, LAST_IP_PREFIX + rangeId), text, { mode: 0o600 });
    } catch (e) {
      // The caller sees a failed reserve, so the address must not stay taken.
      unlinkSync(file);
      throw e;
    }
    return true;
  }

  async lastReservedIP(rangeId: string): Promise<IP | undefined> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, LAST_IP_PREFIX + rangeId), 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
    // An unreadable value only costs round-robin its starting point, as in the reference.
    return parseIP(text.trim());
  }

  async list(): Promise<Allocation[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
    const out: Allocation[] = [];
    for (const name of names) {
      const ip = parseIP(name);
      if (ip === undefined) continue; // lock, last_reserved_ip.N, anything else
      let content: string;
      try {
        content = readFileSync(join(this.dir, name), 'utf8');
      } catch (e) {
        // Released between readdir and read (list may run without the lock), or not a file.
        if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) continue;
        throw e;
      }
      out.push(parseAllocationFile(ip, content));
    }
    return out;
  }

  async getById(id: string, ifname: string): Promise<IP[]> {
    return (await this.list()).filter((a) => matchesExact(a, id, ifname) || matchesLegacy(a, id)).map((a) => a.ip);
  }

  async releaseById(id: string, ifname: string): Promise<IP[]> {
    const all = await this.list();
    let hits = all.filter((a) => matchesExact(a, id, ifname));
    if (hits.length === 0) hits = all.filter((a) => matchesLegacy(a, id));
    const freed: IP[] = [];
    for (const a of hits) if (await this.release(a.ip)) freed.push(a.ip);
    return freed;
  }

  async release(ip: IP): Promise<boolean> {
    try {
      unlinkSync(join(this.dir, formatIP(ip)));
      return true;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
  }

  /** Nothing stays open between withLock calls (each opens and closes the lock file). */
  async close(): Promise<void> {}
}
