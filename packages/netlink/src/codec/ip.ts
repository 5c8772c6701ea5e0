// Codec layer: addresses as netlink carries them: AF_* families (linux/socket.h), struct in_addr /
// in6_addr bytes whose text rules are @tscni/ip's (Go net), and link-layer (MAC) addresses.
import { formatIPBytes, parseCIDRBytes, parseIPBytes } from '@tscni/ip';

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_PACKET = 17;

export type IpFamily = typeof AF_INET | typeof AF_INET6;

/** Parse an IPv4 or IPv6 address (no prefix, no zone) to 4 or 16 bytes; undefined if invalid. */
export { parseIPBytes as tryParseIp } from '@tscni/ip';

export function parseIp(s: string): Uint8Array {
  const b = parseIPBytes(s);
  if (!b) throw new TypeError(`invalid IP address ${JSON.stringify(s)}`);
  return b;
}

export function ipFamily(bytes: Uint8Array): IpFamily {
  if (bytes.length === 4) return AF_INET;
  if (bytes.length === 16) return AF_INET6;
  throw new TypeError(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
}

export function familyOf(addr: string): IpFamily {
  return ipFamily(parseIp(addr));
}

/**
 * Address bytes as text. An IPv4-mapped IPv6 address keeps its "::ffff:" form (RFC 5952 §5, what
 * `ip -j` prints), so that the text written back into an attribute is 16 bytes again.
 */
export function formatIp(b: Uint8Array): string {
  return formatIPBytes(b, { keepMapped: true });
}

/** A parsed "addr/prefix" (CIDR). `address` keeps host bits. */
export interface IpPrefix {
  readonly address: string;
  readonly prefixLen: number;
  readonly family: IpFamily;
}

/** "addr/len" as Go's ParseCIDR reads it, or a bare address as its full-length prefix (as `ip` does). */
export function parseCidr(s: string): IpPrefix {
  if (!s.includes('/')) {
    const bytes = parseIp(s);
    return { address: formatIp(bytes), prefixLen: bytes.length * 8, family: ipFamily(bytes) };
  }
  const p = parseCIDRBytes(s);
  if (p === undefined) {
    // Name the part that is wrong.
    parseIp(s.slice(0, s.indexOf('/')));
    throw new TypeError(`invalid prefix length in ${JSON.stringify(s)}`);
  }
  return { address: formatIp(p.bytes), prefixLen: p.prefix, family: ipFamily(p.bytes) };
}

/** Parse a MAC address "aa:bb:cc:dd:ee:ff" (also '-' separated) into 6 bytes. */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`invalid MAC address ${JSON.stringify(s)}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}
