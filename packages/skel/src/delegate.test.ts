// Tests for delegation: FindInPath rules, the env/stdin a delegate gets, result and error decoding,
// with an injected exec and with real executables spawned from a temporary CNI_PATH.
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, findInPath } from './delegate.js';
import type { DelegateExec, DelegateOutput, DelegateRequest } from './delegate.js';

let dir: string;
let dirA: string;
let dirB: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tscni-skel-'));
  dirA = join(dir, 'a');
  dirB = join(dir, 'b');
  await mkdir(dirA);
  await mkdir(dirB);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(at: string, body: string): Promise<string> {
  await writeFile(at, `#!/bin/sh\n${body}\n`);
  await chmod(at, 0o755);
  return at;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const conf = (v = '1.0.0'): Uint8Array => enc(JSON.stringify({ cniVersion: v, name: 'net1', type: 'outer', ipam: { type: 'ipam' } }));

function fakeExec(output: Partial<DelegateOutput>, seen: DelegateRequest[] = []): DelegateExec {
  return (req) => {
    seen.push(req);
    return Promise.resolve({ exitCode: 0, stdout: new Uint8Array(), stderr: new Uint8Array(), ...output });
  };
}

describe('findInPath', () => {
  it('returns the first regular file along the path, following symlinks', async () => {
    await script(join(dirB, 'ipam'), 'exit 0');
    expect(findInPath('ipam', [dirA, dirB])).toBe(join(dirB, 'ipam'));
    await symlink(join(dirB, 'ipam'), join(dirA, 'ipam'));
    expect(findInPath('ipam', [dirA, dirB])).toBe(join(dirA, 'ipam'));
  });

  it('skips directories of that name', async () => {
    await mkdir(join(dirA, 'ipam'));
    await script(join(dirB, 'ipam'), 'exit 0');
    expect(findInPath('ipam', [dirA, dirB])).toBe(join(dirB, 'ipam'));
  });

  it('names the plugin and the path when nothing is found', () => {
    expect(() => findInPath('ipam', [dirA, dirB])).toThrow(`failed to find plugin "ipam" in path [${dirA} ${dirB}]`);
  });

  it('rejects an empty path list', () => {
    expect(() => findInPath('ipam', [])).toThrow(/no paths provided/);
  });

  it.each(['../ipam', 'sub/ipam', '/abs/ipam', '', '..'])('rejects the type %j with code 7', (type) => {
    try {
      findInPath(type, [dirA]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).code).toBe(7);
    }
  });
});

