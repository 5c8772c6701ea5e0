// Hand-written shape checks: the rules that came from zod/mini before (which problem is reported
// first, absent vs undefined, non-finite numbers, records) stay as they were.
import { describe, expect, it } from 'vitest';
import { check, formatPath, netConfShape, result040Shape, result100Shape } from './shape.js';

describe('shape checks', () => {
  it('formats paths as dotted keys and [index]', () => {
    expect(formatPath(['plugins', 1, 'cni.dev/valid-attachments', 0, 'ifname'])).toBe('plugins[1].cni.dev/valid-attachments[0].ifname');
    expect(formatPath([])).toBe('');
  });

  it.each<[unknown, string | null]>([
    [{ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }, null],
    // The first problem in the order of the shape's keys, not of the input's.
    [{ dns: { domain: 1 }, ips: [{ address: 'x' }] }, '"ips[0].address" must be an IP address with a prefix length, e.g. "10.0.0.2/24"'],
    [{ ips: [{ address: '10.0.0.2/24', gateway: 1, interface: 'a' }] }, '"ips[0].interface" must be a number, got string'],
    // Absent and undefined are the same; null is a wrong type (goReadView removes JSON nulls first).
    [{ ips: [{ address: undefined }] }, '"ips[0].address" is required'],
    [{ ips: [{ address: null }] }, '"ips[0].address" must be a string, got null'],
    // Holes in an array are undefined elements.
    [{ routes: [, { dst: '10.0.0.0/8' }] }, '"routes[0]" is required'], // eslint-disable-line no-sparse-arrays
    // NaN and ±Infinity are not JSON numbers; an integer field wants a safe integer.
    [{ interfaces: [{ name: 'a', mtu: Number.NaN }] }, '"interfaces[0].mtu" must be a number, got number'],
    [{ routes: [{ dst: '10.0.0.0/8', table: Infinity }] }, '"routes[0].table" must be a number, got number'],
    [{ routes: [{ dst: '10.0.0.0/8', table: 2 ** 60 }] }, '"routes[0].table" must be an integer'],
    [{ ips: [{ address: '10.0.0.2/24', gateway: '' }] }, null],
  ])('1.x result %j -> %s', (value, problem) => {
    expect(check(result100Shape, value)).toBe(problem);
  });

  it('checks the 0.4.0 IP version', () => {
    expect(check(result040Shape, { ips: [{ version: 4, address: '10.0.0.2/24' }] })).toBe('"ips[0].version" must be a string, got number');
    expect(check(result040Shape, { ips: [{ version: '6', address: 'fd00::2/64' }] })).toBeNull();
  });

  it.each<[unknown, string | null]>([
    [{ name: 'n', capabilities: { __proto__: 1, mac: true } }, null],
    [JSON.parse('{"capabilities":{"__proto__":1}}'), null],
    [{ capabilities: { '0': 'x' } }, '"plugins[2].capabilities.0" must be a boolean, got string'],
    [{ args: new Date(0) }, '"plugins[2].args" must be an object, got object'],
    [{ args: Object.create(null) as object }, null],
    [{ args: { constructor: 'x' } }, null],
    [{ ipam: new Date(0) }, null],
    [{ 'cni.dev/valid-attachments': [null] }, '"plugins[2].cni.dev/valid-attachments[0]" must be an object, got null'],
  ])('plugin config %j -> %s (with a path prefix)', (value, problem) => {
    expect(check(netConfShape, value, ['plugins', 2])).toBe(problem);
  });
});
