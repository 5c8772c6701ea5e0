import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '@tscni/native';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIP, parseIP } from '@tscni/ip';
import type { IP } from '@tscni/ip';
import { DiskStore, parseAllocationFile } from './disk-store.js';
import type { FileLocker } from './disk-store.js';

// File-format tests need no cross-process lock: the store's in-process mutex is enough. The stand-in
// creates the lock file as lockFile would, without taking flock.
const inProcessOnly: FileLocker = async (path, opts) => {
  closeSync(openSync(path, 'a', opts.mode));
  return { path, fd: -1, release: () => {} };
};
const nativeLoads = (() => {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
})();

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tscni-disk-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const ip = (s: string): IP => parseIP(s) as IP;
const mode = (p: string) => statSync(p).mode & 0o777;

describe('DiskStore file layout (shared with the reference host-local)', () => {
  it('writes <dataDir>/<net>/<ip> as "<id>\\r\\n<ifname>" (0600), last_reserved_ip.<idx> and lock', async () => {
    const store = new DiskStore(tmp, 'net1', inProcessOnly);
    const ok = await store.withLock(() => store.reserve(' ctr1 ', 'eth0', ip('2001:DB8::0:5'), '3'));
    expect(ok).toBe(true);
    const dir = join(tmp, 'net1');
    expect(mode(dir)).toBe(0o755 & ~process.umask());
    expect(readdirSync(dir).sort()).toEqual(['2001:db8::5', 'last_reserved_ip.3', 'lock']);
    expect(readFileSync(join(dir, '2001:db8::5'), 'utf8')).toBe('ctr1\r\neth0');
    expect(mode(join(dir, '2001:db8::5'))).toBe(0o600);
    expect(readFileSync(join(dir, 'last_reserved_ip.3'), 'utf8')).toBe('2001:db8::5');
    expect(mode(join(dir, 'last_reserved_ip.3'))).toBe(0o600);
    expect(formatIP((await store.lastReservedIP('3'))!)).toBe('2001:db8::5');
    expect(await store.lastReservedIP('0')).toBeUndefined();
    await store.close();
  });

  it('never takes an address whose file exists (O_EXCL)', async () => {
    const store = new DiskStore(tmp, 'net1', inProcessOnly);
    await store.withLock(async () => {
      expect(await store.reserve('a', 'eth0', ip('10.0.0.2'), '0')).toBe(true);
      expect(await store.reserve('b', 'eth0', ip('10.0.0.2'), '0')).toBe(false);
    });
    expect(readFileSync(join(tmp, 'net1', '10.0.0.2'), 'utf8')).toBe('a\r\neth0');
    await store.close();
  });

  it('reads legacy files and ignores everything that is not named by an address', async () => {
    const dir = join(tmp, 'net1');
    mkdirSync(dir);
    writeFileSync(join(dir, '10.0.0.7'), 'legacy-id\n');
    writeFileSync(join(dir, '10.0.0.8'), 'new-id\r\neth1');
    writeFileSync(join(dir, 'last_reserved_ip.0'), '10.0.0.8\n');
    writeFileSync(join(dir, 'notes.txt'), 'new-id\r\neth1');
    mkdirSync(join(dir, '10.0.0.9'));
    const store = new DiskStore(tmp, 'net1', inProcessOnly);
    const all = (await store.list()).map((a) => [formatIP(a.ip), a.containerId, a.ifname]).sort();
    expect(all).toEqual([
      ['10.0.0.7', 'legacy-id', undefined],
      ['10.0.0.8', 'new-id', 'eth1'],
    ]);
    expect(formatIP((await store.lastReservedIP('0'))!)).toBe('10.0.0.8');
    expect((await store.getById('legacy-id', 'eth0')).map(formatIP)).toEqual(['10.0.0.7']);
    // Exact matches win; only without one does the legacy fallback apply.
    expect((await store.withLock(() => store.releaseById('new-id', 'eth1'))).map(formatIP)).toEqual(['10.0.0.8']);
    expect((await store.withLock(() => store.releaseById('legacy-id', 'eth9'))).map(formatIP)).toEqual(['10.0.0.7']);
    expect(readdirSync(dir).sort()).toEqual(['10.0.0.9', 'last_reserved_ip.0', 'lock', 'notes.txt']);
    await store.close();
  });

  it('lists nothing for a network that has no directory yet, without creating it', async () => {
    const store = new DiskStore(tmp, 'fresh', inProcessOnly);
    expect(await store.list()).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('parses file contents like the reference compares them (trimmed)', () => {
    const a = ip('10.0.0.1');
    expect(parseAllocationFile(a, '  id\r\neth0\n')).toEqual({ ip: a, containerId: 'id', ifname: 'eth0' });
    expect(parseAllocationFile(a, 'id')).toEqual({ ip: a, containerId: 'id', ifname: undefined });
  });
});

describe.skipIf(!nativeLoads)('DiskStore locking (flock through the native addon; build it with pnpm --filter @tscni/native build)', () => {
  it('creates <net>/lock (0600) and leaves nothing open between locks', async () => {
    const store = new DiskStore(tmp, 'net1');
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    let inside = 0;
    await store.withLock(async () => {
      inside = fds();
    });
    expect(inside).toBe(before + 1);
    expect(fds()).toBe(before);
    expect(mode(join(tmp, 'net1', 'lock'))).toBe(0o600 & ~process.umask());
    await store.close();
  });

  it('serialises two stores (two open file descriptions) on the same network', async () => {
    const s1 = new DiskStore(tmp, 'net1');
    const s2 = new DiskStore(tmp, 'net1');
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = s1.withLock(async () => {
      events.push('1 in');
      await gate;
      events.push('1 out');
    });
    await new Promise((r) => setTimeout(r, 20));
    const second = s2.withLock(async () => {
      events.push('2 in');
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(['1 in']);
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['1 in', '1 out', '2 in']);
    await s1.close();
    await s2.close();
  });

  const hasFlockCli = spawnSync('flock', ['--version']).status === 0;
  it.skipIf(!hasFlockCli)('waits while another process holds flock on <net>/lock (util-linux flock, as Go host-local does)', async () => {
    const store = new DiskStore(tmp, 'net1');
    await store.withLock(async () => {}); // creates the directory and the lock file
    const holder = spawn('flock', ['--exclusive', join(tmp, 'net1', 'lock'), '-c', 'echo held; sleep 0.4'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const t0 = Date.now();
    await store.withLock(async () => {});
    const waited = Date.now() - t0;
    await new Promise<void>((resolve) => (holder.exitCode !== null ? resolve() : holder.once('exit', () => resolve())));
    expect(waited).toBeGreaterThanOrEqual(250);
    await store.close();
  });
});

describe('DiskStore failures', () => {
  it('gives the address back when last_reserved_ip cannot be written', async () => {
    const dir = join(tmp, 'net1');
    mkdirSync(join(dir, 'last_reserved_ip.0'), { recursive: true }); // a directory where the file should be
    const store = new DiskStore(tmp, 'net1', inProcessOnly);
    await expect(store.withLock(() => store.reserve('a', 'eth0', ip('10.0.0.2'), '0'))).rejects.toThrow(/EISDIR/);
    expect(readdirSync(dir).sort()).toEqual(['last_reserved_ip.0', 'lock']);
    await store.close();
  });
});
