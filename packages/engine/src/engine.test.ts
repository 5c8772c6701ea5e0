import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CniError } from '@tscni/spec';
import type { AnyResult } from '@tscni/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { netConfListFromBytes, pluginConfFromBytes } from './conf.js';
import { CniEngine } from './engine.js';
import type { RuntimeConf } from './engine.js';
import { AggregateCniError, PluginError, PluginNotFoundError } from './errors.js';
import { FakeExec } from './fake-exec.js';

const fixtures = fileURLToPath(new URL('../testdata/go-libcni-1.1.2/', import.meta.url));

let cacheDir: string;
let fake: FakeExec;
let engine: CniEngine;
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'tscni-engine-'));
  fake = new FakeExec();
  engine = new CniEngine({ path: ['/opt/cni/bin', '/usr/lib/cni'], cacheDir, exec: fake });
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const rt: RuntimeConf = { containerId: 'ctr1', netns: '/run/netns/ctr1', ifName: 'eth0' };
const list = (body: Record<string, unknown>) => netConfListFromBytes(JSON.stringify({ name: 'net', ...body }));
const result100 = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/ctr1' }], ips: [{ address: '10.0.0.2/24', interface: 0 }] };
const cacheFiles = async () => readdir(join(cacheDir, 'results')).catch(() => []);

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('ADD', () => {
  it('runs plugins in order, chaining prevResult in the version the previous plugin returned', async () => {
    fake.register('first', () => ({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} }));
    fake.register('second'); // pass-through
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'first', extra: { k: 1 } }, { type: 'second' }] });
    const r = await engine.addNetworkList(l, rt);
    expect(r.cniVersion).toBe('0.4.0');
    const [a, b] = fake.callsOf('ADD');
    expect(a?.conf).toEqual({ type: 'first', extra: { k: 1 }, name: 'net', cniVersion: '1.0.0' });
    expect(b?.conf?.['prevResult']).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} });
    expect(b?.conf?.['cniVersion']).toBe('1.0.0');
  });

  it('sets the six CNI_* variables', async () => {
    fake.register('p', () => result100);
    await engine.addNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] }), { ...rt, args: [['K', 'V'], ['IgnoreUnknown', '1']] });
    expect(fake.calls[0]?.env).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr1',
      CNI_NETNS: '/run/netns/ctr1',
      CNI_ARGS: 'K=V;IgnoreUnknown=1',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    });
    expect(fake.calls[0]?.path).toBe('/opt/cni/bin/p');
  });

  it('injects runtimeConfig = enabled capabilities ∩ capabilityArgs, only when non-empty', async () => {
    fake.register('a', () => result100).register('b').register('c');
    const l = list({
      cniVersion: '1.0.0',
      plugins: [
        { type: 'a', capabilities: { portMappings: true, mac: false } },
        { type: 'b', capabilities: { bandwidth: true } },
        { type: 'c' },
      ],
    });
    const capabilityArgs = { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }], mac: '00:11:22:33:44:55' };
    await engine.addNetworkList(l, { ...rt, capabilityArgs });
    const [a, b, c] = fake.callsOf('ADD');
    expect(a?.conf?.['runtimeConfig']).toEqual({ portMappings: capabilityArgs.portMappings });
    expect(a?.conf?.['capabilities']).toEqual({ portMappings: true, mac: false });
    expect(b?.conf).not.toHaveProperty('runtimeConfig');
    expect(c?.conf).not.toHaveProperty('runtimeConfig');
  });

  it('gives a result without cniVersion the config version (cni#895)', async () => {
    fake.register('p', () => ({ ips: [{ address: '10.0.0.2/24' }] }));
    const r = await engine.addNetworkList(list({ cniVersion: '1.1.0', plugins: [{ type: 'p' }] }), rt);
    expect(r).toMatchObject({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] });
  });

  it('produces the stdin and the cache file Go libcni produced for the same network', async () => {
    const conflist = await readFile(join(fixtures, 'fixture-net.conflist'));
    fake.register('fakeres', () => ({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:00:00:05', sandbox: '/run/netns/x<&>' }],
      ips: [
        { address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 0 },
        { address: 'fd00::5/64', interface: 0 },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }, { dst: '::/0' }],
      dns: { nameservers: ['10.0.0.1'], search: ['a<b>&c', 'café\u2028x'], options: ['ndots:5'] },
    }));
    const goRt: RuntimeConf = {
      containerId: 'ctr-1234',
      // libcni 1.1.2 did not cache netns yet; leave it empty so the files can be compared byte for byte.
      netns: '',
      ifName: 'eth0',
      args: [
        ['IgnoreUnknown', '1'],
        ['FOO', 'b&r'],
      ],
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], zeta: { b: 1, a: 'x<y' }, alpha: 1.5 },
    };
    await engine.addNetworkList(netConfListFromBytes(conflist), goRt);
    expect(fake.calls[0]?.stdinText).toBe(await readFile(join(fixtures, 'fixture-net.add-stdin.json'), 'utf8'));
    const ours = await readFile(join(cacheDir, 'results', 'fixture-net-ctr-1234-eth0'), 'utf8');
    expect(ours).toBe(await readFile(join(fixtures, 'fixture-net-ctr-1234-eth0'), 'utf8'));
  });

  it('validates container ID, network name and ifname', async () => {
    fake.register('p', () => result100);
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] });
    expect((await rejection(engine.addNetworkList(l, { ...rt, containerId: '' }))).code).toBe(3);
    expect((await rejection(engine.addNetworkList(l, { ...rt, containerId: 'bad id' }))).code).toBe(4);
    expect((await rejection(engine.addNetworkList(l, { ...rt, ifName: 'a-very-long-ifname' }))).code).toBe(4);
    const badName = netConfListFromBytes('{"name":"bad/name","cniVersion":"1.0.0","plugins":[{"type":"p"}]}');
    expect((await rejection(engine.addNetworkList(badName, rt))).code).toBe(7);
    expect(fake.calls).toHaveLength(0);
  });

  it('wraps a plugin error with list context and keeps its code', async () => {
    fake.register('ok', () => result100);
    fake.register('bad', () => {
      throw new CniError(117, 'no more addresses', 'range 10.0.0.0/30');
    });
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'ok' }, { type: 'bad', name: 'second' }] });
    const e = await rejection(engine.addNetworkList(l, rt));
    expect(e).toBeInstanceOf(PluginError);
    expect(e.code).toBe(117);
    expect(e.msg).toBe('plugin type="bad" name="second" failed (add): no more addresses');
    expect(e.details).toBe('range 10.0.0.0/30');
    expect(await cacheFiles()).toEqual([]);
  });

  it('reports a missing plugin (code 50) and a type with a path separator (code 7)', async () => {
    const e = await rejection(engine.addNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'nope' }] }), rt));
    expect(e.code).toBe(50);
    expect(e.msg).toBe('plugin type="nope" failed (add): failed to find plugin "nope" in path [/opt/cni/bin /usr/lib/cni]');
    expect(e.cause).toBeInstanceOf(PluginNotFoundError);
    const s = await rejection(engine.addNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: '../bin/sh' }] }), rt));
    expect(s.code).toBe(7);
  });

  it('rejects output that is not JSON or not a valid result (code 6, naming the plugin)', async () => {
    fake.register('garbage', () => 'hello, world');
    const e = await rejection(engine.addNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'garbage' }] }), rt));
    expect(e.code).toBe(6);
    expect(e.msg).toMatch(/^plugin type="garbage" failed \(add\): plugin "garbage" printed a result that is not JSON/);
    fake.register('badresult', () => ({ cniVersion: '1.0.0', ips: [{ address: 'not-an-ip' }] }));
    const b = await rejection(engine.addNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'badresult' }] }), rt));
    expect(b.code).toBe(6);
    expect(b.msg).toMatch(/plugin "badresult" printed an invalid result/);
  });
});

