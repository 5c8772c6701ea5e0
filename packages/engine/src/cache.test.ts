import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cacheFilePath,
  decodeCacheEntry,
  deleteCacheEntry,
  encodeCacheEntry,
  listCachedAttachments,
  writeCacheEntry,
  writeFileAtomic,
} from './cache.js';

const fixtures = fileURLToPath(new URL('../testdata/go-libcni-1.1.2/', import.meta.url));
const goCacheFile = join(fixtures, 'fixture-net-ctr-1234-eth0');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tscni-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cache format (byte-compatible with Go libcni)', () => {
  it('encodes the same bytes Go libcni wrote for the same entry', async () => {
    const goBytes = await readFile(goCacheFile, 'utf8');
    const go = JSON.parse(goBytes) as Record<string, unknown>;
    const conflist = await readFile(join(fixtures, 'fixture-net.conflist'));
    const ours = encodeCacheEntry({
      containerId: 'ctr-1234',
      config: conflist,
      ifName: 'eth0',
      networkName: 'fixture-net',
      cniArgs: [
        ['IgnoreUnknown', '1'],
        ['FOO', 'b&r'],
      ],
      // The runtime's capability args as the caller gave them (unsorted), and the result as a JSON object.
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], zeta: { b: 1, a: 'x<y' }, alpha: 1.5 },
      result: go['result'] as Record<string, unknown>,
    });
    expect(ours).toBe(goBytes);
  });

  it('writes netns after networkName and omits empty members as Go omitempty does', () => {
    const text = encodeCacheEntry({
      containerId: 'c',
      config: new Uint8Array([1, 2, 3]),
      ifName: 'eth0',
      networkName: 'n',
      netns: '/run/netns/x',
      cniArgs: [],
      capabilityArgs: {},
      result: { cniVersion: '1.1.0' },
    });
    expect(text).toBe('{"kind":"cniCacheV1","containerId":"c","config":"AQID","ifName":"eth0","networkName":"n","netns":"/run/netns/x","result":{"cniVersion":"1.1.0"}}');
  });

  it('decodes the Go-written file', async () => {
    const e = decodeCacheEntry(await readFile(goCacheFile));
    expect(e.kind).toBe('cniCacheV1');
    expect(e.containerId).toBe('ctr-1234');
    expect(Buffer.from(e.config)).toEqual(await readFile(join(fixtures, 'fixture-net.conflist')));
    expect(e.cniArgs).toEqual([
      ['IgnoreUnknown', '1'],
      ['FOO', 'b&r'],
    ]);
    expect(e.capabilityArgs).toEqual({ alpha: 1.5, portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }], zeta: { a: 'x<y', b: 1 } });
    expect(e.netns).toBe('');
  });

  it('rejects entries whose members have the wrong type, as Go unmarshalling would', () => {
    expect(() => decodeCacheEntry(new TextEncoder().encode('{"kind":"cniCacheV1","config":"not base64!"}'))).toThrow(/config/);
    expect(() => decodeCacheEntry(new TextEncoder().encode('{"kind":1}'))).toThrow(/kind/);
    expect(() => decodeCacheEntry(new TextEncoder().encode(''))).toThrow(/decode/);
  });
});

describe('cache files', () => {
  it('creates results/ with 0700 and the entry with 0600, atomically', async () => {
    const cacheDir = join(dir, 'nested', 'cache');
    await writeCacheEntry(cacheDir, { containerId: 'c1', config: new Uint8Array(), ifName: 'eth0', networkName: 'net', result: { cniVersion: '1.0.0' } });
    const file = cacheFilePath(cacheDir, 'net', 'c1', 'eth0');
    expect(file).toBe(join(cacheDir, 'results', 'net-c1-eth0'));
    expect((await stat(join(cacheDir, 'results'))).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(cacheDir, 'results'))).toEqual(['net-c1-eth0']);
  });

  it('replaces an existing file in one step and leaves no temp file', async () => {
    const file = join(dir, 'f');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('requires network name, container ID and ifname for a path', () => {
    expect(() => cacheFilePath(dir, '', 'c', 'eth0')).toThrow(/requires network name/);
    expect(() => cacheFilePath(dir, 'n', '', 'eth0')).toThrow(/container ID/);
  });

  it('never builds a path outside results/', () => {
    expect(() => cacheFilePath(dir, '../../etc', 'c', 'eth0')).toThrow(/invalid cache file name part/);
    expect(() => cacheFilePath(dir, 'n', 'c', '..')).toThrow(/invalid cache file name part/);
  });

  it('deleting a missing entry is fine', async () => {
    await expect(deleteCacheEntry(dir, 'n', 'c', 'eth0')).resolves.toBeUndefined();
  });

  it('lists attachments like GetCachedAttachments: sorted, filtered, skipping junk', async () => {
    const results = join(dir, 'results');
    await mkdir(results, { recursive: true });
    const put = (name: string, body: string) => writeFile(join(results, name), body);
    const entry = (net: string, cid: string, ifName: string, extra = '') =>
      `{"kind":"cniCacheV1","containerId":"${cid}","config":"","ifName":"${ifName}","networkName":"${net}"${extra}}`;
    await put('b-c1-eth0', entry('b', 'c1', 'eth0', ',"netns":"/run/netns/x","cniArgs":[["K","V"]]'));
    await put('a-c1-eth1', entry('a', 'c1', 'eth1'));
    await put('a-c2-eth0', entry('a', 'c2', 'eth0'));
    await put('legacy-c1-eth0', '{"cniVersion":"0.4.0"}');
    await put('empty-c1-eth0', '');
    await put('noif-c1-eth0', entry('noif', 'c1', ''));
    await put('x-c1-eth0', entry('x', 'c9', 'eth0')); // name matches, containerId does not
    const all = await listCachedAttachments(dir);
    expect(all.map((a) => `${a.network}/${a.containerId}/${a.ifName}`)).toEqual(['a/c1/eth1', 'a/c2/eth0', 'b/c1/eth0', 'x/c9/eth0']);
    const c1 = await listCachedAttachments(dir, 'c1');
    expect(c1.map((a) => a.network)).toEqual(['a', 'b']);
    expect(c1[1]).toMatchObject({ netns: '/run/netns/x', cniArgs: [['K', 'V']] });
    expect(await listCachedAttachments(join(dir, 'missing'))).toEqual([]);
  });
});
