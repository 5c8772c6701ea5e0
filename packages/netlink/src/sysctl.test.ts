import { describe, expect, it } from 'vitest';
import { InvalidSysctlKeyError, sysctlPath } from './sysctl.js';
import { InvalidNetnsNameError, netnsPath } from './netns.js';

describe('sysctlPath', () => {
  it.each([
    ['net.ipv4.ip_forward', '/proc/sys/net/ipv4/ip_forward'],
    ['net/ipv4/ip_forward', '/proc/sys/net/ipv4/ip_forward'],
    ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv4/ip_forward'],
    ['net/ipv4/conf/eth0.100/forwarding', '/proc/sys/net/ipv4/conf/eth0.100/forwarding'],
  ])('%s', (key, path) => {
    expect(sysctlPath(key)).toBe(path);
  });
  it.each(['', 'net/../../etc/passwd', '../etc/passwd', 'net..ipv4', '/etc/passwd', 'net/ipv4/', 'a\0b', 'net/./x'])(
    'rejects %j',
    (key) => {
      expect(() => sysctlPath(key)).toThrow(InvalidSysctlKeyError);
    },
  );
});

describe('netnsPath', () => {
  it('puts names under /run/netns', () => {
    expect(netnsPath('cni-1234')).toBe('/run/netns/cni-1234');
  });
  it.each(['', '.', '..', 'a/b', '../x', 'x\0', 'n'.repeat(256)])('rejects %j', (name) => {
    expect(() => netnsPath(name)).toThrow(InvalidNetnsNameError);
  });
});
