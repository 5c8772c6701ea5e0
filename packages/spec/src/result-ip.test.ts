// Result addresses read and print as Go's types.ParseCIDR / net.ParseIP do (fixtures captured from
// the reference library); the text rules themselves are @tscni/ip's and tested there.
import { describe, expect, it } from 'vitest';
import fixtures from './fixtures/go-reference.json' with { type: 'json' };
import { CniError, ErrorCode } from './errors.js';
import { parseResult, type Result } from './result.js';

const decodingFailure = (f: () => unknown): void => {
  expect(f).toThrow(CniError);
  try {
    f();
  } catch (e) {
    expect((e as CniError).code).toBe(ErrorCode.DecodingFailure);
  }
};

describe('result addresses like Go', () => {
  it.each(Object.entries(fixtures.cidrs as Record<string, string | null>))('address %j -> %j', (input, expected) => {
    const read = (): Result => parseResult({ cniVersion: '1.1.0', ips: [{ address: input }] }) as Result;
    if (expected === null) decodingFailure(read);
    else expect(read().ips?.[0]?.address).toBe(expected);
  });
  it.each(Object.entries(fixtures.ips as Record<string, string | null>).filter(([input]) => input !== ''))(
    'gateway %j -> %j',
    (input, expected) => {
      const read = (): Result => parseResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/8', gateway: input }] }) as Result;
      if (expected === null) decodingFailure(read);
      else expect(read().ips?.[0]?.gateway).toBe(expected);
    },
  );
  it('gives a 0.4.0 IP its version from the address, IPv4-mapped counting as "4"', () => {
    const r = parseResult({ cniVersion: '0.4.0', ips: [{ address: '::ffff:10.0.0.1/104' }, { address: 'fd00::1/64' }] });
    expect((r as { ips: Array<{ version: string; address: string }> }).ips).toEqual([
      { version: '4', address: '10.0.0.1/8' },
      { version: '6', address: 'fd00::1/64' },
    ]);
  });
});
