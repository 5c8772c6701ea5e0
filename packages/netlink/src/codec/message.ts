// Codec layer: struct nlmsghdr framing, NLMSG_ERROR (struct nlmsgerr + extended-ack TLVs) and
// NLMSG_DONE, as laid out in linux/netlink.h.

import {
  HOST_LE,
  NLM_F,
  NLMSGERR_ATTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  nlAlign,
} from './netlink.js';
import { AttrMap, NetlinkDecodeError } from './reader.js';
import { NlWriter } from './writer.js';
import type { ExtAck } from './errors.js';

export interface NlMsgHdr {
  readonly len: number;
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

export interface NlMessage {
  readonly header: NlMsgHdr;
  /** Bytes after the 16-byte header, up to nlmsg_len. */
  readonly payload: Uint8Array;
}

export function encodeNlMsgHdr(h: NlMsgHdr): Uint8Array {
  const out = new Uint8Array(NLMSG_HDRLEN);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, h.len, HOST_LE);
  dv.setUint16(4, h.type, HOST_LE);
  dv.setUint16(6, h.flags, HOST_LE);
  dv.setUint32(8, h.seq, HOST_LE);
  dv.setUint32(12, h.pid, HOST_LE);
  return out;
}

export function decodeNlMsgHdr(buf: Uint8Array, offset = 0): NlMsgHdr {
  if (offset + NLMSG_HDRLEN > buf.length) {
    throw new NetlinkDecodeError(`truncated nlmsghdr at ${offset}`, offset);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, NLMSG_HDRLEN);
  return {
    len: dv.getUint32(0, HOST_LE),
    type: dv.getUint16(4, HOST_LE),
    flags: dv.getUint16(6, HOST_LE),
    seq: dv.getUint32(8, HOST_LE),
    pid: dv.getUint32(12, HOST_LE),
  };
}

/** Split a datagram (or a batch we built) into messages. */
export function decodeMessages(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const header = decodeNlMsgHdr(buf, off);
    if (header.len < NLMSG_HDRLEN || off + header.len > buf.length) {
      throw new NetlinkDecodeError(`nlmsg_len ${header.len} at ${off} overruns ${buf.length} bytes`, off);
    }
    out.push({ header, payload: buf.subarray(off + NLMSG_HDRLEN, off + header.len) });
    off += nlAlign(header.len);
  }
  return out;
}

/** Concatenate messages back into one buffer (each padded to 4 bytes): the inverse of decodeMessages. */
export function encodeMessages(msgs: readonly NlMessage[]): Uint8Array {
  const w = new NlWriter();
  for (const m of msgs) {
    const at = w.beginMessage(m.header.type, m.header.flags, m.header.seq, m.header.pid);
    w.writeBytes(m.payload);
    w.endMessage(at);
  }
  return w.finish();
}

/** Set nlmsg_seq / nlmsg_pid of the message at `offset` in place. */
export function patchSeq(buf: Uint8Array, offset: number, seq: number, pid = 0): void {
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, NLMSG_HDRLEN);
  dv.setUint32(8, seq >>> 0, HOST_LE);
  dv.setUint32(12, pid >>> 0, HOST_LE);
}

/** Decoded struct nlmsgerr. error is 0 for an ACK, else a negative errno. */
export interface NlMsgErr {
  readonly error: number;
  /** Header of the request this answers (its seq tells which). */
  readonly request: NlMsgHdr;
  readonly extAck?: ExtAck;
}

function decodeExtAck(tlvs: Uint8Array): ExtAck | undefined {
  if (tlvs.length === 0) return undefined;
  const a = AttrMap.parse(tlvs);
  const ack: { msg?: string; offset?: number; missingType?: number; cookie?: Uint8Array } = {};
  const msg = a.str(NLMSGERR_ATTR.MSG);
  if (msg !== undefined) ack.msg = msg;
  const offs = a.u32(NLMSGERR_ATTR.OFFS);
  if (offs !== undefined) ack.offset = offs;
  const miss = a.u32(NLMSGERR_ATTR.MISS_TYPE);
  if (miss !== undefined) ack.missingType = miss;
  const cookie = a.get(NLMSGERR_ATTR.COOKIE);
  if (cookie !== undefined) ack.cookie = cookie.slice();
  return Object.keys(ack).length ? ack : undefined;
}

export function decodeNlMsgErr(m: NlMessage): NlMsgErr {
  if (m.header.type !== NLMSG_ERROR) throw new NetlinkDecodeError(`not NLMSG_ERROR: ${m.header.type}`, 0);
  if (m.payload.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError('truncated nlmsgerr', 0);
  const error = new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, HOST_LE);
  const request = decodeNlMsgHdr(m.payload, 4);
  let extAck: ExtAck | undefined;
  if (m.header.flags & NLM_F.ACK_TLVS) {
    // Without NLM_F_CAPPED the whole request is echoed before the TLVs.
    const echoed = m.header.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : request.len;
    const start = nlAlign(4 + echoed);
    if (start <= m.payload.length) extAck = decodeExtAck(m.payload.subarray(start));
  }
  return extAck ? { error, request, extAck } : { error, request };
}

/** Build an NLMSG_ERROR (ACK when error is 0) answering `request`; used by fakes and tests. */
export function encodeNlMsgErr(e: NlMsgErr, opts: { seq?: number; pid?: number; echo?: Uint8Array } = {}): Uint8Array {
  const w = new NlWriter();
  let flags = 0;
  if (!opts.echo) flags |= NLM_F.CAPPED;
  if (e.extAck) flags |= NLM_F.ACK_TLVS;
  const at = w.beginMessage(NLMSG_ERROR, flags, opts.seq ?? e.request.seq, opts.pid ?? 0);
  w.writeS32(e.error);
  if (opts.echo) w.writeBytes(opts.echo);
  else w.writeBytes(encodeNlMsgHdr(e.request));
  w.align();
  if (e.extAck) writeExtAck(w, e.extAck);
  return w.endMessage(at).finish();
}

function writeExtAck(w: NlWriter, a: ExtAck): void {
  if (a.msg !== undefined) w.putString(NLMSGERR_ATTR.MSG, a.msg);
  if (a.offset !== undefined) w.putU32(NLMSGERR_ATTR.OFFS, a.offset);
  if (a.cookie !== undefined) w.putBytes(NLMSGERR_ATTR.COOKIE, a.cookie);
  if (a.missingType !== undefined) w.putU32(NLMSGERR_ATTR.MISS_TYPE, a.missingType);
}

/** NLMSG_DONE carries an int: 0, or a negative errno when the dump itself failed. */
export interface NlDone {
  readonly error: number;
  readonly extAck?: ExtAck;
}

export function decodeNlDone(m: NlMessage): NlDone {
  if (m.header.type !== NLMSG_DONE) throw new NetlinkDecodeError(`not NLMSG_DONE: ${m.header.type}`, 0);
  // Some old kernels/subsystems send an empty DONE.
  const error =
    m.payload.length >= 4 ? new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, HOST_LE) : 0;
  const extAck = m.header.flags & NLM_F.ACK_TLVS ? decodeExtAck(m.payload.subarray(4)) : undefined;
  return extAck ? { error, extAck } : { error };
}

export function encodeNlDone(d: NlDone, seq: number, pid = 0): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(NLMSG_DONE, NLM_F.MULTI | (d.extAck ? NLM_F.ACK_TLVS : 0), seq, pid);
  w.writeS32(d.error);
  if (d.extAck) writeExtAck(w, d.extAck);
  return w.endMessage(at).finish();
}
