import { CniError, parseNetConf } from '@tscni/spec';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REQUEST, DEFAULT_SOCKET_PATH, loadDhcpConfig } from './config.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function conf(ipam: Record<string, unknown>) {
  return parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'dnet', type: 'macvlan', ipam: { type: 'dhcp', ...ipam } }));
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

describe('loadDhcpConfig', () => {
  it('defaults: socket path, the default request list and <containerID>/<netName>/<ifName> as client id', () => {
    const c = loadDhcpConfig(conf({}), '', 'ctr1', 'eth0');
    expect(c.socketPath).toBe(DEFAULT_SOCKET_PATH);
    expect(c.priority).toBe(0);
    expect(c.requestList).toEqual([...DEFAULT_REQUEST]);
    expect(c.provide.map(([code, v]) => [code, [...v]])).toEqual([[61, [0, ...new TextEncoder().encode('ctr1/dnet/eth0')]]]);
  });

  it('reads request (names or codes, skipDefault), provide with fromArg, priority and daemonSocketPath', () => {
    const c = loadDhcpConfig(
      conf({
        daemonSocketPath: '/tmp/x.sock',
        priority: 100,
        request: [{ skipDefault: true }, { option: 'routers' }, { option: 'subnet-mask' }, { option: '42' }, { option: 'routers' }],
        provide: [
          { option: 'host-name', fromArg: 'K8S_POD_NAME' },
          { option: 'user-class', value: 'tscni' },
          { option: '60', value: 'vendor' },
          { option: 'dhcp-client-identifier', value: 'my-id' },
          { option: 'host-name', fromArg: 'MISSING' }, // nothing to send: keeps the earlier value
        ],
      }),
      'IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default',
      'ctr1',
      'eth0',
    );
    expect(c.socketPath).toBe('/tmp/x.sock');
    expect(c.priority).toBe(100);
    expect(c.requestList).toEqual([3, 1, 42]);
    expect(c.provide.map(([code, v]) => [code, text(v)])).toEqual([
      [12, 'web-0'],
      [77, 'tscni'],
      [60, 'vendor'],
      [61, 'my-id'],
    ]);
  });

  it('fromArg falls back to value when the key is absent', () => {
    const c = loadDhcpConfig(conf({ provide: [{ option: 'host-name', fromArg: 'K8S_POD_NAME', value: 'fallback' }] }), '', 'c', 'eth0');
    expect(c.provide.find(([code]) => code === 12)?.[1]).toEqual(new TextEncoder().encode('fallback'));
  });

  it('rejects unknown option names, reserved options and bad shapes with code 7 naming the field', () => {
    let e = failure(() => loadDhcpConfig(conf({ request: [{ option: 'no-such-option' }] }), '', 'c', 'eth0'));
    expect(e.code).toBe(7);
    expect(e.msg).toMatch(/^ipam\.request\[0\]\.option: unknown DHCP option "no-such-option"/);
    e = failure(() => loadDhcpConfig(conf({ provide: [{ option: '53', value: 'x' }] }), '', 'c', 'eth0'));
    expect(e.msg).toMatch(/^ipam\.provide\[0\]\.option: option 53 is set by the DHCP client itself/);
    e = failure(() => loadDhcpConfig(conf({ priority: -1 }), '', 'c', 'eth0'));
    expect(e.msg).toMatch(/^ipam\.priority/);
    e = failure(() => loadDhcpConfig(conf({ provide: [{ value: 'x' }] }), '', 'c', 'eth0'));
    expect(e.msg).toMatch(/^ipam\.provide\[0\]\.option: is required/);
    e = failure(() => loadDhcpConfig(conf({ request: [{ option: '255' }] }), '', 'c', 'eth0'));
    expect(e.code).toBe(7);
  });

  it('a malformed CNI_ARGS is code 4 when fromArg needs it', () => {
    const e = failure(() => loadDhcpConfig(conf({ provide: [{ option: 'host-name', fromArg: 'K8S_POD_NAME' }] }), 'garbage', 'c', 'eth0'));
    expect(e.code).toBe(4);
  });
});
