import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeExec } from '@tscni/engine';
import { CniError } from '@tscni/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeFor, parseArgv, runCli } from './cli.js';
import { containerIdFor, parseCapArgs, parseCliCniArgs } from './runtime.js';

let dir: string;
let fake: FakeExec;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tscni-cnitool-'));
  fake = new FakeExec();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { NETCONFPATH: dir, CNI_PATH: '/opt/cni/bin', CNI_CACHE_DIR: join(dir, 'cache'), ...env },
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    cwd: '/run/netns',
    exec: fake,
  });
  return { code, stdout, stderr };
}

const conflist = (body: Record<string, unknown>) => writeFile(join(dir, '10.conflist'), JSON.stringify({ name: 'net', cniVersion: '1.1.0', ...body }));

describe('parseArgv', () => {
  it('accepts flags anywhere, with = or a separate value, and -- to end them', () => {
    expect(parseArgv(['-i', 'net1', 'add', 'n', '--timeout=1.5', 'ns', '--container-id', 'c'])).toEqual({
      verb: 'add',
      args: ['n', 'ns'],
      ifName: 'net1',
      containerId: 'c',
      timeoutMs: 1500,
      json: false,
    });
    expect(parseArgv(['add', '--', '-n', 'ns'])).toMatchObject({ args: ['-n', 'ns'] });
  });

  it('recognises help in all its forms', () => {
    expect(parseArgv([])).toBe('help');
    expect(parseArgv(['--help'])).toBe('help');
    expect(parseArgv(['help', 'add'])).toEqual({ help: expect.stringContaining('cnitool add <network-name> <netns>') as string });
    expect(parseArgv(['del', '-h'])).toEqual({ help: expect.stringContaining('reverse order') as string });
  });

  it('reads `netns <subcommand>` as one verb, and takes exec\'s command line verbatim', () => {
    expect(parseArgv(['netns', 'list', '--json'])).toMatchObject({ verb: 'netns list', args: [], json: true });
    expect(parseArgv(['netns', 'exec', 'ns1', 'ip', '-j', 'link', '--', '-i'])).toMatchObject({ verb: 'netns exec', args: ['ns1', 'ip', '-j', 'link', '--', '-i'] });
    expect(parseArgv(['netns', 'exec', '--', 'ns1', '-x', '--help'])).toMatchObject({ verb: 'netns exec', args: ['ns1', '-x', '--help'] });
    expect(parseArgv(['-t', '1', 'netns', 'exec', 'ns1', 'sh', '-c', 'exit 3'])).toMatchObject({ args: ['ns1', 'sh', '-c', 'exit 3'], timeoutMs: 1000 });
    // Flags before the command are still cnitool's.
    expect(() => parseArgv(['netns', 'exec', 'ns1', '-x', 'cmd'])).toThrow('unknown flag: -x');
    expect(parseArgv(['netns', 'exec', '-h'])).toEqual({ help: expect.stringContaining('nsenter --net') as string });
    expect(parseArgv(['help', 'netns'])).toEqual({ help: expect.stringContaining('cnitool netns list [--json]') as string });
    expect(parseArgv(['netns', 'frob', '--help'])).toEqual({ help: expect.stringContaining('interchangeable with `ip netns`') as string });
  });

  it('rejects unknown flags and missing values', () => {
    expect(() => parseArgv(['add', '-x'])).toThrow('unknown flag: -x');
    expect(() => parseArgv(['add', '--ifname'])).toThrow('flag needs an argument: --ifname');
    expect(() => parseArgv(['add', '--timeout', 'soon'])).toThrow(/invalid --timeout/);
  });
});

describe('env parsing', () => {
  it('CNI_ARGS is strict: one = per pair, non-empty key and value', () => {
    expect(parseCliCniArgs('A=1;B=2')).toEqual([
      ['A', '1'],
      ['B', '2'],
    ]);
    for (const bad of ['A', 'A=', '=1', 'A=1=2', 'A=1;', ';']) {
      expect(() => parseCliCniArgs(bad), bad).toThrow(/invalid CNI_ARGS pair/);
    }
  });

  it('CAP_ARGS must be a JSON object', () => {
    expect(parseCapArgs('{"mac":"x"}')).toEqual({ mac: 'x' });
    expect(parseCapArgs('')).toBeUndefined();
    expect(() => parseCapArgs('[1]')).toThrow(/want a JSON object/);
    expect(() => parseCapArgs('{')).toThrow(/invalid CAP_ARGS/);
  });

  it('derives the container ID from sha512 of the absolute netns path', () => {
    const want = createHash('sha512').update('/run/netns/a').digest().subarray(0, 10).toString('hex');
    expect(containerIdFor('/run/netns/a')).toBe(`cnitool-${want}`);
  });

  it('maps CNI codes to exit statuses', () => {
    expect([1, 7, 50, 117, 254].map(exitCodeFor)).toEqual([1, 7, 50, 117, 254]);
    expect([0, 255, 999, -1].map(exitCodeFor)).toEqual([255, 255, 255, 255]);
  });
});

