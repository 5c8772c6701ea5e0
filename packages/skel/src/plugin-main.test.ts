// Tests for pluginMain over injected I/O: every row of the env table and of the processing order.
import { describe, expect, it, vi } from 'vitest';
import { CniError, SPEC_VERSIONS } from '@tscni/spec';
import type { AnyResult, Result } from '@tscni/spec';
import { REQUIRED_ENV, VERBS } from './env.js';
import type { Verb } from './env.js';
import { pluginMain, printResult } from './plugin-main.js';
import type { CmdArgs, PluginFuncs, PluginInfo } from './plugin-main.js';
import type { PluginIO } from './io.js';

const ALL: PluginInfo = { supportedVersions: SPEC_VERSIONS };

function fullEnv(command: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'ctr-1',
    CNI_NETNS: '/var/run/netns/tscni-does-not-exist',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'K=V;IgnoreUnknown=1',
    CNI_PATH: '/opt/a:/opt/b',
    ...extra,
  };
}

const conf = (over: Record<string, unknown> = {}): string => JSON.stringify({ cniVersion: '1.1.0', name: 'net1', type: 'x', ...over });

interface Run {
  code: number;
  exited: number | undefined;
  stdout: string;
  stderr: string;
  json(): Record<string, unknown>;
}

async function run(funcs: PluginFuncs, env: Record<string, string | undefined>, stdin: string | (() => Promise<Uint8Array>) = conf(), info = ALL): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let exited: number | undefined;
  const io: PluginIO = {
    env,
    stdin: typeof stdin === 'string' ? () => Promise.resolve(new TextEncoder().encode(stdin)) : stdin,
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    exit: (c) => {
      exited = c;
    },
  };
  const code = await pluginMain(funcs, info, io);
  return { code, exited, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, unknown> };
}

function spyFuncs(): { funcs: Required<PluginFuncs>; calls: Array<[string, CmdArgs]> } {
  const calls: Array<[string, CmdArgs]> = [];
  const rec = (verb: string) => (a: CmdArgs) => {
    calls.push([verb, a]);
    return Promise.resolve();
  };
  return {
    calls,
    funcs: {
      add: (a) => {
        calls.push(['ADD', a]);
        return Promise.resolve<AnyResult>({ cniVersion: '1.1.0', interfaces: [{ name: a.ifName, sandbox: a.netns }] });
      },
      del: rec('DEL'),
      check: rec('CHECK'),
      gc: rec('GC'),
      status: rec('STATUS'),
    },
  };
}

const VERBS_WITH_CALLBACK = VERBS.filter((v): v is Exclude<Verb, 'VERSION'> => v !== 'VERSION');

