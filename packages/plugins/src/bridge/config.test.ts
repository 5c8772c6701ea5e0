// Tests for the bridge configuration (defaults, key cross-checks, VLAN trunk parsing) and for the
// gateway/default-route derivation from an IPAM result.
import { describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { loadBridgeConfig, parseVlanTrunk } from './config.js';
import { calcGateways } from './gateway.js';

const conf = (extra: Record<string, unknown> = {}) => parseNetConf({ cniVersion: '1.1.0', name: 'n', type: 'bridge', ...extra });

describe('loadBridgeConfig', () => {
  it('has the reference defaults', () => {
    expect(loadBridgeConfig(conf(), '')).toEqual({
      bridge: 'cni0',
      isGateway: false,
      isDefaultGateway: false,
      forceAddress: false,
      ipMasq: { enabled: false, backend: 'nftables' },
      mtu: undefined,
      hairpinMode: false,
      promiscMode: false,
      vlan: 0,
      vlanTrunk: undefined,
      preserveDefaultVlan: true,
      macspoofchk: false,
      enabledad: false,
      disableContainerInterface: false,
      portIsolation: false,
      mac: undefined,
      layer3: false,
    });
  });

  it('reads keys as Go does (any case) and lets isDefaultGateway imply isGateway', () => {
    const c = loadBridgeConfig(conf({ Bridge: 'br9', ISDEFAULTGATEWAY: true, ipam: { type: 'host-local' }, mtu: 9000 }), '');
    expect(c).toMatchObject({ bridge: 'br9', isGateway: true, isDefaultGateway: true, layer3: true, mtu: 9000 });
  });

  it('rejects conflicting or invalid keys with code 7', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ hairpinMode: true, promiscMode: true }, 'cannot set hairpin mode and promiscuous mode at the same time'],
      [{ vlan: -1 }, 'vlan: invalid VLAN ID -1'],
      [{ vlan: 3, vlanTrunk: [{ id: 4 }] }, 'cannot set vlan and vlanTrunk at the same time'],
      [{ bridge: 'a-very-long-bridge-name' }, 'bridge: invalid interface name'],
      [{ bridge: '' }, 'bridge: invalid interface name'],
      [{ disableContainerInterface: true, ipam: { type: 'host-local' } }, 'disableContainerInterface: cannot be used with IPAM'],
      [{ ipMasqBackend: 'pf' }, 'ipMasqBackend: unknown ipmasq backend "pf"'],
    ];
    for (const [extra, msg] of bad) {
      try {
        loadBridgeConfig(conf(extra), '');
        expect.unreachable(msg);
      } catch (e) {
        expect(e).toBeInstanceOf(CniError);
        expect((e as CniError).code).toBe(7);
        expect((e as CniError).msg).toContain(msg);
      }
    }
    expect(loadBridgeConfig(conf({ ipMasq: true, ipMasqBackend: 'iptables' }), '').ipMasq).toEqual({ enabled: true, backend: 'iptables' });
    expect(loadBridgeConfig(conf({ ipMasq: true, ipMasqBackend: 'nftables' }), '').ipMasq).toEqual({ enabled: true, backend: 'nftables' });
  });

  it('parses vlanTrunk into sorted unique ids', () => {
    expect(parseVlanTrunk([{ id: 10 }, { minID: 3, maxID: 5 }, { id: 4 }])).toEqual([3, 4, 5, 10]);
    expect(parseVlanTrunk([])).toBeUndefined();
    expect(() => parseVlanTrunk([{ maxID: 5 }])).toThrow('minID is missing');
    expect(() => parseVlanTrunk([{ minID: 6, maxID: 5 }])).toThrow('minID is greater than maxID');
    expect(() => parseVlanTrunk([{ id: 0 }])).toThrow('vlanTrunk[0].id: VLAN ID 0 is not in 1..4094');
    expect(() => parseVlanTrunk([{ id: 4095 }])).toThrow('not in 1..4094');
  });

  it('takes the MAC with CNI_ARGS < args.cni < runtimeConfig', () => {
    expect(loadBridgeConfig(conf({ runtimeConfig: { mac: '0A:00:00:00:00:09' } }), 'MAC=0a:00:00:00:00:01').mac).toBe('0a:00:00:00:00:09');
  });
});

describe('calcGateways', () => {
  const ipam = (): Result => ({
    cniVersion: '1.1.0',
    ips: [{ address: '10.1.2.7/24' }, { address: 'fd00:1::7/64', gateway: 'fd00:1::fe' }],
    routes: [{ dst: '192.0.2.0/24' }],
  });

  it('puts every IP on interface 2 and leaves gateways alone when the bridge is not the gateway', () => {
    const r = ipam();
    const g = calcGateways(r, { isGateway: false, isDefaultGateway: false });
    expect(r.ips).toEqual([
      { address: '10.1.2.7/24', interface: 2 },
      { address: 'fd00:1::7/64', gateway: 'fd00:1::fe', interface: 2 },
    ]);
    expect(g.byFamily.size).toBe(0);
  });

  it('derives a missing gateway (subnet + 1) and collects the gateways with their prefix', () => {
    const r = ipam();
    const g = calcGateways(r, { isGateway: true, isDefaultGateway: false });
    expect(r.ips?.[0]?.gateway).toBe('10.1.2.1');
    expect(g.byFamily.get(4)).toEqual(['10.1.2.1/24']);
    expect(g.byFamily.get(6)).toEqual(['fd00:1::fe/64']);
    expect(r.routes).toEqual([{ dst: '192.0.2.0/24' }]);
  });

  it('adds one default route per family unless IPAM gave one with a gateway', () => {
    const r = ipam();
    r.routes?.push({ dst: '::/0', gw: 'fd00:1::1' });
    calcGateways(r, { isGateway: true, isDefaultGateway: true });
    expect(r.routes).toEqual([{ dst: '192.0.2.0/24' }, { dst: '::/0', gw: 'fd00:1::1' }, { dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
    const two: Result = { cniVersion: '1.1.0', ips: [{ address: '10.1.2.7/24' }, { address: '10.9.0.7/16' }] };
    calcGateways(two, { isGateway: true, isDefaultGateway: true });
    expect(two.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
  });
});
