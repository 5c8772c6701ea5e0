// Kernel tests for the addon's flock: it excludes and is excluded by other flock(2) users (the
// util-linux flock command here, Go's host-local in production) and waits without blocking JS.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from './index.js';

const hasFlockCli = spawnSync('flock', ['--version']).status === 0;

/** Exit status of `flock -n` trying the lock from another process: 0 = got it, 1 = held. */
function tryFromOtherProcess(file: string, mode: '-x' | '-s'): number | null {
  return spawnSync('flock', ['-n', mode, file, 'true']).status;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasFlockCli)('native flock (needs the util-linux flock command)', () => {
  let dir = '';
  const fds: number[] = [];

  function lockFile(): string {
    dir = mkdtempSync(join(tmpdir(), 'tscflock-'));
    const file = join(dir, 'lock');
    writeFileSync(file, '');
    return file;
  }

  function openFd(file: string): number {
    const fd = openSync(file, 'r');
    fds.push(fd);
    return fd;
  }

  afterEach(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('waits while the flock command holds the lock, keeps the event loop running, then takes it', async () => {
    const n = loadNative();
    const file = lockFile();
    const holder = spawn('flock', ['-x', file, '-c', 'echo held; read _; exit 0'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => holder.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const fd = openFd(file);
      let acquired = false;
      const locking = n.flock(fd, true).then(() => {
        acquired = true;
      });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      await sleep(300);
      clearInterval(timer);
      expect(acquired).toBe(false);
      expect(ticks).toBeGreaterThan(5); // the JS thread kept running while the lock was awaited

      holder.stdin.end(); // the holder's `read` returns, it exits and the lock is released
      expect(await exited).toBe(0);
      await locking;
      expect(acquired).toBe(true);
      expect(tryFromOtherProcess(file, '-x')).toBe(1);
      expect(tryFromOtherProcess(file, '-s')).toBe(1);
      n.funlock(fd);
      expect(tryFromOtherProcess(file, '-x')).toBe(0);
    } finally {
      holder.kill();
    }
  });

  it('a shared lock admits other shared holders and excludes exclusive ones', async () => {
    const n = loadNative();
    const file = lockFile();
    const fd = openFd(file);
    await n.flock(fd, false);
    expect(tryFromOtherProcess(file, '-s')).toBe(0);
    expect(tryFromOtherProcess(file, '-x')).toBe(1);
    n.funlock(fd);
    expect(tryFromOtherProcess(file, '-x')).toBe(0);
  });

  it('two open files in this process exclude each other, and waiters resume in turn', async () => {
    const n = loadNative();
    const file = lockFile();
    const [a, b, c] = [openFd(file), openFd(file), openFd(file)];
    await n.flock(a, true);
    const order: string[] = [];
    const waitB = n.flock(b, true).then(() => order.push('b'));
    const waitC = n.flock(c, true).then(() => order.push('c'));
    await sleep(100);
    expect(order).toEqual([]);
    n.funlock(a);
    await Promise.race([waitB, waitC]);
    expect(order).toHaveLength(1);
    const first = order[0] === 'b' ? b : c;
    n.funlock(first);
    await Promise.all([waitB, waitC]);
    expect(order.sort()).toEqual(['b', 'c']);
  });

  it('rejects with errno data on a bad descriptor', async () => {
    const n = loadNative();
    await expect(n.flock(2 ** 30, true)).rejects.toMatchObject({ code: 'EBADF', errno: 9, syscall: 'flock' });
    expect(() => n.funlock(2 ** 30)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'flock' }));
  });
});
