// Kernel test of `cnitool netns` through the bundled executable, with the addon found beside the
// bundle as the build puts it: namespaces interchangeable with `ip netns`, exec's stdio, exit
// status and signals, and name checks that create nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '@tscni/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(pkgDir, '..', '..');
const isRoot = process.getuid?.() === 0;
const has = (cmd: string, arg: string) => spawnSync(cmd, [arg]).status === 0;
const canRun = isRoot && has('ip', '-V') && has('nsenter', '--version');

let work: string;
let cnitool: string;
const created: string[] = [];

// A fresh bundle of this checkout plus the addon copied beside it by the package's own build step.
beforeAll(() => {
  if (!canRun) return;
  return (async () => {
    work = await mkdtemp(join(tmpdir(), 'tscni-cnitool-netns-'));
    const bin = join(work, 'bin');
    for (const [script, args] of [
      [join(repo, 'tools', 'build-bin.mjs'), [pkgDir, '--outdir', bin, 'src/bin/cnitool.ts:cnitool']],
      [join(pkgDir, 'scripts', 'copy-addon.mjs'), [bin]],
    ] as const) {
      const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
    }
    cnitool = join(bin, 'cnitool');
  })();
}, 60_000);

afterEach(() => {
  for (const name of created.splice(0)) {
    if (existsSync(`/run/netns/${name}`)) spawnSync('ip', ['netns', 'delete', name]);
  }
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundle from an unrelated directory without TSCNI_NATIVE_PATH, so only the copy beside it can load. */
function runCnitool(argv: readonly string[], opts: { input?: string; onSpawn?: (pid: number) => void } = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(cnitool, argv, { cwd: '/', env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', rej);
    child.on('close', (status) => res({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  });
}

function ipNetnsList(): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function newName(): string {
  const name = uniqueName('tscns');
  created.push(name);
  return name;
}

const ok = { status: 0, stdout: '', stderr: '' };

describe.skipIf(!canRun)('cnitool netns (bundled executable; needs root, iproute2 and util-linux nsenter)', () => {
  it('add → ip netns list → exec sees only lo → list → del → gone', async () => {
    const name = newName();
    expect(await runCnitool(['netns', 'add', name])).toEqual(ok);
    expect(ipNetnsList()).toContain(name);

    const links = await runCnitool(['netns', 'exec', name, '--', 'ip', '-j', 'link']);
    expect(links.stderr).toBe('');
    expect(links.status).toBe(0);
    expect((JSON.parse(links.stdout) as Array<{ ifname: string }>).map((l) => l.ifname)).toEqual(['lo']);
    // iproute2 enters the same namespace.
    const viaIp = spawnSync('ip', ['-n', name, '-j', 'link'], { encoding: 'utf8' });
    expect((JSON.parse(viaIp.stdout) as Array<{ ifname: string }>).map((l) => l.ifname)).toEqual(['lo']);

    const list = await runCnitool(['netns', 'list']);
    expect(list.status).toBe(0);
    expect(list.stdout.split('\n')).toContain(name);
    const json = await runCnitool(['netns', 'list', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toContainEqual({ name });

    expect(await runCnitool(['netns', 'del', name])).toEqual(ok);
    expect(ipNetnsList()).not.toContain(name);
    expect(existsSync(`/run/netns/${name}`)).toBe(false);
    expect((await runCnitool(['netns', 'list'])).stdout.split('\n')).not.toContain(name);
    // A missing namespace deletes fine.
    expect(await runCnitool(['netns', 'del', name])).toEqual(ok);
  });

  it('works on namespaces made by ip netns add, and refuses to add an existing name (code 5)', async () => {
    const name = newName();
    expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    expect((await runCnitool(['netns', 'list'])).stdout.split('\n')).toContain(name);
    expect(await runCnitool(['netns', 'add', name])).toEqual({ status: 5, stdout: '', stderr: `Error: network namespace "${name}" already exists\n` });
    const r = await runCnitool(['netns', 'exec', name, 'ip', '-j', 'link']);
    expect((JSON.parse(r.stdout) as Array<{ ifname: string }>).map((l) => l.ifname)).toEqual(['lo']);
    expect(await runCnitool(['netns', 'del', name])).toEqual(ok);
    expect(ipNetnsList()).not.toContain(name);
  });

  it('exec passes stdio through and exits with the command status (127 for a missing command)', async () => {
    const name = newName();
    expect((await runCnitool(['netns', 'add', name])).status).toBe(0);
    const r = await runCnitool(['netns', 'exec', name, '--', 'sh', '-c', 'cat; echo oops >&2; exit 7'], { input: 'hello\n' });
    expect(r).toEqual({ status: 7, stdout: 'hello\n', stderr: 'oops\n' });
    const missing = await runCnitool(['netns', 'exec', name, '--', 'tscni-no-such-command']);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toMatch(/tscni-no-such-command/);
    // The command's own namespace is the named one, not cnitool's.
    const inode = await runCnitool(['netns', 'exec', name, 'stat', '-L', '-c', '%i', '/proc/self/ns/net']);
    const want = spawnSync('stat', ['-L', '-c', '%i', `/run/netns/${name}`], { encoding: 'utf8' }).stdout;
    expect(inode).toEqual({ status: 0, stdout: want, stderr: '' });
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('exec passes %s on to the command (no terminal) and exits %i', async (sig, status) => {
    const name = newName();
    expect((await runCnitool(['netns', 'add', name])).status).toBe(0);
    let pid = 0;
    const running = runCnitool(['netns', 'exec', name, '--', 'sleep', '30'], { onSpawn: (p) => (pid = p) });
    // Wait until nsenter has exec'd sleep inside the namespace (a child of cnitool named sleep).
    for (let i = 0; i < 200; i++) {
      const kids = spawnSync('pgrep', ['-P', String(pid), '-x', 'sleep'], { encoding: 'utf8' }).stdout.trim();
      if (kids !== '') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    process.kill(pid, sig);
    const started = Date.now();
    expect(await running).toEqual({ status, stdout: '', stderr: '' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rejects bad names with code 8 and creates nothing', async () => {
    const before = ipNetnsList();
    for (const bad of ['..', 'a/b', '../../tmp/x', '-rf', 'white space']) {
      const r = await runCnitool(['netns', 'add', '--', bad]);
      expect(r.status, bad).toBe(8);
      expect(r.stderr).toMatch(/^Error: invalid network namespace name /);
    }
    expect(await runCnitool(['netns', 'exec', 'a/b', 'true'])).toMatchObject({ status: 8 });
    expect(ipNetnsList()).toEqual(before);
  });
});
