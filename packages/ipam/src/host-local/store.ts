// Floor 3 (ipam/host-local): the allocation store behind host-local (the reference's backend.Store),
// with an in-memory implementation for tests and embedding. The disk store is in disk-store.ts.
import { formatIP } from '@tscni/ip';
import type { IP } from '@tscni/ip';

/** One reserved address. `ifname` is undefined for the legacy format, which recorded only the container ID. */
export interface Allocation {
  readonly ip: IP;
  readonly containerId: string;
  readonly ifname: string | undefined;
}

/**
 * State of one network. Every method except `list` must be called inside `withLock`, which
 * serialises all users of the network (processes included, for the disk store).
 */
export interface Store {
  /** Runs `fn` holding the network's exclusive lock. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Records `ip` for (id, ifname) unless it is taken; on success `ip` becomes the range set's last reserved address. */
  reserve(id: string, ifname: string, ip: IP, rangeId: string): Promise<boolean>;
  lastReservedIP(rangeId: string): Promise<IP | undefined>;
  /** Addresses held by (id, ifname), and by `id` in the legacy format. */
  getById(id: string, ifname: string): Promise<IP[]>;
  /**
   * Frees what (id, ifname) holds; only when nothing matches, frees the legacy records of `id`
   * (the reference's fallback). Returns the freed addresses.
   */
  releaseById(id: string, ifname: string): Promise<IP[]>;
  /** Frees one address; false when it was not reserved. */
  release(ip: IP): Promise<boolean>;
  /** Every reservation of the network (a snapshot; may be called without the lock). */
  list(): Promise<Allocation[]>;
  close(): Promise<void>;
}

/** Matches a record against (id, ifname) the way the reference compares file contents. */
export function matchesExact(a: Allocation, id: string, ifname: string): boolean {
  return a.ifname === ifname && a.containerId === id.trim();
}

export function matchesLegacy(a: Allocation, id: string): boolean {
  return a.ifname === undefined && a.containerId === id.trim();
}

/** Serialises async critical sections within one process. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#tail;
    let done!: () => void;
    this.#tail = new Promise<void>((resolve) => (done = resolve));
    await prev;
    try {
      return await fn();
    } finally {
      done();
    }
  }
}

/** A Store in memory: same semantics as the disk store, for tests and in-process embedding. */
export class MemoryStore implements Store {
  readonly #records = new Map<string, Allocation>();
  readonly #last = new Map<string, IP>();
  readonly #mutex = new Mutex();

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(fn);
  }

  async reserve(id: string, ifname: string, ip: IP, rangeId: string): Promise<boolean> {
    const key = formatIP(ip);
    if (this.#records.has(key)) return false;
    this.#records.set(key, { ip, containerId: id.trim(), ifname });
    this.#last.set(rangeId, ip);
    return true;
  }

  async lastReservedIP(rangeId: string): Promise<IP | undefined> {
    return this.#last.get(rangeId);
  }

  async getById(id: string, ifname: string): Promise<IP[]> {
    return [...this.#records.values()].filter((a) => matchesExact(a, id, ifname) || matchesLegacy(a, id)).map((a) => a.ip);
  }

  async releaseById(id: string, ifname: string): Promise<IP[]> {
    let hits = [...this.#records.entries()].filter(([, a]) => matchesExact(a, id, ifname));
    if (hits.length === 0) hits = [...this.#records.entries()].filter(([, a]) => matchesLegacy(a, id));
    for (const [key] of hits) this.#records.delete(key);
    return hits.map(([, a]) => a.ip);
  }

  async release(ip: IP): Promise<boolean> {
    return this.#records.delete(formatIP(ip));
  }

  async list(): Promise<Allocation[]> {
    return [...this.#records.values()];
  }

  /** Adds a record in the legacy format (container ID only), as an old host-local left it. */
  putLegacy(ip: IP, id: string): void {
    this.#records.set(formatIP(ip), { ip, containerId: id, ifname: undefined });
  }

  async close(): Promise<void> {}
}
