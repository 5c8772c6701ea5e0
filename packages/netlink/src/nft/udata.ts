// nftables layer: the user-data TLVs that nft stores in NFTA_*_USERDATA (libnftnl's nftnl_udata:
// u8 type, u8 length, value). The kernel keeps them opaque; `nft list` reads comments and set
// byte orders from them, so rules written here list exactly like rules nft wrote.

import { HOST_LE } from '../codec/netlink.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** NFTNL_UDATA_{TABLE,CHAIN,RULE}_COMMENT and NFTNL_UDATA_SET_ELEM_COMMENT share type 0. */
export const UDATA_COMMENT = 0;
/** enum nftnl_udata_set_types. */
export const UDATA_SET = {
  KEYBYTEORDER: 0,
  DATABYTEORDER: 1,
  MERGE_ELEMENTS: 2,
  KEY_TYPEOF: 3,
  DATA_TYPEOF: 4,
  EXPR: 5,
  DATA_INTERVAL: 6,
  COMMENT: 7,
} as const;
/** nft's enum byteorder, stored in the set byte-order TLVs. */
export const BYTEORDER = { invalid: 0, host: 1, big: 2 } as const;

/** The kernel caps user data at NFT_USERDATA_MAXLEN bytes. */
export const NFT_USERDATA_MAXLEN = 256;

export interface UdataTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

export function encodeUdata(tlvs: readonly UdataTlv[]): Uint8Array {
  const len = tlvs.reduce((n, t) => n + 2 + t.value.length, 0);
  if (len > NFT_USERDATA_MAXLEN) throw new RangeError(`user data of ${len} bytes exceeds ${NFT_USERDATA_MAXLEN}`);
  const out = new Uint8Array(len);
  let off = 0;
  for (const t of tlvs) {
    if (t.value.length > 255) throw new RangeError(`user data value of ${t.value.length} bytes exceeds 255`);
    out[off] = t.type;
    out[off + 1] = t.value.length;
    out.set(t.value, off + 2);
    off += 2 + t.value.length;
  }
  return out;
}

/** Parse user data; a malformed tail (another tool's format) is ignored rather than fatal. */
export function decodeUdata(buf: Uint8Array): UdataTlv[] {
  const out: UdataTlv[] = [];
  let off = 0;
  while (off + 2 <= buf.length) {
    const type = buf[off] ?? 0;
    const len = buf[off + 1] ?? 0;
    if (off + 2 + len > buf.length) break;
    out.push({ type, value: buf.slice(off + 2, off + 2 + len) });
    off += 2 + len;
  }
  return out;
}

/** A comment TLV value: the string and its NUL, as nft writes it. */
export function commentValue(comment: string): Uint8Array {
  const b = encoder.encode(comment);
  if (b.includes(0)) throw new RangeError('comment contains a NUL byte');
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

export function encodeComment(comment: string): Uint8Array {
  return encodeUdata([{ type: UDATA_COMMENT, value: commentValue(comment) }]);
}

export function decodeComment(buf: Uint8Array | undefined, type: number = UDATA_COMMENT): string | undefined {
  if (buf === undefined) return undefined;
  const t = decodeUdata(buf).find((x) => x.type === type);
  if (t === undefined) return undefined;
  let end = t.value.length;
  while (end > 0 && t.value[end - 1] === 0) end--;
  return decoder.decode(t.value.subarray(0, end));
}

/** A u32 TLV value in host byte order (libnftnl's nftnl_udata_put_u32). */
export function u32Value(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0, HOST_LE);
  return out;
}
