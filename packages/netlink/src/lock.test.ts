// lockFile through the addon's flock: excludes and is excluded by other flock(2) users (util-linux
// flock here, Go's host-local in production), within this process too, and releases cleanly.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '@tscni/native';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockFile } from './lock.js';

const addonLoads = (() => {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
})();
const hasFlockCli = spawnSync('flock', ['--version']).status === 0;

/** `flock -n` from another process: 0 = it got the lock, 1 = held by someone. */
const tryFromOtherProcess = (file: string, mode: '-x' | '-s') => spawnSync('flock', ['-n', mode, file, 'true']).status;
const openFds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!addonLoads || !hasFlockCli)('lockFile (needs the built addon and util-linux flock)', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tscnl-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the file when asked (0600), holds LOCK_EX against other processes, and release() closes it', async () => {
    const file = join(dir, 'lock');
    const before = openFds();
    const lock = await lockFile(file, { create: true });
    expect(statSync(file).mode & 0o777).toBe(0o600 & ~process.umask());
    expect(lock.path).toBe(file);
    expect(openFds()).toBe(before + 1);
    expect(tryFromOtherProcess(file, '-s')).toBe(1);
    expect(tryFromOtherProcess(file, '-x')).toBe(1);
    lock.release();
    lock.release(); // a second release does nothing
    expect(openFds()).toBe(before);
    expect(tryFromOtherProcess(file, '-x')).toBe(0);
  });

  it('a shared lock admits shared holders and excludes exclusive ones', async () => {
    const file = join(dir, 'lock');
    const lock = await lockFile(file, { create: true, exclusive: false });
    const other = await lockFile(file, { exclusive: false });
    expect(tryFromOtherProcess(file, '-s')).toBe(0);
    expect(tryFromOtherProcess(file, '-x')).toBe(1);
    lock.release();
    other.release();
    expect(tryFromOtherProcess(file, '-x')).toBe(0);
  });

  it('waits for another process holding the lock without blocking the event loop', async () => {
    const file = join(dir, 'lock');
    (await lockFile(file, { create: true })).release();
    const holder = spawn('flock', ['-x', file, '-c', 'echo held; read _'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      let held = false;
      const taking = lockFile(file).then((l) => ((held = true), l));
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      await sleep(200);
      clearInterval(timer);
      expect(held).toBe(false);
      expect(ticks).toBeGreaterThan(5);
      holder.stdin.end();
      const lock = await taking;
      expect(tryFromOtherProcess(file, '-x')).toBe(1);
      lock.release();
    } finally {
      holder.kill();
    }
  });

  it('two locks in this process exclude each other (each is its own open file description)', async () => {
    const file = join(dir, 'lock');
    const first = await lockFile(file, { create: true });
    let second = false;
    const waiting = lockFile(file).then((l) => ((second = true), l));
    await sleep(50);
    expect(second).toBe(false);
    first.release();
    (await waiting).release();
    expect(second).toBe(true);
  });

  it('a missing file is ENOENT without create, and nothing stays open', async () => {
    const before = openFds();
    await expect(lockFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(openFds()).toBe(before);
  });

  it('a flock failure closes the file and keeps the addon error data', async () => {
    const file = join(dir, 'lock');
    const before = openFds();
    const failing = { ...loadNative(), flock: () => Promise.reject(Object.assign(new Error('flock: EINTR'), { errno: 4, code: 'EINTR', syscall: 'flock' })) };
    await expect(lockFile(file, { create: true }, failing)).rejects.toMatchObject({ code: 'EINTR', syscall: 'flock' });
    expect(openFds()).toBe(before);
  });
});
