// portmap configuration: the reference's keys and defaults, errors that name the key, backend
// inference from backend-specific keys, and which prevResult addresses are forwarded to.
import { describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { containerAddrs, mappingsFor, parseConfig } from './config.js';

function conf(extra: Record<string, unknown>, mappings?: unknown[]) {
  return parseNetConf({
    cniVersion: '1.1.0',
    name: 'net',
    type: 'portmap',
    ...(mappings === undefined ? {} : { runtimeConfig: { portMappings: mappings } }),
    ...extra,
  });
}

function failure(f: () => unknown): CniError {
  try {
    f();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

describe('parseConfig', () => {
  it('has the reference defaults', () => {
    const c = parseConfig(conf({}));
    expect(c).toMatchObject({ network: 'net', backend: undefined, snat: true, masqAll: false, markMasqBit: 13, mappings: [] });
    expect(c.externalSetMarkChain).toBeUndefined();
  });

  it('normalises mappings: protocol case and default, unspecified host IPs, exact repeats', () => {
    const c = parseConfig(
      conf({}, [
        { hostPort: 8080, containerPort: 80, protocol: 'TCP' },
        { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '0.0.0.0' },
        { hostPort: 54, containerPort: 53, protocol: 'udp', hostIP: '::' },
        { hostPort: 9000, containerPort: 90 },
        { hostPort: 9001, containerPort: 90, protocol: 'sctp', hostIP: '::ffff:10.1.2.3' },
        { hostPort: 9002, containerPort: 90, hostIP: 'FD00::0001' },
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      ]),
    );
    expect(c.mappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 53, containerPort: 53, protocol: 'udp', family: 4 },
      { hostPort: 54, containerPort: 53, protocol: 'udp', family: 6 },
      { hostPort: 9000, containerPort: 90, protocol: 'tcp' },
      { hostPort: 9001, containerPort: 90, protocol: 'sctp', hostIP: '10.1.2.3', family: 4 },
      { hostPort: 9002, containerPort: 90, protocol: 'tcp', hostIP: 'fd00::1', family: 6 },
    ]);
    expect(mappingsFor(c.mappings, 4).map((m) => m.hostPort)).toEqual([8080, 53, 9000, 9001]);
    expect(mappingsFor(c.mappings, 6).map((m) => m.hostPort)).toEqual([8080, 54, 9000, 9002]);
  });

  it.each([
    [[{ hostPort: 0, containerPort: 80 }], 'runtimeConfig.portMappings[0].hostPort: invalid port number 0'],
    [[{ hostPort: 80, containerPort: 70000 }], 'runtimeConfig.portMappings[0].containerPort: invalid port number 70000'],
    [[{ containerPort: 80 }], 'runtimeConfig.portMappings[0].hostPort: missing'],
    [[{ hostPort: 80.5, containerPort: 80 }], 'runtimeConfig.portMappings[0].hostPort: must be an integer'],
    [[{ hostPort: 80, containerPort: 80, protocol: 'icmp' }], 'runtimeConfig.portMappings[0].protocol: unsupported protocol "icmp"'],
    [[{ hostPort: 80, containerPort: 80, hostIP: 'bogus' }], 'runtimeConfig.portMappings[0].hostIP: invalid IP address "bogus"'],
    [['x'], 'runtimeConfig.portMappings[0]: must be an object'],
    [
      [
        { hostPort: 80, containerPort: 80 },
        { hostPort: 80, containerPort: 81 },
      ],
      'runtimeConfig.portMappings[1]: hostPort 80/tcp is already mapped by runtimeConfig.portMappings[0]',
    ],
  ])('rejects bad mappings with code 7 naming the field (%j)', (mappings, msg) => {
    const e = failure(() => parseConfig(conf({}, mappings)));
    expect(e.code).toBe(7);
    expect(e.msg).toContain(msg);
  });

  it('reads snat, masqAll, markMasqBit and externalSetMarkChain', () => {
    expect(parseConfig(conf({ snat: false, masqAll: true })).snat).toBe(false);
    expect(parseConfig(conf({ snat: false, masqAll: true })).masqAll).toBe(true);
    expect(parseConfig(conf({ markMasqBit: 0 })).markMasqBit).toBe(0);
    expect(parseConfig(conf({ markMasqBit: 31 })).markMasqBit).toBe(31);
    expect(parseConfig(conf({ externalSetMarkChain: 'KUBE-MARK-MASQ' })).externalSetMarkChain).toBe('KUBE-MARK-MASQ');
    expect(failure(() => parseConfig(conf({ snat: 'yes' }))).msg).toBe('snat: must be a boolean, got string');
  });

  it('checks markMasqBit and its exclusion with externalSetMarkChain', () => {
    expect(failure(() => parseConfig(conf({ markMasqBit: 32 }))).msg).toBe('markMasqBit: must be between 0 and 31, got 32');
    expect(failure(() => parseConfig(conf({ markMasqBit: -1 }))).code).toBe(7);
    const both = failure(() => parseConfig(conf({ markMasqBit: 5, externalSetMarkChain: 'X' })));
    expect(both.code).toBe(7);
    expect(both.msg).toBe('externalSetMarkChain: cannot be combined with markMasqBit');
  });

  it('infers the backend from backend-specific keys', () => {
    expect(parseConfig(conf({ markMasqBit: 5 })).backend).toBe('iptables');
    expect(parseConfig(conf({ externalSetMarkChain: 'KUBE-MARK-MASQ' })).backend).toBe('iptables');
    expect(parseConfig(conf({ conditionsV4: ['-s', '1.2.3.4'] })).backend).toBe('iptables');
    expect(parseConfig(conf({ conditionsV6: ['!', '-d', 'fd00::1'] })).backend).toBe('iptables');
    expect(parseConfig(conf({ conditionsV4: ['ip', 'saddr', '1.2.3.4'] })).backend).toBe('nftables');
    expect(parseConfig(conf({ conditionsV4: [] })).backend).toBeUndefined();
    expect(parseConfig(conf({ backend: 'nftables' })).backend).toBe('nftables');
  });

  it.each([
    [{ backend: 'nftables', markMasqBit: 5 }, 'markMasqBit: is an iptables-only option, but backend is "nftables"'],
    [{ backend: 'nftables', externalSetMarkChain: 'X' }, 'externalSetMarkChain: is an iptables-only option, but backend is "nftables"'],
    [{ backend: 'nftables', conditionsV4: ['-s', '1.2.3.4'] }, 'conditionsV4: is iptables syntax, but backend is "nftables"'],
    [{ backend: 'iptables', conditionsV6: ['ip6', 'saddr', 'fd00::1'] }, 'conditionsV6: is nftables syntax, but backend is "iptables"'],
    [{ markMasqBit: 3, conditionsV4: ['ip', 'saddr', '1.2.3.4'] }, 'conditionsV4: needs the nftables backend, but markMasqBit needs iptables'],
    [{ backend: 'ebpf' }, 'backend: unknown backend "ebpf"'],
    [{ conditionsV4: ['-s', 3] }, 'conditionsV4[1]: must be a string'],
  ])('refuses options of the other backend with code 7 naming the key (%j)', (extra, msg) => {
    const e = failure(() => parseConfig(conf(extra)));
    expect(e.code).toBe(7);
    expect(e.msg).toContain(msg);
  });
});

describe('containerAddrs', () => {
  const result = (ips: NonNullable<Result['ips']>, interfaces: NonNullable<Result['interfaces']> = [{ name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }]): Result => ({
    cniVersion: '1.1.0',
    interfaces,
    ips,
  });

  it('takes the first IPv4 and first IPv6 address of the sandbox interface', () => {
    const r = result([
      { address: '10.0.0.2/24', interface: 1 },
      { address: '10.0.0.3/24', interface: 1 },
      { address: 'fd00::2/64', interface: 1 },
      { address: 'fd00::3/64', interface: 1 },
    ]);
    expect(containerAddrs(r, 'eth0')).toEqual({ v4: { ip: '10.0.0.2', subnet: '10.0.0.0/24' }, v6: { ip: 'fd00::2', subnet: 'fd00::/64' } });
  });

  it('skips addresses of other interfaces and of interfaces outside a sandbox, keeps those naming none', () => {
    const r = result(
      [
        { address: '10.9.0.1/24', interface: 0 },
        { address: '10.8.0.2/24', interface: 2 },
        { address: '10.7.0.2/16' },
        { address: 'fd00::9/64', interface: 1 },
      ],
      [{ name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }, { name: 'eth1', sandbox: '/run/netns/x' }],
    );
    expect(containerAddrs(r, 'eth0')).toEqual({ v4: { ip: '10.7.0.2', subnet: '10.7.0.0/16' }, v6: { ip: 'fd00::9', subnet: 'fd00::/64' } });
    expect(containerAddrs(result([{ address: '10.0.0.2/24', interface: 1 }], [{ name: 'veth1' }, { name: 'eth0' }]), 'eth0')).toEqual({});
  });

  it('treats IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(containerAddrs(result([{ address: '::ffff:10.0.0.2/120', interface: 1 }]), 'eth0')).toEqual({ v4: { ip: '10.0.0.2', subnet: '10.0.0.0/24' } });
  });
});
