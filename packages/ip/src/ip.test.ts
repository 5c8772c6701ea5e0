import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addIP,
  canonicalIP,
  canonicalNet,
  cidrContains,
  cidrOverlaps,
  compareIP,
  formatCIDR,
  formatIP,
  hasHostBits,
  ipEqual,
  ipFromBigInt,
  ipFromBytes,
  ipSpan,
  ipToBytes,
  lastAddress,
  maskedNet,
  netmaskIP,
  networkAddress,
  nextIP,
  parseCIDR,
  parseIP,
  prefixSize,
  prevIP,
  to4,
  type IP,
  type IPNet,
} from './ip.js';

interface GoCase {
  in: string;
  ip: string | null;
  cidr: string | null;
  net: string | null;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/go-ip.json', import.meta.url), 'utf8')) as {
  go: string;
  cases: GoCase[];
};

const v4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((v) => ipFromBigInt(v, 4));
// Bias IPv6 values towards zero runs so that "::" compression is exercised.
const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const v6 = fc
  .array(group, { minLength: 8, maxLength: 8 })
  .map((gs) => ipFromBigInt(gs.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n), 6));
const anyIP = fc.oneof(v4, v6);
const net4 = fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([ip, prefix]): IPNet => ({ ip, prefix }));
const net6 = fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([ip, prefix]): IPNet => ({ ip, prefix }));
const anyNet = fc.oneof(net4, net6);

// Oracle: binary strings. The network of a prefix is the first `prefix` bits followed by zeros.
function bits(ip: IP): string {
  return ip.value.toString(2).padStart(ip.family === 4 ? 32 : 128, '0');
}
function fromBits(b: string, family: 4 | 6): IP {
  return ipFromBigInt(BigInt(`0b${b}`), family);
}

// Go before 1.22 parsed IPv6 groups with more than 4 hex digits when they had leading zeros; since
// 1.22 net.ParseIP is netip.ParseAddr, which rejects them. We follow current Go.
const GO_PRE_122_ONLY = new Set(['00001::']);

describe('Go net fixtures', () => {
  it(`parses and formats like Go (${fixture.go}, ${fixture.cases.length} inputs)`, () => {
    for (const c of fixture.cases) {
      if (GO_PRE_122_ONLY.has(c.in)) {
        expect(parseIP(c.in)).toBeUndefined();
        continue;
      }
      const ip = parseIP(c.in);
      expect({ in: c.in, ip: ip === undefined ? null : formatIP(ip) }).toEqual({ in: c.in, ip: c.ip });
      const n = parseCIDR(c.in);
      expect({ in: c.in, cidr: n === undefined ? null : formatCIDR(n) }).toEqual({ in: c.in, cidr: c.cidr });
      expect({ in: c.in, net: n === undefined ? null : formatCIDR(maskedNet(n)) }).toEqual({ in: c.in, net: c.net });
    }
  });
});

describe('parseIP / formatIP', () => {
  it('keeps the written family of v4-mapped addresses but prints them dotted (Go IP.String)', () => {
    const ip = parseIP('::ffff:10.1.2.3');
    expect(ip?.family).toBe(6);
    expect(formatIP(ip!)).toBe('10.1.2.3');
    expect(canonicalIP(ip!)).toEqual({ family: 4, value: 0x0a010203n });
    expect(ipEqual(ip!, parseIP('10.1.2.3')!)).toBe(true);
    expect(formatIP(parseIP('::10.1.2.3')!)).toBe('::a01:203'); // v4-compatible is plain IPv6
  });

  it('rejects zones, leading zeros in dotted quads and "::" standing for nothing', () => {
    for (const bad of ['fe80::1%eth0', '010.0.0.1', '1:2:3:4:5:6:7::8', '00000::1', '', ' 1.2.3.4', '1.2.3.4/24']) {
      expect(parseIP(bad), bad).toBeUndefined();
    }
  });

  it('round-trips every address', () => {
    fc.assert(
      fc.property(anyIP, (ip) => {
        const back = parseIP(formatIP(ip));
        expect(back).toBeDefined();
        expect(ipEqual(back!, ip)).toBe(true);
        expect(formatIP(back!)).toBe(formatIP(ip));
      }),
    );
  });

  it('prints IPv6 as the WHATWG URL serializer does (RFC 5952) for non-mapped addresses', () => {
    fc.assert(
      fc.property(v6, (ip) => {
        fc.pre(to4(ip) === undefined);
        const oracle = new URL(`http://[${formatIP(ip)}]/`).hostname.slice(1, -1);
        expect(formatIP(ip)).toBe(oracle);
      }),
    );
  });

  it('prints IPv4 as the dotted bytes', () => {
    fc.assert(fc.property(v4, (ip) => {
        expect(formatIP(ip)).toBe([...ipToBytes(ip)].join("."));
      }));
  });

  it('accepts exactly what node:net accepts, over a small alphabet (zones excluded)', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 24 });
    fc.assert(
      fc.property(text, (s) => {
        expect(parseIP(s) !== undefined, s).toBe(isIP(s) !== 0);
      }),
      { numRuns: 20000 },
    );
  });

  it('parses the fully spelled, zero-padded, uppercase form to the same address', () => {
    fc.assert(
      fc.property(v6, (ip) => {
        const full = ip.value.toString(16).padStart(32, '0').toUpperCase().match(/.{4}/g)!.join(':');
        expect(parseIP(full)).toEqual(ip);
      }),
    );
  });
});

