// Validators: table tests of the rules and codes of Go pkg/utils.
import { describe, expect, it } from 'vitest';
import { CniError } from './errors.js';
import { validateContainerId, validateInterfaceName, validateNetworkName, validatePluginType } from './validate.js';

function codeOf(fn: () => void): number | null {
  try {
    fn();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return (e as CniError).code;
  }
}

describe('validateContainerId', () => {
  it.each([
    ['abc123', null],
    ['a', null],
    ['A-b_c.d', null],
    ['cnitool-0123456789abcdef0123', null],
    ['', 3],
    ['-abc', 4],
    ['_abc', 4],
    ['.abc', 4],
    ['abc/def', 4],
    ['abc def', 4],
    ['abc:def', 4],
    ['abc\n', 4],
    ['é', 4],
  ] as const)('%j -> %j', (id, code) => {
    expect(codeOf(() => validateContainerId(id))).toBe(code);
  });
});

describe('validateNetworkName', () => {
  it.each([
    ['mynet', null],
    ['my-net_1.0', null],
    ['0net', null],
    ['', 7],
    ['-net', 7],
    ['net/x', 7],
    ['net x', 7],
    ['..', 7],
  ] as const)('%j -> %j', (name, code) => {
    expect(codeOf(() => validateNetworkName(name))).toBe(code);
  });
  it('keeps the reference messages', () => {
    expect(() => validateNetworkName('')).toThrow('missing network name');
    expect(() => validateNetworkName('a b')).toThrow('invalid characters found in network name');
  });
});

describe('validateInterfaceName', () => {
  it.each([
    ['eth0', null],
    ['a', null],
    ['123456789012345', null],
    ['veth-1.2_x@y', null],
    ['', 4],
    ['1234567890123456', 4],
    ['.', 4],
    ['..', 4],
    ['...', null],
    ['eth/0', 4],
    ['eth:0', 4],
    ['eth 0', 4],
    ['eth\t0', 4],
    ['eth\u00a00', 4],
    ['eth\u00850', 4],
    ['eth\u20280', 4],
    ['eth\ufeff0', null],
    ['ééééééé', null],
    ['éééééééé', 4], // 16 bytes: the limit counts bytes, like the kernel's IFNAMSIZ
  ] as const)('%j -> %j', (name, code) => {
    expect(codeOf(() => validateInterfaceName(name))).toBe(code);
  });
});

describe('validatePluginType', () => {
  it.each([
    ['bridge', null],
    ['host-local', null],
    ['', 7],
    ['../bin/bridge', 7],
    ['/opt/cni/bin/bridge', 7],
    ['a\\b', 7],
    ['..', 7],
  ] as const)('%j -> %j', (type, code) => {
    expect(codeOf(() => validatePluginType(type))).toBe(code);
  });
});
