// Floor 3 (ipam/dhcp): the time seam of the DHCP client. The daemon uses the system clock; tests
// drive the RFC 2131 timers with FakeClock instead of waiting for them.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  schedule(ms: number, fn: () => void): Timer;
}

/** Node's timers (setTimeout caps at 2^31-1 ms, so longer waits are chained). */
export const systemClock: Clock = {
  now: () => performance.now(),
  schedule(ms, fn) {
    const MAX = 0x7fffffff;
    let handle: NodeJS.Timeout;
    const arm = (left: number): void => {
      handle = setTimeout(left > MAX ? () => arm(left - MAX) : fn, Math.min(Math.max(0, left), MAX));
    };
    arm(ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

/** A clock that only moves when told to; due timers run in deadline order (then schedule order). */
export class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  schedule(ms: number, fn: () => void): Timer {
    const id = this.seq++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return { cancel: () => this.timers.delete(id) };
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.timers.size;
  }

  /** Deadline of the earliest pending timer. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers.values()) if (best === undefined || t.at < best) best = t.at;
    return best;
  }

  /** Moves time forward by ms, running every timer that falls due on the way (including ones they schedule). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let nextId: number | undefined;
      let next: { at: number; fn: () => void } | undefined;
      for (const [id, t] of this.timers) {
        if (t.at <= end && (next === undefined || t.at < next.at)) {
          next = t;
          nextId = id;
        }
      }
      if (next === undefined || nextId === undefined) break;
      this.timers.delete(nextId);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }
}
