// Process-level tests of the bundled host-local executable: sharing one dataDir with the Go
// reference host-local, and many concurrent ADD/DEL processes on one network. No root or netns
// needed (IPAM never enters the container), so these run with the unit tests.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const repoDir = resolve(pkgDir, '../..');
const ourBin = join(pkgDir, 'dist', 'bin', 'host-local');
const goBin = '/usr/lib/cni/host-local';
const nativeAddon = join(repoDir, 'native', 'build', 'Release', 'tscni_native.node');
const haveNative = existsSync(nativeAddon);
const haveGo = existsSync(goBin);

interface Run {
  code: number | null;
  out: string;
}

function runPlugin(bin: string, command: string, containerId: string, stdin: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, [], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: '/run/netns/tscni-ipam-test-none',
        CNI_IFNAME: 'eth0',
        CNI_PATH: '/usr/lib/cni',
        TSCNI_NATIVE_PATH: nativeAddon,
        ...extraEnv,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, out }));
    child.stdin.end(stdin);
  });
}

/** Runs `tasks` with at most `limit` in flight (each task is a separate plugin process). */
async function pool<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

const addresses = (run: Run): string[] => (JSON.parse(run.out) as { ips: Array<{ address: string }> }).ips.map((i) => i.address);

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tscni-hl-interop-'));
  // Always test the bundle of the current sources, exactly as it is shipped.
  execFileSync(process.execPath, [join(repoDir, 'tools', 'build-bin.mjs'), pkgDir, 'src/bin/host-local.ts:host-local'], { stdio: 'pipe' });
}, 60_000);
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!haveNative)('bundled host-local executable', () => {
  it.skipIf(!haveGo)(
    'shares a dataDir with the Go host-local: 100 alternating dual-stack ADDs, then alternating DELs',
    async () => {
      const dataDir = join(tmp, 'shared');
      const conf = JSON.stringify({
        cniVersion: '1.0.0',
        name: 'interop',
        type: 'bridge',
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: 'fd00:77::/64' }]] },
      });
      const netDir = join(dataDir, 'interop');
      const got: string[] = [];
      for (let i = 0; i < 100; i++) {
        const bin = i % 2 === 0 ? ourBin : goBin;
        const run = await runPlugin(bin, 'ADD', `ctr-${i}`, conf);
        expect({ i, bin, code: run.code, out: run.code === 0 ? '' : run.out }).toEqual({ i, bin, code: 0, out: '' });
        got.push(...addresses(run));
      }
      // Both follow last_reserved_ip.<idx>, so the round-robin is one sequence across implementations.
      const v4 = Array.from({ length: 100 }, (_, i) => `10.77.0.${i + 2}/24`);
      const v6 = Array.from({ length: 100 }, (_, i) => `fd00:77::${(i + 2).toString(16)}/64`);
      expect(got.filter((a) => a.includes('.'))).toEqual(v4);
      expect(got.filter((a) => a.includes(':'))).toEqual(v6);
      expect(new Set(got).size).toBe(200);
      const files = readdirSync(netDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.'));
      expect(files).toHaveLength(200);
      for (const f of files) expect(readFileSync(join(netDir, f), 'utf8')).toMatch(/^ctr-\d+\r\neth0$/);

      // Each implementation CHECKs and DELetes what the other one allocated.
      for (let i = 0; i < 100; i++) {
        const other = i % 2 === 0 ? goBin : ourBin;
        const check = await runPlugin(other, 'CHECK', `ctr-${i}`, conf);
        expect({ i, code: check.code, out: check.out }).toEqual({ i, code: 0, out: '' });
        const del = await runPlugin(other, 'DEL', `ctr-${i}`, conf);
        expect({ i, code: del.code, out: del.out }).toEqual({ i, code: 0, out: '' });
      }
      expect(readdirSync(netDir).sort()).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    },
    120_000,
  );

  it.skipIf(!haveGo)('prints the same ADD result as the Go host-local for the same state', async () => {
    const conf = (dir: string) =>
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'same',
        type: 'bridge',
        ipam: {
          type: 'host-local',
          dataDir: join(tmp, dir),
          ranges: [[{ subnet: '10.78.0.0/24', rangeStart: '10.78.0.10', gateway: '10.78.0.254' }], [{ subnet: 'fd00:78::/120' }]],
          routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00:78::1' }],
        },
      });
    const ours = await runPlugin(ourBin, 'ADD', 'c', conf('same-ours'));
    const go = await runPlugin(goBin, 'ADD', 'c', conf('same-go'));
    expect(ours.code).toBe(0);
    expect(ours.out).toBe(go.out);
  });

  it(
    '200 concurrent ADD processes on a /24 range set and a /25 range set: unique addresses, clear exhaustion, all freed by DEL',
    async () => {
      // Each ADD takes one address from each range set, so the /25 (125 usable) bounds it: 125
      // ADDs succeed, 75 fail on range set 1 and give back what they took from range set 0.
      const dataDir = join(tmp, 'concurrent');
      const conf = JSON.stringify({
        cniVersion: '1.1.0',
        name: 'busy',
        type: 'bridge',
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.88.0.0/24' }], [{ subnet: '10.88.1.0/25' }]] },
      });
      const ids = Array.from({ length: 200 }, (_, i) => `busy-${i}`);
      const adds = await pool(48, ids.map((id) => () => runPlugin(ourBin, 'ADD', id, conf)));

      const ok = adds.filter((r) => r.code === 0);
      const failed = adds.filter((r) => r.code !== 0);
      expect(ok).toHaveLength(125);
      expect(failed).toHaveLength(75);
      const all = ok.flatMap(addresses);
      expect(all).toHaveLength(250);
      expect(new Set(all).size).toBe(250);
      for (const r of failed) {
        expect(JSON.parse(r.out)).toEqual({
          cniVersion: '1.1.0',
          code: 11,
          msg: 'failed to allocate for range 1: no IP addresses available in range set: 10.88.1.1-10.88.1.126',
        });
      }
      const netDir = join(dataDir, 'busy');
      // Every reservation on disk belongs to a successful ADD: failures gave theirs back.
      const files = readdirSync(netDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.'));
      expect(files.map((f) => `${f}/${f.startsWith('10.88.1.') ? 25 : 24}`).sort()).toEqual([...all].sort());

      const dels = await pool(48, ids.map((id) => () => runPlugin(ourBin, 'DEL', id, conf)));
      expect(dels.filter((r) => r.code !== 0).map((r) => r.out)).toEqual([]);
      expect(readdirSync(netDir).sort()).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    },
    180_000,
  );

  it(
    'lets exactly one of 20 concurrent ADDs for the same attachment win (the duplicate check runs under the lock)',
    async () => {
      // O_EXCL alone keeps addresses unique; only the network lock makes check-then-reserve atomic.
      const dataDir = join(tmp, 'dup');
      const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'dup', type: 'bridge', ipam: { type: 'host-local', dataDir, subnet: '10.90.0.0/24' } });
      const adds = await pool(20, Array.from({ length: 20 }, () => () => runPlugin(ourBin, 'ADD', 'same', conf)));
      expect(adds.filter((r) => r.code === 0)).toHaveLength(1);
      for (const r of adds.filter((x) => x.code !== 0)) {
        expect((JSON.parse(r.out) as { msg: string }).msg).toBe(
          'failed to allocate for range 0: 10.90.0.2 has been allocated to same, duplicate allocation is not allowed',
        );
      }
      expect(readdirSync(join(dataDir, 'dup')).sort()).toEqual(['10.90.0.2', 'last_reserved_ip.0', 'lock']);
    },
    60_000,
  );

  it(
    'spills over to the next pool of a range set under concurrency and reports exhaustion',
    async () => {
      // One range set of two pools: /27 (29 usable) then /28 (13 usable): 42 addresses for 60 ADDs.
      const dataDir = join(tmp, 'pools');
      const conf = JSON.stringify({
        cniVersion: '1.1.0',
        name: 'pools',
        type: 'bridge',
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.89.0.0/27' }, { subnet: '10.89.1.0/28' }]] },
      });
      const ids = Array.from({ length: 60 }, (_, i) => `pool-${i}`);
      const adds = await pool(30, ids.map((id) => () => runPlugin(ourBin, 'ADD', id, conf)));
      const all = adds.filter((r) => r.code === 0).flatMap(addresses);
      expect(all).toHaveLength(42);
      expect(new Set(all).size).toBe(42);
      expect(all.filter((a) => a.startsWith('10.89.1.'))).toHaveLength(13);
      expect(adds.filter((r) => r.code !== 0).map((r) => (JSON.parse(r.out) as { code: number }).code)).toEqual(new Array(18).fill(11));
      await pool(30, ids.map((id) => () => runPlugin(ourBin, 'DEL', id, conf)));
      expect(readdirSync(join(dataDir, 'pools')).sort()).toEqual(['last_reserved_ip.0', 'lock']);
    },
    120_000,
  );
});
