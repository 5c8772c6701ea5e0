// nftables layer: the byte forms of values that rules compare and sets store (struct nft_data of
// linux/netfilter/nf_tables.h): network-order ports and addresses, host-order marks, padded ifnames.

import { HOST_LE } from '../codec/netlink.js';
import { networkBytes, prefixMaskBytes } from '@tscni/ip';
import { parseIp, parseCidr } from '../codec/ip.js';
import { IFNAMSIZ } from './consts.js';

const encoder = new TextEncoder();

/** Interface names compare as IFNAMSIZ bytes, zero padded (nft sends them that way too). */
export function ifnameBytes(name: string): Uint8Array {
  const b = encoder.encode(name);
  if (b.length >= IFNAMSIZ) throw new RangeError(`interface name "${name}" is longer than ${IFNAMSIZ - 1} bytes`);
  const out = new Uint8Array(IFNAMSIZ);
  out.set(b);
  return out;
}

/** A 16-bit value in network byte order (ports, ethertypes). */
export function be16(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`not a 16-bit value: ${v}`);
  return Uint8Array.of(v >> 8, v & 0xff);
}

/** A 32-bit value in network byte order. */
export function be32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0, false);
  return out;
}

/** A 32-bit value in host byte order (meta mark, ct state bits, fib addrtype, verdict codes). */
export function u32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0, HOST_LE);
  return out;
}

export function u8(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff);
}

export function ipBytes(addr: string): Uint8Array {
  return parseIp(addr);
}

/** Network address and mask bytes of a prefix; the address has its host bits cleared. */
export function prefixBytes(cidr: string): { addr: Uint8Array; mask: Uint8Array; full: boolean } {
  const p = parseCidr(cidr);
  const bytes = parseIp(p.address);
  const mask = prefixMaskBytes(bytes.length as 4 | 16, p.prefixLen);
  return { addr: networkBytes(bytes, p.prefixLen), mask, full: p.prefixLen === bytes.length * 8 };
}

/** Concatenate values the way nft lays out concatenations: each field padded to 4 bytes. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + padLen(p.length), 0);
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += padLen(p.length);
  }
  return out;
}

/** Bytes a value of `len` takes in the register file (NFT_REG32_SIZE granularity). */
export function padLen(len: number): number {
  return (len + 3) & ~3;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
