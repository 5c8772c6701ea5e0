// Floor 1 (ip): addresses as integers for arithmetic and prefix math (IPAM ranges, containment,
// overlaps), with Go net semantics for text (ParseIP/ParseCIDR/IP.String/IPNet.String), because
// file names and result JSON must be byte-identical to what the Go plugins write and read.
// Text goes through bytes.ts; bigint only appears once an address is a value to compute with.
import { formatV6Groups, parseCIDRBytes, parseIPBytes } from './bytes.js';

export type IPFamily = 4 | 6;

/**
 * An IP address. `family` is the textual family it was written in: `::ffff:1.2.3.4` is family 6
 * (a 16-byte address, like Go's `net.ParseIP`) but prints as `1.2.3.4`; `canonicalIP` turns it into
 * family 4 (like Go's `To4`).
 */
export interface IP {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** An address with a prefix length. Host bits are kept (like Go `types.IPNet`): `10.0.0.5/24`. */
export interface IPNet {
  readonly ip: IP;
  readonly prefix: number;
}

const MAX4 = 0xffffffffn;
const MAX6 = (1n << 128n) - 1n;
const MAPPED_PREFIX = 0xffffn << 32n; // ::ffff:0:0/96

export function bitLength(family: IPFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

function maxValue(family: IPFamily): bigint {
  return family === 4 ? MAX4 : MAX6;
}

/** Build an address from its integer value; throws RangeError outside the family's range. */
export function ipFromBigInt(value: bigint, family: IPFamily): IP {
  if (value < 0n || value > maxValue(family)) throw new RangeError(`value out of range for IPv${family}`);
  return { family, value };
}

/** Inverse of `ipToBytes`: 4 bytes are family 4, 16 bytes family 6; throws RangeError otherwise. */
export function ipFromBytes(b: Uint8Array): IP {
  const word = (i: number): number =>
    (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0;
  if (b.length === 4) return { family: 4, value: BigInt(word(0)) };
  if (b.length !== 16) throw new RangeError(`an IP has 4 or 16 bytes, got ${b.length}`);
  const hi = (BigInt(word(0)) << 32n) | BigInt(word(4));
  const lo = (BigInt(word(8)) << 32n) | BigInt(word(12));
  return { family: 6, value: (hi << 64n) | lo };
}

/** The four 32-bit words of an IPv6 value, most significant first. */
function words(v: bigint): [number, number, number, number] {
  return [Number(v >> 96n), Number((v >> 64n) & MAX4), Number((v >> 32n) & MAX4), Number(v & MAX4)];
}

/** Address bytes, network order: 4 bytes for family 4, 16 for family 6 (netlink, sockaddr). */
export function ipToBytes(ip: IP): Uint8Array {
  const ws = ip.family === 4 ? [Number(ip.value)] : words(ip.value);
  const out = new Uint8Array(ws.length * 4);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i] as number;
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = (w >>> 16) & 0xff;
    out[i * 4 + 2] = (w >>> 8) & 0xff;
    out[i * 4 + 3] = w & 0xff;
  }
  return out;
}

/** Parse an address like Go `net.ParseIP`; `undefined` when it is not one. */
export function parseIP(s: string): IP | undefined {
  const b = parseIPBytes(s);
  return b === undefined ? undefined : ipFromBytes(b);
}

function formatV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Is this a family-6 address inside ::ffff:0:0/96? */
export function isV4Mapped(ip: IP): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}

/** Format like Go `net.IP.String()`: IPv4 and IPv4-mapped as dotted quads, IPv6 per RFC 5952. */
export function formatIP(ip: IP): string {
  if (ip.family === 4) return formatV4(Number(ip.value));
  const [a, b, c, d] = words(ip.value);
  if (a === 0 && b === 0 && c === 0xffff) return formatV4(d);
  return formatV6Groups([a >>> 16, a & 0xffff, b >>> 16, b & 0xffff, c >>> 16, c & 0xffff, d >>> 16, d & 0xffff]);
}

/** Go `To4`: the IPv4 form of a v4 or v4-mapped address, else undefined. */
export function to4(ip: IP): IP | undefined {
  if (ip.family === 4) return ip;
  return isV4Mapped(ip) ? { family: 4, value: ip.value & MAX4 } : undefined;
}

/** The 16-byte (IPv6) form of an address; v4 becomes v4-mapped. */
export function to16(ip: IP): IP {
  return ip.family === 6 ? ip : { family: 6, value: MAPPED_PREFIX | ip.value };
}

/** Canonical family: v4-mapped addresses become IPv4 (like host-local's canonicalizeIP). */
export function canonicalIP(ip: IP): IP {
  return to4(ip) ?? ip;
}

/** Go `IP.Equal`: an IPv4 address equals its v4-mapped IPv6 form. */
export function ipEqual(a: IP, b: IP): boolean {
  const ca = canonicalIP(a);
  const cb = canonicalIP(b);
  return ca.family === cb.family && ca.value === cb.value;
}