describe('exec options', () => {
  it('passes the engine timeout, a per-operation override and the abort signal to the exec', async () => {
    const timed = new CniEngine({ path: ['/bin'], cacheDir, exec: fake, timeoutMs: 1234 });
    fake.register('p', () => result100);
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] });
    await timed.addNetworkList(l, rt);
    const ac = new AbortController();
    await timed.delNetworkList(l, rt, { timeoutMs: 50, signal: ac.signal });
    expect(fake.calls.map((c) => c.opts.timeoutMs)).toEqual([1234, 50]);
    expect(fake.calls[1]?.opts.signal).toBe(ac.signal);
  });
});

describe('DEL', () => {
  it('runs plugins in reverse with the cached result (in the list version) and removes the entry', async () => {
    fake.register('a', () => ({ ...result100, cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} })).register('b');
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'a' }, { type: 'b' }] });
    await engine.addNetworkList(l, rt);
    expect(await cacheFiles()).toEqual(['net-ctr1-eth0']);
    await engine.delNetworkList(l, rt);
    const dels = fake.callsOf('DEL');
    expect(dels.map((c) => c.type)).toEqual(['b', 'a']);
    expect(dels[0]?.conf?.['prevResult']).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
    expect(dels[0]?.env['CNI_COMMAND']).toBe('DEL');
    expect(await cacheFiles()).toEqual([]);
  });

  it('reproduces Go libcni DEL stdin from a Go-written cache entry', async () => {
    await mkdir(join(cacheDir, 'results'), { recursive: true });
    await copyFile(join(fixtures, 'fixture-net-ctr-1234-eth0'), join(cacheDir, 'results', 'fixture-net-ctr-1234-eth0'));
    fake.register('fakeres');
    const l = netConfListFromBytes(await readFile(join(fixtures, 'fixture-net.conflist')));
    const goRt: RuntimeConf = {
      containerId: 'ctr-1234',
      netns: '/run/netns/fixture',
      ifName: 'eth0',
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], zeta: { b: 1, a: 'x<y' }, alpha: 1.5 },
    };
    await engine.delNetworkList(l, goRt);
    expect(fake.calls[0]?.stdinText).toBe(await readFile(join(fixtures, 'fixture-net.del-stdin.json'), 'utf8'));
    expect(await cacheFiles()).toEqual([]);
  });

  it('drops a corrupt cache entry and deletes without prevResult', async () => {
    await mkdir(join(cacheDir, 'results'), { recursive: true });
    await writeFile(join(cacheDir, 'results', 'net-ctr1-eth0'), '');
    fake.register('p');
    await engine.delNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] }), rt);
    expect(fake.calls[0]?.conf).not.toHaveProperty('prevResult');
    expect(await cacheFiles()).toEqual([]);
  });

  it('reads a legacy cache entry (a bare result)', async () => {
    await mkdir(join(cacheDir, 'results'), { recursive: true });
    await writeFile(join(cacheDir, 'results', 'net-ctr1-eth0'), JSON.stringify({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.2/16' }], dns: {} }));
    const r = await engine.getCachedResult(list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] }), rt);
    expect(r).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.2/16' }] });
  });

  it('does not read the cache below 0.4.0 and keeps going when nothing is cached', async () => {
    fake.register('p');
    await engine.delNetworkList(list({ cniVersion: '0.3.1', plugins: [{ type: 'p' }] }), rt);
    expect(fake.calls[0]?.conf).not.toHaveProperty('prevResult');
  });

  it('wraps plugin failures as (delete) and keeps the entry', async () => {
    fake.register('p', (c) => {
      if (c.command === 'DEL') throw new CniError(11, 'busy');
      return result100;
    });
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] });
    await engine.addNetworkList(l, rt);
    const e = await rejection(engine.delNetworkList(l, rt));
    expect(e.code).toBe(11);
    expect(e.msg).toBe('plugin type="p" failed (delete): busy');
    expect(await cacheFiles()).toEqual(['net-ctr1-eth0']);
  });
});

