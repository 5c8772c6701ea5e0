// Interop (Go runtime → tscni plugins): Debian's Go libcni (tools/go-runtime) runs ADD/CHECK/DEL of
// network lists made of tscni's bundled test plugins; tscni-debug records exactly what libcni sent.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseResult, toCurrentResult } from '@tscni/spec';
import type { AnyResult } from '@tscni/spec';
import { makeTempDir, readDebugRecords, uniqueName } from '@tscni/testing';
import type { DebugRecord, TempDir } from '@tscni/testing';
import {
  GO_RUNTIME,
  cacheFilePath,
  createNetns,
  deleteNetns,
  goRuntime,
  goRuntimeCniError,
  installTestPlugins,
  requireBuilt,
  run,
} from './harness.js';
import type { GoRuntimeOptions, Netns } from './harness.js';

/** Result content compared across a Go round trip, which adds `dns: {}` and drops nothing else. */
function content(r: unknown, version: string): unknown {
  const cur = toCurrentResult(parseResult(r, version) as AnyResult);
  const dns = cur.dns !== undefined && Object.keys(cur.dns).length > 0 ? cur.dns : undefined;
  return { interfaces: cur.interfaces ?? [], ips: cur.ips ?? [], routes: cur.routes ?? [], dns };
}

function stdinOf(rec: DebugRecord): Record<string, unknown> {
  return rec.stdin as Record<string, unknown>;
}

describe.each(['0.3.1', '0.4.0', '1.0.0'])('go libcni drives tscni plugins at cniVersion %s', (version) => {
  let dir: TempDir;
  let netns: Netns;
  let conflist: string;
  let debugFile: string;
  let opts: GoRuntimeOptions;
  let network: string;
  const portMappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];

  beforeEach(async () => {
    dir = await makeTempDir('tscni-interop-');
    netns = await createNetns('tscgo');
    const cniPath = join(dir.path, 'bin');
    await mkdir(cniPath);
    await installTestPlugins(cniPath);
    network = uniqueName('gonet-', 16);
    debugFile = join(dir.path, 'debug.jsonl');
    conflist = join(dir.path, `${network}.conflist`);
    await writeFile(
      conflist,
      JSON.stringify({
        cniVersion: version,
        name: network,
        plugins: [
          { type: 'tscni-debug', tag: 'first', debugFile, capabilities: { portMappings: true } },
          { type: 'tscni-noop' },
          { type: 'tscni-debug', tag: 'last', debugFile, custom: { kept: [1, 'two'] } },
        ],
      }),
    );
    opts = {
      cniPath,
      ifName: 'net1',
      containerId: uniqueName('ctr-', 24),
      cacheDir: join(dir.path, 'cache'),
      cniArgs: 'IgnoreUnknown=1;POD=web',
      capArgs: { portMappings, bandwidth: { ingressRate: 1 } },
    };
  });

  afterEach(async () => {
    await deleteNetns(netns);
    await dir.remove();
  });

  it('ADD chains prevResult, injects runtimeConfig, and the result and cache parse', async () => {
    const add = await goRuntime('add', conflist, netns.path, opts);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const result = JSON.parse(add.stdout) as Record<string, unknown>;
    expect(result['cniVersion']).toBe(version);
    const parsed = toCurrentResult(parseResult(result, version) as AnyResult);
    // debug(first) created net1, noop appended net1 again, debug(last) passed it through.
    expect(parsed.interfaces).toEqual([
      { name: 'net1', sandbox: netns.path },
      { name: 'net1', sandbox: netns.path },
    ]);

    const recs = await readDebugRecords(debugFile);
    expect(recs.map((r) => [r.command, stdinOf(r)['tag']])).toEqual([
      ['ADD', 'first'],
      ['ADD', 'last'],
    ]);
    const [first, last] = recs as [DebugRecord, DebugRecord];
    for (const r of recs) {
      expect(r.env).toMatchObject({
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: opts.containerId,
        CNI_NETNS: netns.path,
        CNI_IFNAME: 'net1',
        CNI_ARGS: 'IgnoreUnknown=1;POD=web',
        CNI_PATH: opts.cniPath,
      });
      expect(stdinOf(r)['name']).toBe(network);
      expect(stdinOf(r)['cniVersion']).toBe(version);
    }
    // First plugin: no prevResult; only the capability it declared reaches runtimeConfig, and libcni
    // leaves `capabilities` in place.
    expect(stdinOf(first)).not.toHaveProperty('prevResult');
    expect(stdinOf(first)['runtimeConfig']).toEqual({ portMappings });
    expect(stdinOf(first)['capabilities']).toEqual({ portMappings: true });
    // Last plugin: the noop's output as prevResult, no runtimeConfig, unknown keys untouched.
    expect(content(stdinOf(last)['prevResult'], version)).toEqual(content(result, version));
    expect(stdinOf(last)).not.toHaveProperty('runtimeConfig');
    expect(stdinOf(last)['custom']).toEqual({ kept: [1, 'two'] });

    // libcni's cache entry: cniCacheV1 with the raw list bytes (base64) and the final result.
    const cachePath = cacheFilePath(opts.cacheDir ?? '', network, opts.containerId ?? '', 'net1');
    const cached = JSON.parse(await readFile(cachePath, 'utf8')) as Record<string, unknown>;
    expect(cached).toMatchObject({ kind: 'cniCacheV1', containerId: opts.containerId, ifName: 'net1', networkName: network });
    expect(Buffer.from(String(cached['config']), 'base64').toString('utf8')).toBe(await readFile(conflist, 'utf8'));
    expect(cached['cniArgs']).toEqual([
      ['IgnoreUnknown', '1'],
      ['POD', 'web'],
    ]);
    expect(content(cached['result'], version)).toEqual(content(result, version));
    const again = await goRuntime('cached', conflist, netns.path, opts);
    expect(again.code).toBe(0);
    expect(content(JSON.parse(again.stdout), version)).toEqual(content(result, version));
  });

  it('CHECK sends the cached result to every plugin in order (0.4.0 and later only)', async () => {
    const add = await goRuntime('add', conflist, netns.path, opts);
    expect(add.code).toBe(0);
    const result: unknown = JSON.parse(add.stdout);
    const check = await goRuntime('check', conflist, netns.path, opts);
    const checks = (await readDebugRecords(debugFile)).filter((r) => r.command === 'CHECK');
    if (version === '0.3.1') {
      expect(check.code).toBe(1);
      expect(check.stderr).toContain('does not support the CHECK command');
      expect(checks).toEqual([]);
      return;
    }
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(checks.map((r) => stdinOf(r)['tag'])).toEqual(['first', 'last']);
    for (const r of checks) {
      expect(r.env['CNI_COMMAND']).toBe('CHECK');
      expect(content(stdinOf(r)['prevResult'], version)).toEqual(content(result, version));
    }
  });

  it('DEL runs in reverse order with the cached prevResult (0.4.0 and later) and removes the cache', async () => {
    const add = await goRuntime('add', conflist, netns.path, opts);
    expect(add.code).toBe(0);
    const result: unknown = JSON.parse(add.stdout);
    const cachePath = cacheFilePath(opts.cacheDir ?? '', network, opts.containerId ?? '', 'net1');
    await expect(readFile(cachePath)).resolves.toBeDefined();

    const del = await goRuntime('del', conflist, netns.path, opts);
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    const dels = (await readDebugRecords(debugFile)).filter((r) => r.command === 'DEL');
    expect(dels.map((r) => stdinOf(r)['tag'])).toEqual(['last', 'first']);
    for (const r of dels) {
      expect(r.env).toMatchObject({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: opts.containerId, CNI_IFNAME: 'net1' });
      if (version === '0.3.1') {
        expect(stdinOf(r)).not.toHaveProperty('prevResult');
      } else {
        expect(content(stdinOf(r)['prevResult'], version)).toEqual(content(result, version));
      }
    }
    expect(stdinOf(dels[1] as DebugRecord)['runtimeConfig']).toEqual({ portMappings });
    await expect(readFile(cachePath)).rejects.toMatchObject({ code: 'ENOENT' });

    // A second DEL (nothing cached any more) still succeeds.
    const again = await goRuntime('del', conflist, netns.path, opts);
    expect(again.code).toBe(0);
  });
});

