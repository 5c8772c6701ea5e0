// Kernel test of vrf in a real namespace: a veth end as the container interface (addresses and a
// gateway route as an interface plugin leaves them), then ADD / CHECK / DEL with `ip -j` as the
// witness. Kernels without VRF (no CONFIG_NET_VRF / vrf module) skip it with the kernel's answer;
// the logic is covered against a fake kernel in vrf.test.ts.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNetConf } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import type { CmdArgs } from '@tscni/skel';
import { NetnsPool, ip, ipJson, link, runId } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { vrfAdd, vrfCheck, vrfDel } from './plugin.js';
import { cmdArgs } from '../test-support/cmd-args.js';

/** undefined when this kernel can create a VRF, else why not (probed in a throw-away namespace). */
function vrfUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const ns = `tscvrfprobe${runId}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return 'cannot create a namespace';
  try {
    const r = spawnSync('ip', ['-n', ns, 'link', 'add', 'vrfprobe', 'type', 'vrf', 'table', '10'], { encoding: 'utf8' });
    return r.status === 0 ? undefined : `this kernel has no VRF support (ip link add type vrf: ${r.stderr.trim()})`;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const unsupported = vrfUnsupported();
const pool = new NetnsPool();

function conf(extra: Record<string, unknown>): NetConf {
  return parseNetConf({
    cniVersion: '1.0.0',
    name: 'vrftest',
    type: 'vrf',
    ...extra,
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: '/x' }],
      ips: [
        { interface: 0, address: '10.230.90.5/24', gateway: '10.230.90.1' },
        { interface: 0, address: 'fd00:230:90::5/64' },
      ],
    },
  });
}

function args(ns: TestNetns, netconf: NetConf): CmdArgs {
  return cmdArgs(netconf, { containerId: 'c', netns: ns.path });
}

/** eth0 (a veth whose peer stays in the same namespace) with addresses and routes like bridge+IPAM leave. */
function sandbox(): TestNetns {
  const ns = pool.create('tscvrf');
  ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
  ip(ns, 'link', 'set', 'peer0', 'up');
  ip(ns, 'link', 'set', 'eth0', 'up');
  ip(ns, 'addr', 'add', '10.230.90.5/24', 'dev', 'eth0');
  ip(ns, 'addr', 'add', 'fd00:230:90::5/64', 'dev', 'eth0', 'nodad');
  ip(ns, 'route', 'add', '192.168.90.0/24', 'via', '10.230.90.1', 'dev', 'eth0');
  return ns;
}

describe.skipIf(unsupported !== undefined)(`vrf in a real namespace${unsupported === undefined ? '' : ` (skipped: ${unsupported})`}`, () => {
  afterEach(() => pool.cleanup());

  it('ADD creates the VRF, enslaves eth0 keeping its IPv6 address and routes; CHECK; DEL deletes the VRF', async () => {
    const ns = sandbox();
    await vrfAdd(args(ns, conf({ vrfname: 'blue', table: 1001 })));

    expect(link(ns, 'blue')?.linkinfo).toMatchObject({ info_kind: 'vrf', info_data: { table: 1001 } });
    expect(link(ns, 'eth0')?.master).toBe('blue');
    const v6 = ipJson<Array<{ addr_info: Array<{ local: string }> }>>(ns, '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global');
    expect(v6[0]?.addr_info.map((a) => a.local)).toEqual(['fd00:230:90::5']);
    const inVrf = ipJson<Array<{ dst: string; gateway?: string }>>(ns, 'route', 'show', 'vrf', 'blue');
    expect(inVrf).toContainEqual(expect.objectContaining({ dst: '192.168.90.0/24', gateway: '10.230.90.1' }));
    await expect(vrfCheck(args(ns, conf({ vrfname: 'blue' })))).resolves.toBeUndefined();

    await vrfDel(args(ns, conf({ vrfname: 'blue' })));
    expect(link(ns, 'eth0')?.master).toBeUndefined();
    expect(link(ns, 'blue')).toBeUndefined();
    await expect(vrfCheck(args(ns, conf({ vrfname: 'blue' })))).rejects.toMatchObject({ msg: 'VRF blue not found' });
  });
});

describe.skipIf(unsupported === undefined)('vrf on a kernel without VRF support', () => {
  afterEach(() => pool.cleanup());

  it('ADD fails with a message that names the missing kernel feature, leaving eth0 untouched', async () => {
    const ns = sandbox();
    await expect(vrfAdd(args(ns, conf({ vrfname: 'blue' })))).rejects.toMatchObject({ code: 999, msg: expect.stringContaining('no VRF support') });
    expect(link(ns, 'eth0')?.master).toBeUndefined();
    expect(link(ns, 'blue')).toBeUndefined();
  });
});