describe('runCli', () => {
  it('add: runs the list with the derived RuntimeConf and prints the result as 4-space JSON', async () => {
    await conflist({ plugins: [{ type: 'p', capabilities: { mac: true } }] });
    fake.register('p', () => ({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }));
    const r = await run(['add', 'net', 'ctr'], { CNI_ARGS: 'K=V', CAP_ARGS: '{"mac":"00:11:22:33:44:55"}', CNI_IFNAME: 'net0' });
    expect(r).toEqual({ code: 0, stdout: '{\n    "cniVersion": "1.1.0",\n    "ips": [\n        {\n            "address": "10.0.0.2/24"\n        }\n    ]\n}\n', stderr: '' });
    const call = fake.calls[0]!;
    expect(call.env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: containerIdFor('/run/netns/ctr'),
      CNI_NETNS: '/run/netns/ctr',
      CNI_IFNAME: 'net0',
      CNI_ARGS: 'K=V',
      CNI_PATH: '/opt/cni/bin',
    });
    expect(call.conf?.['runtimeConfig']).toEqual({ mac: '00:11:22:33:44:55' });
    expect(await readdir(join(dir, 'cache', 'results'))).toEqual([`net-${containerIdFor('/run/netns/ctr')}-net0`]);
  });

  it('--ifname beats CNI_IFNAME, which beats eth0', async () => {
    await conflist({ plugins: [{ type: 'p' }] });
    fake.register('p', () => ({ cniVersion: '1.1.0' }));
    await run(['add', 'net', '/x', '-i', 'flag0'], { CNI_IFNAME: 'env0' });
    await run(['add', 'net', '/y']);
    expect(fake.callsOf('ADD').map((c) => c.env['CNI_IFNAME'])).toEqual(['flag0', 'eth0']);
  });

  it('check, del, status, gc and version reach the engine', async () => {
    await conflist({ plugins: [{ type: 'p' }] });
    fake.register('p', (c) => (c.command === 'ADD' ? { cniVersion: '1.1.0' } : undefined));
    expect((await run(['add', 'net', '/a'])).code).toBe(0);
    expect((await run(['add', 'net', '/b'])).code).toBe(0);
    expect(await run(['check', 'net', '/a'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await run(['del', 'net', '/a'])).code).toBe(0);
    expect((await run(['status', 'net'])).code).toBe(0);
    expect((await run(['gc', 'net', '/ignored'])).code).toBe(0);
    expect(fake.calls.map((c) => c.command)).toEqual(['ADD', 'ADD', 'CHECK', 'DEL', 'STATUS', 'DEL', 'GC']);
    expect(await readdir(join(dir, 'cache', 'results'))).toEqual([]);
    const v = await run(['version', 'p']);
    expect(JSON.parse(v.stdout)).toMatchObject({ cniVersion: '1.1.0', supportedVersions: expect.arrayContaining(['1.1.0']) as string[] });
  });

  it('reports a CNI error as "Error: msg; details" with the code as exit status', async () => {
    await conflist({ plugins: [{ type: 'p' }] });
    fake.register('p', () => {
      throw new CniError(117, 'out of addresses', 'pool exhausted');
    });
    expect(await run(['add', 'net', '/a'])).toEqual({
      code: 117,
      stdout: '',
      stderr: 'Error: plugin type="p" failed (add): out of addresses; pool exhausted\n',
    });
  });

  it('reports usage errors with status 64', async () => {
    expect(await run(['add', 'net'])).toEqual({
      code: 64,
      stdout: '',
      stderr: "Error: add needs <network-name> <netns>; missing <netns>\nRun 'cnitool --help' for usage.\n",
    });
    expect((await run(['gc', 'a', 'b', 'c'])).stderr).toMatch(/unexpected argument "c"/);
  });

  it('reports netns usage errors with status 64 before loading anything', async () => {
    const usage = (msg: string) => ({ code: 64, stdout: '', stderr: `Error: ${msg}\nRun 'cnitool --help' for usage.\n` });
    expect(await run(['netns'])).toEqual(usage('netns needs a command: add, del, list, exec'));
    expect(await run(['netns', 'frob'])).toEqual(usage('unknown command "netns frob"'));
    expect(await run(['netns', 'add'])).toEqual(usage('netns add needs <name>; missing <name>'));
    expect(await run(['netns', 'del', 'a', 'b'])).toEqual(usage('netns del: unexpected argument "b"'));
    expect(await run(['netns', 'exec', 'a'])).toEqual(usage('netns exec needs <name> <command>; missing <command>'));
    expect(await run(['netns', 'exec', 'a', '--'])).toEqual(usage('netns exec needs <name> <command>; missing <command>'));
    expect(await run(['netns', 'add', '--json', 'a'])).toEqual(usage('netns add does not accept --json'));
    expect(await run(['add', '--json', 'net', 'ns'])).toEqual(usage('add does not accept --json'));
    expect(await run(['constructor'])).toEqual(usage('unknown command "constructor"'));
  });

  it('rejects bad namespace names with code 8 (InvalidNetNS)', async () => {
    const long = 'a'.repeat(256);
    for (const verb of ['add', 'del', 'exec']) {
      for (const name of ['.', '..', 'a/b', '/run/netns/x', '-x', '.hidden', 'sp ace', 'tab\t', 'colon:', 'é', '', long]) {
        const argv = verb === 'exec' ? ['netns', verb, '--', name, 'true'] : ['netns', verb, '--', name];
        expect(await run(argv), `${verb} ${JSON.stringify(name)}`).toEqual({
          code: 8,
          stdout: '',
          stderr: `Error: invalid network namespace name ${JSON.stringify(name)}; want 1-255 characters from [A-Za-z0-9_.-] starting with a letter or digit\n`,
        });
      }
    }
  });

  it('netns exec of a missing namespace fails with code 8 and runs nothing', async () => {
    const name = `tscmissing${Date.now().toString(16)}`;
    expect(await run(['netns', 'exec', name, '--', 'touch', join(dir, 'ran')])).toEqual({
      code: 8,
      stdout: '',
      stderr: `Error: network namespace "${name}" does not exist\n`,
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
