// Floor 3 (ipam/dhcp): one DHCPv4 client as the RFC 2131 §4.4 state machine (INIT, SELECTING,
// REQUESTING, BOUND, RENEWING, REBINDING) over an injected clock and transport. Event-driven and
// synchronous, so the timers are tested with a fake clock; the daemon owns one client per lease.
import type { Clock, Timer } from './clock.js';
import {
  BOOTREPLY,
  BOOTREQUEST,
  BROADCAST_ADDRESS,
  DHCP_SERVER_PORT,
  FLAG_BROADCAST,
  HTYPE_ETHERNET,
  MessageType,
  Opt,
  ZERO_ADDRESS,
  decodeClasslessRoutes,
  decodeIPs,
  decodeMessage,
  decodeStaticRoutes,
  decodeText,
  decodeU32,
  encodeMessage,
  getOption,
  ipOption,
  maskPrefix,
  messageType,
} from './message.js';
import type { DhcpMessage, DhcpRoute } from './message.js';

export interface Destination {
  address: string;
  port: number;
}

/** Moves datagrams for one client; incoming ones are handed to {@link DhcpClient.receive}. */
export interface DhcpTransport {
  /** Resolves once the kernel took the datagram; rejects with its error (e.g. ENETUNREACH). */
  send(payload: Uint8Array, to: Destination): Promise<void>;
  close(): void;
}

export type ClientState = 'init' | 'selecting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'stopped';

/** What an ACK granted. Times are seconds as sent; `boundAt` is the clock time the lease runs from. */
export interface LeaseInfo {
  address: string;
  prefix: number;
  serverId: string;
  leaseTime: number;
  renewalTime: number;
  rebindingTime: number;
  routers: string[];
  dnsServers: string[];
  domainName?: string;
  classlessRoutes: DhcpRoute[];
  staticRoutes: DhcpRoute[];
  boundAt: number;
}

export type ClientEvent =
  | { type: 'bound'; lease: LeaseInfo; previous: ClientState }
  | { type: 'lost'; reason: string }
  | { type: 'send-failed'; error: unknown; state: ClientState }
  | { type: 'stopped'; reason: string | undefined };

export interface ClientOptions {
  /** Hardware address (6 bytes for Ethernet). */
  chaddr: Uint8Array;
  /** Options 55, 61, 12, 60, 77, … sent in DISCOVER and REQUEST, in this order. */
  options: ReadonlyArray<readonly [number, Uint8Array]>;
  /** Also ask for broadcast replies once configured (the daemon's -broadcast). INIT always asks. */
  broadcast?: boolean;
  /** Cap of the exponential retransmission interval in INIT/SELECTING/REQUESTING, ms (RFC: 64 s). */
  resendMax?: number;
  /** Floor of the retransmission interval in RENEWING/REBINDING, ms (RFC 2131 §4.4.5: 60 s). */
  renewRetransmitMin?: number;
  /** REQUESTs sent for one OFFER before starting over with a DISCOVER. */
  requestAttempts?: number;
  /** [0, 1) source for the ±1 s retransmission jitter. */
  random?: () => number;
  /** Transaction id source (default: random 32 bits). */
  xid?: () => number;
}

const INFINITE = 0xffffffff;

