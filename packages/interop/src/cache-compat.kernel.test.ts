// Interop (result cache): an attachment made by one runtime is detached by the other. Go libcni
// (tools/go-runtime) and @tscni/engine share `<cacheDir>/results/<net>-<id>-<ifname>`; the chain is
// the Go bridge + host-local followed by tscni-debug, which records the prevResult DEL delivers.
// Both runtimes run the plugins inside a stand-in host namespace.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniEngine, netConfListFromFile } from '@tscni/engine';
import type { RuntimeConf } from '@tscni/engine';
import { formatResult, parseResult, toCurrentResult } from '@tscni/spec';
import type { AnyResult, Result } from '@tscni/spec';
import { makeTempDir, readDebugRecords, uniqueName } from '@tscni/testing';
import type { DebugRecord, TempDir } from '@tscni/testing';
import {
  GO_PLUGIN_DIR,
  NetnsPluginExec,
  cacheFilePath,
  createNetns,
  createStandInHost,
  deleteNetns,
  goRuntime,
  hostLocalFiles,
  installTestPlugins,
  linkNames,
  subnet240,
} from './harness.js';
import type { GoRuntimeOptions, Netns } from './harness.js';

/** What a result says, compared across runtimes (Go adds `dns: {}` on the way through). */
function content(r: unknown, version: string): unknown {
  const cur = toCurrentResult(parseResult(r, version) as AnyResult);
  const dns = cur.dns !== undefined && Object.keys(cur.dns).length > 0 ? cur.dns : undefined;
  return { interfaces: cur.interfaces ?? [], ips: cur.ips ?? [], routes: cur.routes ?? [], dns };
}

function hostVeths(result: Result, bridge: string): string[] {
  return (result.interfaces ?? []).filter((i) => i.sandbox === undefined && i.name !== bridge).map((i) => i.name);
}

function ipOf(result: Result): string {
  const a = result.ips?.[0]?.address ?? '';
  return a.split('/')[0] ?? a;
}

function prevResultOf(rec: DebugRecord): unknown {
  return (rec.stdin as Record<string, unknown>)['prevResult'];
}

