// Tests for config reading: Go's case-insensitive keys, typed getters naming the field in code-7
// errors, MAC precedence (CNI_ARGS < args.cni < runtimeConfig), dns override and prevResult.
import { describe, expect, it } from 'vitest';
import { parseNetConf } from '@tscni/spec';
import { GoObject, dnsOverride, ipamType, readMtu, requestedMac, requirePrevResult } from './conf.js';
import { codeOf } from '../test-support/cni-error.js';

describe('GoObject', () => {
  it('matches keys case-insensitively, the last non-null occurrence winning', () => {
    const o = new GoObject({ Bridge: 'a', bridge: 'b', BRIDGE: null, isgateway: true });
    expect(o.string('bridge')).toBe('b');
    expect(o.bool('isGateway')).toBe(true);
    expect(o.bool('ipMasq')).toBe(false);
    expect(o.bool('ipMasq', true)).toBe(true);
  });

  it('rejects wrong types with code 7 naming the field path', () => {
    const o = new GoObject({ mtu: '1400', args: { cni: { mac: 5 } }, hairpinMode: 'yes' });
    expect(() => o.int('mtu')).toThrow('mtu: must be a number, got string');
    expect(() => o.bool('hairpinMode')).toThrow('hairpinMode: must be a boolean, got string');
    expect(() => o.object('args')?.object('cni')?.string('mac')).toThrow('args.cni.mac: must be a string, got number');
    expect(codeOf(() => o.int('mtu'))).toBe(7);
    expect(() => new GoObject({ mtu: 1.5 }).int('mtu')).toThrow('mtu: must be an integer, got 1.5');
  });

  it('reads an MTU, 0 meaning the kernel default', () => {
    expect(readMtu(new GoObject({ mtu: 1400 }))).toBe(1400);
    expect(readMtu(new GoObject({ mtu: 0 }))).toBeUndefined();
    expect(readMtu(new GoObject({}))).toBeUndefined();
    expect(() => readMtu(new GoObject({ mtu: -1 }))).toThrow('mtu: invalid MTU -1');
  });
});

describe('requestedMac', () => {
  const conf = (extra: Record<string, unknown>) => parseNetConf({ cniVersion: '1.0.0', name: 'n', type: 'bridge', ...extra });

  it('takes CNI_ARGS, then args.cni.mac, then runtimeConfig.mac, normalised', () => {
    expect(requestedMac(conf({}), '')).toBeUndefined();
    expect(requestedMac(conf({}), 'MAC=0A-00-00-00-00-01')).toBe('0a:00:00:00:00:01');
    expect(requestedMac(conf({ args: { cni: { mac: '0a:00:00:00:00:02' } } }), 'MAC=0a:00:00:00:00:01')).toBe('0a:00:00:00:00:02');
    expect(
      requestedMac(conf({ args: { cni: { mac: '0a:00:00:00:00:02' } }, runtimeConfig: { mac: '0a:00:00:00:00:03' } }), 'MAC=0a:00:00:00:00:01'),
    ).toBe('0a:00:00:00:00:03');
    // An empty value does not override a lower source.
    expect(requestedMac(conf({ runtimeConfig: { mac: '' } }), 'MAC=0a:00:00:00:00:01')).toBe('0a:00:00:00:00:01');
  });

  it('refuses unknown CNI_ARGS unless IgnoreUnknown, like LoadArgs (code 4)', () => {
    expect(codeOf(() => requestedMac(conf({}), 'K8S_POD_NAME=x'))).toBe(4);
    expect(requestedMac(conf({}), 'IgnoreUnknown=1;K8S_POD_NAME=x;MAC=0a:00:00:00:00:04')).toBe('0a:00:00:00:00:04');
  });

  it('names the source of a malformed MAC', () => {
    expect(() => requestedMac(conf({ runtimeConfig: { mac: 'zz' } }), '')).toThrow('runtimeConfig.mac: invalid MAC address "zz"');
    expect(() => requestedMac(conf({}), 'MAC=1:2:3')).toThrow('CNI_ARGS MAC: invalid MAC address');
  });
});

describe('dns, ipam type and prevResult', () => {
  it('overrides DNS only when a field is set', () => {
    expect(dnsOverride(parseNetConf({ name: 'n', type: 't', dns: {} }))).toBeUndefined();
    expect(dnsOverride(parseNetConf({ name: 'n', type: 't', dns: { domain: '' } }))).toBeUndefined();
    expect(dnsOverride(parseNetConf({ name: 'n', type: 't', dns: { nameservers: ['1.1.1.1'] } }))).toEqual({ nameservers: ['1.1.1.1'] });
  });

  it("reads ipam.type, '' for L2-only", () => {
    expect(ipamType(parseNetConf({ name: 'n', type: 't' }))).toBe('');
    expect(ipamType(parseNetConf({ name: 'n', type: 't', ipam: {} }))).toBe('');
    expect(ipamType(parseNetConf({ name: 'n', type: 't', ipam: { type: 'host-local' } }))).toBe('host-local');
  });

  it('requires a prevResult and converts it to the current shape', () => {
    expect(() => requirePrevResult(parseNetConf({ cniVersion: '1.0.0', name: 'n', type: 't' }), 'ptp')).toThrow('ptp: Required prevResult missing');
    const r = requirePrevResult(
      parseNetConf({
        cniVersion: '0.4.0',
        name: 'n',
        type: 't',
        prevResult: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24', interface: 0 }], dns: {} },
      }),
      'ptp',
    );
    expect(r.cniVersion).toBe('1.1.0');
    expect(r.ips).toEqual([{ address: '10.0.0.2/24', interface: 0 }]);
  });
});
