// Kernel tests of sbr: a sandbox made by the Go reference bridge + host-local, then our sbr (the
// bundled executable in a chain driven by the Go runtime, and in-process for the other modes),
// with `ip -n NS -j rule` / `ip -n NS -j route show table N` as the witness.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseNetConf } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';
import { NetnsPool, ipJson, ipQuiet, uniq } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { GO_RUNTIME, chainBin, goRuntimeOk, referenceSkipReason } from '../test-support/cni.js';
import { sbrAdd, sbrCheck, sbrDel } from './plugin.js';
import { cmdArgs } from '../test-support/cmd-args.js';

const why = referenceSkipReason(['bridge', 'host-local'], [GO_RUNTIME]);
const canRun = why === undefined;

interface IpRule {
  priority: number;
  src: string;
  srclen?: number;
  table: string;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
}

let dir = '';
let subnetCounter = 0;
const pool = new NetnsPool();
const bridges: string[] = [];

function runtime(verb: 'add' | 'del', conflist: string, ns: TestNetns, id: string): string {
  return goRuntimeOk(verb, conflist, ns.path, { bin: dir, cacheDir: join(dir, 'cache'), containerId: id });
}

/** A bridge network in 10.230.(40+n).0/24 and fd00:230:(40+n)::/64, optionally chained with sbr. */
function network(withSbr: Record<string, unknown> | undefined): { file: string; v4: string; v6: string } {
  const n = 40 + subnetCounter++;
  const name = uniq('tscsbr');
  const bridge = uniq('tscsb');
  bridges.push(bridge);
  const plugins: unknown[] = [
    {
      type: 'bridge',
      bridge,
      isGateway: true,
      ipam: {
        type: 'host-local',
        dataDir: join(dir, 'ipam'),
        ranges: [[{ subnet: `10.230.${n}.0/24` }], [{ subnet: `fd00:230:${n}::/64` }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.230.0/24' }],
      },
    },
  ];
  if (withSbr !== undefined) plugins.push({ type: 'sbr', ...withSbr });
  const file = join(dir, `${name}.conflist`);
  writeFileSync(file, JSON.stringify({ cniVersion: '1.0.0', name, plugins }));
  return { file, v4: `10.230.${n}`, v6: `fd00:230:${n}` };
}

function argsIn(ns: TestNetns, netconf: NetConf): CmdArgs {
  return cmdArgs(netconf, { containerId: 'ctr', netns: ns.path, path: [dir] });
}

function sbrConf(extra: Record<string, unknown>, prevResult?: unknown): NetConf {
  return parseNetConf({ cniVersion: '1.0.0', name: 'sbrtest', type: 'sbr', ...extra, ...(prevResult === undefined ? {} : { prevResult }) });
}

const rules = (ns: TestNetns, fam: '-4' | '-6') => ipJson<IpRule[]>(ns, fam, 'rule');
/** `ip -j route show table N`; a table the family never used is empty (iproute2 reports an error for it). */
function table(ns: TestNetns, fam: '-4' | '-6', t: string): IpRoute[] {
  const r = spawnSync('ip', ['-n', ns.name, '-j', fam, 'route', 'show', 'table', t], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (r.stderr.includes('FIB table does not exist')) return [];
    throw new Error(`ip route show table ${t}: ${r.stderr}`);
  }
  return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as IpRoute[]);
}
const sbrRules = (ns: TestNetns, fam: '-4' | '-6') => rules(ns, fam).filter((r) => r.src !== 'all');

describe.skipIf(!canRun)(`sbr in real namespaces${canRun ? '' : ` (skipped: ${why})`}`, () => {
  beforeAll(() => {
    dir = chainBin(['sbr'], ['bridge', 'host-local']);
  });

  afterEach(() => {
    pool.cleanup();
    for (const b of bridges.splice(0)) ipQuiet(null, 'link', 'del', b);
  });

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('auto mode in a chain: one table per address with rule, default route and moved routes; DEL removes the rules', async () => {
    const net = network({});
    const ns = pool.create('tscsbr');
    const out = JSON.parse(runtime('add', net.file, ns, 'c-auto')) as { ips: Array<{ address: string }> };
    const v4 = out.ips[0]!.address.split('/')[0]!;
    const v6 = out.ips[1]!.address.split('/')[0]!;

    expect(sbrRules(ns, '-4')).toEqual([{ priority: 32765, src: v4, table: '100' }]);
    expect(sbrRules(ns, '-6')).toEqual([{ priority: 32765, src: v6, table: '101' }]);
    const t100 = table(ns, '-4', '100');
    expect(t100).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: `${net.v4}.1`, dev: 'eth0' }),
        expect.objectContaining({ dst: `${net.v4}.0/24`, dev: 'eth0', prefsrc: v4 }),
        expect.objectContaining({ dst: '192.168.230.0/24', gateway: `${net.v4}.1` }),
      ]),
    );
    expect(table(ns, '-6', '101')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: `${net.v6}::1`, dev: 'eth0' }),
        expect.objectContaining({ dst: `${net.v6}::/64`, dev: 'eth0' }),
      ]),
    );
    // Moved, not copied: main keeps nothing of eth0.
    expect(table(ns, '-4', 'main')).toEqual([]);
    expect(table(ns, '-6', 'main').filter((r) => r.dev === 'eth0')).toEqual([]);
    // The v4 table holds no IPv6 routes (the reference copies link-local v6 routes into it too).
    expect(table(ns, '-6', '100')).toEqual([]);

    // CHECK passes on what ADD made, and fails once the table lost its default route.
    const prevResult = out;
    await expect(sbrCheck(argsIn(ns, sbrConf({}, prevResult)))).resolves.toBeUndefined();
    execFileSync('ip', ['-n', ns.name, 'route', 'del', 'default', 'table', '100']);
    await expect(sbrCheck(argsIn(ns, sbrConf({}, prevResult)))).rejects.toMatchObject({ msg: expect.stringContaining('no default route via') });

    runtime('del', net.file, ns, 'c-auto');
    expect(sbrRules(ns, '-4')).toEqual([]);
    expect(sbrRules(ns, '-6')).toEqual([]);
  });

  /** A sandbox with eth0 from the Go bridge alone; returns its result (sbr's prevResult). */
  function sandbox(): { ns: TestNetns; net: ReturnType<typeof network>; result: { ips: Array<{ address: string }> } } {
    const net = network(undefined);
    const ns = pool.create('tscsbr');
    const result = JSON.parse(runtime('add', net.file, ns, 'c-plain')) as { ips: Array<{ address: string }> };
    return { ns, net, result };
  }

  it('a fixed table only adds rules (table ids above 255 too); routes stay in main; DEL removes only those rules', async () => {
    const { ns, result } = sandbox();
    const v4 = result.ips[0]!.address.split('/')[0]!;
    const v6 = result.ips[1]!.address.split('/')[0]!;
    const mainBefore = table(ns, '-4', 'main');
    // An unrelated rule of the same source to another table must survive DEL.
    execFileSync('ip', ['-n', ns.name, 'rule', 'add', 'from', v4, 'table', '77', 'priority', '500']);

    await sbrAdd(argsIn(ns, sbrConf({ table: 1234 }, result)));
    // The kernel numbers a rule without priority just below the first non-zero one (here 500).
    expect(sbrRules(ns, '-4')).toEqual([
      { priority: 499, src: v4, table: '1234' },
      { priority: 500, src: v4, table: '77' },
    ]);
    expect(sbrRules(ns, '-6')).toEqual([{ priority: 32765, src: v6, table: '1234' }]);
    expect(table(ns, '-4', 'main')).toEqual(mainBefore);
    expect(table(ns, '-4', '1234')).toEqual([]);
    await expect(sbrCheck(argsIn(ns, sbrConf({ table: 1234 }, result)))).resolves.toBeUndefined();
    await expect(sbrCheck(argsIn(ns, sbrConf({ table: 1235 }, result)))).rejects.toMatchObject({ msg: expect.stringContaining('lookup 1235') });

    // A retried ADD does not duplicate the rules.
    await sbrAdd(argsIn(ns, sbrConf({ table: 1234 }, result)));
    expect(sbrRules(ns, '-6')).toHaveLength(1);

    await sbrDel(argsIn(ns, sbrConf({ table: 1234 })));
    expect(sbrRules(ns, '-4')).toEqual([{ priority: 500, src: v4, table: '77' }]);
    expect(sbrRules(ns, '-6')).toEqual([]);
  });

  it('addSourceHints keeps the subnet route in main with the address as source; static gateways win', async () => {
    const { ns, net, result } = sandbox();
    const v4 = result.ips[0]!.address.split('/')[0]!;
    const conf = { addSourceHints: true, gateways: [`${net.v4}.254`] };
    await sbrAdd(argsIn(ns, sbrConf(conf, result)));

    expect(table(ns, '-4', 'main')).toEqual([expect.objectContaining({ dst: `${net.v4}.0/24`, dev: 'eth0', prefsrc: v4 })]);
    const t100 = table(ns, '-4', '100');
    expect(t100).toContainEqual(expect.objectContaining({ dst: 'default', gateway: `${net.v4}.254`, dev: 'eth0' }));
    expect(t100).toContainEqual(expect.objectContaining({ dst: '192.168.230.0/24', gateway: `${net.v4}.1` }));
    expect(table(ns, '-6', 'main')).toContainEqual(expect.objectContaining({ dst: `${net.v6}::/64`, dev: 'eth0', prefsrc: result.ips[1]!.address.split('/')[0] }));
    await expect(sbrCheck(argsIn(ns, sbrConf(conf, result)))).resolves.toBeUndefined();

    // DEL also clears the routes sbr put in the tables it chose.
    await sbrDel(argsIn(ns, sbrConf(conf, result)));
    expect(sbrRules(ns, '-4')).toEqual([]);
    expect(table(ns, '-4', '100')).toEqual([]);
    expect(table(ns, '-6', '101')).toEqual([]);
  });

  it('skips tables already referenced by rules or routes', async () => {
    const { ns, result } = sandbox();
    execFileSync('ip', ['-n', ns.name, 'rule', 'add', 'from', '10.99.0.1', 'table', '100']);
    execFileSync('ip', ['-n', ns.name, 'route', 'add', 'blackhole', '10.98.0.0/16', 'table', '101']);
    await sbrAdd(argsIn(ns, sbrConf({}, result)));
    const v4 = result.ips[0]!.address.split('/')[0]!;
    expect(sbrRules(ns, '-4').find((r) => r.src === v4)?.table).toBe('102');
    expect(sbrRules(ns, '-6').map((r) => r.table)).toEqual(['103']);
  });

  it('DEL succeeds when the namespace or the interface is already gone, and twice', async () => {
    const { ns, net, result } = sandbox();
    await sbrAdd(argsIn(ns, sbrConf({}, result)));
    runtime('del', net.file, ns, 'c-plain');
    // eth0 is gone; prevResult still names its addresses, so its rules are found.
    await sbrDel(argsIn(ns, sbrConf({}, result)));
    expect(sbrRules(ns, '-4')).toEqual([]);
    await sbrDel(argsIn(ns, sbrConf({}, result)));
    pool.remove(ns);
    await expect(sbrDel(argsIn(ns, sbrConf({}, result)))).resolves.toBeUndefined();
  });

  it('ADD into a missing namespace is code 8', async () => {
    const { result } = sandbox();
    await expect(sbrAdd(argsIn({ name: 'gone', path: '/run/netns/tscsbr-none' }, sbrConf({}, result)))).rejects.toMatchObject({ code: 8 });
  });

  it('the executable answers VERSION with every version, and GC and STATUS at 1.1.0 without touching anything', () => {
    const exe = (command: string, conf: Record<string, unknown>) =>
      spawnSync(join(dir, 'sbr'), [], { env: { CNI_COMMAND: command, CNI_PATH: dir }, input: JSON.stringify(conf), encoding: 'utf8' });
    expect(JSON.parse(exe('VERSION', {}).stdout)).toMatchObject({ supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    const conf = { cniVersion: '1.1.0', name: 'sbrtest', type: 'sbr', 'cni.dev/valid-attachments': [] };
    expect(exe('GC', conf).status).toBe(0);
    expect(exe('STATUS', conf).status).toBe(0);
  });
});
