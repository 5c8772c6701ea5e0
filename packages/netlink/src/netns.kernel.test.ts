// Kernel tests: named namespaces and per-namespace sysctl through the addon, checked with ip/sysctl.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createNetns, deleteNetns, listNetns, netnsInode, netnsPath } from './netns.js';
import { readSysctl, writeSysctl } from './sysctl.js';
import { NetnsPool, uniq } from './test-support/kernel.js';

const pool = new NetnsPool();
afterEach(() => pool.cleanup());

describe('named namespaces', () => {
  it('creates, lists and deletes a namespace that ip netns sees', () => {
    const name = uniq('tscns');
    try {
      const path = createNetns(name);
      expect(path).toBe(`/run/netns/${name}`);
      expect(listNetns()).toContain(name);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(name);
      expect(netnsInode(path)).not.toBe(netnsInode());
      expect(() => createNetns(name)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    } finally {
      deleteNetns(name);
    }
    expect(existsSync(netnsPath(name))).toBe(false);
    expect(listNetns()).not.toContain(name);
    deleteNetns(name); // missing is fine
  });
});

describe('sysctl per namespace', () => {
  it('writes in one namespace only and reads back in dotted and slash form', () => {
    const a = pool.create();
    const b = pool.create();
    const ours = readSysctl('net.ipv4.ip_forward');
    writeSysctl('net.ipv4.ip_forward', '1', a.path);
    writeSysctl('net/ipv4/ip_forward', '0', b.path);
    expect(readSysctl('net.ipv4.ip_forward', a.path)).toBe('1');
    expect(readSysctl('net/ipv4/ip_forward', b.path)).toBe('0');
    expect(readSysctl('/proc/sys/net/ipv4/ip_forward', a.path)).toBe('1');
    const witness = (ns: string): string =>
      execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim();
    expect(witness(a.name)).toBe('1');
    expect(witness(b.name)).toBe('0');
    expect(readSysctl('net.ipv4.ip_forward')).toBe(ours);
  });

  it('addresses interface names with dots through the slash form', () => {
    const a = pool.create();
    execFileSync('ip', ['-n', a.name, 'link', 'add', 'eth0.5', 'type', 'veth', 'peer', 'name', 'p0']);
    writeSysctl('net/ipv6/conf/eth0.5/accept_ra', '0', a.path);
    expect(readSysctl('net/ipv6/conf/eth0.5/accept_ra', a.path)).toBe('0');
    writeSysctl('net/ipv6/conf/eth0.5/accept_ra', '2', a.path);
    expect(readSysctl('net/ipv6/conf/eth0.5/accept_ra', a.path)).toBe('2');
  });

  it('reports a missing key with the errno', () => {
    const a = pool.create();
    expect(() => readSysctl('net.ipv4.conf.nosuchdev0.forwarding', a.path)).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});
