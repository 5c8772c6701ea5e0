// Tests for the shared fixtures: unique names, temp dirs, the in-memory PluginIO.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { captureIO, makeTempDir, readDebugRecords, testPluginPath, uniqueName } from './fixtures.js';

describe('uniqueName', () => {
  it('keeps the prefix, fills up to the length with hex, and differs per call', () => {
    const names = new Set(Array.from({ length: 200 }, () => uniqueName('tsc')));
    expect(names.size).toBe(200);
    for (const n of names) expect(n).toMatch(/^tsc[0-9a-f]{12}$/);
    expect(uniqueName('veth', 9)).toMatch(/^veth[0-9a-f]{5}$/);
  });

  it('refuses a prefix that leaves no room for randomness', () => {
    expect(() => uniqueName('a-very-long-pfx')).toThrow(/fewer than 4/);
  });
});

describe('makeTempDir', () => {
  it('creates a fresh directory and removes it (twice is fine)', async () => {
    const d = await makeTempDir('tscni-fx-');
    expect(existsSync(d.path)).toBe(true);
    await writeFile(`${d.path}/f`, 'x');
    await d.remove();
    await d.remove();
    expect(existsSync(d.path)).toBe(false);
  });
});

describe('captureIO', () => {
  it('serves env and stdin and records stdout, stderr and exit', async () => {
    const c = captureIO({ A: '1' }, 'in');
    expect(c.io.env).toEqual({ A: '1' });
    expect(new TextDecoder().decode(await c.io.stdin())).toBe('in');
    c.io.stdout('o1');
    c.io.stdout('o2');
    c.io.stderr('e');
    expect(c.exitCode()).toBeUndefined();
    c.io.exit(3);
    expect([c.stdout(), c.stderr(), c.exitCode()]).toEqual(['o1o2', 'e', 3]);
  });
});

describe('readDebugRecords', () => {
  it('is empty for a missing file and parses one record per line', async () => {
    const d = await makeTempDir();
    try {
      expect(await readDebugRecords(`${d.path}/none`)).toEqual([]);
      await writeFile(`${d.path}/f`, '{"command":"ADD","env":{},"stdin":1}\n{"command":"DEL","env":{},"stdin":2}\n');
      expect((await readDebugRecords(`${d.path}/f`)).map((r) => r.command)).toEqual(['ADD', 'DEL']);
    } finally {
      await d.remove();
    }
  });
});

describe('testPluginPath', () => {
  it('names the build command when the bundle is missing', () => {
    let path: string | undefined;
    try {
      path = testPluginPath('tscni-noop');
    } catch (e) {
      expect(String(e)).toContain('pnpm --filter @tscni/testing build');
      return;
    }
    expect(path.endsWith('/dist/bin/tscni-noop')).toBe(true);
  });
});