/** Reads an ACK into a LeaseInfo, or explains why it cannot be used. */
export function leaseFromAck(m: DhcpMessage, boundAt: number): LeaseInfo | string {
  if (m.yiaddr === ZERO_ADDRESS) return 'ACK without an address (yiaddr 0.0.0.0)';
  const serverId = decodeIPs(getOption(m, Opt.ServerId))?.[0];
  if (serverId === undefined) return 'ACK without a server identifier (option 54)';
  const leaseTime = decodeU32(getOption(m, Opt.LeaseTime)) ?? INFINITE;
  const mask = decodeIPs(getOption(m, Opt.SubnetMask))?.[0];
  // Without option 1 a client falls back to the classful mask; DHCP servers send it in practice.
  const prefix = mask === undefined ? classfulPrefix(m.yiaddr) : maskPrefix(mask);
  if (prefix === undefined) return `ACK with a non-contiguous subnet mask ${mask ?? ''}`;
  // RFC 2131 §4.4.5: T1 defaults to 0.5 and T2 to 0.875 of the lease; keep T1 <= T2 <= lease.
  let rebindingTime = decodeU32(getOption(m, Opt.RebindingTime)) ?? Math.floor(leaseTime * 0.875);
  if (rebindingTime > leaseTime) rebindingTime = Math.floor(leaseTime * 0.875);
  let renewalTime = decodeU32(getOption(m, Opt.RenewalTime)) ?? Math.floor(leaseTime * 0.5);
  if (renewalTime > rebindingTime) renewalTime = Math.min(Math.floor(leaseTime * 0.5), rebindingTime);
  const lease: LeaseInfo = {
    address: m.yiaddr,
    prefix,
    serverId,
    leaseTime,
    renewalTime,
    rebindingTime,
    routers: decodeIPs(getOption(m, Opt.Router)) ?? [],
    dnsServers: decodeIPs(getOption(m, Opt.DomainNameServer)) ?? [],
    classlessRoutes: decodeClasslessRoutes(getOption(m, Opt.ClasslessStaticRoute)),
    staticRoutes: decodeStaticRoutes(getOption(m, Opt.StaticRoute)),
    boundAt,
  };
  const domain = decodeText(getOption(m, Opt.DomainName));
  if (domain !== undefined && domain !== '') lease.domainName = domain;
  return lease;
}

function classfulPrefix(address: string): number {
  const first = Number(address.split('.')[0]);
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}

export class DhcpClient {
  private currentState: ClientState = 'init';
  private currentLease: LeaseInfo | undefined;
  private xid = 0;
  private offer: { address: string; serverId: string } | undefined;
  /** Clock time the current exchange started (for `secs`) and the current REQUEST was sent. */
  private exchangeStart = 0;
  private requestSentAt = 0;
  private sends = 0;
  private retransmitTimer: Timer | undefined;
  private phaseTimer: Timer | undefined;
  private readonly listeners = new Set<(e: ClientEvent) => void>();
  private readonly random: () => number;

  constructor(
    private readonly opts: ClientOptions,
    private readonly clock: Clock,
    private readonly transport: DhcpTransport,
  ) {
    this.random = opts.random ?? Math.random;
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The lease in force (also while renewing or rebinding); undefined before the first ACK and after loss. */
  get lease(): LeaseInfo | undefined {
    return this.currentLease;
  }

  on(listener: (e: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts from INIT: DISCOVER, retransmitted with backoff until an OFFER arrives. */
  start(): void {
    if (this.currentState === 'stopped') throw new Error('DHCP client is stopped');
    this.enterInit();
  }

  /**
   * Starts and waits for the first ACK. On timeout the client is stopped and the promise rejects,
   * as it does when the client is stopped meanwhile; a later loss of the lease does not affect an
   * already resolved promise.
   */
  acquire(timeoutMs: number): Promise<LeaseInfo> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.schedule(timeoutMs, () => {
        off();
        this.stop();
        reject(new Error(`no DHCP lease within ${timeoutMs / 1000}s`));
      });
      const off = this.on((e) => {
        if (e.type === 'bound') {
          off();
          timer.cancel();
          resolve(e.lease);
        } else if (e.type === 'stopped') {
          off();
          timer.cancel();
          reject(new Error(`stopped before a lease was granted${e.reason === undefined ? '' : `: ${e.reason}`}`));
        }
      });
      this.start();
    });
  }

  /** Stops all timers; the client ignores everything from now on. */
  stop(reason?: string): void {
    if (this.currentState === 'stopped') return;
    this.clearTimers();
    this.currentState = 'stopped';
    this.emit({ type: 'stopped', reason });
  }

  /** DHCPRELEASE to the server (RFC 2131 §4.4.6), then stop. Without a lease it only stops. */
  async release(): Promise<void> {
    const lease = this.currentLease;
    this.stop();
    this.currentLease = undefined;
    if (lease === undefined) return;
    const m = this.message(MessageType.Release, this.newXid(), {
      ciaddr: lease.address,
      options: [[Opt.ServerId, ipOption([lease.serverId])]],
      withRequestOptions: false,
    });
    const bytes = encodeMessage(m);
    try {
      await this.transport.send(bytes, { address: lease.serverId, port: DHCP_SERVER_PORT });
    } catch {
      // The address may already be gone from the interface, leaving no route to the server:
      // broadcasting still reaches a server on the link.
      await this.transport.send(bytes, { address: BROADCAST_ADDRESS, port: DHCP_SERVER_PORT });
    }
  }