describe('required env table', () => {
  it.each(VERBS_WITH_CALLBACK.flatMap((verb) => REQUIRED_ENV[verb].filter((n) => n !== 'CNI_COMMAND').map((name) => [verb, name] as const)))(
    '%s without %s is code 4 naming the variable',
    async (verb, name) => {
      const { funcs, calls } = spyFuncs();
      for (const value of [undefined, '']) {
        const r = await run(funcs, fullEnv(verb, { [name]: value }));
        expect(r.code).toBe(1);
        expect(r.json()).toEqual({ code: 4, msg: `required env variables [${name}] missing` });
      }
      expect(calls).toEqual([]);
    },
  );

  it('lists every missing variable in table order', async () => {
    const r = await run(spyFuncs().funcs, { CNI_COMMAND: 'ADD' });
    expect(r.json()).toEqual({ code: 4, msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing' });
  });

  it.each(VERBS_WITH_CALLBACK)('%s runs with exactly its required variables (CNI_PATH is optional)', async (verb) => {
    const { funcs, calls } = spyFuncs();
    const env: Record<string, string> = {};
    for (const name of REQUIRED_ENV[verb]) env[name] = fullEnv(verb)[name] as string;
    const r = await run(funcs, env);
    expect(r.code).toBe(0);
    expect(calls.map(([v]) => v)).toEqual([verb]);
    expect(calls[0]?.[1].path).toEqual([]);
  });

  it('DEL runs without CNI_NETNS', async () => {
    const { funcs, calls } = spyFuncs();
    const r = await run(funcs, fullEnv('DEL', { CNI_NETNS: undefined }));
    expect(r.code).toBe(0);
    expect(calls[0]?.[1].netns).toBe('');
  });

  it.each(['GC', 'STATUS'] as const)('%s ignores container id and ifname, even invalid ones', async (verb) => {
    const { funcs, calls } = spyFuncs();
    const r = await run(funcs, fullEnv(verb, { CNI_CONTAINERID: 'bad id!', CNI_IFNAME: 'way-too-long-ifname' }));
    expect(r.code).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('without CNI_COMMAND and with `about`, prints about + versions to stderr and exits 0', async () => {
    const { funcs, calls } = spyFuncs();
    const r = await run(funcs, {}, conf(), { supportedVersions: ['0.4.0', '1.0.0'], about: 'my plugin v1' });
    expect(r).toMatchObject({ code: 0, exited: 0, stdout: '' });
    expect(r.stderr).toBe('my plugin v1\nCNI protocol versions supported: 0.4.0, 1.0.0\n');
    expect(calls).toEqual([]);
  });

  it('without CNI_COMMAND and without `about` is code 4', async () => {
    const r = await run(spyFuncs().funcs, {});
    expect(r.json()).toEqual({ code: 4, msg: 'required env variables [CNI_COMMAND] missing' });
    expect(r.stderr).toBe('');
  });

  it('an unknown command is code 4', async () => {
    const r = await run(spyFuncs().funcs, fullEnv('FROB'));
    expect(r.code).toBe(1);
    expect(r.json()).toEqual({ code: 4, msg: 'unknown CNI_COMMAND: FROB' });
  });
});

describe('processing order', () => {
  it('a stdin read error is code 5', async () => {
    const r = await run(spyFuncs().funcs, fullEnv('ADD'), () => Promise.reject(new Error('EIO: boom')));
    expect(r.json()).toEqual({ code: 5, msg: 'error reading from stdin: EIO: boom' });
  });

  it.each([
    ['not JSON', '{"name": '],
    ['an array', '[1,2]'],
    ['a string', '"net"'],
    ['null', 'null'],
    ['a non-string name', '{"name": 5}'],
    ['a non-string cniVersion', '{"name": "n", "cniVersion": 1}'],
  ])('stdin that is %s is code 6', async (_what, stdin) => {
    const { funcs, calls } = spyFuncs();
    const r = await run(funcs, fullEnv('ADD'), stdin);
    expect(r.code).toBe(1);
    expect(r.json()['code']).toBe(6);
    expect(calls).toEqual([]);
  });

  it.each([
    ['missing', conf({ name: undefined }), 'missing network name'],
    ['empty', conf({ name: '' }), 'missing network name'],
    ['invalid', conf({ name: 'bad/name' }), 'invalid characters found in network name'],
  ])('a %s network name is code 7', async (_what, stdin, msg) => {
    for (const verb of VERBS_WITH_CALLBACK) {
      const r = await run(spyFuncs().funcs, fullEnv(verb), stdin);
      expect(r.json()).toMatchObject({ code: 7, msg });
    }
  });

  it.each(['ADD', 'CHECK', 'DEL'] as const)('%s validates the container id (code 4) and ifname (code 4)', async (verb) => {
    const badId = await run(spyFuncs().funcs, fullEnv(verb, { CNI_CONTAINERID: 'no spaces allowed' }));
    expect(badId.json()['code']).toBe(4);
    for (const ifName of ['.', '..', 'a/b', 'a:b', 'a b', 'sixteen-chars-xx']) {
      const r = await run(spyFuncs().funcs, fullEnv(verb, { CNI_IFNAME: ifName }));
      expect(r.json()['code']).toBe(4);
    }
  });

  it('a config version the plugin does not list is code 1 with details', async () => {
    const info: PluginInfo = { supportedVersions: ['0.4.0', '1.0.0'] };
    for (const verb of VERBS_WITH_CALLBACK) {
      const { funcs, calls } = spyFuncs();
      const r = await run(funcs, fullEnv(verb), conf({ cniVersion: '0.3.1' }), info);
      expect(r.json()).toEqual({ code: 1, msg: 'incompatible CNI versions', details: 'config is "0.3.1", plugin supports ["0.4.0" "1.0.0"]' });
      expect(calls).toEqual([]);
    }
  });

  it('a config without cniVersion is 0.1.0', async () => {
    const r = await run(spyFuncs().funcs, fullEnv('ADD'), conf({ cniVersion: undefined }), { supportedVersions: ['1.0.0'] });
    expect(r.json()).toMatchObject({ code: 1, details: 'config is "0.1.0", plugin supports ["1.0.0"]' });
  });

  it.each([
    ['CHECK', '0.3.1', '0.4.0'],
    ['GC', '1.0.0', '1.1.0'],
    ['STATUS', '1.0.0', '1.1.0'],
  ] as const)('%s below its minimum config version is code 1', async (verb, tooOld, min) => {
    const low = spyFuncs();
    const r = await run(low.funcs, fullEnv(verb), conf({ cniVersion: tooOld }));
    expect(r.json()).toEqual({ code: 1, msg: `config version does not allow ${verb}` });
    expect(low.calls).toEqual([]);
    const ok = spyFuncs();
    expect((await run(ok.funcs, fullEnv(verb), conf({ cniVersion: min }))).code).toBe(0);
    expect(ok.calls.map(([v]) => v)).toEqual([verb]);
  });

  it.each(VERBS_WITH_CALLBACK)('a missing %s callback is a successful no-op', async (verb) => {
    const r = await run({}, fullEnv(verb));
    expect(r).toMatchObject({ code: 0, exited: 0, stdout: '', stderr: '' });
  });

  it('a CniError from a callback is printed as is, with the config version', async () => {
    const funcs: PluginFuncs = { del: () => Promise.reject(new CniError(11, 'try later', 'lock busy')) };
    const r = await run(funcs, fullEnv('DEL'), conf({ cniVersion: '1.0.0' }));
    expect(r).toMatchObject({ code: 1, exited: 1 });
    expect(r.stdout).toBe('{\n    "cniVersion": "1.0.0",\n    "code": 11,\n    "msg": "try later",\n    "details": "lock busy"\n}');
  });

  it('any other thrown value is code 999 with its message and no stack', async () => {
    const boom = new TypeError('cannot read x');
    for (const thrown of [boom, 'plain string']) {
      const r = await run({ check: () => Promise.reject(thrown) }, fullEnv('CHECK'));
      expect(r.json()).toEqual({ cniVersion: '1.1.0', code: 999, msg: thrown === boom ? 'cannot read x' : 'plain string' });
      expect(r.stdout).not.toContain('    at ');
    }
  });

  it('a synchronous throw inside a callback is caught too', async () => {
    const funcs: PluginFuncs = {
      gc: () => {
        throw new Error('sync');
      },
    };
    const r = await run(funcs, fullEnv('GC'));
    expect(r.json()).toMatchObject({ code: 999, msg: 'sync' });
  });

  it('ADD without a result is code 999', async () => {
    const funcs = { add: () => Promise.resolve(undefined) } as unknown as PluginFuncs;
    expect((await run(funcs, fullEnv('ADD'))).json()).toMatchObject({ code: 999 });
  });

  it('passes the env and parsed stdin in CmdArgs', async () => {
    const { funcs, calls } = spyFuncs();
    const stdin = conf({ cniVersion: '1.0.0', extra: { deep: [1] } });
    await run(funcs, fullEnv('CHECK', { CNI_NETNS_OVERRIDE: 'TRUE' }), stdin);
    const args = calls[0]?.[1];
    expect(args).toMatchObject({
      containerId: 'ctr-1',
      netns: '/var/run/netns/tscni-does-not-exist',
      ifName: 'eth0',
      args: 'K=V;IgnoreUnknown=1',
      path: ['/opt/a', '/opt/b'],
      netnsOverride: true,
    });
    expect(new TextDecoder().decode(args?.stdinData)).toBe(stdin);
    expect(args?.netconf).toMatchObject({ name: 'net1', type: 'x', cniVersion: '1.0.0', extra: { deep: [1] } });
  });

  it.each([
    ['1', true],
    ['true', true],
    ['True', true],
    ['0', false],
    ['yes', false],
    [undefined, false],
  ] as const)('CNI_NETNS_OVERRIDE=%s gives netnsOverride=%s', async (value, want) => {
    const { funcs, calls } = spyFuncs();
    await run(funcs, fullEnv('CHECK', { CNI_NETNS_OVERRIDE: value }));
    expect(calls[0]?.[1].netnsOverride).toBe(want);
  });
});

describe('netns self-check (code 8)', () => {
  it.each(['ADD', 'DEL'] as const)('%s with our own netns is code 8 and the callback never runs', async (verb) => {
    const { funcs, calls } = spyFuncs();
    const r = await run(funcs, fullEnv(verb, { CNI_NETNS: '/proc/self/ns/net' }));
    expect(r.json()).toMatchObject({ code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
    expect(calls).toEqual([]);
  });

  it('CNI_NETNS_OVERRIDE skips it', async () => {
    const { funcs, calls } = spyFuncs();
    const r = await run(funcs, fullEnv('ADD', { CNI_NETNS: '/proc/self/ns/net', CNI_NETNS_OVERRIDE: '1' }));
    expect(r.code).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('CHECK is not guarded, and a missing netns is not ours', async () => {
    expect((await run(spyFuncs().funcs, fullEnv('CHECK', { CNI_NETNS: '/proc/self/ns/net' }))).code).toBe(0);
    expect((await run(spyFuncs().funcs, fullEnv('ADD', { CNI_NETNS: '/nonexistent/netns' }))).code).toBe(0);
  });
});

describe('ADD output', () => {
  const result: Result = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:00:00:02', mtu: 1500, sandbox: '/var/run/netns/x' }],
    ips: [{ interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1' }],
    routes: [{ dst: '0.0.0.0/0' }],
  };

  it('prints the result in the config version, 4-space indented, without a trailing newline', async () => {
    const r = await run({ add: () => Promise.resolve(result) }, fullEnv('ADD'), conf({ cniVersion: '0.4.0' }));
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('}')).toBe(true);
    expect(r.stdout).toContain('\n    "cniVersion": "0.4.0"');
    const out = r.json();
    expect(out['ips']).toEqual([{ version: '4', interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1' }]);
    expect(out['interfaces']).toEqual([{ name: 'eth0', mac: '0a:58:0a:00:00:02', sandbox: '/var/run/netns/x' }]);
  });

  it('prints a legacy result for a 0.2.0 config', async () => {
    const r = await run({ add: () => Promise.resolve(result) }, fullEnv('ADD'), conf({ cniVersion: '0.2.0' }));
    expect(r.json()).toMatchObject({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1' } });
  });

  it('a result that cannot be converted is an error, not a crash', async () => {
    const noIps: Result = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] };
    const r = await run({ add: () => Promise.resolve(noIps) }, fullEnv('ADD'), conf({ cniVersion: '0.2.0' }));
    expect(r.code).toBe(1);
    expect(r.json()['msg']).toMatch(/no valid IP/);
  });

  it('printResult writes through the given stdout', () => {
    const out = vi.fn();
    printResult(result, '1.0.0', { stdout: out });
    expect(JSON.parse(out.mock.calls[0]?.[0] as string)).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
  });
});

describe('VERSION', () => {
  const info: PluginInfo = { supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] };

  it('echoes the request version with the supported list, compact with a newline', async () => {
    const { funcs, calls } = spyFuncs();
    const r = await run(funcs, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}', info);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"cniVersion":"0.4.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}\n');
    expect(calls).toEqual([]);
  });

  it.each([
    ['empty stdin', ''],
    ['garbage', 'not json'],
    ['no cniVersion', '{}'],
    ['an empty cniVersion', '{"cniVersion":""}'],
  ])('answers 1.1.0 for %s', async (_what, stdin) => {
    const r = await run({}, { CNI_COMMAND: 'VERSION' }, stdin, info);
    expect(r.json()).toEqual({ cniVersion: '1.1.0', supportedVersions: info.supportedVersions });
  });

  it('answers even when stdin cannot be read, and needs no other variable', async () => {
    const r = await run({}, { CNI_COMMAND: 'VERSION' }, () => Promise.reject(new Error('EBADF')), info);
    expect(r.code).toBe(0);
    expect(r.json()['cniVersion']).toBe('1.1.0');
  });
});
