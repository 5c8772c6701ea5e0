// Results: field-naming decode errors, version fallback, printing details and conversion rules
// that the Go fixtures (fixtures.test.ts) do not spell out one by one.
import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from './errors.js';
import {
  convertResult,
  formatResult,
  parseResult,
  resultVersionOf,
  toCurrentResult,
  type Result,
  type Result020,
  type Result040,
} from './result.js';

function failure(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error('expected a CniError');
}

describe('parseResult', () => {
  it.each([
    [{ cniVersion: '1.1.0', ips: [{ address: '10.0.0.1' }] }, '"ips[0].address" must be an IP address with a prefix length'],
    [{ cniVersion: '1.1.0', ips: [{ address: 5 }] }, '"ips[0].address" must be a string, got number'],
    [{ cniVersion: '1.1.0', ips: [{}] }, '"ips[0].address" is required'],
    [{ cniVersion: '1.1.0', ips: [{ address: '10.0.0.1/8', gateway: 'x' }] }, '"ips[0].gateway" must be an IP address'],
    [{ cniVersion: '1.1.0', ips: [{ address: '10.0.0.1/8', interface: 0.5 }] }, '"ips[0].interface" must be an integer'],
    [{ cniVersion: '1.1.0', ips: {} }, '"ips" must be an array, got object'],
    [{ cniVersion: '1.1.0', ips: [null] }, '"ips[0]" must be an object, got null'],
    [{ cniVersion: '1.0.0', interfaces: [{ name: 'a', mtu: '1500' }] }, '"interfaces[0].mtu" must be a number, got string'],
    [{ cniVersion: '1.0.0', routes: [{ gw: '10.0.0.1' }] }, '"routes[0].dst" is required'],
    [{ cniVersion: '1.0.0', routes: [{ dst: '10.0.0.0/8', table: 'main' }] }, '"routes[0].table" must be a number'],
    [{ cniVersion: '1.0.0', dns: { nameservers: '8.8.8.8' } }, '"dns.nameservers" must be an array'],
    [{ cniVersion: '0.4.0', ips: [{ version: '5', address: '10.0.0.1/8' }] }, '"ips[0].version" must be "4" or "6"'],
    [{ cniVersion: '0.2.0', ip4: { gateway: '10.0.0.1' } }, '"ip4.ip" is required'],
    [{ cniVersion: '0.2.0', ip6: { ip: 'fd00::1/64', routes: [{ dst: 'x' }] } }, '"ip6.routes[0].dst" must be an IP address'],
    [{ cniVersion: 1 }, '"cniVersion" must be a string, got number'],
  ])('%j -> code 6 naming the field', (input, text) => {
    const e = failure(() => parseResult(input));
    expect(e.code).toBe(ErrorCode.DecodingFailure);
    expect(e.message).toContain(text);
  });
  it('rejects non-objects and bad JSON with code 6', () => {
    for (const bad of ['[]', '1', 'null', '{', new Uint8Array([0xff]), []]) {
      expect(failure(() => parseResult(bad)).code).toBe(ErrorCode.DecodingFailure);
    }
  });
  it('rejects an unknown version with code 1', () => {
    const e = failure(() => parseResult({ cniVersion: '0.5.0' }));
    expect(e.code).toBe(ErrorCode.IncompatibleCNIVersion);
    expect(e.msg).toBe('unsupported CNI result version "0.5.0"');
  });
  it('uses the fallback version when the result has none (as libcni does with the config version)', () => {
    expect(parseResult({ ips: [{ address: '10.0.0.1/8' }] }, '1.0.0')).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/8' }] });
    expect(parseResult({ cniVersion: '', ip4: { ip: '10.0.0.1/8' } }, '')).toEqual({ cniVersion: '0.1.0', ip4: { ip: '10.0.0.1/8' }, dns: {} });
    expect(parseResult({ cniVersion: '0.3.1' }, '1.0.0').cniVersion).toBe('0.3.1');
    expect(resultVersionOf({}, undefined)).toBe('0.1.0');
    expect(resultVersionOf('not an object', '0.4.0')).toBe('0.4.0');
  });
  it('reads keys case-insensitively like Go (e.g. the CNIVersion key ParsePrevResult writes)', () => {
    expect(parseResult({ CNIVersion: '1.0.0', IPs: [{ Address: '10.0.0.1/8', GATEWAY: '10.0.0.254' }] })).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.1/8', gateway: '10.0.0.254' }],
    });
    expect(resultVersionOf({ CNIVersion: '0.4.0' })).toBe('0.4.0');
  });
  it('fills a missing 0.4.0 ip version from the address', () => {
    const r = parseResult({ cniVersion: '0.4.0', ips: [{ address: 'fd00::1/64' }, { address: '10.0.0.1/8' }] }) as Result040;
    expect(r.ips?.map((i) => i.version)).toEqual(['6', '4']);
  });
});

