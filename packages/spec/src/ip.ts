// Layer 1 (spec): IP and CIDR text handling as Go's net package reads and prints it, so results
// round-trip to the same text the reference would print (e.g. "2001:DB8::1" -> "2001:db8::1").

/** An address as 4 or 16 bytes. */
export type IPBytes = Uint8Array;

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseV4(s: string): IPBytes | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    // Go (since 1.17) rejects leading zeros, which some libraries read as octal.
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseV6(s: string): IPBytes | null {
  const out = new Uint8Array(16);
  let head = s;
  let tail = '';
  const dc = s.indexOf('::');
  if (dc >= 0) {
    head = s.slice(0, dc);
    tail = s.slice(dc + 2);
    if (tail.includes('::')) return null;
  }
  const parseGroups = (t: string, allowV4: boolean): number[] | null => {
    if (t === '') return [];
    const groups = t.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (allowV4 && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (!v4) return null;
        words.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      words.push(parseInt(g, 16));
    }
    return words;
  };
  const hw = parseGroups(head, dc < 0);
  const tw = parseGroups(tail, true);
  if (!hw || !tw) return null;
  if (dc < 0) {
    if (hw.length !== 8) return null;
  } else if (hw.length + tw.length > 7) {
    return null;
  }
  const words = [...hw, ...new Array<number>(8 - hw.length - tw.length).fill(0), ...tw];
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** Parses an IPv4 or IPv6 address (no zone) like Go's net.ParseIP; null when invalid. */
export function parseIP(s: string): IPBytes | null {
  if (s.includes(':')) return parseV6(s);
  return s.includes('.') ? parseV4(s) : null;
}

/** The 4-byte form when the address is IPv4 or IPv4-mapped IPv6 (Go's To4), else null. */
export function to4(ip: IPBytes): IPBytes | null {
  if (ip.length === 4) return ip;
  for (let i = 0; i < 12; i++) if (ip[i] !== V4_MAPPED_PREFIX[i]) return null;
  return ip.subarray(12);
}

/** Prints an address as Go's net.IP.String does (IPv4-mapped IPv6 prints as IPv4; RFC 5952 otherwise). */
export function formatIP(ip: IPBytes): string {
  const v4 = to4(ip);
  if (v4) return Array.from(v4).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((ip[i] as number) << 8) | (ip[i + 1] as number));
  // Longest run of at least two zero words is shortened to "::" (the first one on a tie).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (w: number): string => w.toString(16);
  if (bestStart < 0) return words.map(hex).join(':');
  return `${words.slice(0, bestStart).map(hex).join(':')}::${words.slice(bestStart + bestLen).map(hex).join(':')}`;
}

/** An address with its prefix length, host bits kept (Go's types.ParseCIDR keeps the IP). */
export interface Cidr {
  ip: IPBytes;
  prefix: number;
}

/** Parses "ip/len" like Go's net.ParseCIDR; null when invalid. */
export function parseCIDR(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIP(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (!ip || !/^\d+$/.test(len)) return null;
  const prefix = Number(len);
  if (prefix > ip.length * 8) return null;
  return { ip, prefix };
}

/**
 * Prints a CIDR as Go's net.IPNet.String does for a parsed value: IPv4 (and IPv4-mapped IPv6,
 * whose mask then loses its first 96 bits) prints as a.b.c.d/n.
 */
export function formatCIDR(c: Cidr): string {
  if (c.ip.length === 16 && to4(c.ip)) return `${formatIP(c.ip)}/${Math.max(0, c.prefix - 96)}`;
  return `${formatIP(c.ip)}/${c.prefix}`;
}

/** Canonical text of an IP, or null when it does not parse. */
export function canonicalIP(s: string): string | null {
  const ip = parseIP(s);
  return ip ? formatIP(ip) : null;
}

/** Canonical text of a CIDR, or null when it does not parse. */
export function canonicalCIDR(s: string): string | null {
  const c = parseCIDR(s);
  return c ? formatCIDR(c) : null;
}

/** True when a CIDR's address is IPv4 or IPv4-mapped (how the reference picks version "4"). */
export function isV4CIDR(s: string): boolean {
  const c = parseCIDR(s);
  return c !== null && to4(c.ip) !== null;
}
