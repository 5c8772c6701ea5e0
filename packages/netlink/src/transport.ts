// Transport layer: one request/response exchange over a netlink socket, as iproute2's rtnl_talk and
// rtnl_dump_filter do — sequence numbers, ACK/ERROR/DONE handling, multi-part dumps, NLM_F_DUMP_INTR retry.
//
// SocketTransport uses the addon's *synchronous* send and recv. rtnetlink and nfnetlink handle a
// request inside the sender's sendmsg() call, so the ACK or the first dump part is already queued
// when send returns, and each further recv() makes the kernel fill the next dump part; a blocking
// recv therefore never waits on anything but the kernel's own CPU work. That avoids a thread-pool
// hop per message (the bulk of the cost of a small request) and keeps requests on one socket
// strictly ordered without a queue.
//
// Batch mode (requestBatch) rests on the same fact: every answer to a datagram is queued before
// sendto() returns. A second datagram, an NLMSG_NOOP asking for an ACK, is answered by the netlink
// core of every family (netlink_rcv_skb) right behind those answers, so reading up to its ACK
// collects everything the kernel said about the batch and can never wait for an answer that will
// not come: not when nfnetlink refuses a whole batch with one error addressed to BATCH_BEGIN, nor
// for messages that asked for no ACK. transport.kernel.test.ts checks this against the kernel.

import type { NativeBinding } from '@tscni/native';
import { loadNative } from '@tscni/native';
import { NLM_F, NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLMSG_NOOP, NLMSG_OVERRUN, NLMSG_HDRLEN } from './codec/netlink.js';
import {
  decodeMessages,
  decodeNlDone,
  decodeNlMsgErr,
  encodeNlDone,
  encodeNlMsgErr,
  patchSeq,
} from './codec/message.js';
import type { NlMessage, NlMsgHdr } from './codec/message.js';
import { NetlinkError } from './codec/errors.js';
import type { ExtAck, NetlinkRequestHeader } from './codec/errors.js';
import { NlWriter } from './codec/writer.js';

export interface RequestOptions {
  /** The request is a dump (NLM_F_DUMP): collect NLM_F_MULTI parts until NLMSG_DONE. */
  readonly dump?: boolean;
  /** Names the operation in error messages, e.g. "link add tap0". */
  readonly operation?: string;
}

export interface BatchRequestOptions {
  /** Names the operation in error messages, e.g. "nftables batch". */
  readonly operation?: string;
}

/** What the kernel answered to one message of a batch. */
export interface BatchMessageResult {
  /** Position of the message in the datagram (0 is the first, e.g. NFNL_MSG_BATCH_BEGIN). */
  readonly index: number;
  /** The message as sent: type, flags and the sequence number the transport gave it. */
  readonly request: NetlinkRequestHeader;
  /**
   * 'ack': an ACK (NLMSG_ERROR with error 0); 'error': see `error`; 'none': no answer — the message
   * asked for no ACK and did not fail, or the kernel never got to it (see BatchReply.rejected).
   */
  readonly status: 'ack' | 'error' | 'none';
  readonly error?: NetlinkError;
  /** Data messages addressed to it (whole, header included), e.g. with NLM_F_ECHO. */
  readonly data: readonly Uint8Array[];
}

/** Everything the kernel answered to a batch, message by message. */
export interface BatchReply {
  /** One entry per message sent, in order. */
  readonly results: readonly BatchMessageResult[];
  /** The same entries keyed by their sequence number. */
  readonly bySeq: ReadonlyMap<number, BatchMessageResult>;
  /** The entries whose status is 'error', in message order. */
  readonly errors: readonly BatchMessageResult[];
  /**
   * The error addressed to the first message. For an nfnetlink batch that is BATCH_BEGIN, and such
   * an error means the whole batch was refused (no such subsystem, bad res_id, out of memory,
   * generation mismatch) or its commit failed: nothing was applied, whatever the other entries say.
   */
  readonly rejected: NetlinkError | undefined;
}

/**
 * One netlink socket. `msg` holds one or more complete messages (seq/pid left 0; the transport
 * assigns them). The promise resolves with the data messages the kernel sent back — whole messages,
 * nlmsghdr included, without the ACK/DONE — or rejects with a NetlinkError.
 */
