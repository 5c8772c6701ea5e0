// Floor 1 (ip): address text <-> the 4/16 raw bytes of struct in_addr / in6_addr, as Go's net
// package reads (ParseIP, ParseCIDR) and prints (IP.String, IPNet.String) them. This is the path
// every plugin start takes (results, netlink attributes), so it scans char codes and uses no bigint.

const DOT = 0x2e;
const COLON = 0x3a;
const ZERO = 0x30;

/**
 * A dotted quad in s[start, end) as an unsigned 32-bit number, or -1. Leading zeros are refused
 * (Go since 1.17): "010" is octal to some parsers and decimal to others.
 */
function scanV4(s: string, start: number, end: number): number {
  let value = 0;
  let pos = start;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (pos >= end || s.charCodeAt(pos) !== DOT) return -1;
      pos++;
    }
    const first = pos;
    let n = 0;
    while (pos < end) {
      const d = s.charCodeAt(pos) - ZERO;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      if (n > 255) return -1;
      pos++;
    }
    if (pos === first || (pos - first > 1 && s.charCodeAt(first) === ZERO)) return -1;
    value = value * 256 + n;
  }
  return pos === end ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * RFC 4291 text into `out` (16 zero bytes): 1-4 hex digits a group (more digits are refused as by
 * current Go and node:net, even when they are leading zeros), an optional trailing dotted quad,
 * one "::" standing for at least one zero group, no zone.
 */
function scanV6(s: string, out: Uint8Array): boolean {
  const end = s.length;
  let groups = 0;
  let ellipsis = -1; // group index where "::" stands
  let pos = 0;
  if (end >= 2 && s.charCodeAt(0) === COLON && s.charCodeAt(1) === COLON) {
    ellipsis = 0;
    pos = 2;
  }
  while (pos < end) {
    if (groups === 8) return false;
    const start = pos;
    let n = 0;
    while (pos < end && pos - start < 4) {
      const d = hexDigit(s.charCodeAt(pos));
      if (d < 0) break;
      n = n * 16 + d;
      pos++;
    }
    if (pos < end && s.charCodeAt(pos) === DOT) {
      // An embedded IPv4 address ends the text and fills the last two groups.
      if (groups > 6 || (ellipsis < 0 && groups !== 6)) return false;
      const v4 = scanV4(s, start, end);
      if (v4 < 0) return false;
      out[groups * 2] = v4 >>> 24;
      out[groups * 2 + 1] = (v4 >>> 16) & 0xff;
      out[groups * 2 + 2] = (v4 >>> 8) & 0xff;
      out[groups * 2 + 3] = v4 & 0xff;
      groups += 2;
      break;
    }
    if (pos === start || (pos < end && hexDigit(s.charCodeAt(pos)) >= 0)) return false;
    out[groups * 2] = n >> 8;
    out[groups * 2 + 1] = n & 0xff;
    groups++;
    if (pos === end) break;
    if (s.charCodeAt(pos) !== COLON) return false;
    pos++;
    if (pos < end && s.charCodeAt(pos) === COLON) {
      if (ellipsis >= 0) return false;
      ellipsis = groups;
      pos++;
    } else if (pos === end) {
      return false; // a trailing single ':'
    }
  }
  if (ellipsis < 0) return groups === 8;
  if (groups === 8) return false; // "::" must stand for at least one group
  const after = (groups - ellipsis) * 2;
  out.copyWithin(16 - after, ellipsis * 2, groups * 2);
  out.fill(0, ellipsis * 2, 16 - after);
  return true;
}

/**
 * Parses an address like Go's net.ParseIP: 4 bytes for a dotted quad, 16 for IPv6 text (so
 * "::ffff:1.2.3.4" is 16 bytes); undefined when the text is not an address.
 */
