import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { DEFAULT_DATA_DIR, checkAllowlist, loadTuningConfig, resolveSysctlKey, tuningDataDir } from './config.js';

const base: NetConf = { cniVersion: '1.0.0', name: 'net', type: 'tuning' };

function error(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

describe('resolveSysctlKey', () => {
  it.each([
    ['net.core.somaxconn', 'eth0', 'net/core/somaxconn'],
    ['net/core/somaxconn', 'eth0', 'net/core/somaxconn'],
    ['net.ipv4.conf.IFNAME.arp_filter', 'eth0', 'net/ipv4/conf/eth0/arp_filter'],
    // An interface name with a dot stays one path element in either notation.
    ['net.ipv4.conf.IFNAME.arp_filter', 'eth0.100', 'net/ipv4/conf/eth0.100/arp_filter'],
    ['net/ipv4/conf/IFNAME/arp_filter', 'eth0.100', 'net/ipv4/conf/eth0.100/arp_filter'],
    // Only the first IFNAME is replaced.
    ['net.IFNAME.IFNAME', 'e1', 'net/e1/IFNAME'],
  ])('%s (ifname %s) -> %s', (key, ifName, path) => {
    expect(resolveSysctlKey(key, ifName)).toBe(path);
  });

  it.each([
    'kernel.hostname',
    'kernel/hostname',
    'net',
    'net.',
    '.net.core.somaxconn',
    'net..core',
    'net/../kernel/hostname',
    'net/core/../../kernel/hostname',
    'net.ipv4.conf.eth0.../../../kernel/hostname',
    '/proc/sys/net/core/somaxconn',
    'net/./core',
    'vm.swappiness',
    '',
  ])('rejects %j with code 7', (key) => {
    const e = error(() => resolveSysctlKey(key, 'eth0'));
    expect(e.code).toBe(7);
    expect(e.msg).toContain(JSON.stringify(key));
  });
});

describe('loadTuningConfig', () => {
  it('reads every key with the reference defaults', () => {
    expect(loadTuningConfig(base, '', 'eth0')).toEqual({
      dataDir: DEFAULT_DATA_DIR,
      sysctl: [],
      mac: undefined,
      mtu: undefined,
      promisc: false,
      allmulti: undefined,
      txQLen: undefined,
    });
    const c = loadTuningConfig(
      { ...base, dataDir: '/tmp/x', sysctl: { 'net.core.somaxconn': '500' }, mac: 'C2:B0:57:49:47:F1', mtu: 1400, promisc: true, allmulti: false, txQLen: 0 },
      '',
      'eth0',
    );
    expect(c).toEqual({
      dataDir: '/tmp/x',
      sysctl: [{ key: 'net.core.somaxconn', path: 'net/core/somaxconn', value: '500' }],
      mac: 'c2:b0:57:49:47:f1',
      mtu: 1400,
      promisc: true,
      allmulti: false,
      txQLen: 0,
    });
  });

  it('lets args.cni override the static keys, sysctls by the file they name', () => {
    const c = loadTuningConfig(
      {
        ...base,
        sysctl: { 'net.core.somaxconn': '500', 'net.ipv4.conf.IFNAME.arp_filter': '1' },
        mtu: 1400,
        promisc: true,
        args: { cni: { sysctl: { 'net/ipv4/conf/eth0/arp_filter': '0' }, mtu: 1300, promisc: false, allmulti: true, txQLen: 10 } },
      },
      '',
      'eth0',
    );
    expect(c.sysctl).toEqual([
      { key: 'net.core.somaxconn', path: 'net/core/somaxconn', value: '500' },
      { key: 'net/ipv4/conf/eth0/arp_filter', path: 'net/ipv4/conf/eth0/arp_filter', value: '0' },
    ]);
    expect(c).toMatchObject({ mtu: 1300, promisc: false, allmulti: true, txQLen: 10 });
  });

  it('takes the MAC from mac < CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac', () => {
    const m = (n: number): string => `02:00:00:00:00:0${n}`;
    expect(loadTuningConfig({ ...base, mac: m(1) }, '', 'eth0').mac).toBe(m(1));
    expect(loadTuningConfig({ ...base, mac: m(1) }, `MAC=${m(2)}`, 'eth0').mac).toBe(m(2));
    expect(loadTuningConfig({ ...base, mac: m(1), args: { cni: { mac: m(3) } } }, `MAC=${m(2)}`, 'eth0').mac).toBe(m(3));
    expect(loadTuningConfig({ ...base, mac: m(1), args: { cni: { mac: m(3) } }, runtimeConfig: { mac: m(4) } }, `MAC=${m(2)}`, 'eth0').mac).toBe(m(4));
  });

  it('refuses unknown CNI_ARGS unless IgnoreUnknown is set, as the reference', () => {
    expect(error(() => loadTuningConfig(base, 'FOO=1', 'eth0')).code).toBe(4);
    expect(loadTuningConfig(base, 'IgnoreUnknown=1;FOO=1', 'eth0').mac).toBeUndefined();
  });

  it.each([
    [{ sysctl: { 'net.core.somaxconn': 500 } }, 'sysctl["net.core.somaxconn"]'],
    [{ sysctl: ['net.core.somaxconn'] }, 'sysctl'],
    [{ sysctl: { 'kernel.hostname': 'x' } }, 'kernel.hostname'],
    [{ sysctl: { 'net.ipv4.conf.IFNAME.arp_filter': '1', 'net/ipv4/conf/eth0/arp_filter': '1' } }, 'duplicated'],
    [{ args: { cni: { sysctl: { 'net.core.a': '1', 'net/core/a': '2' } } } }, 'args.cni.sysctl'],
    [{ mac: 'zz' }, 'mac'],
    [{ runtimeConfig: { mac: '00:11' } }, 'runtimeConfig.mac'],
    [{ mtu: -1 }, 'mtu'],
    [{ mtu: '1500' }, 'mtu'],
    [{ promisc: 'yes' }, 'promisc'],
    [{ txQLen: -1 }, 'txQLen'],
    [{ args: { cni: { txQLen: 1.5 } } }, 'args.cni.txQLen'],
    [{ allmulti: 1 }, 'allmulti'],
  ])('rejects %j naming %s (code 7)', (conf, field) => {
    const e = error(() => loadTuningConfig({ ...base, ...conf }, '', 'eth0'));
    expect(e.code).toBe(7);
    expect(e.msg).toContain(field);
  });

  it('reads dataDir alone for DEL and GC', () => {
    expect(tuningDataDir({ ...base, dataDir: '/x', mtu: 'bad' })).toBe('/x');
    expect(tuningDataDir(base)).toBe(DEFAULT_DATA_DIR);
  });
});

describe('checkAllowlist', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tscni-tuning-allow-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const settings = (keys: string[]) => keys.map((key) => ({ key, path: resolveSysctlKey(key, 'eth0'), value: '1' }));

  it('allows everything under net when there is no file', () => {
    expect(() => checkAllowlist(settings(['net.core.somaxconn']), join(dir, 'missing.conf'))).not.toThrow();
  });

  it('enforces the regexes of an existing file against the configured key', () => {
    const file = join(dir, 'allowlist.conf');
    writeFileSync(file, '^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]*$\r\n\n^net\\.ipv4\\.ip_forward$\n');
    expect(() => checkAllowlist(settings(['net.ipv4.conf.IFNAME.arp_filter', 'net.ipv4.ip_forward']), file)).not.toThrow();
    const e = error(() => checkAllowlist(settings(['net.core.somaxconn']), file));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('net.core.somaxconn');
  });

  it('reports an invalid expression with its line', () => {
    const file = join(dir, 'broken.conf');
    writeFileSync(file, '^net\\.core\n\n(unclosed\n');
    const e = error(() => checkAllowlist(settings(['net.core.x']), file));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('line 3');
  });
});
