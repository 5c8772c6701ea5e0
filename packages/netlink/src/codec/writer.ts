// Codec layer: a growable netlink message/attribute writer (struct nlmsghdr + struct nlattr TLVs of
// linux/netlink.h). Lengths of messages and nested attributes are reserved, then patched on close.

import { HOST_LE, NLA_HDRLEN, nlAlign } from './netlink.js';
import { parseIp } from './ip.js';

const encoder = new TextEncoder();

/** Opaque position of a reserved header, returned by begin* and consumed by end*. */
export type Reserved = number & { readonly __reserved: unique symbol };

export class NlWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  #ensure(extra: number): number {
    const at = this.#len;
    const need = at + extra;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#len = need;
    return at;
  }

  // ---- raw writes (fixed structs such as ifinfomsg); no implicit padding ----

  writeU8(v: number): this {
    const at = this.#ensure(1);
    this.#view.setUint8(at, v);
    return this;
  }
  writeU16(v: number): this {
    const at = this.#ensure(2);
    this.#view.setUint16(at, v, HOST_LE);
    return this;
  }
  writeU32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setUint32(at, v >>> 0, HOST_LE);
    return this;
  }
  writeS32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setInt32(at, v, HOST_LE);
    return this;
  }
  writeU64(v: bigint | number): this {
    const at = this.#ensure(8);
    this.#view.setBigUint64(at, BigInt(v), HOST_LE);
    return this;
  }
  writeBe16(v: number): this {
    const at = this.#ensure(2);
    this.#view.setUint16(at, v, false);
    return this;
  }
  writeBe32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setUint32(at, v >>> 0, false);
    return this;
  }
  writeBytes(b: Uint8Array): this {
    const at = this.#ensure(b.length);
    this.#buf.set(b, at);
    return this;
  }
  writeZeros(n: number): this {
    const at = this.#ensure(n);
    this.#buf.fill(0, at, this.#len);
    return this;
  }
  /** Pad with zeros to the next 4-byte boundary (NLMSG_ALIGN / NLA_ALIGN). */
  align(): this {
    const pad = nlAlign(this.#len) - this.#len;
    return pad ? this.writeZeros(pad) : this;
  }

  // ---- patching ----

  patchU16(offset: number, v: number): void {
    this.#view.setUint16(offset, v, HOST_LE);
  }
  patchU32(offset: number, v: number): void {
    this.#view.setUint32(offset, v >>> 0, HOST_LE);
  }

  // ---- messages ----

  /** Reserve a struct nlmsghdr; seq and pid are normally left 0 for the transport to assign. */
  beginMessage(type: number, flags: number, seq = 0, pid = 0): Reserved {
    const at = this.align().#len;
    this.writeU32(0).writeU16(type).writeU16(flags).writeU32(seq).writeU32(pid);
    return at as Reserved;
  }

  /** Patch nlmsg_len. Attribute padding is inside the length, as iproute2's addattr_l counts it. */
  endMessage(at: Reserved): this {
    this.patchU32(at, this.#len - at);
    return this.align();
  }

  // ---- attributes ----

  #attrHeader(type: number, payloadLen: number): number {
    this.align();
    const at = this.#ensure(NLA_HDRLEN);
    this.#view.setUint16(at, NLA_HDRLEN + payloadLen, HOST_LE);
    this.#view.setUint16(at + 2, type, HOST_LE);
    return at + NLA_HDRLEN;
  }

  putBytes(type: number, b: Uint8Array): this {
    this.#attrHeader(type, b.length);
    this.writeBytes(b);
    return this.align();
  }
  /** A zero-length attribute whose presence is the value (NLA_FLAG). */
  putFlag(type: number): this {
    this.#attrHeader(type, 0);
    return this;
  }
  putU8(type: number, v: number): this {
    this.#attrHeader(type, 1);
    return this.writeU8(v).align();
  }
  putU16(type: number, v: number): this {
    this.#attrHeader(type, 2);
    return this.writeU16(v).align();
  }
  putU32(type: number, v: number): this {
    this.#attrHeader(type, 4);
    return this.writeU32(v);
  }
  putS32(type: number, v: number): this {
    this.#attrHeader(type, 4);
    return this.writeS32(v);
  }
  putU64(type: number, v: bigint | number): this {
    this.#attrHeader(type, 8);
    return this.writeU64(v);
  }
  /** Network byte order u16 (ports, VLAN protocol ids). */
  putBe16(type: number, v: number): this {
    this.#attrHeader(type, 2);
    return this.writeBe16(v).align();
  }
  putBe32(type: number, v: number): this {
    this.#attrHeader(type, 4);
    return this.writeBe32(v);
  }
  /** NUL-terminated string (NLA_NUL_STRING / NLA_STRING as iproute2 sends them). */
  putString(type: number, s: string): this {
    const b = encoder.encode(s);
    this.#attrHeader(type, b.length + 1);
    return this.writeBytes(b).writeU8(0).align();
  }
  /** String without the trailing NUL (e.g. IFLA_INFO_KIND, which iproute2 sends unterminated). */
  putStringRaw(type: number, s: string): this {
    return this.putBytes(type, encoder.encode(s));
  }
  /** IPv4 or IPv6 address in its 4/16 raw bytes. */
  putIp(type: number, addr: string | Uint8Array): this {
    return this.putBytes(type, typeof addr === 'string' ? parseIp(addr) : addr);
  }

  /** Reserve a nested attribute header; `type` may carry NLA_F_NESTED when the kernel validates it. */
  beginNested(type: number): Reserved {
    return (this.#attrHeader(type, 0) - NLA_HDRLEN) as Reserved;
  }
  endNested(at: Reserved): this {
    this.patchU16(at, this.#len - at);
    return this.align();
  }
  nested(type: number, body: (w: this) => void): this {
    const at = this.beginNested(type);
    body(this);
    return this.endNested(at);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Encode a complete message: header + fixed struct (`body` writes it) + attributes. */
export function buildMessage(type: number, flags: number, body: (w: NlWriter) => void): Uint8Array {
  const w = new NlWriter();
  const m = w.beginMessage(type, flags);
  body(w);
  w.endMessage(m);
  return w.finish();
}