describe('CHECK', () => {
  it('is an error below 0.4.0 even with disableCheck', async () => {
    const e = await rejection(engine.checkNetworkList(list({ cniVersion: '0.3.1', disableCheck: true, plugins: [{ type: 'p' }] }), rt));
    expect(e.code).toBe(1);
    expect(e.msg).toBe('configuration version "0.3.1" does not support the CHECK command');
  });

  it('is a no-op with disableCheck', async () => {
    fake.register('p');
    await engine.checkNetworkList(list({ cniVersion: '1.0.0', disableCheck: 'true', plugins: [{ type: 'p' }] }), rt);
    expect(fake.calls).toHaveLength(0);
  });

  it('runs in order with the cached result as prevResult', async () => {
    fake.register('a', () => result100).register('b');
    const l = list({ cniVersion: '1.1.0', plugins: [{ type: 'a' }, { type: 'b' }] });
    await engine.addNetworkList(l, rt);
    await engine.checkNetworkList(l, rt);
    const checks = fake.callsOf('CHECK');
    expect(checks.map((c) => c.type)).toEqual(['a', 'b']);
    expect(checks[0]?.conf?.['prevResult']).toMatchObject({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] });
  });
});

describe('GC', () => {
  async function addAttachment(l: ReturnType<typeof list>, r: RuntimeConf) {
    await engine.addNetworkList(l, r);
  }

  it('deletes stale cached attachments with their cached args, then sends GC with both keys', async () => {
    fake.register('p', (c) => (c.command === 'ADD' ? result100 : undefined));
    const l = list({ cniVersion: '1.1.0', plugins: [{ type: 'p' }] });
    const other = list({ name: 'other', cniVersion: '1.1.0', plugins: [{ type: 'p' }] });
    await addAttachment(l, { containerId: 'keep', netns: '/run/netns/keep', ifName: 'eth0' });
    await addAttachment(l, { containerId: 'stale', netns: '/run/netns/stale', ifName: 'eth1', args: [['K', 'V']], capabilityArgs: { mac: 'x' } });
    await addAttachment(other, { containerId: 'stale', netns: '/run/netns/stale', ifName: 'eth0' });
    fake.calls.length = 0;
    await engine.gcNetworkList(l, { validAttachments: [{ containerID: 'keep', ifname: 'eth0' }] });
    const dels = fake.callsOf('DEL');
    expect(dels).toHaveLength(1);
    expect(dels[0]?.env).toMatchObject({ CNI_CONTAINERID: 'stale', CNI_NETNS: '/run/netns/stale', CNI_IFNAME: 'eth1', CNI_ARGS: 'K=V' });
    const gcs = fake.callsOf('GC');
    expect(gcs).toHaveLength(1);
    expect(gcs[0]?.conf?.['cni.dev/valid-attachments']).toEqual([{ containerID: 'keep', ifname: 'eth0' }]);
    expect(gcs[0]?.conf?.['cni.dev/attachments']).toEqual([{ containerID: 'keep', ifname: 'eth0' }]);
    expect(gcs[0]?.env).toMatchObject({ CNI_COMMAND: 'GC', CNI_CONTAINERID: '', CNI_NETNS: '', CNI_IFNAME: '', CNI_ARGS: '' });
    expect((await cacheFiles()).sort()).toEqual(['net-keep-eth0', 'other-stale-eth0']);
  });

  it('without valid attachments deletes every cached attachment and omits both keys', async () => {
    fake.register('p', (c) => (c.command === 'ADD' ? result100 : undefined));
    const l = list({ cniVersion: '1.1.0', plugins: [{ type: 'p' }] });
    await addAttachment(l, rt);
    await engine.gcNetworkList(l);
    expect(fake.callsOf('DEL')).toHaveLength(1);
    const gc = fake.callsOf('GC')[0];
    expect(gc?.conf).not.toHaveProperty('cni.dev/valid-attachments');
    expect(gc?.conf).not.toHaveProperty('cni.dev/attachments');
  });

  it('only synthesises DELs below 1.1.0, and does nothing with disableGC', async () => {
    fake.register('p', (c) => (c.command === 'ADD' ? result100 : undefined));
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] });
    await addAttachment(l, rt);
    await engine.gcNetworkList(list({ cniVersion: '1.1.0', disableGC: true, plugins: [{ type: 'p' }] }));
    expect(fake.callsOf('DEL')).toHaveLength(0);
    await engine.gcNetworkList(l, { validAttachments: [] });
    expect(fake.callsOf('DEL')).toHaveLength(1);
    expect(fake.callsOf('GC')).toHaveLength(0);
  });

  it('continues past errors and reports them all', async () => {
    fake.register('a', (c) => {
      if (c.command === 'GC') throw new CniError(120, 'a cannot gc');
      return c.command === 'ADD' ? result100 : undefined;
    });
    fake.register('b', (c) => {
      if (c.command === 'GC') throw new CniError(121, 'b cannot gc');
      return undefined;
    });
    const l = list({ cniVersion: '1.1.0', plugins: [{ type: 'a' }, { type: 'b' }] });
    const e = await rejection(engine.gcNetworkList(l, { validAttachments: [] }));
    expect(e).toBeInstanceOf(AggregateCniError);
    expect((e as AggregateCniError).errors.map((x) => x.code)).toEqual([120, 121]);
    expect(e.message).toBe('failed to GC plugin a: a cannot gc\nfailed to GC plugin b: b cannot gc');
    expect(fake.callsOf('GC')).toHaveLength(2);
  });
});

