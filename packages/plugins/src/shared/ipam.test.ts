// Tests for IPAM delegation: when it goes in-process (same-build marker on both sides, a type we
// implement) and when it execs, the environment the delegate sees, and a real host-local run
// in-process against a temporary data directory.
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '@tscni/spec';
import type { CmdArgs, DelegateExec, DelegateRequest } from '@tscni/skel';
import { delegateEnv, inProcessExec, ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from './ipam.js';
import type { InProcessPlugin } from './ipam.js';
import type { PluginMarker } from './marker.js';
import { cmdArgs } from '../test-support/cmd-args.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tscni-ipam-deleg-'));
  // findInPath needs a regular file named after the type; its content is never run in these tests.
  for (const name of ['host-local', 'other-ipam']) {
    await writeFile(join(dir, name), '#!/bin/sh\nexit 97\n');
    await chmod(join(dir, name), 0o755);
  }
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A request with this test's CNI_PATH (and a namespace path that is never opened). */
function request(conf: Record<string, unknown>, over: Partial<CmdArgs> = {}): CmdArgs {
  return cmdArgs(parseNetConf(conf), { netns: '/run/netns/none', path: [dir], ...over });
}

const ours: PluginMarker = { type: 'host-local', build: 'aaaaaaaaaaaaaaaa' };

/** An exec that must not be reached, recording what it was asked. */
function spawnSpy(seen: DelegateRequest[]): DelegateExec {
  return (req) => {
    seen.push(req);
    return Promise.resolve({ exitCode: 0, stdout: enc('{"cniVersion":"1.0.0","ips":[{"address":"192.0.2.9/24"}]}'), stderr: new Uint8Array() });
  };
}

function fakePlugin(calls: string[]): InProcessPlugin {
  return {
    info: { supportedVersions: ['1.0.0'] },
    funcs: {
      add: async (a) => {
        calls.push(`add ${a.containerId} ${a.ifName} ${a.path.join(':')}`);
        return { cniVersion: '1.0.0', ips: [{ address: '198.51.100.7/24', gateway: '198.51.100.1' }] };
      },
      del: async (a) => {
        calls.push(`del ${a.containerId}`);
      },
    },
  };
}

describe('inProcessExec', () => {
  const conf = { cniVersion: '1.0.0', name: 'net1', type: 'bridge', ipam: { type: 'host-local' } };

  it('runs our plugin in-process when both markers carry the same build', async () => {
    const calls: string[] = [];
    const spawned: DelegateRequest[] = [];
    const exec = inProcessExec({ self: () => ours, read: () => ours, load: async () => fakePlugin(calls), fallback: spawnSpy(spawned) });
    const r = await ipamAdd(request(conf), { exec });
    expect(r.ips).toEqual([{ address: '198.51.100.7/24', gateway: '198.51.100.1' }]);
    expect(calls).toEqual([`add ctr1 eth0 ${dir}`]);
    expect(spawned).toEqual([]);
  });

  it('execs when this executable has no marker, the builds differ, or the type is not ours', async () => {
    const cases: Array<Parameters<typeof inProcessExec>[0]> = [
      { self: () => undefined, read: () => ours },
      { self: () => ours, read: () => ({ ...ours, build: 'bbbbbbbbbbbbbbbb' }) },
      { self: () => ours, read: () => undefined },
      { self: () => ours, read: () => ({ ...ours, type: 'dhcp' }), load: async () => undefined },
    ];
    for (const c of cases) {
      const spawned: DelegateRequest[] = [];
      const exec = inProcessExec({ load: async () => fakePlugin([]), ...c, fallback: spawnSpy(spawned) });
      const r = await ipamAdd(request(conf), { exec });
      expect(r.ips).toEqual([{ address: '192.0.2.9/24' }]);
      expect(spawned.map((s) => [s.type, s.command, s.pluginPath])).toEqual([['host-local', 'ADD', join(dir, 'host-local')]]);
    }
  });

  it('reports an in-process failure exactly as an exec failure (the CNI error JSON)', async () => {
    const failing: InProcessPlugin = {
      info: { supportedVersions: ['1.0.0'] },
      funcs: {
        add: async () => {
          throw new CniError(11, 'busy', 'try later');
        },
      },
    };
    const exec = inProcessExec({ self: () => ours, read: () => ours, load: async () => failing, fallback: spawnSpy([]) });
    await expect(ipamAdd(request(conf), { exec })).rejects.toMatchObject({ code: 11, msg: 'busy', details: 'try later' });
  });

  it('applies skel checks in-process too (the delegate refuses an unsupported version)', async () => {
    const exec = inProcessExec({ self: () => ours, read: () => ours, load: async () => fakePlugin([]), fallback: spawnSpy([]) });
    await expect(ipamAdd(request({ ...conf, cniVersion: '0.4.0' }), { exec })).rejects.toMatchObject({ code: 1 });
  });
});

