import { describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';
import { bandwidthPlugin } from './plugin.js';
import { cmdArgs } from '../test-support/cmd-args.js';

// Paths that must not reach the kernel: the opener fails the test if anything opens a socket.
const plugin = bandwidthPlugin({
  open: () => {
    throw new Error('unexpected netlink access');
  },
  probe: () => Promise.reject(new Error('sch_tbf: operation not supported')),
});

function args(netconf: Partial<NetConf>): CmdArgs {
  return cmdArgs({ cniVersion: '1.1.0', name: 'net', type: 'bandwidth', ...netconf }, { containerId: 'c1', netns: '/run/netns/x' });
}

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

const prevResult = { cniVersion: '1.1.0', interfaces: [{ name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }] };

describe('bandwidth plugin without the kernel', () => {
  it('passes prevResult through when there are no limits', async () => {
    expect(await plugin.add!(args({ prevResult }))).toEqual(prevResult);
    expect(await plugin.add!(args({ ingressRate: 0, ingressBurst: 0, prevResult }))).toEqual(prevResult);
    expect(await plugin.add!(args({}))).toEqual({ cniVersion: '1.1.0' });
  });

  it('needs prevResult when a limit is set', async () => {
    const e = await rejection(plugin.add!(args({ ingressRate: 1000, ingressBurst: 1000 })));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('prevResult');
  });

  it('rejects invalid limits before touching anything', async () => {
    const e = await rejection(plugin.add!(args({ egressRate: 1000, prevResult })));
    expect(e.code).toBe(7);
    expect(e.msg).toContain('egressBurst');
  });

  it('needs the valid attachments for GC', async () => {
    expect((await rejection(plugin.gc!(args({})))).code).toBe(7);
    expect((await rejection(plugin.gc!(args({ 'cni.dev/valid-attachments': [{ containerID: 1 }] })))).msg).toContain('[0]');
  });

  it('answers STATUS with code 50 when traffic control is missing', async () => {
    const e = await rejection(plugin.status!(args({})));
    expect(e.code).toBe(50);
    expect(e.msg).toContain('sch_tbf');
  });
});
