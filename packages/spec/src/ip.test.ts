// Address text handling checked against Go's net.ParseIP / types.ParseCIDR output (fixtures).
import { describe, expect, it } from 'vitest';
import fixtures from './fixtures/go-reference.json' with { type: 'json' };
import { canonicalCIDR, canonicalIP, isV4CIDR } from './ip.js';

describe('IP text like Go net', () => {
  it.each(Object.entries(fixtures.ips as Record<string, string | null>))('IP %j -> %j', (input, expected) => {
    expect(canonicalIP(input)).toBe(expected);
  });
  it.each(Object.entries(fixtures.cidrs as Record<string, string | null>))('CIDR %j -> %j', (input, expected) => {
    expect(canonicalCIDR(input)).toBe(expected);
  });
  it('treats IPv4-mapped addresses as IPv4 when choosing the family', () => {
    expect(isV4CIDR('10.0.0.1/8')).toBe(true);
    expect(isV4CIDR('::ffff:10.0.0.1/104')).toBe(true);
    expect(isV4CIDR('fd00::1/64')).toBe(false);
    expect(isV4CIDR('garbage')).toBe(false);
  });
});