describe('delegate calls with an injected exec', () => {
  it('passes the env with CNI_COMMAND overridden, the whole config, and the found path', async () => {
    await script(join(dirA, 'ipam'), 'exit 0');
    const seen: DelegateRequest[] = [];
    const exec = fakeExec({ stdout: enc('{"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/16","gateway":"10.1.0.1"}]}') }, seen);
    const env = { CNI_COMMAND: 'ADD', CNI_PATH: `${dirB}:${dirA}`, CNI_IFNAME: 'eth0', OTHER: 'kept', UNSET: undefined };
    const result = await delegateAdd('ipam', conf(), { env, exec });
    expect(result.ips).toEqual([{ address: '10.1.0.5/16', gateway: '10.1.0.1' }]);
    const req = seen[0] as DelegateRequest;
    expect(req.pluginPath).toBe(join(dirA, 'ipam'));
    expect(req.type).toBe('ipam');
    expect(req.command).toBe('ADD');
    expect(req.env).toEqual({ CNI_COMMAND: 'ADD', CNI_PATH: `${dirB}:${dirA}`, CNI_IFNAME: 'eth0', OTHER: 'kept' });
    expect(new TextDecoder().decode(req.stdin)).toBe(new TextDecoder().decode(conf()));
  });

  it.each([
    ['DEL', delegateDel],
    ['CHECK', delegateCheck],
    ['GC', delegateGc],
    ['STATUS', delegateStatus],
  ] as const)('%s sets CNI_COMMAND=%s and ignores stdout', async (command, fn) => {
    await script(join(dirA, 'ipam'), 'exit 0');
    const seen: DelegateRequest[] = [];
    await fn('ipam', conf(), { env: { CNI_COMMAND: 'ADD', CNI_PATH: dirA }, exec: fakeExec({ stdout: enc('ignored') }, seen) });
    expect(seen[0]?.command).toBe(command);
    expect(seen[0]?.env['CNI_COMMAND']).toBe(command);
  });

  it('returns the result in the current shape, reading a versionless result in the config version', async () => {
    await script(join(dirA, 'ipam'), 'exit 0');
    const exec = fakeExec({ stdout: enc('{"ips":[{"version":"4","address":"10.1.0.5/16"}],"dns":{}}') });
    const r = await delegateAdd('ipam', conf('0.4.0'), { env: { CNI_PATH: dirA }, exec });
    expect(r.ips).toEqual([{ address: '10.1.0.5/16' }]);
  });

  it("keeps the delegate's own CNI error (code, msg, details) and forwards its stderr", async () => {
    await script(join(dirA, 'ipam'), 'exit 0');
    let stderr = '';
    const exec = fakeExec({ exitCode: 1, stdout: enc('{"code": 11, "msg": "no addresses", "details": "range full"}'), stderr: enc('ipam log\n') });
    const err = await delegateAdd('ipam', conf(), { env: { CNI_PATH: dirA }, exec, stderr: (s) => (stderr += s) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect(err).toMatchObject({ code: 11, msg: 'no addresses', details: 'range full' });
    expect(stderr).toBe('ipam log\n');
  });

  it.each([
    ['no output at all', '', '', /^netplugin failed with no error message: exit status 2$/],
    ['only stderr', '', 'it broke', /^netplugin failed: "it broke": exit status 2$/],
    ['non-JSON stdout', 'oops', '', /^netplugin failed but error parsing its diagnostic message "oops"/],
  ])('a failure with %s is code 999 in the words of Go invoke', async (_what, stdout, stderr, msg) => {
    await script(join(dirA, 'ipam'), 'exit 0');
    const exec = fakeExec({ exitCode: 2, stdout: enc(stdout), stderr: enc(stderr) });
    const err = await delegateDel('ipam', conf(), { env: { CNI_PATH: dirA }, exec, stderr: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(999);
    expect((err as CniError).msg).toMatch(msg);
  });

  it('an exec that throws is code 999 naming the plugin', async () => {
    await script(join(dirA, 'ipam'), 'exit 0');
    const exec: DelegateExec = () => Promise.reject(new Error('EACCES'));
    await expect(delegateCheck('ipam', conf(), { env: { CNI_PATH: dirA }, exec })).rejects.toMatchObject({ code: 999, msg: 'failed to run plugin "ipam": EACCES' });
  });

  it('a missing CNI_PATH fails at look-up', async () => {
    await expect(delegateAdd('ipam', conf(), { env: {}, exec: fakeExec({}) })).rejects.toThrow(/no paths provided/);
  });

  it('a success whose stdout is not a result is code 6', async () => {
    await script(join(dirA, 'ipam'), 'exit 0');
    await expect(delegateAdd('ipam', conf(), { env: { CNI_PATH: dirA }, exec: fakeExec({ stdout: enc('nope') }) })).rejects.toMatchObject({ code: 6 });
  });
});

describe('delegate calls spawning real executables', () => {
  it('runs the delegate with the env and stdin, and reads its result', async () => {
    const out = join(dir, 'seen');
    await script(
      join(dirA, 'ipam'),
      `cat > ${out}.stdin; echo "$CNI_COMMAND $CNI_IFNAME" > ${out}.env; echo "ipam says hi" >&2
printf '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"}]}'`,
    );
    let stderr = '';
    const r = await delegateAdd('ipam', conf(), { env: { CNI_COMMAND: 'DEL', CNI_PATH: dirA, CNI_IFNAME: 'net0', PATH: process.env['PATH'] }, stderr: (s) => (stderr += s) });
    expect(r.ips).toEqual([{ address: '10.9.0.2/24' }]);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(`${out}.env`, 'utf8')).toBe('ADD net0\n');
    expect(await readFile(`${out}.stdin`, 'utf8')).toBe(new TextDecoder().decode(conf()));
    expect(stderr).toBe('ipam says hi\n');
  });

  it("surfaces a real delegate's error and exit", async () => {
    await script(join(dirA, 'ipam'), `printf '{"code": 7, "msg": "bad ipam config"}'; exit 1`);
    await expect(delegateStatus('ipam', conf('1.1.0'), { env: { CNI_PATH: dirA } })).rejects.toMatchObject({ code: 7, msg: 'bad ipam config' });
  });

  it('a delegate that does not read stdin and is killed by a signal is a 999 failure', async () => {
    await script(join(dirA, 'ipam'), 'kill -TERM $$');
    const err = (await delegateGc('ipam', conf('1.1.0'), { env: { CNI_PATH: dirA } }).catch((e: unknown) => e)) as CniError;
    expect(err.code).toBe(999);
    expect(err.msg).toBe('netplugin failed with no error message: exit status 143');
  });

  it('a file without the exec bit is found but fails to run', async () => {
    await writeFile(join(dirA, 'ipam'), '#!/bin/sh\n');
    await expect(delegateDel('ipam', conf(), { env: { CNI_PATH: dirA } })).rejects.toMatchObject({ code: 999, msg: expect.stringMatching(/failed to run plugin "ipam": .*EACCES/) });
  });
});