describe('STATUS', () => {
  it('is a no-op below 1.1.0', async () => {
    fake.register('p');
    await engine.statusNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] }));
    expect(fake.calls).toHaveLength(0);
  });

  it('returns the first error unchanged and stops', async () => {
    fake.register('a', () => {
      throw new CniError(50, 'daemon not running');
    });
    fake.register('b');
    const e = await rejection(engine.statusNetworkList(list({ cniVersion: '1.1.0', plugins: [{ type: 'a', k: 1 }, { type: 'b' }] })));
    expect([e.code, e.msg]).toEqual([50, 'daemon not running']);
    expect(fake.calls.map((c) => c.type)).toEqual(['a']);
    expect(fake.calls[0]?.conf).toEqual({ type: 'a', k: 1, name: 'net', cniVersion: '1.1.0' });
    expect(fake.calls[0]?.env['CNI_COMMAND']).toBe('STATUS');
  });
});

describe('validate and VERSION', () => {
  it('returns the union of enabled capabilities', async () => {
    fake.register('a').register('b');
    const caps = await engine.validateNetworkList(
      list({ cniVersion: '1.0.0', plugins: [{ type: 'a', capabilities: { portMappings: true, mac: false } }, { type: 'b', capabilities: { bandwidth: true, portMappings: true } }] }),
    );
    expect(caps).toEqual(['bandwidth', 'portMappings']);
    expect(fake.callsOf('VERSION').map((c) => c.stdinText)).toEqual(['{"cniVersion":"1.1.0"}', '{"cniVersion":"1.1.0"}']);
    expect(fake.callsOf('VERSION')[0]?.env).toMatchObject({ CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_PATH: 'dummy' });
  });

  it('fails for a plugin that does not support the version, and reports every problem', async () => {
    fake.register('old', undefined, { supportedVersions: ['0.3.1', '0.4.0'] });
    const e = await rejection(engine.validateNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'old' }] })));
    expect([e.code, e.msg]).toEqual([1, 'plugin old does not support config version "1.0.0"']);
    const both = await rejection(engine.validateNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'old' }, { type: 'missing' }] })));
    expect(both).toBeInstanceOf(AggregateCniError);
    expect((both as AggregateCniError).errors.map((x) => x.code)).toEqual([1, 50]);
  });

  it('treats "unknown CNI_COMMAND: VERSION" as a 0.1.0-only plugin', async () => {
    fake.register('ancient', () => {
      throw new CniError(4, 'unknown CNI_COMMAND: VERSION');
    });
    expect(await engine.getVersionInfo('ancient')).toEqual({ cniVersion: '0.1.0', supportedVersions: ['0.1.0'] });
  });
});

