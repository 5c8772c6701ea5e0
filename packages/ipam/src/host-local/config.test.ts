import { CniError, parseNetConf } from '@tscni/spec';
import { describe, expect, it } from 'vitest';
import { formatCIDR, formatIP } from '@tscni/ip';
import { DEFAULT_DATA_DIR, loadHostLocalConfig, loadStoreLocation } from './config.js';
import type { HostLocalConfig } from './config.js';
import { rangeSetToString } from './range.js';

function conf(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseNetConf({ cniVersion: '1.0.0', name: 'net1', type: 'bridge', ipam: { type: 'host-local', ...ipam }, ...extra });
}

function load(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}, cniArgs = ''): HostLocalConfig {
  return loadHostLocalConfig(conf(ipam, extra), cniArgs);
}

function failure(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

const sets = (c: HostLocalConfig) => c.rangeSets.map(rangeSetToString);

describe('loadHostLocalConfig', () => {
  it('fills in the reference defaults: gateway .1, rangeStart .1 (gateway skipped later), rangeEnd before broadcast', () => {
    const c = load({ ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]] });
    expect(c.name).toBe('net1');
    expect(c.dataDir).toBe(DEFAULT_DATA_DIR);
    expect(sets(c)).toEqual(['10.1.2.1-10.1.2.254', '2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff']);
    const r = c.rangeSets[0]![0]!;
    expect(formatIP(r.gateway)).toBe('10.1.2.1');
    expect(formatCIDR(r.subnet)).toBe('10.1.2.0/24');
    expect(c.requestedIPs).toEqual([]);
    expect(c.resolvConf).toBeUndefined();
  });

  it('keeps explicit rangeStart, rangeEnd, gateway, dataDir, resolvConf and routes', () => {
    const c = load({
      ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.10', rangeEnd: '10.1.2.20', gateway: '10.1.2.254' }]],
      dataDir: '/tmp/x',
      resolvConf: '/etc/resolv.conf',
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.5/16', gw: '10.1.2.254', priority: 0, table: 0 }],
    });
    expect(sets(c)).toEqual(['10.1.2.10-10.1.2.20']);
    expect(formatIP(c.rangeSets[0]![0]!.gateway)).toBe('10.1.2.254');
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.resolvConf).toBe('/etc/resolv.conf');
    expect(c.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '192.168.0.5/16', gw: '10.1.2.254', table: 0 }]);
  });

  it('orders range sets as the reference: ipRanges capability, legacy top-level range, ranges', () => {
    const c = load(
      { subnet: '10.2.0.0/24', rangeStart: '10.2.0.5', ranges: [[{ subnet: '10.3.0.0/24' }]] },
      { runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]] } },
    );
    expect(sets(c)).toEqual(['10.1.0.1-10.1.0.254', '10.2.0.5-10.2.0.254', '10.3.0.1-10.3.0.254']);
  });

  it('collects requested IPs from CNI_ARGS IP, args.cni.ips and runtimeConfig.ips, canonical and de-duplicated', () => {
    const c = load(
      { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8::/64' }]] },
      { args: { cni: { ips: ['10.1.2.9/24', '2001:DB8::9'] } }, runtimeConfig: { ips: ['::ffff:10.1.2.7', '10.1.2.9'] } },
      'IgnoreUnknown=1;IP=10.1.2.5;K8S_POD_NAME=x',
    );
    expect(c.requestedIPs.map(formatIP)).toEqual(['10.1.2.5', '10.1.2.9', '2001:db8::9', '10.1.2.7']);
    expect(c.requestedIPs.every((ip) => ip.family === 4 || formatIP(ip).includes(':'))).toBe(true);
  });

  it('rejects CNI_ARGS as the reference does (code 4)', () => {
    expect(failure(() => load({ subnet: '10.0.0.0/24' }, {}, 'FOO=1')).code).toBe(4);
    const bad = failure(() => load({ subnet: '10.0.0.0/24' }, {}, 'IP=10.0.0.300'));
    expect(bad.code).toBe(4);
    expect(bad.msg).toContain('IP=10.0.0.300');
  });

  it.each([
    [{}, 'no IP ranges specified'],
    [{ ranges: [[{ subnet: '10.0.0.0/31' }]] }, 'ipam.ranges[0][0].subnet: invalid range set 0: Network 10.0.0.0/31 too small to allocate from'],
    [{ ranges: [[{ subnet: '2001:db8::/127' }]] }, 'ipam.ranges[0][0].subnet: invalid range set 0: Network 2001:db8::/127 too small'],
    [{ ranges: [[{ subnet: '10.0.0.5/24' }]] }, 'ipam.ranges[0][0].subnet: invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0'],
    [{ ranges: [[{ subnet: 'nope' }]] }, 'ipam.ranges[0][0].subnet: invalid range set 0: invalid CIDR address'],
    [{ ranges: [[{ subnet: 10 }]] }, 'ipam.ranges[0][0].subnet: must be a string, got number'],
    [{ ranges: [[{}]] }, 'ipam.ranges[0][0].subnet: is required'],
    [{ ranges: [[{ subnet: '::ffff:10.0.0.0/120' }]] }, 'version mismatch'],
    [{ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.1.5' }]] }, 'ipam.ranges[0][0].rangeStart: invalid range set 0: RangeStart 10.0.1.5 not in network 10.0.0.0/24'],
    [{ ranges: [[{ subnet: '10.0.0.0/24', rangeEnd: '10.0.1.5' }]] }, 'ipam.ranges[0][0].rangeEnd: invalid range set 0: RangeEnd 10.0.1.5 not in network 10.0.0.0/24'],
    [{ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.40' }]] }, 'ipam.ranges[0][0].rangeEnd: invalid range set 0: RangeEnd 10.0.0.40 is before RangeStart 10.0.0.50'],
    [{ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: 'x' }]] }, 'ipam.ranges[0][0].rangeStart: invalid IP address: "x"'],
    [{ ranges: [[{ subnet: '10.0.0.0/24', gateway: '2001:db8::1' }]] }, 'ipam.ranges[0][0].gateway: invalid range set 0: gateway 2001:db8::1 is not an IPv4 address'],
    [{ ranges: [[]] }, 'ipam.ranges[0]: invalid range set 0: empty range set'],
    [{ ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: '2001:db8::/64' }]] }, 'ipam.ranges[0][1]: invalid range set 0: mixed address families'],
    [{ ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: '10.0.0.0/25' }]] }, 'ipam.ranges[0][1]: invalid range set 0: subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap'],
    [{ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.0.128/25' }]] }, 'ipam.ranges[1]: range set 0 overlaps with 1'],
    [{ subnet: '10.0.0.0/30', rangeStart: '10.0.1.1' }, 'ipam.rangeStart: invalid range set 0: RangeStart 10.0.1.1 not in network 10.0.0.0/30'],
    [{ ranges: 'x' }, 'ipam.ranges: must be an array, got string'],
    [{ ranges: [[{ subnet: '10.0.0.0/24' }]], routes: [{ dst: 'x' }] }, 'ipam.routes[0].dst: invalid CIDR address: x'],
  ])('rejects %j with code 7 naming the field', (ipam, text) => {
    const e = failure(() => load(ipam));
    expect(e.code).toBe(7);
    expect(`${e.msg}`).toContain(text);
  });

  it('accepts a gateway outside the subnet (the reference removed that check)', () => {
    const c = load({ ranges: [[{ subnet: '10.0.0.0/24', gateway: '10.9.9.9' }]] });
    expect(formatIP(c.rangeSets[0]![0]!.gateway)).toBe('10.9.9.9');
  });

  it('treats JSON null and "" like absent fields, as Go does', () => {
    const c = load({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '', gateway: null }]], dataDir: '' });
    expect(sets(c)).toEqual(['10.0.0.1-10.0.0.254']);
    expect(c.dataDir).toBe(DEFAULT_DATA_DIR);
  });

  it('allows one address per family only below 0.3.0', () => {
    const two = { ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.1.0/24' }]] };
    const old = parseNetConf({ cniVersion: '0.2.0', name: 'n', type: 'x', ipam: { type: 'host-local', ...two } });
    const e = failure(() => loadHostLocalConfig(old, ''));
    expect(e.code).toBe(7);
    expect(e.msg).toBe('CNI version 0.2.0 does not support more than 1 address per family');
    const dual = parseNetConf({ cniVersion: '0.2.0', name: 'n', type: 'x', ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '2001:db8::/64' }]] } });
    expect(loadHostLocalConfig(dual, '').rangeSets).toHaveLength(2);
    expect(load(two).rangeSets).toHaveLength(2);
  });

  it('needs an ipam section', () => {
    const c = parseNetConf({ cniVersion: '1.0.0', name: 'n', type: 'x' });
    expect(failure(() => loadHostLocalConfig(c, '')).msg).toBe("IPAM config missing 'ipam' key");
    expect(failure(() => loadStoreLocation(c)).code).toBe(7);
  });

  it('reads the store location alone, even when the ranges no longer validate', () => {
    expect(loadStoreLocation(conf({ ranges: [[{ subnet: 'bad' }]], dataDir: '/d' }))).toEqual({ name: 'net1', dataDir: '/d' });
  });
});

describe('Go JSON reading', () => {
  it('matches ipam, range, route, runtimeConfig and args keys case-insensitively like encoding/json', () => {
    const c = load(
      { Ranges: [[{ SUBNET: '10.1.2.0/24', rangestart: '10.1.2.10' }]], DATADIR: '/d', Routes: [{ DST: '0.0.0.0/0', GW: '10.1.2.1' }] },
      { runtimeConfig: { IPs: ['10.1.2.11'] }, args: { CNI: { IPS: ['10.1.2.12'] } } },
    );
    expect(sets(c)).toEqual(['10.1.2.10-10.1.2.254']);
    expect(c.dataDir).toBe('/d');
    expect(c.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
    expect(c.requestedIPs.map(formatIP)).toEqual(['10.1.2.12', '10.1.2.11']);
  });

  it('rejects args.cni that is not an object', () => {
    const e = failure(() => load({ subnet: '10.0.0.0/24' }, { args: { cni: 'x' } }));
    expect(e.code).toBe(7);
    expect(e.msg).toBe('args.cni: must be an object, got string');
  });
});
