import { describe, expect, it } from 'vitest';
import { parseNetConf } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { AF_INET, AF_INET6 } from '@tscni/netlink';
import type { RouteInfo } from '@tscni/netlink';
import { formatIP } from '@tscni/ip';
import { loadSbrConfig } from './config.js';
import { nextFreeTable, routesFor, sbrAdd, sbrAddresses, sbrPlugin } from './plugin.js';
import { codeOf } from '../test-support/cni-error.js';
import { cmdArgs } from '../test-support/cmd-args.js';

const conf = (extra: Record<string, unknown>) => parseNetConf({ cniVersion: '1.0.0', name: 'n', type: 'sbr', ...extra });

describe('sbr config', () => {
  it('defaults: auto table, prevResult gateways, no source hints', () => {
    expect(loadSbrConfig(conf({}))).toEqual({ addSourceHints: false });
  });

  it('reads table, gateways (one per family) and addSourceHints with Go key matching', () => {
    const c = loadSbrConfig(conf({ Table: 200, gateways: ['fd00::1', '10.0.0.1'], addsourcehints: true }));
    expect(c).toEqual({ table: 200, gatewayV4: '10.0.0.1', gatewayV6: 'fd00::1', addSourceHints: true });
  });

  it('treats a v4-mapped gateway as IPv4', () => {
    expect(loadSbrConfig(conf({ gateways: ['::ffff:10.1.2.3'] })).gatewayV4).toBe('10.1.2.3');
  });

  it.each([
    [{ table: 0 }, 'table'],
    [{ table: -3 }, 'table'],
    [{ table: 1.5 }, 'table'],
    [{ table: '100' }, 'table'],
    [{ gateways: ['10.0.0.1', '10.0.0.2'] }, 'more than one IPv4'],
    [{ gateways: ['fd00::1', 'fd00::2'] }, 'more than one IPv6'],
    [{ gateways: ['a', 'b', 'c'] }, 'at most two'],
    [{ gateways: ['nope'] }, 'gateways[0]'],
    [{ gateways: [7] }, 'gateways[0]'],
    [{ addSourceHints: 'yes' }, 'addSourceHints'],
  ])('rejects %j with code 7 naming the field', (extra, text) => {
    expect(codeOf(() => loadSbrConfig(conf(extra)))).toBe(7);
    expect(() => loadSbrConfig(conf(extra))).toThrow(text);
  });
});

const prev: Result = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'br0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }, { name: 'net1', sandbox: '/run/netns/x' }],
  ips: [
    { interface: 2, address: '10.1.0.5/24', gateway: '10.1.0.1' },
    { interface: 3, address: '10.9.0.5/24', gateway: '10.9.0.1' },
    { address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
  ],
};

describe('sbr address selection', () => {
  it('keeps IPs of the interface and IPs without an interface, as the reference', () => {
    const got = sbrAddresses(prev, 'eth0', { addSourceHints: false });
    expect(got.map((a) => [a.host, a.gateway])).toEqual([
      ['10.1.0.5/32', '10.1.0.1'],
      ['fd00:1::5/128', 'fd00:1::1'],
    ]);
  });

  it('lets static gateways override prevResult per family', () => {
    const got = sbrAddresses(prev, 'eth0', { addSourceHints: false, gatewayV6: 'fd00:1::fe' });
    expect(got.map((a) => a.gateway)).toEqual(['10.1.0.1', 'fd00:1::fe']);
  });
});

function route(r: Partial<RouteInfo> & { dst: string }): RouteInfo {
  return { family: r.dst.includes(':') ? AF_INET6 : AF_INET, table: 254, protocol: 2, scope: 0, type: 1, flags: 0, oif: 2, ...r };
}

describe('sbr route selection', () => {
  const routes = [
    route({ dst: '10.1.0.0/24', prefsrc: '10.1.0.5', scope: 253 }),
    route({ dst: '0.0.0.0/0', gateway: '10.1.0.1' }),
    route({ dst: '192.168.0.0/16', gateway: '10.7.0.1' }),
    route({ dst: '172.16.0.0/12' }),
    route({ dst: 'fd00:1::/64', priority: 256 }),
    route({ dst: 'fe80::/64', priority: 256 }),
  ];

  it('moves routes whose source hint or gateway is in the subnet, or that have neither, of the same family', () => {
    const [v4, v6] = sbrAddresses(prev, 'eth0', { addSourceHints: false });
    expect(routesFor(v4!, routes).map((r) => r.dst)).toEqual(['10.1.0.0/24', '0.0.0.0/0', '172.16.0.0/12']);
    expect(routesFor(v6!, routes).map((r) => r.dst)).toEqual(['fd00:1::/64', 'fe80::/64']);
  });

  it('picks the first table from 100 that nothing refers to, never a kernel table', () => {
    expect(nextFreeTable(new Set([100, 101, 103]), 100)).toBe(102);
    expect(nextFreeTable(new Set(), 253)).toBe(256);
  });
});

describe('sbr verbs without a kernel', () => {
  const args = (netconf: ReturnType<typeof conf>) => cmdArgs(netconf, { containerId: 'c1', netns: '/run/netns/none' });
  const noKernel = () => {
    throw new Error('no kernel in unit tests');
  };

  it('ADD without prevResult is code 7 before touching the namespace', async () => {
    await expect(sbrAdd(args(conf({})), noKernel)).rejects.toMatchObject({ code: 7, msg: 'sbr: Required prevResult missing' });
  });

  it('ADD with a prevResult without IPs is code 7', async () => {
    await expect(sbrAdd(args(conf({ prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }] } })), noKernel)).rejects.toMatchObject({
      code: 7,
    });
  });

  it('GC and STATUS succeed without touching anything (no host state)', async () => {
    const p = sbrPlugin({ open: noKernel });
    await expect(p.gc!(args(conf({ 'cni.dev/valid-attachments': [] })))).resolves.toBeUndefined();
    await expect(p.status!(args(conf({})))).resolves.toBeUndefined();
  });

  it('DEL with an empty CNI_NETNS has nothing to do', async () => {
    await expect(sbrPlugin({ open: noKernel }).del!({ ...args(conf({})), netns: '' })).resolves.toBeUndefined();
  });

  it('formats v6 host sources like iproute2', () => {
    const [, v6] = sbrAddresses(prev, 'eth0', { addSourceHints: false });
    expect(formatIP(v6!.ip)).toBe('fd00:1::5');
  });
});