describe('cache queries', () => {
  it('getCachedConfig returns the list bytes and the cached args', async () => {
    fake.register('p', () => result100);
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] });
    await engine.addNetworkList(l, { ...rt, args: [['A', 'B']], capabilityArgs: { mac: 'm' } });
    const c = await engine.getCachedConfig(l, rt);
    expect(Buffer.from(c!.config)).toEqual(Buffer.from(l.bytes));
    expect(c!.rt).toMatchObject({ containerId: 'ctr1', args: [['A', 'B']], capabilityArgs: { mac: 'm' } });
    expect(await engine.getCachedConfig(l, { ...rt, containerId: 'other' })).toBeUndefined();
    const atts = await engine.getCachedAttachments('ctr1');
    expect(atts.map((a) => [a.network, a.netns])).toEqual([['net', '/run/netns/ctr1']]);
  });

  it('getCachedResult converts to the list version', async () => {
    fake.register('p', () => ({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] }));
    const l = list({ cniVersion: '1.0.0', plugins: [{ type: 'p' }] });
    await engine.addNetworkList(l, rt);
    const asOld = await engine.getCachedResult(list({ cniVersion: '0.4.0', plugins: [{ type: 'p' }] }), rt);
    expect(asOld).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }], dns: {} });
  });
});

describe('single plugins', () => {
  it('addNetwork/checkNetwork/delNetwork use the plugin config name and version; the cache stores its bytes', async () => {
    fake.register('p', (c) => (c.command === 'ADD' ? result100 : undefined));
    const src = '{"cniVersion":"1.0.0","name":"solo","type":"p"}';
    const p = pluginConfFromBytes(src);
    await engine.addNetwork(p, rt);
    expect(fake.calls[0]?.conf).toEqual({ cniVersion: '1.0.0', name: 'solo', type: 'p' });
    const c = await engine.getCachedConfig(p, rt);
    expect(Buffer.from(c!.config).toString()).toBe(src);
    await engine.checkNetwork(p, rt);
    await engine.delNetwork(p, rt);
    expect(fake.callsOf('DEL')[0]?.conf?.['prevResult']).toMatchObject({ cniVersion: '1.0.0' });
    expect(await cacheFiles()).toEqual([]);
  });
});

