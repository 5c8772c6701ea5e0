// nftables-syntax conditions: the phrases become the same expressions as @tscni/netlink's helpers
// (which are held to nft's own lowering); anything else is code 7 naming the key and the phrase.
import { describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import { matchDaddr, matchIifname, matchMark, matchOifname, matchSaddr } from '@tscni/netlink';
import { parseNftConditions } from './conditions.js';

describe('parseNftConditions', () => {
  it('parses address, interface and mark matches, tokens split or joined', () => {
    expect(parseNftConditions(['ip saddr', '10.0.0.0/8', 'iifname', '!=', '"docker0"'], 4, 'conditionsV4')).toEqual([
      matchSaddr('10.0.0.0/8'),
      matchIifname('docker0', 'neq'),
    ]);
    expect(parseNftConditions(['ip6 daddr != fd00::1', 'meta oifname eth0', 'meta mark 0x10'], 6, 'conditionsV6')).toEqual([
      matchDaddr('fd00::1', 'neq'),
      matchOifname('eth0'),
      matchMark(0x10),
    ]);
    expect(parseNftConditions(['mark', '==', '7'], 4, 'conditionsV4')).toEqual([matchMark(7, { op: 'eq' })]);
    expect(parseNftConditions([], 4, 'conditionsV4')).toEqual([]);
  });

  it.each([
    [['ip6', 'saddr', 'fd00::1'], 4, 'conditionsV4: an ip6 match cannot apply to IPv4 traffic'],
    [['ip', 'saddr', 'fd00::1'], 4, 'conditionsV4: "fd00::1" is not an IPv4 address or prefix'],
    [['ip', 'protocol', 'tcp'], 4, 'conditionsV4: unsupported match "ip protocol"'],
    [['tcp', 'dport', '80'], 4, 'conditionsV4: unsupported match starting at "tcp dport 80"'],
    [['ip', 'saddr'], 4, 'conditionsV4: expected an address at the end of "ip saddr"'],
    [['mark', 'lots'], 6, 'conditionsV6: invalid mark "lots"'],
    [['iifname', 'averyveryverylongname'], 4, 'conditionsV4: invalid interface name'],
  ] as const)('refuses %j with code 7', (tokens, version, msg) => {
    let err: unknown;
    try {
      parseNftConditions(tokens, version, version === 4 ? 'conditionsV4' : 'conditionsV6');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(7);
    expect((err as CniError).msg).toContain(msg);
  });
});
