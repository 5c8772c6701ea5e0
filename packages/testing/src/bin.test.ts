// Tests for the bundled executables: builds them with tools/build-bin.mjs into a temp dir and runs
// them as a runtime would (exec, env, stdin), so the bundle itself is what is checked.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from './fixtures.js';
import type { TempDir } from './fixtures.js';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildBin = resolve(pkgDir, '..', '..', 'tools', 'build-bin.mjs');

let out: TempDir;
beforeAll(async () => {
  out = await makeTempDir('tscni-bin-');
  await promisify(execFile)(process.execPath, [buildBin, pkgDir, '--outdir', out.path, 'src/bin/tscni-debug.ts:tscni-debug', 'src/bin/tscni-noop.ts:tscni-noop']);
}, 60_000);
afterAll(async () => {
  await out.remove();
});

function runBin(name: string, env: Record<string, string>, input: string) {
  // PATH lets the `#!/usr/bin/env node` line find the node running the tests.
  const r = spawnSync(join(out.path, name), [], { env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ...env }, input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/tscni-absent', CNI_IFNAME: 'eth9' };

describe('bundled test plugins', () => {
  it('are single executable CommonJS files with a node shebang and no runtime imports of packages', () => {
    for (const name of ['tscni-debug', 'tscni-noop']) {
      const path = join(out.path, name);
      expect(statSync(path).mode & 0o777).toBe(0o755);
      const text = readFileSync(path, 'utf8');
      expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
      expect(text).not.toMatch(/require\(["'](@tscni|zod)/);
    }
  });

  it('tscni-noop answers VERSION and ADD', () => {
    const v = runBin('tscni-noop', { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ cniVersion: '1.0.0' });
    const a = runBin('tscni-noop', addEnv, '{"cniVersion":"1.0.0","name":"n","type":"tscni-noop"}');
    expect(a.status).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth9', sandbox: '/var/run/netns/tscni-absent' }] });
  });

  it('tscni-debug prints the error JSON and exits 1 on a configured error, with garbage and exit codes too', () => {
    const err = runBin('tscni-debug', addEnv, '{"cniVersion":"1.0.0","name":"n","type":"d","errors":{"ADD":{"code":11,"msg":"later"}}}');
    expect(err.status).toBe(1);
    expect(JSON.parse(err.stdout)).toEqual({ cniVersion: '1.0.0', code: 11, msg: 'later' });
    const garbage = runBin('tscni-debug', addEnv, '{"cniVersion":"1.0.0","name":"n","type":"d","garbage":"zzz","exitCode":9}');
    expect(garbage).toMatchObject({ status: 9, stdout: 'zzz' });
  });

  it('prints about and versions without CNI_COMMAND, and never a stack trace on bad input', () => {
    const about = runBin('tscni-debug', {}, '');
    expect(about.status).toBe(0);
    expect(about.stderr).toContain('CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0');
    const bad = runBin('tscni-noop', addEnv, '{not json');
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ code: 6 });
    expect(bad.stdout + bad.stderr).not.toContain('    at ');
  });
});