describe.each(['0.4.0', '1.0.0'])('result cache shared by Go libcni and @tscni/engine at cniVersion %s', (version) => {
  let dir: TempDir;
  let netns: Netns;
  let host: Netns;
  let network: string;
  let bridge: string;
  let conflist: string;
  let debugFile: string;
  let dataDir: string;
  let cacheDir: string;
  let cniPath: string[];
  let containerId: string;
  const ifName = 'eth0';
  const cniArgs: Array<[string, string]> = [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAME', 'web-0'],
  ];

  beforeEach(async () => {
    dir = await makeTempDir('tscni-interop-');
    netns = await createNetns('tsccache');
    host = await createStandInHost();
    network = uniqueName('tsccache-', 18);
    bridge = uniqueName('tscbr', 12);
    debugFile = join(dir.path, 'debug.jsonl');
    dataDir = join(dir.path, 'ipam');
    cacheDir = join(dir.path, 'cache');
    containerId = uniqueName('ctr-', 24);
    const testBin = join(dir.path, 'bin');
    await mkdir(testBin);
    await installTestPlugins(testBin);
    cniPath = [testBin, GO_PLUGIN_DIR];
    conflist = join(dir.path, `${network}.conflist`);
    await writeFile(
      conflist,
      JSON.stringify({
        cniVersion: version,
        name: network,
        plugins: [
          { type: 'bridge', bridge, ipam: { type: 'host-local', ranges: [[{ subnet: subnet240().subnet }]], dataDir } },
          { type: 'tscni-debug', debugFile },
        ],
      }),
    );
  });

  afterEach(async () => {
    // Whatever a failed test left on the "host" (bridge, veth) goes with the stand-in host.
    await deleteNetns(netns);
    await deleteNetns(host);
    await dir.remove();
  });

  function goOpts(): GoRuntimeOptions {
    return { cniPath: cniPath.join(':'), cacheDir, containerId, ifName, cniArgs: cniArgs.map(([k, v]) => `${k}=${v}`).join(';'), host };
  }

  function engine(): CniEngine {
    return new CniEngine({ path: cniPath, cacheDir, exec: new NetnsPluginExec(host, join(dir.path, 'wrappers')) });
  }

  function rt(): RuntimeConf {
    return { containerId, netns: netns.path, ifName, args: cniArgs };
  }

  async function expectDetached(result: Result): Promise<void> {
    const links = await linkNames(host);
    for (const veth of hostVeths(result, bridge)) expect(links).not.toContain(veth);
    expect(await hostLocalFiles(dataDir, network)).not.toContain(ipOf(result));
    await expect(readFile(cacheFilePath(cacheDir, network, containerId, ifName))).rejects.toMatchObject({ code: 'ENOENT' });
  }

  it('attach with Go libcni, detach with the engine: the engine reads the Go cache entry and removes it', async () => {
    const add = await goRuntime('add', conflist, netns.path, goOpts());
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const goResult: unknown = JSON.parse(add.stdout);
    const result = toCurrentResult(parseResult(goResult, version) as AnyResult);
    expect(await hostLocalFiles(dataDir, network)).toContain(ipOf(result));

    const list = await netConfListFromFile(conflist);
    const eng = engine();
    // The engine decodes Go's entry: the result, the list bytes and the CNI_ARGS it was added with.
    const cached = await eng.getCachedResult(list, rt());
    expect(cached).toBeDefined();
    expect(content(JSON.parse(formatResult(cached as AnyResult)), version)).toEqual(content(goResult, version));
    const cachedConf = await eng.getCachedConfig(list, { containerId, netns: netns.path, ifName });
    expect(new TextDecoder().decode(cachedConf?.config)).toBe(await readFile(conflist, 'utf8'));
    expect(cachedConf?.rt.args).toEqual(cniArgs);

    await eng.delNetworkList(list, rt());
    const dels = (await readDebugRecords(debugFile)).filter((r) => r.command === 'DEL');
    expect(dels).toHaveLength(1);
    expect(content(prevResultOf(dels[0] as DebugRecord), version)).toEqual(content(goResult, version));
    await expectDetached(result);
  });

  it('attach with the engine, detach with Go libcni: libcni reads the engine cache entry (cached, CHECK, DEL)', async () => {
    const list = await netConfListFromFile(conflist);
    const ours = await engine().addNetworkList(list, rt());
    const oursJson: unknown = JSON.parse(formatResult(ours));
    const result = toCurrentResult(ours);
    expect(await hostLocalFiles(dataDir, network)).toContain(ipOf(result));

    // GetNetworkListCachedResult parses our file as a cniCacheV1 entry (a legacy fallback would not
    // yield this result).
    const cached = await goRuntime('cached', conflist, netns.path, goOpts());
    expect(cached.stderr).toBe('');
    expect(cached.code).toBe(0);
    expect(content(JSON.parse(cached.stdout), version)).toEqual(content(oursJson, version));

    const check = await goRuntime('check', conflist, netns.path, goOpts());
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);

    const del = await goRuntime('del', conflist, netns.path, goOpts());
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    const recs = await readDebugRecords(debugFile);
    const check1 = recs.filter((r) => r.command === 'CHECK');
    const del1 = recs.filter((r) => r.command === 'DEL');
    expect(check1).toHaveLength(1);
    expect(del1).toHaveLength(1);
    expect(content(prevResultOf(check1[0] as DebugRecord), version)).toEqual(content(oursJson, version));
    expect(content(prevResultOf(del1[0] as DebugRecord), version)).toEqual(content(oursJson, version));
    expect(del1[0]?.env['CNI_ARGS']).toBe('IgnoreUnknown=1;K8S_POD_NAME=web-0');
    await expectDetached(result);
  });
});
