// Codec layer: walking struct nlattr TLVs (linux/netlink.h) into an iterator or a map with typed getters.

import { HOST_LE, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, nlAlign } from './netlink.js';
import { formatIp } from './ip.js';

const decoder = new TextDecoder();

/** Thrown when bytes from the kernel (or a fixture) are not well-formed netlink. */
export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface NlAttr {
  /** nla_type with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off. */
  readonly type: number;
  readonly nestedFlag: boolean;
  readonly netByteOrder: boolean;
  readonly data: Uint8Array;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Iterate the attributes in `buf` (a region that holds only attributes). */
export function* iterAttrs(buf: Uint8Array): Generator<NlAttr> {
  const dv = view(buf);
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = dv.getUint16(off, HOST_LE);
    const rawType = dv.getUint16(off + 2, HOST_LE);
    if (len < NLA_HDRLEN || off + len > buf.length) {
      throw new NetlinkDecodeError(`attribute length ${len} at offset ${off} overruns ${buf.length} bytes`, off);
    }
    yield {
      type: rawType & NLA_TYPE_MASK,
      nestedFlag: (rawType & NLA_F_NESTED) !== 0,
      netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
      data: buf.subarray(off + NLA_HDRLEN, off + len),
    };
    off += nlAlign(len);
  }
}

function need(data: Uint8Array, n: number, type: number): DataView {
  if (data.length < n) throw new NetlinkDecodeError(`attribute ${type}: ${data.length} bytes, need ${n}`, 0);
  return view(data);
}

/** Attributes by type. Getters return undefined when the attribute is absent; repeated types keep all. */
export class AttrMap implements Iterable<NlAttr> {
  readonly #list: NlAttr[];
  readonly #byType = new Map<number, NlAttr[]>();

  constructor(attrs: Iterable<NlAttr>) {
    this.#list = [...attrs];
    for (const a of this.#list) {
      const xs = this.#byType.get(a.type);
      if (xs) xs.push(a);
      else this.#byType.set(a.type, [a]);
    }
  }

  static parse(buf: Uint8Array): AttrMap {
    return new AttrMap(iterAttrs(buf));
  }

  [Symbol.iterator](): Iterator<NlAttr> {
    return this.#list[Symbol.iterator]();
  }
  get size(): number {
    return this.#list.length;
  }
  has(type: number): boolean {
    return this.#byType.has(type);
  }
  /** The last attribute of this type (the kernel's nla_parse keeps the last one too). */
  get(type: number): Uint8Array | undefined {
    const xs = this.#byType.get(type);
    return xs?.[xs.length - 1]?.data;
  }
  all(type: number): Uint8Array[] {
    return (this.#byType.get(type) ?? []).map((a) => a.data);
  }
  u8(type: number): number | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : need(d, 1, type).getUint8(0);
  }
  u16(type: number): number | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : need(d, 2, type).getUint16(0, HOST_LE);
  }
  u32(type: number): number | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : need(d, 4, type).getUint32(0, HOST_LE);
  }
  s32(type: number): number | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : need(d, 4, type).getInt32(0, HOST_LE);
  }
  u64(type: number): bigint | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : need(d, 8, type).getBigUint64(0, HOST_LE);
  }
  be16(type: number): number | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : need(d, 2, type).getUint16(0, false);
  }
  be32(type: number): number | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : need(d, 4, type).getUint32(0, false);
  }
  /** String with any trailing NULs stripped. */
  str(type: number): string | undefined {
    const d = this.get(type);
    if (d === undefined) return undefined;
    let end = d.length;
    while (end > 0 && d[end - 1] === 0) end--;
    return decoder.decode(d.subarray(0, end));
  }
  ip(type: number): string | undefined {
    const d = this.get(type);
    return d === undefined || (d.length !== 4 && d.length !== 16) ? undefined : formatIp(d);
  }
  nested(type: number): AttrMap | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : AttrMap.parse(d);
  }
  flag(type: number): boolean {
    return this.has(type);
  }
}

/** Fixed-layout struct reader over a message payload. */
export class StructReader {
  readonly #dv: DataView;
  constructor(readonly bytes: Uint8Array, minLen: number, what: string) {
    if (bytes.length < minLen) throw new NetlinkDecodeError(`${what}: ${bytes.length} bytes, need ${minLen}`, 0);
    this.#dv = view(bytes);
  }
  u8(off: number): number {
    return this.#dv.getUint8(off);
  }
  u16(off: number): number {
    return this.#dv.getUint16(off, HOST_LE);
  }
  u32(off: number): number {
    return this.#dv.getUint32(off, HOST_LE);
  }
  s32(off: number): number {
    return this.#dv.getInt32(off, HOST_LE);
  }
  be16(off: number): number {
    return this.#dv.getUint16(off, false);
  }
  be32(off: number): number {
    return this.#dv.getUint32(off, false);
  }
}