describe('go libcni decodes tscni plugin errors and VERSION replies', () => {
  let dir: TempDir;
  let netns: Netns;
  let cniPath: string;

  beforeEach(async () => {
    dir = await makeTempDir('tscni-interop-');
    netns = await createNetns('tscgo');
    cniPath = join(dir.path, 'bin');
    await mkdir(cniPath);
    await installTestPlugins(cniPath);
  });

  afterEach(async () => {
    await deleteNetns(netns);
    await dir.remove();
  });

  it('a CNI error from a tscni plugin reaches the Go runtime with its code, msg and details', async () => {
    const network = uniqueName('goerr-', 16);
    const conflist = join(dir.path, 'err.conflist');
    await writeFile(
      conflist,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: network,
        plugins: [
          { type: 'tscni-noop' },
          { type: 'tscni-debug', errors: { ADD: { code: 11, msg: 'try again', details: 'lock held' } } },
        ],
      }),
    );
    const cacheDir = join(dir.path, 'cache');
    const add = await goRuntime('add', conflist, netns.path, { cniPath, cacheDir, containerId: 'ctr-err' });
    expect(add.code).toBe(1);
    expect(add.stderr).toContain('plugin type="tscni-debug" failed (add)');
    expect(goRuntimeCniError(add.stderr)).toEqual({ code: 11, msg: 'try again', details: 'lock held' });
    // libcni writes no cache entry for a failed ADD.
    await expect(readFile(cacheFilePath(cacheDir, network, 'ctr-err', 'eth0'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('libcni reads the supported versions from tscni plugins', async () => {
    const conflist = join(dir.path, 'v.conflist');
    await writeFile(conflist, JSON.stringify({ cniVersion: '1.0.0', name: 'vers', plugins: [{ type: 'tscni-debug' }, { type: 'tscni-noop' }] }));
    const v = await run(requireBuilt(GO_RUNTIME), ['version', conflist], { env: { CNI_PATH: cniPath } });
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    const infos = JSON.parse(v.stdout) as Record<string, { supportedVersions: string[] }>;
    for (const type of ['tscni-debug', 'tscni-noop']) {
      expect(infos[type]?.supportedVersions).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    }
  });
});
