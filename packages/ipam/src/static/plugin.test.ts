import { CniError, parseNetConf } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import type { CmdArgs } from '@tscni/skel';
import { describe, expect, it } from 'vitest';
import { STATIC_VERSIONS, loadStaticConfig, staticAdd, staticCheck, staticPlugin } from './plugin.js';

function netconf(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.0.0', name: 'net1', type: 'macvlan', ipam: { type: 'static', ...ipam }, ...extra };
}

function cmd(conf: Record<string, unknown>, args = ''): CmdArgs {
  const text = JSON.stringify(conf);
  return {
    containerId: 'c1',
    netns: '',
    ifName: 'eth0',
    args,
    path: [],
    stdinData: new TextEncoder().encode(text),
    netconf: parseNetConf(text),
    netnsOverride: false,
  };
}

async function failure(p: Promise<unknown> | (() => unknown)): Promise<CniError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

const base = {
  addresses: [
    { address: '10.10.0.1/24', gateway: '10.10.0.254' },
    { address: '3ffe:ffff:0:01ff::1/64', gateway: '3ffe:ffff:0::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.10.5.1' }, { dst: '3ffe:ffff:0:01ff::1/64' }],
  dns: { nameservers: ['8.8.8.8'], domain: 'example.com', search: ['example.com'] },
};

describe('static ADD', () => {
  it('returns the configured addresses, routes and dns (canonical text, host bits kept)', async () => {
    expect(await staticAdd(cmd(netconf(base)))).toEqual({
      cniVersion: '1.1.0',
      ips: [
        { address: '10.10.0.1/24', gateway: '10.10.0.254' },
        { address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.10.5.1' }, { dst: '3ffe:ffff:0:1ff::1/64' }],
      dns: { nameservers: ['8.8.8.8'], domain: 'example.com', search: ['example.com'] },
    });
  });

  it('appends CNI_ARGS IP (comma-separated CIDRs) and gives GATEWAY to the ones whose subnet holds it', async () => {
    const r = await staticAdd(cmd(netconf({ addresses: [{ address: '10.9.0.1/24' }] }), 'IP=10.10.0.1/24, 2001:db8::5/64;GATEWAY=10.10.0.254,10.9.0.254'));
    expect(r.ips).toEqual([{ address: '10.9.0.1/24' }, { address: '10.10.0.1/24', gateway: '10.10.0.254' }, { address: '2001:db8::5/64' }]);
  });

  it('lets args.cni.ips replace the addresses, and runtimeConfig.ips replace both', async () => {
    const conf = netconf(base, { args: { cni: { ips: ['10.20.0.1/24'] } } });
    expect((await staticAdd(cmd(conf, 'IP=10.30.0.1/24'))).ips).toEqual([{ address: '10.20.0.1/24' }]);
    const withRc = { ...conf, runtimeConfig: { ips: ['10.40.0.1/24', '::ffff:10.41.0.1/120'] } };
    expect((await staticAdd(cmd(withRc))).ips).toEqual([{ address: '10.40.0.1/24' }, { address: '10.41.0.1/24' }]);
  });

  it.each([
    [netconf({ addresses: [{ address: '10.0.0.1' }] }), '', 7, "ipam.addresses[0].address: the 'address' field is expected to be in CIDR notation, got: '10.0.0.1'"],
    [netconf({ addresses: [{ address: '10.0.0.1/24', gateway: 'x' }] }), '', 7, 'ipam.addresses[0].gateway: invalid IP address: "x"'],
    [netconf({ addresses: [{}] }), '', 7, 'ipam.addresses[0].address: is required'],
    [netconf({}, { runtimeConfig: { ips: ['10.0.0.1'] } }), '', 7, "runtimeConfig.ips: an entry in the 'ips' field is NOT in CIDR notation, got: '10.0.0.1'"],
    [netconf({}), 'IP=10.0.0.1', 4, "CNI_ARGS IP: the 'ip' field is expected to be in CIDR notation, got: '10.0.0.1'"],
    [netconf({}), 'IP=10.0.0.1/24;GATEWAY=nope', 4, 'CNI_ARGS GATEWAY: invalid gateway address: nope'],
    [netconf({}), 'OTHER=1', 4, 'ARGS: unknown args ["OTHER=1"]'],
    [{ ...netconf({ addresses: [{ address: '10.0.0.1/24' }, { address: '10.0.1.1/24' }] }), cniVersion: '0.2.0' }, '', 7, 'CNI version 0.2.0 does not support more than 1 address per family'],
  ])('rejects %j (CNI_ARGS %s) with code %i', async (conf, args, code, msg) => {
    const e = await failure(() => loadStaticConfig(parseNetConf(conf), args));
    expect([e.code, e.msg]).toEqual([code, msg]);
  });

  it('prints 0.2.0 results with one address per family through pluginMain', async () => {
    const out: string[] = [];
    const conf = { ...netconf({ addresses: [{ address: '10.0.0.1/24', gateway: '10.0.0.254' }, { address: '2001:db8::1/64' }] }), cniVersion: '0.2.0' };
    const code = await pluginMain(staticPlugin, { supportedVersions: STATIC_VERSIONS }, {
      env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
      stdin: async () => new TextEncoder().encode(JSON.stringify(conf)),
      stdout: (s) => out.push(s),
      stderr: () => {},
      exit: () => {},
    });
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.1/24', gateway: '10.0.0.254' }, ip6: { ip: '2001:db8::1/64' }, dns: {} });
  });
});

describe('static CHECK and DEL', () => {
  const prev = {
    cniVersion: '1.0.0',
    ips: [
      { address: '10.10.0.1/24', gateway: '10.10.0.254' },
      { address: '3ffe:ffff:0:1ff::1/64', gateway: '3ffe:ffff::1' },
    ],
  };

  it('passes when each configured address in prevResult has the configured gateway', async () => {
    await staticCheck(cmd(netconf(base, { prevResult: prev })));
    // Addresses missing from prevResult are not this CHECK's concern (as in the reference).
    await staticCheck(cmd(netconf({ addresses: [{ address: '10.99.0.1/24', gateway: '10.99.0.254' }] }, { prevResult: prev })));
  });

  it('fails on a gateway mismatch and without prevResult', async () => {
    const wrong = { ...prev, ips: [{ address: '10.10.0.1/24', gateway: '10.10.0.253' }] };
    const e = await failure(staticCheck(cmd(netconf(base, { prevResult: wrong }))));
    expect(e.msg).toBe('static: Failed to match addr 10.10.0.1 on interface eth0');
    const none = await failure(staticCheck(cmd(netconf(base))));
    expect([none.code, none.msg]).toEqual([7, 'Required prevResult missing']);
  });

  it('DEL succeeds whatever the config says', async () => {
    await staticPlugin.del?.(cmd(netconf({ addresses: [{ address: 'garbage' }] })));
  });
});
