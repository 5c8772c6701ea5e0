// Hashed names as the reference's pkg/utils makes them (values checked against sha512sum), and the
// lazily loaded node:crypto behind them.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { chainName, hashWithPrefix, hexDigest, randomHex } from './crypto.js';

const sha512sum = (s: string): string => execFileSync('sha512sum', { input: s, encoding: 'utf8' }).split(' ')[0]!;

describe('hashed names', () => {
  it('prefix + hex SHA-512, cut to the length (MustFormatHashWithPrefix)', () => {
    expect(hexDigest('sha512', 'net1ctr1')).toBe(sha512sum('net1ctr1'));
    expect(hashWithPrefix(15, 'bwp', 'net1ctr1')).toBe(`bwp${sha512sum('net1ctr1').slice(0, 12)}`);
    expect(hashWithPrefix(16, '', 'net1')).toBe(sha512sum('net1').slice(0, 16));
  });

  it('chain names are "CNI-" [+ prefix] + the hash of network + container ID, 28 characters (FormatChainName)', () => {
    expect(chainName('pmnet', 'ctr1')).toBe(`CNI-${sha512sum('pmnetctr1').slice(0, 24)}`);
    expect(chainName('pmnet', 'ctr1', 'DN-')).toBe(`CNI-DN-${sha512sum('pmnetctr1').slice(0, 21)}`);
    expect(chainName('pmnet', 'ctr1', 'SN-')).toHaveLength(28);
  });

  it('random hex of the asked size', () => {
    expect(randomHex(4)).toMatch(/^[0-9a-f]{8}$/);
    expect(randomHex(4)).not.toBe(randomHex(4));
  });
});
