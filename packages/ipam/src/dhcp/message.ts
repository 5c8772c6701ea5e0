// Floor 3 (ipam/dhcp): the DHCPv4 message codec in pure TypeScript — the BOOTP header of RFC 2131
// §2 and the options of RFC 2132 (plus RFC 3396 long/split options and RFC 3442 classless routes).
import { formatIP, ipFromBytes, ipToBytes, parseIP } from '@tscni/ip';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const BROADCAST_ADDRESS = '255.255.255.255';
export const ZERO_ADDRESS = '0.0.0.0';

/** RFC 2131 §2: op. */
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 §2: the only flag, "reply by broadcast". */
export const FLAG_BROADCAST = 0x8000;
/** ARP hardware type for Ethernet (RFC 1700). */
export const HTYPE_ETHERNET = 1;

/** Option 53 values (RFC 2132 §9.6). */
export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** Option codes used by the client (RFC 2132 unless noted). */
export const Opt = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DomainNameServer: 6,
  HostName: 12,
  DomainName: 15,
  StaticRoute: 33,
  RequestedIP: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  VendorClassId: 60,
  ClientId: 61,
  UserClass: 77,
  ClasslessStaticRoute: 121, // RFC 3442
  End: 255,
} as const;

/** A DHCP message. Addresses are dotted quads; options keep their order and raw bytes. */
export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The client hardware address, hlen bytes (at most 16). */
  chaddr: Uint8Array;
  sname: string;
  file: string;
  options: Array<[code: number, value: Uint8Array]>;
}

export class DhcpDecodeError extends Error {
  override readonly name = 'DhcpDecodeError';
}

const HEADER_LEN = 236;
const MAGIC_COOKIE = 0x63825363;
/** RFC 951 minimum BOOTP message; some relays and servers drop shorter ones. */
const MIN_MESSAGE_LEN = 300;

function ip4Bytes(s: string): Uint8Array {
  const ip = parseIP(s);
  if (ip === undefined || ip.family !== 4) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return ipToBytes(ip);
}

