// Floor 3 (ipam/dhcp): the DHCP daemon — one RFC 2131 client per attachment, keyed like the
// reference by `<containerID>/<netName>/<ifName>`, kept renewing until DEL, GC, or until its
// namespace or link disappears. Requests arrive over the JSON protocol of protocol.ts.
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { CniError, ErrorCode, toCniError } from '@tscni/spec';
import * as z from 'zod/mini';
import type { Channel, ChannelOpener } from './channel.js';
import { ChannelSendError } from './channel.js';
import { DhcpClient } from './client.js';
import type { ClientEvent, LeaseInfo } from './client.js';
import type { Clock, Timer } from './clock.js';
import { systemClock } from './clock.js';
import { MAX_LINE, fromHex } from './protocol.js';
import type { AllocateRequest, DaemonReply, DaemonRequest, WireLease } from './protocol.js';

export interface DaemonSettings {
  /** Prepended to every CNI_NETNS path (the daemon runs in a container with the host at this prefix). */
  hostPrefix?: string;
  /** Ask for broadcast replies in renewals too (INIT always asks). */
  broadcast?: boolean;
  /** How long an ADD may wait for the first ACK, ms. */
  timeoutMs?: number;
  /** Cap of the retransmission backoff, ms. */
  resendMaxMs?: number;
  /** After a lease is lost (expiry, NAK), how long to try for a new one before giving up, ms. */
  reacquireTimeoutMs?: number;
  /** How often each lease's namespace is checked to still exist, ms. */
  watchIntervalMs?: number;
  openChannel: ChannelOpener;
  clock?: Clock;
  log?: (line: string) => void;
  random?: () => number;
}

interface LeaseEntry {
  key: string;
  netName: string;
  ifName: string;
  netns: string;
  /** Namespace file identity at ADD: a different inode at the same path is another namespace. */
  netnsId: string;
  client: DhcpClient;
  channel: Channel;
  watch: Timer | undefined;
  reacquire: Timer | undefined;
}

const keyShape = z.string().check(z.minLength(1));
const requestShape = z.discriminatedUnion('method', [
  z.object({
    method: z.literal('allocate'),
    key: keyShape,
    containerId: keyShape,
    netName: keyShape,
    ifName: keyShape,
    netns: keyShape,
    options: z.array(z.object({ code: z.number().check(z.int(), z.gte(1), z.lte(254)), hex: z.string().check(z.regex(/^(?:[0-9a-f]{2})*$/)) })),
  }),
  z.object({ method: z.literal('release'), key: keyShape }),
  z.object({ method: z.literal('lease'), key: keyShape }),
  z.object({ method: z.literal('gc'), netName: keyShape, keep: z.array(z.string()) }),
  z.object({ method: z.literal('ping') }),
]);

function netnsIdentity(path: string): string {
  const st = statSync(path);
  return `${st.dev}:${st.ino}`;
}

export class DhcpDaemon {
  private readonly leases = new Map<string, LeaseEntry>();
  /** Operations on one key run one after another (an ADD racing its DEL). */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private server: Server | undefined;

  constructor(private readonly settings: DaemonSettings) {
    this.clock = settings.clock ?? systemClock;
    this.log = settings.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  }

  /** Keys of the leases held. */
  get keys(): string[] {
    return [...this.leases.keys()];
  }

