// Kernel test of the bundled bandwidth and tuning executables in one network list run by Go's libcni
// (tools/go-runtime): bridge -> tuning -> bandwidth, with capabilities, the result cache feeding
// CHECK and DEL, and nothing left behind after DEL.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetnsPool, ipJson, ipQuiet, runId, uniq } from '../test-support/kernel.js';
import { GO_RUNTIME, chainBin, goRuntime, referenceSkipReason } from '../test-support/cni.js';
import type { GoRuntimeRun } from '../test-support/cni.js';
import { ifbName } from './ifb.js';

const skipReason = referenceSkipReason(['bridge', 'host-local'], [GO_RUNTIME]);

let work = '';
let bin = '';
const pool = new NetnsPool();
const bridges: string[] = [];

function runList(verb: string, conflist: string, netns: string, extra: string[] = []): GoRuntimeRun {
  return goRuntime(verb, conflist, netns, { bin, cacheDir: join(work, 'cache'), containerId: `ctr${runId}`, extra });
}

beforeAll(() => {
  if (skipReason !== undefined) return;
  work = mkdtempSync(join(tmpdir(), 'tscni-meta-chain-'));
  bin = chainBin(['bandwidth', 'tuning'], ['bridge', 'host-local']);
});

afterEach(() => {
  pool.cleanup();
  for (const br of bridges.splice(0)) ipQuiet(null, 'link', 'del', br);
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
  if (bin !== '') rmSync(bin, { recursive: true, force: true });
});

describe.skipIf(skipReason !== undefined)('bridge -> tuning -> bandwidth under Go libcni', () => {
  it('ADD, CHECK and DEL through the result cache, with the mac and bandwidth capabilities', (ctx) => {
    const probe = spawnSync(join(bin, 'bandwidth'), [], { input: '{"cniVersion":"1.1.0","name":"p","type":"bandwidth"}', encoding: 'utf8', env: { CNI_COMMAND: 'STATUS' } });
    if (probe.status !== 0) ctx.skip(`traffic control unavailable: ${probe.stdout}`);
    const ns = pool.create('tscmc');
    const br = uniq('tscmb');
    bridges.push(br);
    const net = `meta${runId}`;
    const tuningData = join(work, 'tuning');
    const conflist = join(work, 'chain.conflist');
    writeFileSync(
      conflist,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: net,
        plugins: [
          { type: 'bridge', bridge: br, isGateway: true, ipam: { type: 'host-local', subnet: '10.220.200.0/24', dataDir: join(work, 'ipam') } },
          { type: 'tuning', capabilities: { mac: true }, dataDir: tuningData, mtu: 1400, sysctl: { 'net.ipv4.conf.IFNAME.arp_ignore': '1' } },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ],
      }),
    );
    const caps = ['--cap-args', JSON.stringify({ mac: '02:42:ac:11:00:09', bandwidth: { ingressRate: 2_000_000, ingressBurst: 200_000, egressRate: 4_000_000, egressBurst: 400_000 } })];

    const add = runList('add', conflist, ns.path, caps);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const result = JSON.parse(add.stdout) as { interfaces: Array<{ name: string; mac?: string; sandbox?: string }> };
    const ifb = ifbName(net, `ctr${runId}`);
    expect(result.interfaces.find((i) => i.sandbox === ns.path)).toMatchObject({ name: 'eth0', mac: '02:42:ac:11:00:09' });
    expect(result.interfaces.at(-1)?.name).toBe(ifb);
    const eth0 = ipJson<Array<{ address: string; mtu: number }>>(ns, 'link', 'show', 'dev', 'eth0')[0];
    expect(eth0).toMatchObject({ address: '02:42:ac:11:00:09', mtu: 1400 });
    const hostVeth = result.interfaces.find((i) => i.sandbox === undefined && i.name !== br && i.name !== ifb)?.name ?? '';
    expect(execFileSync('tc', ['qdisc', 'show', 'dev', hostVeth], { encoding: 'utf8' })).toContain('rate 2Mbit');
    expect(execFileSync('tc', ['qdisc', 'show', 'dev', ifb], { encoding: 'utf8' })).toContain('rate 4Mbit');

    const check = runList('check', conflist, ns.path, caps);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);

    const del = runList('del', conflist, ns.path, caps);
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    expect(ipJson<unknown[]>(null, 'link', 'show', 'type', 'ifb').some((l) => (l as { ifname: string }).ifname === ifb)).toBe(false);
    expect(readdirSync(tuningData)).toEqual([]);
    expect(ipJson<Array<{ ifname: string }>>(ns, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
  });
});