  /** Handles one datagram from port 67; anything not for this client's transaction is ignored. */
  receive(bytes: Uint8Array): void {
    let m: DhcpMessage;
    try {
      m = decodeMessage(bytes);
    } catch {
      return;
    }
    if (m.op !== BOOTREPLY || m.xid !== this.xid || !sameBytes(m.chaddr, this.opts.chaddr)) return;
    const type = messageType(m);
    switch (this.currentState) {
      case 'selecting':
        if (type === MessageType.Offer) this.onOffer(m);
        return;
      case 'requesting':
      case 'renewing':
      case 'rebinding':
        if (type === MessageType.Ack) this.onAck(m);
        else if (type === MessageType.Nak) this.onNak(m);
        return;
      default:
        return;
    }
  }

  // ---- INIT / SELECTING / REQUESTING

  private enterInit(): void {
    this.clearTimers();
    this.currentState = 'selecting';
    this.offer = undefined;
    this.xid = this.newXid();
    this.exchangeStart = this.clock.now();
    this.sends = 0;
    this.sendDiscover();
  }

  private sendDiscover(): void {
    const m = this.message(MessageType.Discover, this.xid, { broadcastFlag: true });
    this.transmit(m, BROADCAST_ADDRESS);
    this.retransmitTimer = this.clock.schedule(this.backoff(this.sends++), () => this.sendDiscover());
  }

  private onOffer(m: DhcpMessage): void {
    const serverId = decodeIPs(getOption(m, Opt.ServerId))?.[0];
    if (serverId === undefined || m.yiaddr === ZERO_ADDRESS) return;
    this.clearTimers();
    this.offer = { address: m.yiaddr, serverId };
    this.currentState = 'requesting';
    this.sends = 0;
    this.sendSelectingRequest();
  }

  private sendSelectingRequest(): void {
    const offer = this.offer;
    if (offer === undefined) return;
    if (this.sends >= (this.opts.requestAttempts ?? 4)) {
      this.enterInit();
      return;
    }
    const m = this.message(MessageType.Request, this.xid, {
      broadcastFlag: true,
      options: [
        [Opt.RequestedIP, ipOption([offer.address])],
        [Opt.ServerId, ipOption([offer.serverId])],
      ],
    });
    this.requestSentAt = this.clock.now();
    this.transmit(m, BROADCAST_ADDRESS);
    this.retransmitTimer = this.clock.schedule(this.backoff(this.sends++), () => this.sendSelectingRequest());
  }

  // ---- BOUND / RENEWING / REBINDING

  private onAck(m: DhcpMessage): void {
    const lease = leaseFromAck(m, this.requestSentAt);
    if (typeof lease === 'string') return;
    const previous = this.currentState;
    this.clearTimers();
    this.currentLease = lease;
    this.currentState = 'bound';
    if (lease.leaseTime !== INFINITE) {
      this.phaseTimer = this.clock.schedule(this.untilLeaseTime(lease, lease.renewalTime), () => this.enterRenewing());
    }
    this.emit({ type: 'bound', lease, previous });
  }

  private onNak(m: DhcpMessage): void {
    // A NAK must come from the server we are talking to (or, while rebinding, any server).
    const from = decodeIPs(getOption(m, Opt.ServerId))?.[0];
    const expected = this.currentState === 'requesting' ? this.offer?.serverId : this.currentLease?.serverId;
    if (this.currentState !== 'rebinding' && from !== undefined && expected !== undefined && from !== expected) return;
    const why = decodeText(getOption(m, Opt.Message));
    this.loseLease(`DHCPNAK from ${from ?? 'the server'}${why ? `: ${why}` : ''}`);
  }

  private enterRenewing(): void {
    const lease = this.currentLease;
    if (lease === undefined) return;
    this.currentState = 'renewing';
    this.xid = this.newXid();
    this.exchangeStart = this.clock.now();
    this.phaseTimer = this.clock.schedule(this.untilLeaseTime(lease, lease.rebindingTime), () => this.enterRebinding());
    this.sendRenewRequest(lease.serverId, lease.rebindingTime);
  }