/** Total order on canonical addresses: all IPv4 before all IPv6, then by value. */
export function compareIP(a: IP, b: IP): -1 | 0 | 1 {
  const ca = canonicalIP(a);
  const cb = canonicalIP(b);
  if (ca.family !== cb.family) return ca.family === 4 ? -1 : 1;
  return ca.value < cb.value ? -1 : ca.value > cb.value ? 1 : 0;
}

/** `ip + n` in the same family; undefined when it leaves the address space (no wrap-around). */
export function addIP(ip: IP, n: bigint | number): IP | undefined {
  const v = ip.value + BigInt(n);
  if (v < 0n || v > maxValue(ip.family)) return undefined;
  return { family: ip.family, value: v };
}

export function nextIP(ip: IP): IP | undefined {
  return addIP(ip, 1n);
}

export function prevIP(ip: IP): IP | undefined {
  return addIP(ip, -1n);
}

/** The number of addresses from `a` to `b` inclusive (0 when b < a or the families differ). */
export function ipSpan(a: IP, b: IP): bigint {
  const ca = canonicalIP(a);
  const cb = canonicalIP(b);
  if (ca.family !== cb.family || cb.value < ca.value) return 0n;
  return cb.value - ca.value + 1n;
}

// ---------------------------------------------------------------------------------------------
// Prefixes

/** Go `net.ParseCIDR`, but keeping the host bits in `ip` (like Go `types.IPNet` in CNI JSON). */
export function parseCIDR(s: string): IPNet | undefined {
  const p = parseCIDRBytes(s);
  return p === undefined ? undefined : { ip: ipFromBytes(p.bytes), prefix: p.prefix };
}

/**
 * A v4-mapped family-6 prefix behaves as the IPv4 prefix it maps (Go networkNumberAndMask drops the
 * first 12 mask bytes), so `::ffff:10.0.0.0/120` is `10.0.0.0/24`.
 */
export function canonicalNet(n: IPNet): IPNet {
  if (!isV4Mapped(n.ip)) return n;
  return { ip: { family: 4, value: n.ip.value & MAX4 }, prefix: Math.max(n.prefix - 96, 0) };
}

/** Format like Go `IPNet.String()`: the address as given (host bits kept) and the prefix length. */
export function formatCIDR(n: IPNet): string {
  const c = canonicalNet(n);
  return `${formatIP(c.ip)}/${c.prefix}`;
}

/** The mask of a prefix as an integer of the family's width. */
export function prefixMask(family: IPFamily, prefix: number): bigint {
  const bits = BigInt(bitLength(family));
  const host = bits - BigInt(prefix);
  return maxValue(family) ^ ((1n << host) - 1n);
}

/** The netmask as an address (`255.255.255.0` for a /24). */
export function netmaskIP(n: IPNet): IP {
  return { family: n.ip.family, value: prefixMask(n.ip.family, n.prefix) };
}

/** The first address of the prefix (host bits cleared). */
export function networkAddress(n: IPNet): IP {
  return { family: n.ip.family, value: n.ip.value & prefixMask(n.ip.family, n.prefix) };
}

/** The last address of the prefix (all host bits set; the broadcast address for IPv4). */
export function lastAddress(n: IPNet): IP {
  const mask = prefixMask(n.ip.family, n.prefix);
  return { family: n.ip.family, value: (n.ip.value & mask) | (maxValue(n.ip.family) ^ mask) };
}

/** The IPv4 broadcast address (same as `lastAddress`); IPv6 has no broadcast. */
export const broadcastAddress = lastAddress;

/** The prefix with its host bits cleared (`10.0.0.5/24` -> `10.0.0.0/24`). */
export function maskedNet(n: IPNet): IPNet {
  return { ip: networkAddress(n), prefix: n.prefix };
}

/** Does the prefix have host bits set? */
export function hasHostBits(n: IPNet): boolean {
  return networkAddress(n).value !== n.ip.value;
}

/** Go `IPNet.Contains`: v4 and v4-mapped forms are interchangeable; other families never match. */
export function cidrContains(n: IPNet, ip: IP): boolean {
  const cn = canonicalNet(n);
  const cip = canonicalIP(ip);
  if (cn.ip.family !== cip.family) return false;
  const mask = prefixMask(cn.ip.family, cn.prefix);
  return (cn.ip.value & mask) === (cip.value & mask);
}

/** Do two prefixes share any address? */
export function cidrOverlaps(a: IPNet, b: IPNet): boolean {
  const ca = canonicalNet(a);
  const cb = canonicalNet(b);
  if (ca.ip.family !== cb.ip.family) return false;
  const mask = prefixMask(ca.ip.family, Math.min(ca.prefix, cb.prefix));
  return (ca.ip.value & mask) === (cb.ip.value & mask);
}

/** The number of addresses in the prefix. */
export function prefixSize(n: IPNet): bigint {
  return 1n << BigInt(bitLength(n.ip.family) - n.prefix);
}