function ip4String(b: Uint8Array): string {
  return formatIP(ipFromBytes(b));
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

/** Appends options to `out`; a value longer than 255 bytes is split into several (RFC 3396). */
function encodeOptions(options: DhcpMessage['options'], out: number[]): void {
  for (const [code, value] of options) {
    if (code === Opt.Pad || code === Opt.End) continue;
    let offset = 0;
    do {
      const chunk = value.subarray(offset, offset + 255);
      out.push(code, chunk.length, ...chunk);
      offset += 255;
    } while (offset < value.length);
  }
  out.push(Opt.End);
}

export function encodeMessage(m: DhcpMessage): Uint8Array {
  if (m.chaddr.length > 16) throw new RangeError('chaddr is longer than 16 bytes');
  const opts: number[] = [];
  encodeOptions(m.options, opts);
  const len = Math.max(MIN_MESSAGE_LEN, HEADER_LEN + 4 + opts.length);
  const buf = new Uint8Array(len);
  const view = new DataView(buf.buffer);
  buf[0] = m.op;
  buf[1] = m.htype;
  buf[2] = m.hlen;
  buf[3] = m.hops;
  view.setUint32(4, m.xid >>> 0);
  view.setUint16(8, m.secs);
  view.setUint16(10, m.flags);
  buf.set(ip4Bytes(m.ciaddr), 12);
  buf.set(ip4Bytes(m.yiaddr), 16);
  buf.set(ip4Bytes(m.siaddr), 20);
  buf.set(ip4Bytes(m.giaddr), 24);
  buf.set(m.chaddr, 28);
  const enc = new TextEncoder();
  buf.set(enc.encode(m.sname).subarray(0, 63), 44);
  buf.set(enc.encode(m.file).subarray(0, 127), 108);
  view.setUint32(HEADER_LEN, MAGIC_COOKIE);
  buf.set(opts, HEADER_LEN + 4);
  return buf;
}

/** Parses one option area up to END; repeated codes are concatenated (RFC 3396). */
function decodeOptionArea(area: Uint8Array, into: Map<number, number[]>, order: number[]): void {
  let i = 0;
  while (i < area.length) {
    const code = area[i]!;
    if (code === Opt.Pad) {
      i++;
      continue;
    }
    if (code === Opt.End) return;
    const len = area[i + 1];
    if (len === undefined || i + 2 + len > area.length) throw new DhcpDecodeError(`option ${code} runs past the end of the message`);
    let acc = into.get(code);
    if (acc === undefined) {
      acc = [];
      into.set(code, acc);
      order.push(code);
    }
    acc.push(...area.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
}

export function decodeMessage(buf: Uint8Array): DhcpMessage {
  if (buf.length < HEADER_LEN + 4) throw new DhcpDecodeError(`message of ${buf.length} bytes is shorter than a DHCP header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(HEADER_LEN) !== MAGIC_COOKIE) throw new DhcpDecodeError('no DHCP magic cookie (a plain BOOTP message)');
  const hlen = buf[2]!;
  const values = new Map<number, number[]>();
  const order: number[] = [];
  decodeOptionArea(buf.subarray(HEADER_LEN + 4), values, order);
  // Option 52 moves more options into `file` (1), `sname` (2) or both (3), read in that order.
  const overload = values.get(Opt.Overload)?.[0] ?? 0;
  if (overload & 1) decodeOptionArea(buf.subarray(108, 236), values, order);
  if (overload & 2) decodeOptionArea(buf.subarray(44, 108), values, order);
  return {
    op: buf[0]!,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: view.getUint32(4),
    secs: view.getUint16(8),
    flags: view.getUint16(10),
    ciaddr: ip4String(buf.subarray(12, 16)),
    yiaddr: ip4String(buf.subarray(16, 20)),
    siaddr: ip4String(buf.subarray(20, 24)),
    giaddr: ip4String(buf.subarray(24, 28)),
    chaddr: buf.slice(28, 28 + Math.min(hlen, 16)),
    sname: overload & 2 ? '' : cString(buf.subarray(44, 108)),
    file: overload & 1 ? '' : cString(buf.subarray(108, 236)),
    options: order.map((code) => [code, Uint8Array.from(values.get(code)!)]),
  };
}

// ---------------------------------------------------------------------------------------------
// Option values

export function getOption(m: DhcpMessage, code: number): Uint8Array | undefined {
  return m.options.find(([c]) => c === code)?.[1];
}

export function messageType(m: DhcpMessage): number | undefined {
  const v = getOption(m, Opt.MessageType);
  return v?.length === 1 ? v[0] : undefined;
}

export function ipOption(addresses: readonly string[]): Uint8Array {
  const out = new Uint8Array(addresses.length * 4);
  addresses.forEach((a, i) => out.set(ip4Bytes(a), i * 4));
  return out;
}

export function u32Option(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

export function textOption(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A list of addresses (options 1, 3, 6, 50, 54); undefined unless a non-empty multiple of 4 bytes. */
export function decodeIPs(v: Uint8Array | undefined): string[] | undefined {
  if (v === undefined || v.length === 0 || v.length % 4 !== 0) return undefined;
  const out: string[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(ip4String(v.subarray(i, i + 4)));
  return out;
}

export function decodeU32(v: Uint8Array | undefined): number | undefined {
  if (v?.length !== 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}

export function decodeText(v: Uint8Array | undefined): string | undefined {
  return v === undefined ? undefined : cString(v);
}

/** A route carried by option 33 or 121: destination CIDR and next hop ("0.0.0.0" = on-link). */
export interface DhcpRoute {
  dst: string;
  gw: string;
}

/** Option 33 (RFC 2132 §5.8): pairs of classful destination host and router. */
export function decodeStaticRoutes(v: Uint8Array | undefined): DhcpRoute[] {
  const ips = decodeIPs(v) ?? [];
  const out: DhcpRoute[] = [];
  for (let i = 0; i + 1 < ips.length; i += 2) out.push({ dst: `${ips[i]!}/32`, gw: ips[i + 1]! });
  return out;
}

/** Option 121 (RFC 3442 §3): width, significant octets of the destination, router. */
export function decodeClasslessRoutes(v: Uint8Array | undefined): DhcpRoute[] {
  if (v === undefined) return [];
  const out: DhcpRoute[] = [];
  let i = 0;
  while (i < v.length) {
    const width = v[i]!;
    if (width > 32) throw new DhcpDecodeError(`option 121: prefix length ${width} is over 32`);
    const significant = Math.ceil(width / 8);
    if (i + 1 + significant + 4 > v.length) throw new DhcpDecodeError('option 121: truncated route');
    const dst = new Uint8Array(4);
    dst.set(v.subarray(i + 1, i + 1 + significant));
    const gw = v.subarray(i + 1 + significant, i + 5 + significant);
    out.push({ dst: `${ip4String(dst)}/${width}`, gw: ip4String(gw) });
    i += 5 + significant;
  }
  return out;
}

export function encodeClasslessRoutes(routes: readonly DhcpRoute[]): Uint8Array {
  const out: number[] = [];
  for (const r of routes) {
    const [addr, width = '32'] = r.dst.split('/');
    const w = Number(width);
    out.push(w, ...ip4Bytes(addr ?? '').subarray(0, Math.ceil(w / 8)), ...ip4Bytes(r.gw));
  }
  return Uint8Array.from(out);
}

/** Prefix length of a contiguous netmask; undefined for a non-contiguous one. */
export function maskPrefix(mask: string): number | undefined {
  const b = ip4Bytes(mask);
  const n = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const inverted = ~n >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return 32 - Math.log2(inverted + 1);
}
