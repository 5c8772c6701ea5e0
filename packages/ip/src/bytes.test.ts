// The text <-> bytes path checked against Go's net package (fixtures/go-ip.json, from
// scripts/go-ip-oracle.go), node:net, and the integer implementation in ip.ts.
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalCIDRText,
  canonicalIPText,
  formatCIDRBytes,
  formatIPBytes,
  isV4CIDR,
  isV4MappedBytes,
  lastBytes,
  networkBytes,
  parseCIDRBytes,
  parseIPBytes,
  prefixMaskBytes,
} from './bytes.js';
import { formatIP, ipEqual, ipFromBytes, ipToBytes, lastAddress, netmaskIP, networkAddress, parseIP } from './ip.js';

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
// See ip.test.ts: Go before 1.22 read IPv6 groups of more than 4 digits with leading zeros.
const GO_PRE_122_ONLY = new Set(['00001::']);

const hex = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString('hex');

const bytes4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
// Bias towards zero and 0xff bytes so that "::" runs and v4-mapped addresses come up.
const bytes16 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0xff), fc.integer({ min: 0, max: 255 })), { minLength: 16, maxLength: 16 })
  .map((xs) => Uint8Array.from(xs));
const mapped = bytes4.map((b) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]));
const anyBytes = fc.oneof(bytes4, bytes16, mapped);

describe('Go net fixtures', () => {
  it(`parse and print like Go (${fixture.go}, ${fixture.cases.length} inputs)`, () => {
    for (const c of fixture.cases) {
      if (GO_PRE_122_ONLY.has(c.in)) {
        expect(parseIPBytes(c.in)).toBeUndefined();
        continue;
      }
      const b = parseIPBytes(c.in);
      expect({ in: c.in, ip: b === undefined ? null : formatIPBytes(b) }).toEqual({ in: c.in, ip: c.ip });
      expect({ in: c.in, ip: canonicalIPText(c.in) ?? null }).toEqual({ in: c.in, ip: c.ip });
      expect({ in: c.in, cidr: canonicalCIDRText(c.in) ?? null }).toEqual({ in: c.in, cidr: c.cidr });
      const p = parseCIDRBytes(c.in);
      const net = p === undefined ? null : formatCIDRBytes({ bytes: networkBytes(p.bytes, p.prefix), prefix: p.prefix });
      expect({ in: c.in, net }).toEqual({ in: c.in, net: c.net });
    }
  });
});

describe('parseIPBytes / formatIPBytes', () => {
  it.each([
    ['10.0.0.1', '0a000001'],
    ['::', '00000000000000000000000000000000'],
    ['fe80::1', 'fe800000000000000000000000000001'],
    ['2001:db8::ff00:42:8329', '20010db8000000000000ff0000428329'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1::', '00010000000000000000000000000000'],
    ['1:2::7:8', '00010002000000000000000000070008'],
  ])('%s is %s', (text, bytes) => {
    expect(hex(parseIPBytes(text))).toBe(bytes);
  });

  it('keeps the byte length of v4-mapped addresses when asked (netlink), prints them dotted otherwise (Go)', () => {
    const b = parseIPBytes('::ffff:1.2.3.4')!;
    expect(formatIPBytes(b)).toBe('1.2.3.4');
    expect(formatIPBytes(b, { keepMapped: true })).toBe('::ffff:1.2.3.4');
    expect(formatIPBytes(parseIPBytes('1.2.3.4')!, { keepMapped: true })).toBe('1.2.3.4');
    expect(() => formatIPBytes(new Uint8Array(5))).toThrow(RangeError);
  });

  it('round-trips every address with keepMapped, byte length included', () => {
    fc.assert(
      fc.property(anyBytes, (b) => {
        expect(hex(parseIPBytes(formatIPBytes(b, { keepMapped: true })))).toBe(hex(b));
      }),
    );
  });

  it('prints what the integer form prints, and parses to the same address', () => {
    fc.assert(
      fc.property(anyBytes, (b) => {
        const text = formatIPBytes(b);
        expect(text).toBe(formatIP(ipFromBytes(b)));
        expect(hex(ipToBytes(ipFromBytes(b)))).toBe(hex(b));
        // Go's text of a v4-mapped address is the dotted quad, which parses back to 4 bytes.
        expect(ipEqual(ipFromBytes(parseIPBytes(text)!), ipFromBytes(b))).toBe(true);
      }),
    );
  });

  it('prints non-mapped IPv6 as the WHATWG URL serializer does (RFC 5952)', () => {
    fc.assert(
      fc.property(bytes16, (b) => {
        fc.pre(!isV4MappedBytes(b));
        expect(formatIPBytes(b)).toBe(new URL(`http://[${formatIPBytes(b)}]/`).hostname.slice(1, -1));
      }),
    );
  });

  it('accepts exactly what node:net accepts and agrees with parseIP, over a small alphabet', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 24 });
    fc.assert(
      fc.property(text, (s) => {
        const b = parseIPBytes(s);
        expect(b !== undefined, s).toBe(isIP(s) !== 0);
        expect(hex(b)).toBe(hex(((ip) => (ip === undefined ? undefined : ipToBytes(ip)))(parseIP(s))));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('prefixes on bytes', () => {
  it('parses CIDRs keeping host bits, with Go dtoi prefix lengths', () => {
    expect(parseCIDRBytes('10.1.2.3/024')).toEqual({ bytes: Uint8Array.of(10, 1, 2, 3), prefix: 24 });
    for (const bad of ['10.1.2.3', '10.1.2.3/', '10.1.2.3/33', '10.1.2.3/+1', '::/129', '::/1 ', 'x/1']) {
      expect(parseCIDRBytes(bad), bad).toBeUndefined();
    }
  });

  it('tells IPv4 (and v4-mapped) CIDRs apart from IPv6 as the reference picks the result version', () => {
    expect(isV4CIDR('10.0.0.1/8')).toBe(true);
    expect(isV4CIDR('::ffff:10.0.0.1/104')).toBe(true);
    expect(isV4CIDR('fd00::1/64')).toBe(false);
    expect(isV4CIDR('garbage')).toBe(false);
  });

  it('masks, network and last addresses agree with the integer form', () => {
    const prefixed = anyBytes.chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 0, max: b.length * 8 })));
    fc.assert(
      fc.property(prefixed, ([b, prefix]) => {
        const n = { ip: ipFromBytes(b), prefix };
        expect(hex(prefixMaskBytes(b.length as 4 | 16, prefix))).toBe(hex(ipToBytes(netmaskIP(n))));
        expect(hex(networkBytes(b, prefix))).toBe(hex(ipToBytes(networkAddress(n))));
        expect(hex(lastBytes(b, prefix))).toBe(hex(ipToBytes(lastAddress(n))));
      }),
    );
    expect(() => prefixMaskBytes(4, 33)).toThrow(RangeError);
    expect(() => networkBytes(new Uint8Array(3), 0)).toThrow(RangeError);
    expect(formatIPBytes(lastBytes(parseIPBytes('10.1.2.3')!, 20))).toBe('10.1.15.255');
  });
});