describe('delegateEnv', () => {
  it('puts the parsed CNI arguments over the base environment', () => {
    const env = delegateEnv(
      request({ name: 'n', type: 't' }, { containerId: 'c9', ifName: 'net3', args: 'IgnoreUnknown=1', path: ['/a', '/b'] }),
      { PATH: '/usr/bin', CNI_CONTAINERID: 'stale', CNI_COMMAND: 'ADD' },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c9',
      CNI_NETNS: '/run/netns/none',
      CNI_IFNAME: 'net3',
      CNI_ARGS: 'IgnoreUnknown=1',
      CNI_PATH: '/a:/b',
    });
  });
});

describe('host-local in-process', () => {
  it('allocates, checks, releases and garbage-collects through the real implementation', async () => {
    const dataDir = join(dir, 'data');
    const conf = {
      cniVersion: '1.1.0',
      name: 'inproc',
      type: 'bridge',
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.55.0.0/29' }]] },
    };
    const spawned: DelegateRequest[] = [];
    const exec = inProcessExec({ self: () => ours, read: () => ours, fallback: spawnSpy(spawned) });
    const args = request(conf);
    const r = await ipamAdd(args, { exec, env: {} });
    expect(r.ips).toEqual([{ address: '10.55.0.2/29', gateway: '10.55.0.1' }]);
    expect(await readFile(join(dataDir, 'inproc', '10.55.0.2'), 'utf8')).toBe('ctr1\r\neth0');
    await ipamCheck(args, { exec, env: {} });
    await ipamDel(args, { exec, env: {} });
    expect((await readdir(join(dataDir, 'inproc'))).filter((f) => f.startsWith('10.'))).toEqual([]);

    // GC frees what no valid attachment holds.
    await ipamAdd(args, { exec, env: {} });
    const gcConf = { ...conf, 'cni.dev/valid-attachments': [] };
    const gcArgs = request(gcConf, { containerId: '', ifName: '', netns: '' });
    await ipamGc(gcArgs, { exec, env: {} });
    expect((await readdir(join(dataDir, 'inproc'))).filter((f) => f.startsWith('10.'))).toEqual([]);
    expect(spawned).toEqual([]);
  });
});

describe('dhcp in-process', () => {
  it('runs the real dhcp plugin (STATUS without a daemon: code 50, as the executable answers)', async () => {
    const conf = { cniVersion: '1.1.0', name: 'dh', type: 'macvlan', ipam: { type: 'other-ipam', daemonSocketPath: join(dir, 'no-daemon.sock') } };
    const spawned: DelegateRequest[] = [];
    // The file found on CNI_PATH is "other-ipam", but its marker says it implements dhcp.
    const exec = inProcessExec({ self: () => ours, read: () => ({ ...ours, type: 'dhcp' }), fallback: spawnSpy(spawned) });
    await expect(ipamStatus(request(conf, { containerId: '', ifName: '', netns: '' }), { exec, env: {} })).rejects.toMatchObject({
      code: 50,
      msg: expect.stringContaining('DHCP daemon is not available'),
    });
    expect(spawned).toEqual([]);
  });
});

describe('static in-process', () => {
  it('returns the configured addresses through the real implementation', async () => {
    const conf = {
      cniVersion: '1.0.0',
      name: 'st',
      type: 'ptp',
      ipam: { type: 'other-ipam', addresses: [{ address: '192.0.2.10/24', gateway: '192.0.2.1' }], routes: [{ dst: '0.0.0.0/0' }] },
    };
    const spawned: DelegateRequest[] = [];
    // The file found on CNI_PATH is "other-ipam", but its marker says it implements static.
    const exec = inProcessExec({ self: () => ours, read: () => ({ ...ours, type: 'static' }), fallback: spawnSpy(spawned) });
    const r = await ipamAdd(request(conf), { exec, env: {} });
    expect(r.ips).toEqual([{ address: '192.0.2.10/24', gateway: '192.0.2.1' }]);
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0' }]);
    expect(spawned).toEqual([]);
  });
});
