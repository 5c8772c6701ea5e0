// Transport layer: one request/response exchange over a netlink socket, as iproute2's rtnl_talk and
// rtnl_dump_filter do — sequence numbers, ACK/ERROR/DONE handling, multi-part dumps, NLM_F_DUMP_INTR retry.
//
// SocketTransport uses the addon's *synchronous* send and recv. rtnetlink and nfnetlink handle a
// request inside the sender's sendmsg() call, so the ACK or the first dump part is already queued
// when send returns, and each further recv() makes the kernel fill the next dump part; a blocking
// recv therefore never waits on anything but the kernel's own CPU work. That avoids a thread-pool
// hop per message (the bulk of the cost of a small request) and keeps requests on one socket
// strictly ordered without a queue.

import type { NativeBinding } from '@tscni/native';
import { NLM_F, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLMSG_HDRLEN } from './codec/netlink.js';
import {
  decodeMessages,
  decodeNlDone,
  decodeNlMsgErr,
  encodeNlDone,
  encodeNlMsgErr,
  patchSeq,
} from './codec/message.js';
import type { NlMessage } from './codec/message.js';
import { NetlinkError } from './codec/errors.js';
import type { ExtAck } from './codec/errors.js';

export interface RequestOptions {
  /** The request is a dump (NLM_F_DUMP): collect NLM_F_MULTI parts until NLMSG_DONE. */
  readonly dump?: boolean;
  /** Names the operation in error messages, e.g. "link add tap0". */
  readonly operation?: string;
}

/**
 * One netlink socket. `msg` holds one or more complete messages (seq/pid left 0; the transport
 * assigns them). The promise resolves with the data messages the kernel sent back — whole messages,
 * nlmsghdr included, without the ACK/DONE — or rejects with a NetlinkError.
 */
export interface NetlinkTransport {
  request(msg: Uint8Array, opts?: RequestOptions): Promise<Uint8Array[]>;
  close(): void;
}

/** How many times a dump the kernel marked inconsistent (NLM_F_DUMP_INTR) is restarted. */
export const DUMP_INTR_RETRIES = 10;

/** The bytes after the nlmsghdr of a whole message returned by a transport. */
export function messageBody(m: Uint8Array): Uint8Array {
  return m.subarray(NLMSG_HDRLEN);
}

/** Shared request logic over a datagram pipe; SocketTransport and FakeTransport differ only in I/O. */
export abstract class DatagramTransport implements NetlinkTransport {
  #seq: number;
  #closed = false;

  constructor(firstSeq = 1) {
    this.#seq = firstSeq;
  }

  protected abstract send(buf: Uint8Array): void;
  protected abstract recv(): Uint8Array;
  protected abstract closeIo(): void;

