import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError } from '@tscni/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginAbortedError, PluginError, PluginNotFoundError, PluginTimeoutError } from './errors.js';
import { RawExec, decodePluginFailure, findInPath } from './exec.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tscni-exec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
  return p;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => Buffer.from(b).toString('utf8');

async function failure(p: Promise<unknown>): Promise<PluginError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PluginError) return e;
    throw e;
  }
  throw new Error('expected a PluginError');
}

describe('findInPath', () => {
  it('finds a regular file (following symlinks) in the first directory that has it', async () => {
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'b', 'p'), '');
    await symlink(join(dir, 'b', 'p'), join(dir, 'a', 'q'));
    await mkdir(join(dir, 'a', 'd'));
    expect(await findInPath('p', [join(dir, 'a'), join(dir, 'b')])).toBe(join(dir, 'b', 'p'));
    expect(await findInPath('q', [join(dir, 'a'), join(dir, 'b')])).toBe(join(dir, 'a', 'q'));
    await expect(findInPath('d', [join(dir, 'a')])).rejects.toBeInstanceOf(PluginNotFoundError);
  });

  it('rejects empty types, path separators and empty paths', async () => {
    await expect(findInPath('../x', [dir])).rejects.toMatchObject({ code: 7 });
    await expect(findInPath('', [dir])).rejects.toMatchObject({ code: 7 });
    await expect(findInPath('x', [])).rejects.toThrow('failed to find plugin "x" in path []');
  });
});

describe('RawExec', () => {
  it('passes stdin, the process env plus CNI_* vars, and returns stdout', async () => {
    const p = await script('echo', 'cat; echo "|$CNI_COMMAND|$CNI_IFNAME|$TSCNI_TEST_INHERITED"');
    const exec = new RawExec({ baseEnv: { TSCNI_TEST_INHERITED: 'yes', PATH: process.env['PATH'] ?? '' } });
    const out = await exec.execPlugin(p, enc('{"a":1}'), { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0' }, {});
    expect(dec(out)).toBe('{"a":1}|ADD|eth0|yes\n');
  });

  it('forwards a successful plugin stderr to the sink', async () => {
    const p = await script('warn', 'echo warning >&2; echo "{}"');
    const got: string[] = [];
    await new RawExec({ stderr: (c) => got.push(dec(c)) }).execPlugin(p, enc(''), {}, {});
    expect(got).toEqual(['warning\n']);
  });

  it('decodes a CNI error from stdout and keeps the code', async () => {
    const p = await script('err', 'echo \'{"code":117,"msg":"no luck","details":"at all"}\'; exit 1');
    const e = await failure(new RawExec({ stderr: null }).execPlugin(p, enc(''), {}, {}));
    expect([e.code, e.msg, e.details, e.exitCode]).toEqual([117, 'no luck', 'at all', 1]);
  });

  it('reports a failure with only stderr, and one with no output at all', async () => {
    const p = await script('stderronly', 'echo "something broke" >&2; exit 3');
    const e = await failure(new RawExec().execPlugin(p, enc(''), {}, {}));
    expect([e.code, e.msg, e.stderr, e.exitCode]).toEqual([0, 'netplugin failed: "something broke": exit status 3', 'something broke\n', 3]);
    const q = await script('silent', 'exit 2');
    const s = await failure(new RawExec().execPlugin(q, enc(''), {}, {}));
    expect(s.msg).toBe('netplugin failed with no error message: exit status 2');
  });

  it('reports unparseable error output as a decoding failure (code 6)', async () => {
    const p = await script('garbage', 'echo "not json"; exit 1');
    const e = await failure(new RawExec().execPlugin(p, enc(''), {}, {}));
    expect(e.code).toBe(6);
    expect(e.msg).toMatch(/^netplugin failed but error parsing its diagnostic message "not json\\n"/);
  });

  it('times out with SIGTERM, then SIGKILL after the grace period (code 11)', async () => {
    const p = await script('hang', "trap '' TERM; sleep 30 & wait; sleep 30");
    const t0 = Date.now();
    const e = await failure(new RawExec({ timeoutMs: 200, killGraceMs: 200 }).execPlugin(p, enc(''), {}, {}));
    expect(e).toBeInstanceOf(PluginTimeoutError);
    expect(e.code).toBe(11);
    expect(e.msg).toBe('plugin "hang" timed out after 200ms and was killed');
    expect(e.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('stops a plugin that honours SIGTERM without waiting for the grace period', async () => {
    const p = await script('sleepy', 'exec sleep 30');
    const e = await failure(new RawExec({ killGraceMs: 10_000 }).execPlugin(p, enc(''), {}, { timeoutMs: 100 }));
    expect(e.signal).toBe('SIGTERM');
  });

  it('kills the plugin when the AbortSignal fires', async () => {
    const p = await script('sleepy', 'exec sleep 30');
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutting down')), 100);
    const e = await failure(new RawExec().execPlugin(p, enc(''), {}, { signal: ac.signal }));
    expect(e).toBeInstanceOf(PluginAbortedError);
    expect(e.code).toBe(11);
    const already = await failure(new RawExec().execPlugin(p, enc(''), {}, { signal: AbortSignal.abort() }));
    expect(already).toBeInstanceOf(PluginAbortedError);
  });

  it('reports a file that cannot be executed', async () => {
    const p = join(dir, 'notexec');
    await writeFile(p, 'x');
    const e = await failure(new RawExec().execPlugin(p, enc(''), {}, {}));
    expect(e.code).toBe(999);
    expect(e.msg).toMatch(/failed to execute plugin .*notexec: .*EACCES/);
  });

  it('does not fail when the plugin ignores a large stdin', async () => {
    const p = await script('ignore', 'echo "{}"');
    const out = await new RawExec().execPlugin(p, new Uint8Array(4 << 20), {}, {});
    expect(dec(out)).toBe('{}\n');
  });

  it('retries while the executable is busy being written (ETXTBSY)', async () => {
    const p = join(dir, 'busy');
    await writeFile(p, '#!/bin/sh\necho done\n');
    await chmod(p, 0o755);
    const { open } = await import('node:fs/promises');
    const writer = await open(p, 'r+');
    setTimeout(() => void writer.close(), 300);
    const out = await new RawExec().execPlugin(p, enc(''), {}, {});
    expect(dec(out)).toBe('done\n');
    expect(await readFile(p, 'utf8')).toContain('done');
  });
});

describe('decodePluginFailure', () => {
  it('gives a message to a JSON reply that is not an error object', () => {
    const e = decodePluginFailure('/x/p', enc('{"cniVersion":"1.0.0"}'), enc(''), 1, null);
    expect([e.code, e.msg]).toEqual([0, 'netplugin failed with no error message: exit status 1']);
    expect(e).toBeInstanceOf(CniError);
  });
});