describe('formatResult', () => {
  it('prints 0.x with dns always present and 1.x without an empty dns', () => {
    expect(formatResult({ cniVersion: '0.4.0', dns: {} })).toBe('{\n    "cniVersion": "0.4.0",\n    "dns": {}\n}');
    expect(formatResult({ cniVersion: '0.2.0', dns: {} })).toBe('{\n    "cniVersion": "0.2.0",\n    "dns": {}\n}');
    expect(formatResult({ cniVersion: '1.1.0', dns: {} })).toBe('{\n    "cniVersion": "1.1.0"\n}');
  });
  it('prints typed objects canonically, whatever their key order or zero values', () => {
    const r: Result = { routes: [{ gw: '2001:DB8::1', dst: '::/0', mtu: 0 }], cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mtu: 0, mac: '' }] } as Result;
    expect(JSON.parse(formatResult(r))).toEqual({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }], routes: [{ dst: '::/0', gw: '2001:db8::1' }] });
    expect(formatResult(r).endsWith('\n')).toBe(false);
  });
  it('prints version info and errors', () => {
    expect(formatResult({ cniVersion: '1.1.0', supportedVersions: ['1.0.0'] })).toBe(
      '{\n    "cniVersion": "1.1.0",\n    "supportedVersions": [\n        "1.0.0"\n    ]\n}',
    );
    expect(formatResult({ cniVersion: '1.1.0', code: 50, msg: 'down' })).toBe('{\n    "cniVersion": "1.1.0",\n    "code": 50,\n    "msg": "down"\n}');
  });
});

describe('convertResult', () => {
  const full: Result = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', mac: 'aa:bb:cc:dd:ee:ff', mtu: 1500, sandbox: '/run/netns/a', socketPath: '/s', pciID: '0000:00:01.0' }],
    ips: [
      { interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1' },
      { interface: 0, address: '10.0.1.2/24' },
      { interface: 0, address: 'fd00::2/64' },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1400, table: 5 }, { dst: '::/0' }],
    dns: { nameservers: ['10.0.0.1'] },
  };

  it('1.1.0 <-> 1.0.0 changes only the version', () => {
    const down = convertResult(full, '1.0.0');
    expect(down).toEqual({ ...full, cniVersion: '1.0.0' });
    expect(convertResult(down, '1.1.0')).toEqual(full);
    expect(toCurrentResult(down)).toEqual(full);
  });
  it('going to 0.4.0 drops mtu/socketPath/pciID and adds the ip version', () => {
    const r = convertResult(full, '0.4.0') as Result040;
    expect(r.interfaces).toEqual([{ name: 'eth0', mac: 'aa:bb:cc:dd:ee:ff', sandbox: '/run/netns/a' }]);
    expect(r.ips?.map((i) => i.version)).toEqual(['4', '4', '6']);
    expect(r.routes).toEqual(full.routes); // routes keep every field
    const back = toCurrentResult(r);
    expect(back.interfaces).toEqual([{ name: 'eth0', mac: 'aa:bb:cc:dd:ee:ff', sandbox: '/run/netns/a' }]);
    expect(back.ips).toEqual(full.ips);
  });
  it('going to 0.2.0 keeps the first v4 and v6, routes by family with dst/gw only', () => {
    const r = convertResult(full, '0.2.0') as Result020;
    expect(r).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }] },
      ip6: { ip: 'fd00::2/64', routes: [{ dst: '::/0' }] },
      dns: { nameservers: ['10.0.0.1'] },
    });
    expect(Object.keys(r)).toEqual(['cniVersion', 'ip4', 'ip6', 'dns']);
  });
  it('fails without any IP when going to 0.1.0/0.2.0', () => {
    for (const to of ['0.1.0', '0.2.0', '']) {
      const e = failure(() => convertResult({ cniVersion: '1.0.0', interfaces: [{ name: 'a' }] }, to));
      expect(e.msg).toBe('cannot convert: no valid IP addresses');
    }
  });
  it('rejects unknown target or source versions with code 1', () => {
    expect(failure(() => convertResult(full, '2.0.0')).code).toBe(ErrorCode.IncompatibleCNIVersion);
    expect(failure(() => convertResult({ ...full, cniVersion: '9' }, '1.0.0')).code).toBe(ErrorCode.IncompatibleCNIVersion);
  });
  it('does not modify its input', () => {
    const copy = structuredClone(full);
    for (const v of ['0.1.0', '0.3.1', '1.0.0']) convertResult(full, v);
    expect(full).toEqual(copy);
  });
  it('treats an unversioned object by its shape, as Go stamps its own type version', () => {
    expect(convertResult({ ip4: { ip: '10.0.0.1/8' }, dns: {} } as unknown as Result020, '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '10.0.0.1/8' }],
    });
  });
});
