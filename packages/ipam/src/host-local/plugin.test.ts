import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError, parseNetConf } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import type { CmdArgs } from '@tscni/skel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIP, parseIP } from '@tscni/ip';
import type { IP } from '@tscni/ip';
import { HOST_LOCAL_VERSIONS, hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalPlugin, hostLocalStatus } from './plugin.js';
import type { StoreFactory } from './plugin.js';
import { DiskStore } from './disk-store.js';
import { MemoryStore } from './store.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tscni-hl-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function netconf(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.1.0', name: 'testnet', type: 'bridge', ipam: { type: 'host-local', ...ipam }, ...extra };
}

function cmd(conf: Record<string, unknown>, containerId = 'ctr1', ifName = 'eth0', args = ''): CmdArgs {
  const text = JSON.stringify(conf);
  return {
    containerId,
    netns: '',
    ifName,
    args,
    path: [],
    stdinData: new TextEncoder().encode(text),
    netconf: parseNetConf(text),
    netnsOverride: false,
  };
}

async function failure(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

function memory(): { store: MemoryStore; factory: StoreFactory } {
  const store = new MemoryStore();
  return { store, factory: () => store };
}

const held = async (store: MemoryStore) => (await store.list()).map((a) => `${formatIP(a.ip)} ${a.containerId}/${a.ifname ?? '-'}`).sort();

describe('host-local ADD', () => {
  it('returns one address per range set (dual-stack) with gateways, routes and DNS from resolvConf', async () => {
    const { store, factory } = memory();
    const resolv = join(tmp, 'resolv.conf');
    writeFileSync(resolv, '# comment\nnameserver 10.0.0.53\nnameserver 2001:db8::53\ndomain example.org\nsearch a.example b.example\noptions ndots:2 rotate\n');
    const conf = netconf({
      ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '2001:db8:1::/64', rangeStart: '2001:db8:1::100' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: '2001:db8:1::1' }],
      resolvConf: resolv,
    });
    const r = await hostLocalAdd(cmd(conf), factory);
    expect(r).toEqual({
      cniVersion: '1.1.0',
      ips: [
        { address: '10.1.0.2/24', gateway: '10.1.0.1' },
        { address: '2001:db8:1::100/64', gateway: '2001:db8:1::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: '2001:db8:1::1' }],
      dns: { nameservers: ['10.0.0.53', '2001:db8::53'], domain: 'example.org', search: ['a.example', 'b.example'], options: ['ndots:2', 'rotate'] },
    });
    expect(await held(store)).toEqual(['10.1.0.2 ctr1/eth0', '2001:db8:1::100 ctr1/eth0']);
  });

  it('reports a missing resolvConf as an I/O error naming the field', async () => {
    const e = await failure(hostLocalAdd(cmd(netconf({ subnet: '10.1.0.0/24', resolvConf: join(tmp, 'none') })), memory().factory));
    expect(e.code).toBe(5);
    expect(e.msg).toContain('ipam.resolvConf: cannot read');
  });

  it('takes requested addresses from CNI_ARGS, args.cni.ips and runtimeConfig.ips, each in its range set', async () => {
    const { factory } = memory();
    const conf = netconf(
      { ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.2.0.0/24' }], [{ subnet: '2001:db8::/64' }]] },
      { args: { cni: { ips: ['10.2.0.20'] } }, runtimeConfig: { ips: ['2001:db8::20/64'] } },
    );
    const r = await hostLocalAdd(cmd(conf, 'c', 'eth0', 'IP=10.1.0.10'), factory);
    expect(r.ips?.map((i) => i.address)).toEqual(['10.1.0.10/24', '10.2.0.20/24', '2001:db8::20/64']);
  });

  it('fails when a requested address fits no range set and frees what it took', async () => {
    const { store, factory } = memory();
    const conf = netconf({ ranges: [[{ subnet: '10.1.0.0/24' }]] }, { runtimeConfig: { ips: ['10.1.0.7', '10.1.0.8'] } });
    const e = await failure(hostLocalAdd(cmd(conf), factory));
    expect([e.code, e.msg]).toEqual([7, 'failed to allocate all requested IPs: 10.1.0.8']);
    expect(await held(store)).toEqual([]);
  });

  it('frees the addresses of earlier range sets when a later one is exhausted, keeping older allocations', async () => {
    const { store, factory } = memory();
    const conf = netconf({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.2.0.0/30' }]] });
    await hostLocalAdd(cmd(conf, 'first'), factory); // takes 10.2.0.2, the only address of set 1
    const e = await failure(hostLocalAdd(cmd(conf, 'second'), factory));
    expect(e.code).toBe(11);
    expect(e.msg).toBe('failed to allocate for range 1: no IP addresses available in range set: 10.2.0.1-10.2.0.2');
    expect(await held(store)).toEqual(['10.1.0.2 first/eth0', '10.2.0.2 first/eth0']);
    // A duplicate ADD fails without freeing the attachment's existing addresses.
    const dup = await failure(hostLocalAdd(cmd(conf, 'first'), factory));
    expect(dup.msg).toBe('failed to allocate for range 0: 10.1.0.2 has been allocated to first, duplicate allocation is not allowed');
    expect(await held(store)).toEqual(['10.1.0.2 first/eth0', '10.2.0.2 first/eth0']);
  });

  it('prints the result in the config version through pluginMain (0.2.0, 0.4.0, 1.1.0)', async () => {
    for (const [version, expected] of [
      ['0.2.0', { cniVersion: '0.2.0', ip4: { ip: '10.1.0.2/24', gateway: '10.1.0.1' }, dns: {} }],
      ['0.4.0', { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.2/24', gateway: '10.1.0.1' }], dns: {} }],
      ['1.1.0', { cniVersion: '1.1.0', ips: [{ address: '10.1.0.2/24', gateway: '10.1.0.1' }] }],
    ] as const) {
      const out: string[] = [];
      const code = await pluginMain(hostLocalPlugin(memory().factory), { supportedVersions: HOST_LOCAL_VERSIONS }, {
        env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
        stdin: async () => new TextEncoder().encode(JSON.stringify({ ...netconf({ subnet: '10.1.0.0/24' }), cniVersion: version })),
        stdout: (s) => out.push(s),
        stderr: () => {},
        exit: () => {},
      });
      expect(code).toBe(0);
      expect(JSON.parse(out.join(''))).toEqual(expected);
    }
  });

  it('answers VERSION with every spec version, as the reference (version.All)', async () => {
    const out: string[] = [];
    const code = await pluginMain(hostLocalPlugin(memory().factory), { supportedVersions: HOST_LOCAL_VERSIONS }, {
      env: { CNI_COMMAND: 'VERSION' },
      stdin: async () => new TextEncoder().encode('{"cniVersion":"1.1.0"}'),
      stdout: (s) => out.push(s),
      stderr: () => {},
      exit: () => {},
    });
    expect(code).toBe(0);
    expect(JSON.parse(out.join('')).supportedVersions).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  });

  it('answers a bad config with code 7 JSON through pluginMain', async () => {
    const out: string[] = [];
    const code = await pluginMain(hostLocalPlugin(memory().factory), { supportedVersions: HOST_LOCAL_VERSIONS }, {
      env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
      stdin: async () => new TextEncoder().encode(JSON.stringify(netconf({ ranges: [[{ subnet: '10.1.0.0/31' }]] }))),
      stdout: (s) => out.push(s),
      stderr: () => {},
      exit: () => {},
    });
    expect(code).toBe(1);
    expect(JSON.parse(out.join(''))).toMatchObject({ code: 7, msg: 'ipam.ranges[0][0].subnet: invalid range set 0: Network 10.1.0.0/31 too small to allocate from' });
  });
});

describe('host-local DEL and CHECK', () => {
  it('releases by container and ifname, idempotently, and CHECK follows', async () => {
    const { store, factory } = memory();
    const conf = netconf({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '2001:db8::/64' }]] });
    await hostLocalAdd(cmd(conf, 'a', 'eth0'), factory);
    await hostLocalAdd(cmd(conf, 'a', 'eth1'), factory);
    await hostLocalCheck(cmd(conf, 'a', 'eth0'), factory);
    await hostLocalDel(cmd(conf, 'a', 'eth0'), factory);
    expect(await held(store)).toEqual(['10.1.0.3 a/eth1', '2001:db8::3 a/eth1']);
    const e = await failure(hostLocalCheck(cmd(conf, 'a', 'eth0'), factory));
    expect([e.code, e.msg]).toEqual([3, 'host-local: Failed to find address added by container a']);
    await hostLocalDel(cmd(conf, 'a', 'eth0'), factory);
    await hostLocalDel(cmd(conf, 'never', 'eth0'), factory);
    expect(await held(store)).toHaveLength(2);
  });

  it('falls back to legacy records (container ID only) when no exact record matches', async () => {
    const { store, factory } = memory();
    store.putLegacy(parseIP('10.1.0.9') as IP, 'old');
    const conf = netconf({ subnet: '10.1.0.0/24' });
    await hostLocalCheck(cmd(conf, 'old', 'eth0'), factory);
    await hostLocalDel(cmd(conf, 'old', 'eth0'), factory);
    expect(await held(store)).toEqual([]);
  });

  it('DEL still frees after the ranges were edited into something invalid', async () => {
    const { store, factory } = memory();
    await hostLocalAdd(cmd(netconf({ subnet: '10.1.0.0/24' }), 'a'), factory);
    await hostLocalDel(cmd(netconf({ subnet: '10.1.0.0/31' }), 'a'), factory);
    expect(await held(store)).toEqual([]);
  });
});

describe('host-local GC', () => {
  it('frees every reservation whose attachment is not valid, legacy ones by container ID', async () => {
    const { store, factory } = memory();
    const conf = netconf({ ranges: [[{ subnet: '10.1.0.0/24' }]] });
    for (const [id, ifname] of [['a', 'eth0'], ['a', 'eth1'], ['b', 'eth0'], ['c', 'eth0']] as const) {
      await hostLocalAdd(cmd(conf, id, ifname), factory);
    }
    store.putLegacy(parseIP('10.1.0.100') as IP, 'b');
    store.putLegacy(parseIP('10.1.0.101') as IP, 'z');
    const gc = cmd({ ...conf, 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }, { containerID: 'b', ifname: 'eth0' }] }, '', '');
    const freed = await hostLocalGc(gc, factory);
    expect(freed.map(formatIP).sort()).toEqual(['10.1.0.101', '10.1.0.3', '10.1.0.5']);
    expect(await held(store)).toEqual(['10.1.0.100 b/-', '10.1.0.2 a/eth0', '10.1.0.4 b/eth0']);
  });

  it('accepts the cni.dev/attachments key of libcni 1.2.0 and refuses to guess without either', async () => {
    const { store, factory } = memory();
    const conf = netconf({ subnet: '10.1.0.0/24' });
    await hostLocalAdd(cmd(conf, 'a'), factory);
    const e = await failure(hostLocalGc(cmd(conf, '', ''), factory));
    expect(e.code).toBe(7);
    expect(await held(store)).toHaveLength(1);
    await hostLocalGc(cmd({ ...conf, 'cni.dev/attachments': [] }, '', ''), factory);
    expect(await held(store)).toEqual([]);
  });
});

describe('host-local STATUS', () => {
  it('is fine while every range set has a free address and answers 50 once one is exhausted', async () => {
    const { factory } = memory();
    const conf = netconf({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.2.0.0/29', rangeStart: '10.2.0.2', rangeEnd: '10.2.0.3' }]] });
    await hostLocalStatus(cmd(conf, '', ''), factory);
    await hostLocalAdd(cmd(conf, 'a'), factory);
    await hostLocalStatus(cmd(conf, '', ''), factory);
    await hostLocalAdd(cmd(conf, 'b'), factory);
    const e = await failure(hostLocalStatus(cmd(conf, '', ''), factory));
    expect([e.code, e.msg, e.details]).toEqual([50, 'no IP addresses available in range set 1: 10.2.0.2-10.2.0.3', '2 of 2 addresses in use']);
    await hostLocalDel(cmd(conf, 'a'), factory);
    await hostLocalStatus(cmd(conf, '', ''), factory);
  });

  it('has nothing to judge when the ranges come only from the ipRanges capability', async () => {
    await hostLocalStatus(cmd(netconf({}), '', ''), memory().factory);
  });
});

describe('host-local on the disk store', () => {
  // Cross-process locking is tested in disk-store.test.ts and interop.test.ts; here the in-process
  // mutex suffices, so these tests do not need the native addon.
  const disk: StoreFactory = (w) =>
    new DiskStore(w.dataDir, w.name, async (path, opts) => {
      closeSync(openSync(path, 'a', opts.mode));
      return { path, fd: -1, release: () => {} };
    });

  it('runs ADD/CHECK/GC/DEL against files under dataDir', async () => {
    const conf = netconf({ ranges: [[{ subnet: '10.1.0.0/24' }]], dataDir: tmp });
    const r = await hostLocalAdd(cmd(conf, 'a'), disk);
    expect(r).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.2/24', gateway: '10.1.0.1' }] });
    await hostLocalAdd(cmd(conf, 'b'), disk);
    await hostLocalCheck(cmd(conf, 'a'), disk);
    expect(readdirSync(join(tmp, 'testnet')).sort()).toEqual(['10.1.0.2', '10.1.0.3', 'last_reserved_ip.0', 'lock']);
    await hostLocalGc(cmd({ ...conf, 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }] }, '', ''), disk);
    expect(readdirSync(join(tmp, 'testnet')).sort()).toEqual(['10.1.0.2', 'last_reserved_ip.0', 'lock']);
    await hostLocalDel(cmd(conf, 'a'), disk);
    await hostLocalDel(cmd(conf, 'a'), disk);
    expect(readdirSync(join(tmp, 'testnet')).sort()).toEqual(['last_reserved_ip.0', 'lock']);
    await hostLocalStatus(cmd(conf, '', ''), disk);
  });

  it('reports a dataDir it cannot use as an I/O error (code 5)', async () => {
    const file = join(tmp, 'plain-file');
    writeFileSync(file, '');
    const e = await failure(hostLocalAdd(cmd(netconf({ subnet: '10.1.0.0/24', dataDir: file })), disk));
    expect(e.code).toBe(5);
    expect(e.msg).toMatch(/^host-local: ENOTDIR/);
  });
});