  /** Answers one decoded request; never throws. */
  async handle(raw: unknown): Promise<DaemonReply> {
    try {
      const parsed = requestShape.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new CniError(ErrorCode.DecodingFailure, `bad DHCP daemon request: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
      }
      const req = parsed.data as DaemonRequest;
      switch (req.method) {
        case 'ping':
          return { ok: true };
        case 'allocate':
          return { ok: true, lease: await this.serialize(req.key, () => this.allocate(req)) };
        case 'release':
          await this.serialize(req.key, () => this.release(req.key));
          return { ok: true };
        case 'lease': {
          const e = this.leases.get(req.key);
          const lease = e === undefined ? undefined : this.wire(e);
          return lease === undefined ? { ok: true } : { ok: true, lease };
        }
        case 'gc': {
          const keep = new Set(req.keep);
          const gone = [...this.leases.values()].filter((e) => e.netName === req.netName && !keep.has(e.key)).map((e) => e.key);
          await Promise.all(gone.map((k) => this.serialize(k, () => this.release(k))));
          return { ok: true, released: gone };
        }
      }
    } catch (e) {
      return { ok: false, error: toCniError(e).toJSON() };
    }
  }

  private serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => {});
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private async allocate(req: AllocateRequest): Promise<WireLease> {
    const existing = this.leases.get(req.key);
    if (existing !== undefined) {
      // A repeated ADD for the same attachment gets the lease it already holds.
      const lease = existing.netns === req.netns && existing.ifName === req.ifName ? this.wire(existing) : undefined;
      if (lease !== undefined) return lease;
      this.drop(existing, 'replaced by a new ADD');
    }
    const path = (this.settings.hostPrefix ?? '') + req.netns;
    let netnsId: string;
    try {
      netnsId = netnsIdentity(path);
    } catch (e) {
      throw new CniError(ErrorCode.InvalidNetNS, `cannot open netns ${JSON.stringify(path)}`, e instanceof Error ? e.message : String(e), { cause: e });
    }

    let entry: LeaseEntry | undefined;
    let channel: Channel;
    try {
      channel = await this.settings.openChannel(path, req.ifName, {
        onDatagram: (payload) => entry?.client.receive(payload),
        onClosed: (reason) => {
          if (entry !== undefined && this.leases.get(entry.key) === entry) this.drop(entry, `socket closed: ${reason}`);
        },
      });
    } catch (e) {
      throw new CniError(ErrorCode.Internal, `dhcp: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
    }
    const client = new DhcpClient(
      {
        chaddr: channel.hwaddr,
        options: req.options.map((o) => [o.code, fromHex(o.hex)] as const),
        broadcast: this.settings.broadcast === true,
        resendMax: this.settings.resendMaxMs ?? 62_000,
        ...(this.settings.random === undefined ? {} : { random: this.settings.random }),
      },
      this.clock,
      channel.transport,
    );
    const e: LeaseEntry = { key: req.key, netName: req.netName, ifName: req.ifName, netns: req.netns, netnsId, client, channel, watch: undefined, reacquire: undefined };
    entry = e;
    client.on((ev) => this.onClientEvent(e, ev));
    this.leases.set(req.key, e);
    const timeoutMs = this.settings.timeoutMs ?? 10_000;
    try {
      await client.acquire(timeoutMs);
    } catch (err) {
      const stopped = client.state === 'stopped' && this.leases.get(req.key) !== e;
      this.drop(e, undefined);
      if (stopped) throw new CniError(ErrorCode.Internal, `dhcp: no DHCP lease for ${req.key} on ${req.ifName}`, err instanceof Error ? err.message : String(err));
      throw new CniError(ErrorCode.Internal, `dhcp: no DHCP lease for ${req.key} on ${req.ifName} within ${timeoutMs / 1000}s`, 'no DHCPOFFER/DHCPACK from any server');
    }
    this.watch(e, path);
    const lease = this.wire(e);
    if (lease === undefined) throw new CniError(ErrorCode.Internal, `dhcp: lease for ${req.key} was lost right after it was granted`);
    this.log(`${req.key}: acquired ${lease.address}/${lease.prefix} from ${lease.serverId} for ${lease.leaseTime}s (T1 ${lease.renewalTime}s, T2 ${lease.rebindingTime}s)`);
    return lease;
  }

  private async release(key: string): Promise<void> {
    const e = this.leases.get(key);
    if (e === undefined) return; // nothing held (DEL after a failed ADD, a daemon restart, a repeated DEL)
    this.leases.delete(key);
    e.watch?.cancel();
    e.reacquire?.cancel();
    const address = e.client.lease?.address;
    try {
      await e.client.release();
      if (address !== undefined) this.log(`${key}: released ${address}`);
    } catch (err) {
      this.log(`${key}: DHCPRELEASE of ${address ?? '?'} not sent: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      e.channel.transport.close();
    }
  }

  /** Forgets a lease without telling the server (its link or namespace is gone, or it never bound). */
  private drop(e: LeaseEntry, reason: string | undefined): void {
    if (this.leases.get(e.key) === e) this.leases.delete(e.key);
    e.watch?.cancel();
    e.reacquire?.cancel();
    e.client.stop(reason);
    e.channel.transport.close();
    if (reason !== undefined) this.log(`${e.key}: stopped maintaining the lease: ${reason}`);
  }

  private onClientEvent(e: LeaseEntry, ev: ClientEvent): void {
    switch (ev.type) {
      case 'bound':
        e.reacquire?.cancel();
        e.reacquire = undefined;
        if (ev.previous === 'renewing' || ev.previous === 'rebinding') {
          this.log(`${e.key}: ${ev.previous === 'renewing' ? 'renewed' : 'rebound'} ${ev.lease.address} for ${ev.lease.leaseTime}s`);
        }
        return;
      case 'lost':
        this.log(`${e.key}: lease lost (${ev.reason}); acquiring a new one`);
        e.reacquire ??= this.clock.schedule(this.settings.reacquireTimeoutMs ?? 208_000, () => {
          if (e.client.lease === undefined) this.drop(e, 'no new lease after losing the old one');
        });
        return;
      case 'send-failed':
        if (ev.error instanceof ChannelSendError && (ev.error.code === 'ENODEV' || ev.error.code === 'ENXIO')) {
          this.drop(e, `link ${e.ifName} is gone`);
        } else {
          this.log(`${e.key}: send failed while ${ev.state}: ${ev.error instanceof Error ? ev.error.message : String(ev.error)}`);
        }
        return;
      case 'stopped':
        return;
    }
  }

  /** The channel's sockets keep the namespace alive, so a namespace removed without a DEL must be noticed here. */
  private watch(e: LeaseEntry, path: string): void {
    const every = this.settings.watchIntervalMs ?? 10_000;
    const tick = (): void => {
      let same = false;
      try {
        same = netnsIdentity(path) === e.netnsId;
      } catch {
        same = false;
      }
      if (!same) {
        this.drop(e, `netns ${path} is gone`);
        return;
      }
      e.watch = this.clock.schedule(every, tick);
    };
    e.watch = this.clock.schedule(every, tick);
  }

  private wire(e: LeaseEntry): WireLease | undefined {
    const l: LeaseInfo | undefined = e.client.lease;
    if (l === undefined) return undefined;
    const w: WireLease = {
      address: l.address,
      prefix: l.prefix,
      serverId: l.serverId,
      leaseTime: l.leaseTime,
      renewalTime: l.renewalTime,
      rebindingTime: l.rebindingTime,
      expiresIn: Math.max(0, Math.round((l.boundAt + l.leaseTime * 1000 - this.clock.now()) / 1000)),
      routers: l.routers,
      dnsServers: l.dnsServers,
      classlessRoutes: l.classlessRoutes,
      staticRoutes: l.staticRoutes,
      state: e.client.state,
    };
    if (l.domainName !== undefined) w.domainName = l.domainName;
    return w;
  }

  // ---- socket server

  /** Serves the protocol on a listening server (path or inherited fd set up by the caller). */
  serve(server: Server): void {
    this.server = server;
    server.on('connection', (sock) => this.onConnection(sock));
  }

  /** A server whose connections this daemon answers; the caller listens. */
  createServer(): Server {
    const server = createServer();
    this.serve(server);
    return server;
  }

  private onConnection(sock: Socket): void {
    let buf = '';
    let answered = false;
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (chunk: string) => {
      if (answered) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_LINE) {
          answered = true;
          sock.end(`${JSON.stringify({ ok: false, error: new CniError(ErrorCode.DecodingFailure, 'request too long').toJSON() })}\n`);
        }
        return;
      }
      answered = true;
      let req: unknown;
      try {
        req = JSON.parse(buf.slice(0, nl));
      } catch {
        sock.end(`${JSON.stringify({ ok: false, error: new CniError(ErrorCode.DecodingFailure, 'request is not JSON').toJSON() })}\n`);
        return;
      }
      void this.handle(req).then((reply) => {
        if (!sock.destroyed) sock.end(`${JSON.stringify(reply)}\n`);
      });
    });
  }

  /** Stops serving and stops every client without releasing (the leases stay with their containers). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const e of [...this.leases.values()]) this.drop(e, undefined);
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
