// Codec layer: IPv4/IPv6 text <-> the 4/16 raw bytes netlink carries (struct in_addr / in6_addr).
// Formatting follows RFC 5952 (what `ip -j` and Go's net.IP print).

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_PACKET = 17;

export type IpFamily = typeof AF_INET | typeof AF_INET6;

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    // No leading zeros: "010" is octal to some parsers and decimal to others; refuse the ambiguity.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  let head = s;
  let tailV4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return undefined;
  const splitGroups = (t: string): string[] => (t === '' ? [] : t.split(':'));
  let groups: string[];
  if (dbl >= 0) {
    const left = splitGroups(head.slice(0, dbl));
    const right = splitGroups(head.slice(dbl + 2));
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  } else {
    groups = head.split(':');
  }
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** Parse an IPv4 or IPv6 address (no prefix, no zone) to 4 or 16 bytes; undefined if invalid. */
export function tryParseIp(s: string): Uint8Array | undefined {
  return s.includes(':') ? parseV6(s) : parseV4(s);
}

export function parseIp(s: string): Uint8Array {
  const b = tryParseIp(s);
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

export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new TypeError(`an IP address is 4 or 16 bytes, got ${b.length}`);
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[i * 2] as number) << 8) | (b[i * 2 + 1] as number));
  // IPv4-mapped ::ffff:a.b.c.d keeps the dotted tail (RFC 5952 §5).
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // Longest run (>= 2) of zero groups, first one on ties, becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** A parsed "addr/prefix" (CIDR). `address` keeps host bits. */
export interface IpPrefix {
  readonly address: string;
  readonly prefixLen: number;
  readonly family: IpFamily;
}

export function parseCidr(s: string): IpPrefix {
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const bytes = parseIp(addrText);
  const max = bytes.length * 8;
  let prefixLen = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) {
      throw new TypeError(`invalid prefix length in ${JSON.stringify(s)}`);
    }
    prefixLen = Number(p);
  }
  return { address: formatIp(bytes), prefixLen, family: ipFamily(bytes) };
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