describe('in-process plugins', () => {
  it('calls registered TypeScript plugins without exec, converting results to the config version', async () => {
    const seen: string[] = [];
    engine.registerPlugin('inproc', {
      async add(a) {
        seen.push(`add ${a.containerId} ${a.ifName} ${a.netconf.name}`);
        return { cniVersion: '1.1.0', ips: [{ address: '10.9.0.2/24' }] } satisfies AnyResult;
      },
      async del(a) {
        seen.push(`del ${a.args}`);
      },
    });
    const l = list({ cniVersion: '0.4.0', plugins: [{ type: 'inproc' }] });
    const r = await engine.addNetworkList(l, { ...rt, args: [['X', 'Y']] });
    expect(r).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.9.0.2/24' }], dns: {} });
    await engine.delNetworkList(l, { ...rt, args: [['X', 'Y']] });
    expect(seen).toEqual(['add ctr1 eth0 net', 'del X=Y']);
    expect(fake.calls).toHaveLength(0);
    expect(await engine.validateNetworkList(l)).toEqual([]);
  });

  it('turns thrown errors into plugin errors with their code', async () => {
    engine.registerPlugin('failing', {
      async add() {
        throw new CniError(7, 'bad config', 'field x');
      },
    });
    const e = await rejection(engine.addNetworkList(list({ cniVersion: '1.0.0', plugins: [{ type: 'failing' }] }), rt));
    expect([e.code, e.msg, e.details]).toEqual([7, 'plugin type="failing" failed (add): bad config', 'field x']);
  });
});