describe('arithmetic and comparison', () => {
  it('adds like integers and refuses to leave the family', () => {
    fc.assert(
      fc.property(anyIP, fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }), (ip, n) => {
        const r = addIP(ip, n);
        const max = ip.family === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
        const v = ip.value + n;
        if (v < 0n || v > max) expect(r).toBeUndefined();
        else expect(r).toEqual({ family: ip.family, value: v });
      }),
    );
    expect(nextIP(parseIP('255.255.255.255')!)).toBeUndefined();
    expect(prevIP(parseIP('::')!)).toBeUndefined();
    expect(formatIP(nextIP(parseIP('10.0.0.255')!)!)).toBe('10.0.1.0');
    expect(formatIP(prevIP(parseIP('2001:db8::1:0')!)!)).toBe('2001:db8::ffff');
  });

  it('orders like the text of zero-padded bytes within a family, IPv4 first', () => {
    fc.assert(
      fc.property(anyIP, anyIP, (a, b) => {
        const key = (ip: IP) => `${canonicalIP(ip).family}:${bits(canonicalIP(ip))}`;
        const oracle = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
        expect(compareIP(a, b)).toBe(oracle);
        expect(compareIP(b, a)).toBe(oracle === 0 ? 0 : -oracle);
      }),
    );
    expect(compareIP(parseIP('::ffff:1.2.3.4')!, parseIP('1.2.3.4')!)).toBe(0);
  });

  it('counts spans inclusively', () => {
    expect(ipSpan(parseIP('10.0.0.2')!, parseIP('10.0.0.254')!)).toBe(253n);
    expect(ipSpan(parseIP('10.0.0.2')!, parseIP('10.0.0.1')!)).toBe(0n);
    expect(ipSpan(parseIP('10.0.0.2')!, parseIP('::2')!)).toBe(0n);
  });

  it('converts to and from bytes', () => {
    fc.assert(fc.property(anyIP, (ip) => {
        expect(ipFromBytes(ipToBytes(ip))).toEqual(ip);
      }));
    expect([...ipToBytes(parseIP('1.2.3.4')!)]).toEqual([1, 2, 3, 4]);
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow(RangeError);
  });
});

describe('prefixes', () => {
  it('keeps host bits and prints them (Go types.IPNet)', () => {
    const n = parseCIDR('10.0.0.5/24')!;
    expect(formatCIDR(n)).toBe('10.0.0.5/24');
    expect(hasHostBits(n)).toBe(true);
    expect(formatIP(networkAddress(n))).toBe('10.0.0.0');
    expect(formatIP(lastAddress(n))).toBe('10.0.0.255');
    expect(formatIP(netmaskIP(n))).toBe('255.255.255.0');
    expect(prefixSize(n)).toBe(256n);
    expect(formatCIDR(parseCIDR('::ffff:10.0.0.5/120')!)).toBe('10.0.0.5/24');
    expect(parseCIDR('10.0.0.5/33')).toBeUndefined();
    expect(parseCIDR('10.0.0.5')).toBeUndefined();
  });

  it('computes network and last address like bit strings', () => {
    fc.assert(
      fc.property(anyNet, (n) => {
        const b = bits(n.ip);
        const host = b.length - n.prefix;
        expect(networkAddress(n)).toEqual(fromBits(b.slice(0, n.prefix) + '0'.repeat(host), n.ip.family));
        expect(lastAddress(n)).toEqual(fromBits(b.slice(0, n.prefix) + '1'.repeat(host), n.ip.family));
        expect(netmaskIP(n)).toEqual(fromBits('1'.repeat(n.prefix) + '0'.repeat(host), n.ip.family));
        expect(prefixSize(n)).toBe(1n << BigInt(host));
        expect(parseCIDR(formatCIDR(n))).toEqual(canonicalNet(n));
      }),
    );
  });

  it('contains exactly the addresses between network and last address', () => {
    fc.assert(
      fc.property(anyNet, anyIP, (n, ip) => {
        const inside =
          ip.family === n.ip.family &&
          ip.value >= networkAddress(n).value &&
          ip.value <= lastAddress(n).value;
        fc.pre(to4(ip) === undefined || ip.family === 4);
        fc.pre(to4(n.ip) === undefined || n.ip.family === 4);
        expect(cidrContains(n, ip)).toBe(inside);
      }),
    );
    expect(cidrContains(parseCIDR('10.0.0.0/24')!, parseIP('::ffff:10.0.0.9')!)).toBe(true);
    expect(cidrContains(parseCIDR('::/0')!, parseIP('10.0.0.9')!)).toBe(false);
  });

  it('overlaps when one contains the network of the other', () => {
    fc.assert(
      fc.property(anyNet, anyNet, (a, b) => {
        const oracle = cidrContains(a, networkAddress(b)) || cidrContains(b, networkAddress(a));
        fc.pre(to4(a.ip) === undefined || a.ip.family === 4);
        fc.pre(to4(b.ip) === undefined || b.ip.family === 4);
        expect(cidrOverlaps(a, b)).toBe(oracle);
        expect(cidrOverlaps(b, a)).toBe(oracle);
      }),
    );
  });
});