export function parseIPBytes(s: string): Uint8Array | undefined {
  if (s.indexOf(':') >= 0) {
    const out = new Uint8Array(16);
    return scanV6(s, out) ? out : undefined;
  }
  const v = scanV4(s, 0, s.length);
  return v < 0 ? undefined : Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Is this a 16-byte address inside ::ffff:0:0/96? */
export function isV4MappedBytes(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function dotted(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * RFC 5952 text of eight 16-bit groups: lowercase, no leading zeros, the first longest run of two
 * or more zero groups as "::".
 */
export function formatV6Groups(g: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) out += ':';
    out += (g[i] as number).toString(16);
  }
  return out;
}

export interface FormatIPOptions {
  /**
   * Print an IPv4-mapped address as "::ffff:a.b.c.d" (Go netip.Addr.String, RFC 5952 §5) instead
   * of "a.b.c.d" (Go net.IP.String), so that its text parses back to 16 bytes. Netlink attributes
   * need this: their byte length is part of their meaning.
   */
  readonly keepMapped?: boolean;
}

/**
 * Prints 4 or 16 address bytes as Go's net.IP.String does: IPv4 and IPv4-mapped IPv6 as a dotted
 * quad, other IPv6 per RFC 5952. Throws RangeError for any other length.
 */
export function formatIPBytes(b: Uint8Array, options?: FormatIPOptions): string {
  if (b.length === 4) return dotted(b, 0);
  if (b.length !== 16) throw new RangeError(`an IP address is 4 or 16 bytes, got ${b.length}`);
  if (isV4MappedBytes(b)) return options?.keepMapped === true ? `::ffff:${dotted(b, 12)}` : dotted(b, 12);
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = ((b[i * 2] as number) << 8) | (b[i * 2 + 1] as number);
  return formatV6Groups(g);
}

/** An address with a prefix length, host bits kept (like Go's types.IPNet in CNI JSON). */
export interface IPBytesPrefix {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * Parses "addr/len" like Go's net.ParseCIDR, keeping the host bits. The length is any run of
 * decimal digits (Go's dtoi accepts "/024") up to the address's bit length.
 */
export function parseCIDRBytes(s: string): IPBytesPrefix | undefined {
  const slash = s.indexOf('/');
  if (slash < 0 || slash === s.length - 1) return undefined;
  const bytes = parseIPBytes(s.slice(0, slash));
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  let prefix = 0;
  for (let pos = slash + 1; pos < s.length; pos++) {
    const d = s.charCodeAt(pos) - ZERO;
    if (d < 0 || d > 9) return undefined;
    prefix = prefix * 10 + d;
    if (prefix > max) return undefined;
  }
  return { bytes, prefix };
}

/**
 * Prints a prefix as Go's net.IPNet.String does: the address as net.IP.String prints it, and for
 * an IPv4-mapped address the length of the IPv4 part of the mask (so "::ffff:1.2.3.4/120" prints
 * "1.2.3.4/24" and anything below /96 prints /0).
 */
export function formatCIDRBytes(p: IPBytesPrefix): string {
  const prefix = isV4MappedBytes(p.bytes) ? Math.max(p.prefix - 96, 0) : p.prefix;
  return `${formatIPBytes(p.bytes)}/${prefix}`;
}

/** The canonical text of an address (net.ParseIP(s).String()), or undefined when it does not parse. */
export function canonicalIPText(s: string): string | undefined {
  const b = parseIPBytes(s);
  return b === undefined ? undefined : formatIPBytes(b);
}

/** The canonical text of a CIDR with its host bits (types.ParseCIDR(s).String()), or undefined. */
export function canonicalCIDRText(s: string): string | undefined {
  const p = parseCIDRBytes(s);
  return p === undefined ? undefined : formatCIDRBytes(p);
}

/**
 * True when a CIDR's address is IPv4 or IPv4-mapped (Go's To4() != nil), which is how the reference
 * decides that a result IP is version "4"; false for IPv6 and for text that does not parse.
 */
export function isV4CIDR(s: string): boolean {
  const p = parseCIDRBytes(s);
  return p !== undefined && (p.bytes.length === 4 || isV4MappedBytes(p.bytes));
}

/** The mask of a prefix as 4 or 16 bytes (a /20 of 4 bytes is 255.255.240.0). */
export function prefixMaskBytes(length: 4 | 16, prefix: number): Uint8Array {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > length * 8) {
    throw new RangeError(`prefix length ${prefix} out of range for a ${length}-byte address`);
  }
  const mask = new Uint8Array(length);
  const full = prefix >> 3;
  mask.fill(0xff, 0, full);
  if (full < length && (prefix & 7) !== 0) mask[full] = (0xff00 >> (prefix & 7)) & 0xff;
  return mask;
}

/** A copy of the address with the host bits of the prefix cleared (the network address). */
export function networkBytes(b: Uint8Array, prefix: number): Uint8Array {
  if (b.length !== 4 && b.length !== 16) throw new RangeError(`an IP address is 4 or 16 bytes, got ${b.length}`);
  const mask = prefixMaskBytes(b.length as 4 | 16, prefix);
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = (b[i] as number) & (mask[i] as number);
  return out;
}

/** A copy of the address with the host bits of the prefix set (the last address; IPv4 broadcast). */
export function lastBytes(b: Uint8Array, prefix: number): Uint8Array {
  const out = networkBytes(b, prefix);
  const mask = prefixMaskBytes(b.length as 4 | 16, prefix);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) | (~(mask[i] as number) & 0xff);
  return out;
}