  private enterRebinding(): void {
    const lease = this.currentLease;
    if (lease === undefined) return;
    this.clearTimers();
    this.currentState = 'rebinding';
    this.xid = this.newXid();
    this.exchangeStart = this.clock.now();
    this.phaseTimer = this.clock.schedule(this.untilLeaseTime(lease, lease.leaseTime), () =>
      this.loseLease(`lease on ${lease.address} expired without a reply to renewal or rebinding`),
    );
    this.sendRenewRequest(BROADCAST_ADDRESS, lease.leaseTime);
  }

  /** RFC 2131 §4.4.5: REQUEST with ciaddr and no server id; retransmit after half the time left
   * before `deadline` (T2 or expiry), at least renewRetransmitMin apart, never past the deadline. */
  private sendRenewRequest(to: string, deadline: number): void {
    const lease = this.currentLease;
    if (lease === undefined) return;
    const m = this.message(MessageType.Request, this.xid, { ciaddr: lease.address, broadcastFlag: this.opts.broadcast === true });
    this.requestSentAt = this.clock.now();
    this.transmit(m, to);
    const left = this.untilLeaseTime(lease, deadline);
    const wait = Math.max(this.opts.renewRetransmitMin ?? 60_000, left / 2);
    if (wait < left) this.retransmitTimer = this.clock.schedule(wait, () => this.sendRenewRequest(to, deadline));
  }

  private loseLease(reason: string): void {
    this.currentLease = undefined;
    this.emit({ type: 'lost', reason });
    if (this.currentState !== 'stopped') this.enterInit();
  }

  // ---- helpers

  private untilLeaseTime(lease: LeaseInfo, seconds: number): number {
    return Math.max(0, lease.boundAt + seconds * 1000 - this.clock.now());
  }

  /** RFC 2131 §4.1: 4 s, doubling up to resendMax, each randomised by ±1 s. */
  private backoff(attempt: number): number {
    const base = Math.min(4000 * 2 ** Math.min(attempt, 10), this.opts.resendMax ?? 64_000);
    return Math.max(0, base + (this.random() * 2 - 1) * 1000);
  }

  private newXid(): number {
    return (this.opts.xid?.() ?? Math.floor(Math.random() * 0x1_0000_0000)) >>> 0;
  }

  private message(
    type: number,
    xid: number,
    o: {
      ciaddr?: string;
      broadcastFlag?: boolean;
      options?: Array<[number, Uint8Array]>;
      withRequestOptions?: boolean;
    },
  ): DhcpMessage {
    const secs = Math.min(0xffff, Math.floor((this.clock.now() - this.exchangeStart) / 1000));
    const options: Array<[number, Uint8Array]> = [[Opt.MessageType, Uint8Array.of(type)], ...(o.options ?? [])];
    if (o.withRequestOptions === false) {
      // RELEASE carries only the client identifier besides the server id (RFC 2131 table 5).
      const id = this.opts.options.find(([c]) => c === Opt.ClientId);
      if (id !== undefined) options.push([id[0], id[1]]);
    } else {
      for (const [c, v] of this.opts.options) options.push([c, v]);
    }
    return {
      op: BOOTREQUEST,
      htype: HTYPE_ETHERNET,
      hlen: this.opts.chaddr.length,
      hops: 0,
      xid,
      secs: type === MessageType.Release ? 0 : secs,
      flags: o.broadcastFlag === true ? FLAG_BROADCAST : 0,
      ciaddr: o.ciaddr ?? ZERO_ADDRESS,
      yiaddr: ZERO_ADDRESS,
      siaddr: ZERO_ADDRESS,
      giaddr: ZERO_ADDRESS,
      chaddr: this.opts.chaddr,
      sname: '',
      file: '',
      options,
    };
  }

  private transmit(m: DhcpMessage, to: string): void {
    const state = this.currentState;
    this.transport.send(encodeMessage(m), { address: to, port: DHCP_SERVER_PORT }).catch((error: unknown) => {
      if (this.currentState !== 'stopped') this.emit({ type: 'send-failed', error, state });
    });
  }

  private clearTimers(): void {
    this.retransmitTimer?.cancel();
    this.phaseTimer?.cancel();
    this.retransmitTimer = undefined;
    this.phaseTimer = undefined;
  }

  private emit(e: ClientEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