export interface NetlinkTransport {
  request(msg: Uint8Array, opts?: RequestOptions): Promise<Uint8Array[]>;
  /**
   * Send `msg` (one or more messages, e.g. an nfnetlink BATCH_BEGIN ... BATCH_END) as one
   * datagram and collect every answer, keyed by sequence number. Failures of single messages are
   * results, not rejections: the promise rejects only when the exchange itself fails. Not for
   * dumps (their later parts are made by later reads). Implemented by every transport here.
   */
  requestBatch?(msg: Uint8Array, opts?: BatchRequestOptions): Promise<BatchReply>;
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

  requestBatch(msg: Uint8Array, opts: BatchRequestOptions = {}): Promise<BatchReply> {
    try {
      return Promise.resolve(this.requestBatchSync(msg, opts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Same as requestBatch(), for callers that are synchronous themselves. */
  requestBatchSync(msg: Uint8Array, opts: BatchRequestOptions = {}): BatchReply {
    if (this.#closed) throw new NetlinkError(9, { operation: opts.operation ?? 'netlink batch' });
    const buf = msg.slice();
    type Entry = { request: NetlinkRequestHeader; status: BatchMessageResult['status']; error?: NetlinkError; data: Uint8Array[] };
    const entries: Entry[] = [];
    const bySeq = new Map<number, Entry>();
    for (const m of decodeMessages(buf)) {
      const seq = this.#nextSeq();
      patchSeq(buf, m.payload.byteOffset - buf.byteOffset - NLMSG_HDRLEN, seq);
      const entry: Entry = { request: { type: m.header.type, flags: m.header.flags, seq }, status: 'none', data: [] };
      entries.push(entry);
      bySeq.set(seq, entry);
    }
    if (entries.length === 0) throw new TypeError('netlink batch holds no message');
    this.send(buf);
    // The end marker goes in its own datagram: nfnetlink reads a datagram that starts with
    // BATCH_BEGIN as one batch and ignores whatever follows BATCH_END in it.
    const endSeq = this.#nextSeq();
    this.send(endMarker(endSeq));

    for (let ended = false; !ended; ) {
      for (const m of decodeMessages(this.#recvBatchAnswer(opts))) {
        const { seq, type } = m.header;
        if (seq === endSeq) {
          // Its ACK (or an EPERM that every message of ours got too) comes after every answer to the batch.
          ended = true;
          continue;
        }
        const entry = bySeq.get(seq);
        if (entry === undefined || type === NLMSG_NOOP) continue; // a late answer to an earlier, abandoned request
        if (type === NLMSG_ERROR || type === NLMSG_DONE) {
          const answer = terminator(m, entry.request);
          if (answer.error === 0) {
            if (entry.status === 'none') entry.status = 'ack';
          } else if (entry.status !== 'error') {
            entry.status = 'error';
            entry.error = new NetlinkError(answer.error, { extAck: answer.extAck, request: answer.request, operation: opts.operation });
          }
        } else if (type === NLMSG_OVERRUN) {
          entry.status = 'error';
          entry.error ??= new NetlinkError(105, { request: entry.request, operation: opts.operation });
        } else {
          entry.data.push(wholeMessage(m));
        }
      }
    }
    const results: BatchMessageResult[] = entries.map((e, index) => ({ index, ...e }));
    const errors = results.filter((r) => r.status === 'error');
    return {
      results,
      bySeq: new Map(results.map((r) => [r.request.seq, r])),
      errors,
      rejected: results[0]?.error,
    };
  }

  #recvBatchAnswer(opts: BatchRequestOptions): Uint8Array {
    try {
      return this.recv();
    } catch (e) {
      // The kernel dropped answers (the end marker's ACK among them, perhaps): waiting on would hang.
      if (e instanceof Error && (e as { errno?: unknown }).errno === 105) {
        const what = opts.operation ?? 'netlink batch';
        throw new NetlinkError(105, { operation: `${what}: answers lost to a full receive buffer, outcome unknown`, cause: e });
      }
      throw e;
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
    const pending = new Map<number, NetlinkRequestHeader>();
    for (const m of decodeMessages(buf)) {
      const seq = this.#nextSeq();
      patchSeq(buf, m.payload.byteOffset - buf.byteOffset - NLMSG_HDRLEN, seq);
      const isDump = opts.dump === true && (m.header.flags & NLM_F.DUMP) === NLM_F.DUMP;
      if (m.header.flags & NLM_F.ACK || isDump) pending.set(seq, { type: m.header.type, flags: m.header.flags, seq });
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
          if (e.error !== 0) failure ??= this.#error(e.error, e.extAck, echoed(e.request), opts);
          pending.delete(seq);
        } else if (type === NLMSG_DONE) {
          const d = decodeNlDone(m);
          if (d.error < 0) failure ??= this.#error(d.error, d.extAck, pending.get(seq), opts);
          pending.delete(seq);
        } else if (type === NLMSG_NOOP) {
          continue;
        } else if (type === NLMSG_OVERRUN) {
          failure ??= new NetlinkError(105, { request: pending.get(seq), operation: opts.operation });
          pending.delete(seq);
        } else {
          data.push(wholeMessage(m));
        }
      }
    }
    if (failure) throw failure;
    return { data, interrupted };
  }

  #error(errno: number, extAck: ExtAck | undefined, request: NetlinkRequestHeader | undefined, opts: RequestOptions): NetlinkError {
    return new NetlinkError(errno, { extAck, request, operation: opts.operation });
  }
}

function echoed(h: NlMsgHdr): NetlinkRequestHeader {
  return { type: h.type, flags: h.flags, seq: h.seq };
}

/** An NLMSG_ERROR or NLMSG_DONE: its errno (0 = ACK), extended ack, and the request it answers
 * (NLMSG_ERROR echoes the request's header; NLMSG_DONE does not, so the one sent stands in). */
function terminator(m: NlMessage, sent: NetlinkRequestHeader): { error: number; extAck: ExtAck | undefined; request: NetlinkRequestHeader } {
  if (m.header.type === NLMSG_ERROR) {
    const e = decodeNlMsgErr(m);
    return { error: e.error, extAck: e.extAck, request: echoed(e.request) };
  }
  const d = decodeNlDone(m);
  return { error: d.error, extAck: d.extAck, request: sent };
}

/** NLMSG_NOOP asking for an ACK: answered by the netlink core itself, after everything sent before it. */
function endMarker(seq: number): Uint8Array {
  const w = new NlWriter(NLMSG_HDRLEN);
  w.endMessage(w.beginMessage(NLMSG_NOOP, NLM_F.REQUEST | NLM_F.ACK, seq));
  return w.finish();
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

  /** The addon is a default parameter, so packages above netlink (plugins) never import it. */
  static open(protocol: number, netnsPath: string | null = null, binding: NativeBinding = loadNative()): SocketTransport {
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
  /**
   * Send nothing at all for this message, not even a requested ACK: what nfnetlink does for the
   * messages of a batch it refused as a whole at BATCH_BEGIN.
   */
  readonly silent?: boolean;
}

export type FakeResponder = (request: NlMessage) => FakeReply | undefined;

/**
 * A scripted kernel for tests: records every request message (seq assigned) and answers from a
 * queue of replies, then from a responder function, else with a plain ACK (or an empty dump).
 * It goes through the same request logic as SocketTransport, on real encoded reply bytes.
 * Control messages (NLMSG_NOOP, the end marker of requestBatch) are answered as the kernel's
 * netlink core answers them, ahead of the script: they are in `datagrams`, not in `requests`.
 */
export class FakeTransport extends DatagramTransport {
  readonly requests: NlMessage[] = [];
  /** Every datagram sent, as sent. */
  readonly datagrams: Uint8Array[] = [];
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
    this.datagrams.push(buf.slice());
    for (const m of decodeMessages(buf.slice())) {
      if (m.header.type < NLMSG_MIN_TYPE) {
        // netlink_rcv_skb: a control message reaches no subsystem and is ACKed if it asks.
        if (m.header.flags & NLM_F.ACK) this.#inbox.push(encodeNlMsgErr({ error: 0, request: m.header }));
        continue;
      }
      this.requests.push(m);
      const r = this.#queue.shift() ?? this.#responder?.(m) ?? {};
      if (r.silent) continue;
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
