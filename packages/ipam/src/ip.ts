// Floor 3 (shared by the IPAM and interface plugins): IP address and prefix math on bigints.
// Textual forms follow Go's net package (ParseIP/ParseCIDR/IP.String/IPNet.String), because file
// names and result JSON must be byte-identical to what the Go plugins write and read.

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

const MAX4 = (1n << 32n) - 1n;
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

// ---------------------------------------------------------------------------------------------
// Parsing (Go net.ParseIP rules: dotted quads without leading zeros, RFC 4291 IPv6 text with an
// optional trailing dotted quad, no zones, `::` must stand for at least one group).

function parseV4(s: string, start: number): bigint | undefined {
  let value = 0n;
  let pos = start;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(pos) !== 0x2e) return undefined; // '.'
      pos++;
    }
    let n = 0;
    let digits = 0;
    const first = pos;
    while (pos < s.length) {
      const c = s.charCodeAt(pos);
      if (c < 0x30 || c > 0x39) break;
      n = n * 10 + (c - 0x30);
      digits++;
      pos++;
      if (n > 255) return undefined;
    }
    if (digits === 0) return undefined;
    if (digits > 1 && s.charCodeAt(first) === 0x30) return undefined; // leading zero (ambiguous octal)
    value = (value << 8n) | BigInt(n);
  }
  return pos === s.length ? value : undefined;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function parseV6(s: string): bigint | undefined {
  const groups: number[] = [];
  let ellipsis = -1; // index in groups where "::" stands
  let pos = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    pos = 2;
    if (pos === s.length) return 0n;
  }
  while (pos < s.length) {
    // One group: 1..4 hex digits, or a trailing dotted quad.
    let n = 0;
    let digits = 0;
    const start = pos;
    while (pos < s.length && digits < 5) {
      const d = hexDigit(s.charCodeAt(pos));
      if (d < 0) break;
      n = n * 16 + d;
      digits++;
      pos++;
    }
    if (pos < s.length && s.charCodeAt(pos) === 0x2e) {
      // Embedded IPv4: must be last and fit into the remaining two groups.
      if (groups.length > 6 || (ellipsis < 0 && groups.length !== 6)) return undefined;
      const v4 = parseV4(s, start);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      pos = s.length;
      break;
    }
    if (digits === 0 || digits > 4) return undefined;
    groups.push(n);
    if (pos === s.length) break;
    if (s.charCodeAt(pos) !== 0x3a) return undefined; // ':'
    pos++;
    if (s.charCodeAt(pos) === 0x3a) {
      if (ellipsis >= 0) return undefined; // a second "::"
      ellipsis = groups.length;
      pos++;
      if (pos === s.length) break;
    } else if (pos === s.length) {
      return undefined; // trailing single ':'
    }
    if (groups.length > 8) return undefined;
  }
  if (groups.length > 8) return undefined;
  if (ellipsis < 0) {
    if (groups.length !== 8) return undefined;
  } else {
    if (groups.length === 8) return undefined; // "::" must expand to at least one zero group
    groups.splice(ellipsis, 0, ...new Array<number>(8 - groups.length).fill(0));
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** Parse an address like Go `net.ParseIP`; `undefined` when it is not one. */
export function parseIP(s: string): IP | undefined {
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseV4(s, 0);
  return v === undefined ? undefined : { family: 4, value: v };
}

// ---------------------------------------------------------------------------------------------
// Formatting (Go IP.String: IPv4 and IPv4-mapped addresses as dotted quads; IPv6 per RFC 5952 —
// lowercase, no leading zeros, the first longest run of two or more zero groups as "::").

function formatV4(v: bigint): string {
  const n = Number(v);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function formatV6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1; // a run must be at least 2 groups long
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Is this a family-6 address inside ::ffff:0:0/96? */
export function isV4Mapped(ip: IP): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}

/** Format like Go `net.IP.String()`. */
export function formatIP(ip: IP): string {
  if (ip.family === 4) return formatV4(ip.value);
  if (isV4Mapped(ip)) return formatV4(ip.value & MAX4);
  return formatV6(ip.value);
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

/** Address bytes, network order: 4 bytes for family 4, 16 for family 6 (netlink, sockaddr). */
export function ipToBytes(ip: IP): Uint8Array {
  const len = ip.family === 4 ? 4 : 16;
  const out = new Uint8Array(len);
  let v = ip.value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Inverse of `ipToBytes`; throws RangeError unless given 4 or 16 bytes. */
export function ipFromBytes(bytes: Uint8Array): IP {
  if (bytes.length !== 4 && bytes.length !== 16) throw new RangeError(`an IP has 4 or 16 bytes, got ${bytes.length}`);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value: v };
}

// ---------------------------------------------------------------------------------------------
// Prefixes

/** Go `net.ParseCIDR`, but keeping the host bits in `ip` (like Go `types.IPNet` in CNI JSON). */
export function parseCIDR(s: string): IPNet | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  // Go's dtoi takes any run of decimal digits (leading zeros too).
  if (ip === undefined || !/^[0-9]+$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > bitLength(ip.family)) return undefined;
  return { ip, prefix };
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