  request(msg: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array[]> {
    try {
      return Promise.resolve(this.requestSync(msg, opts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Same as request(), for callers that are synchronous themselves. */
  requestSync(msg: Uint8Array, opts: RequestOptions = {}): Uint8Array[] {
    if (this.#closed) throw new NetlinkError(9, { operation: opts.operation ?? 'netlink request' });
    for (let attempt = 0; ; attempt++) {
      const { data, interrupted } = this.#exchange(msg.slice(), opts);
      if (!interrupted) return data;
      if (attempt >= DUMP_INTR_RETRIES) {
        throw new NetlinkError(4, { operation: `${opts.operation ?? 'dump'} (interrupted ${attempt + 1} times)` });
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeIo();
  }

  #nextSeq(): number {
    const s = this.#seq;
    this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    return s;
  }

  #exchange(buf: Uint8Array, opts: RequestOptions): { data: Uint8Array[]; interrupted: boolean } {
    // Assign a sequence number to every message; wait for a terminator for each that asks for one.
    const pending = new Map<number, number>(); // seq -> request type
    for (const m of decodeMessages(buf)) {
      const seq = this.#nextSeq();
      patchSeq(buf, m.payload.byteOffset - buf.byteOffset - NLMSG_HDRLEN, seq);
      const isDump = opts.dump === true && (m.header.flags & NLM_F.DUMP) === NLM_F.DUMP;
      if (m.header.flags & NLM_F.ACK || isDump) pending.set(seq, m.header.type);
    }
    if (pending.size === 0) {
      // A message without NLM_F_ACK is answered only when it fails; waiting for it could hang.
      throw new TypeError('netlink request has no message with NLM_F_ACK (or NLM_F_DUMP with opts.dump)');
    }
    this.send(buf);

    const data: Uint8Array[] = [];
    let interrupted = false;
    let failure: NetlinkError | undefined;
    while (pending.size > 0) {
      for (const m of decodeMessages(this.recv())) {
        const { seq, type, flags } = m.header;
        if (!pending.has(seq)) continue; // a late answer to an earlier, abandoned request
        if (flags & NLM_F.DUMP_INTR) interrupted = true;
        if (type === NLMSG_ERROR) {
          const e = decodeNlMsgErr(m);
          if (e.error !== 0) failure ??= this.#error(e.error, e.extAck, pending.get(seq), opts);
          pending.delete(seq);
        } else if (type === NLMSG_DONE) {
          const d = decodeNlDone(m);
          if (d.error < 0) failure ??= this.#error(d.error, d.extAck, pending.get(seq), opts);
          pending.delete(seq);
        } else if (type === NLMSG_NOOP) {
          continue;
        } else if (type === NLMSG_OVERRUN) {
          failure ??= new NetlinkError(105, { operation: opts.operation });
          pending.delete(seq);
        } else {
          data.push(wholeMessage(m));
        }
      }
    }
    if (failure) throw failure;
    return { data, interrupted };
  }

  #error(errno: number, extAck: ExtAck | undefined, requestType: number | undefined, opts: RequestOptions): NetlinkError {
    return new NetlinkError(errno, { extAck, requestType, operation: opts.operation });
  }
}

function wholeMessage(m: NlMessage): Uint8Array {
  const start = m.payload.byteOffset - NLMSG_HDRLEN;
  return new Uint8Array(m.payload.buffer, start, m.header.len).slice();
}

/** A netlink socket from the native addon, opened inside `netnsPath` (null: our own namespace). */
export class SocketTransport extends DatagramTransport {
  readonly #binding: NativeBinding;
  readonly fd: number;

  constructor(fd: number, binding: NativeBinding) {
    super((Date.now() >>> 0) & 0x7fffffff || 1);
    this.fd = fd;
    this.#binding = binding;
  }

  static open(protocol: number, netnsPath: string | null, binding: NativeBinding): SocketTransport {
    return new SocketTransport(binding.netlinkOpen(protocol, netnsPath), binding);
  }

  protected send(buf: Uint8Array): void {
    this.#binding.netlinkSend(this.fd, buf);
  }
  protected recv(): Uint8Array {
    return this.#binding.netlinkRecv(this.fd);
  }
  protected closeIo(): void {
    this.#binding.close(this.fd);
  }
}

/** What the fake kernel answers to one request message. */
export interface FakeReply {
  /** Data messages (whole, built with buildMessage); their seq is set to the request's. */
  readonly messages?: readonly Uint8Array[];
  /** A negative or positive errno: answer NLMSG_ERROR instead of an ACK / DONE. */
  readonly errno?: number;
  readonly extAck?: ExtAck;
  /** Mark the dump's parts NLM_F_DUMP_INTR, as the kernel does when the table changed mid-dump. */
  readonly dumpInterrupted?: boolean;
}

export type FakeResponder = (request: NlMessage) => FakeReply | undefined;

/**
 * A scripted kernel for tests: records every request message (seq assigned) and answers from a
 * queue of replies, then from a responder function, else with a plain ACK (or an empty dump).
 * It goes through the same request logic as SocketTransport, on real encoded reply bytes.
 */
export class FakeTransport extends DatagramTransport {
  readonly requests: NlMessage[] = [];
  readonly #queue: FakeReply[] = [];
  readonly #inbox: Uint8Array[] = [];
  #responder: FakeResponder | undefined;
  closed = false;

  constructor(responder?: FakeResponder) {
    super(1);
    this.#responder = responder;
  }

  /** Queue replies for the next request messages, in order. */
  reply(...replies: FakeReply[]): this {
    this.#queue.push(...replies);
    return this;
  }
  respond(responder: FakeResponder): this {
    this.#responder = responder;
    return this;
  }
  /** The raw bytes of each recorded request message (header included). */
  get requestBytes(): Uint8Array[] {
    return this.requests.map(wholeMessage);
  }

  protected send(buf: Uint8Array): void {
    for (const m of decodeMessages(buf.slice())) {
      this.requests.push(m);
      const r = this.#queue.shift() ?? this.#responder?.(m) ?? {};
      // Which messages are dumps is the caller's knowledge; for the fake, both GET bits mean dump.
      const isDump = (m.header.flags & NLM_F.DUMP) === NLM_F.DUMP;
      const wantsAnswer = (m.header.flags & NLM_F.ACK) !== 0 || isDump;
      const intr = r.dumpInterrupted ? NLM_F.DUMP_INTR : 0;
      for (const d of r.messages ?? []) {
        const copy = d.slice();
        patchSeq(copy, 0, m.header.seq, 1234);
        if (isDump) {
          const dv = new DataView(copy.buffer);
          dv.setUint16(6, dv.getUint16(6, true) | NLM_F.MULTI | intr, true);
        }
        this.#inbox.push(copy);
      }
      if (r.errno !== undefined && r.errno !== 0) {
        this.#inbox.push(
          encodeNlMsgErr({ error: -Math.abs(r.errno), request: m.header, ...(r.extAck ? { extAck: r.extAck } : {}) }),
        );
      } else if (isDump) {
        this.#inbox.push(encodeNlDone({ error: 0 }, m.header.seq, 1234));
      } else if (wantsAnswer) {
        this.#inbox.push(encodeNlMsgErr({ error: 0, request: m.header }));
      }
    }
  }
  protected recv(): Uint8Array {
    const next = this.#inbox.shift();
    if (!next) throw new Error('FakeTransport: the code under test waits for an answer nothing will send');
    return next;
  }
  protected closeIo(): void {
    this.closed = true;
  }
}
