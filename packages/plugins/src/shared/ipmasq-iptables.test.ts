// Unit tests of the iptables ipMasq backend against a scripted iptables-save/iptables-restore: the
// exact restore text (one call per IP version), nothing re-added, teardown and GC by chain and
// comment, a retry when the table changed in between.
import { describe, expect, it } from 'vitest';
import { chainName } from './crypto.js';
import { gcIpMasqIptables, ipMasqComment, setupIpMasqIptables, teardownIpMasqIptables } from './ipmasq-iptables.js';
import type { CommandResult, CommandRunner } from './iptables-restore.js';

interface Call {
  cmd: string;
  args: readonly string[];
  input: string | undefined;
}

/** iptables-save prints `saved[version]`; restores succeed unless `failRestores` says otherwise. */
function fakeIptables(saved: { 4: string; 6: string }, failRestores = 0): { run: CommandRunner; calls: Call[] } {
  const calls: Call[] = [];
  let failures = failRestores;
  const run: CommandRunner = async (cmd, args, input) => {
    calls.push({ cmd, args, input });
    const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
    if (cmd === 'iptables-save') return ok(saved[4]);
    if (cmd === 'ip6tables-save') return ok(saved[6]);
    if (failures > 0) {
      failures--;
      return { code: 1, stdout: '', stderr: 'iptables-restore: line 2 failed' };
    }
    return ok();
  };
  return { run, calls };
}

const nat = (...lines: string[]) => `*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${lines.join('\n')}\nCOMMIT\n`;
const owner = { network: 'net1', ifName: 'eth0', containerId: 'c1' };
const chain = chainName('net1', 'c1');
const q = '"name: \\"net1\\" id: \\"c1\\""';

describe('ipMasq iptables backend', () => {
  it('names chains and comments as the reference', () => {
    expect(chainName('refnet', 'ctr1')).toBe('CNI-e30d516c8208bc6dd27ee420');
    expect(ipMasqComment('refnet', 'ctr1')).toBe('name: "refnet" id: "ctr1"');
  });

  it('writes the chain and rules in one restore per IP version', async () => {
    const { run, calls } = fakeIptables({ 4: nat(), 6: nat() });
    await setupIpMasqIptables(run, ['10.1.2.3/24', 'fd00::3/64'], owner);
    const restores = calls.filter((c) => c.cmd.endsWith('-restore'));
    expect(restores.map((c) => [c.cmd, c.args])).toEqual([
      ['iptables-restore', ['--noflush', '-w']],
      ['ip6tables-restore', ['--noflush', '-w']],
    ]);
    expect(restores[0]?.input).toBe(
      [
        '*nat',
        `:${chain} - [0:0]`,
        `-A ${chain} -d 10.1.2.0/24 -m comment --comment ${q} -j ACCEPT`,
        `-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE`,
        `-A POSTROUTING -s 10.1.2.3/32 -m comment --comment ${q} -j ${chain}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(restores[1]?.input).toContain(`-A ${chain} ! -d ff00::/8 -m comment --comment ${q} -j MASQUERADE`);
    expect(restores[1]?.input).toContain(`-A POSTROUTING -s fd00::3/128 -m comment --comment ${q} -j ${chain}`);
  });

  it('adds only what is missing, without re-declaring (which would flush) an existing chain', async () => {
    const present = nat(`:${chain} - [0:0]`, `-A ${chain} -d 10.1.2.0/24 -m comment --comment ${q} -j ACCEPT`);
    const { run, calls } = fakeIptables({ 4: present, 6: nat() });
    await setupIpMasqIptables(run, ['10.1.2.3/24'], owner);
    const input = calls.find((c) => c.cmd === 'iptables-restore')?.input ?? '';
    expect(input).not.toContain(`:${chain}`);
    expect(input).not.toContain('-j ACCEPT');
    expect(input).toContain('-j MASQUERADE');
    // Everything there already: no restore at all.
    const all = nat(
      `:${chain} - [0:0]`,
      `-A POSTROUTING -s 10.1.2.3/32 -m comment --comment ${q} -j ${chain}`,
      `-A ${chain} -d 10.1.2.0/24 -m comment --comment ${q} -j ACCEPT`,
      `-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${q} -j MASQUERADE`,
    );
    const second = fakeIptables({ 4: all, 6: nat() });
    await setupIpMasqIptables(second.run, ['10.1.2.3/24'], owner);
    expect(second.calls.map((c) => c.cmd)).toEqual(['iptables-save']);
  });

  it('reads again and retries when a restore fails, and gives up with code 999 after three', async () => {
    const retried = fakeIptables({ 4: nat(), 6: nat() }, 1);
    await setupIpMasqIptables(retried.run, ['10.1.2.3/24'], owner);
    expect(retried.calls.map((c) => c.cmd)).toEqual(['iptables-save', 'iptables-restore', 'iptables-save', 'iptables-restore']);
    const failing = fakeIptables({ 4: nat(), 6: nat() }, 5);
    await expect(setupIpMasqIptables(failing.run, ['10.1.2.3/24'], owner)).rejects.toMatchObject({
      code: 999,
      msg: 'iptables-restore --noflush: exit status 1: iptables-restore: line 2 failed',
    });
  });

  it('tears down by chain name in both IP versions, leaving other rules alone', async () => {
    const other = chainName('net1', 'c2');
    const table = nat(
      `:${chain} - [0:0]`,
      `:${other} - [0:0]`,
      `-A POSTROUTING -s 10.1.2.3/32 -m comment --comment ${q} -j ${chain}`,
      `-A POSTROUTING -s 10.1.2.4/32 -m comment --comment "name: \\"net1\\" id: \\"c2\\"" -j ${other}`,
      `-A ${chain} -d 10.1.2.0/24 -m comment --comment ${q} -j ACCEPT`,
    );
    const { run, calls } = fakeIptables({ 4: table, 6: nat() });
    await teardownIpMasqIptables(run, owner);
    expect(calls.map((c) => c.cmd)).toEqual(['iptables-save', 'iptables-restore', 'ip6tables-save']);
    expect(calls[1]?.input).toBe(`*nat\n-D POSTROUTING -s 10.1.2.3/32 -m comment --comment ${q} -j ${chain}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`);
  });

  it('GC removes the network\'s chains of containers not kept, and tolerates missing ip6tables', async () => {
    const c2 = chainName('net1', 'c2');
    const foreign = chainName('net2', 'c3');
    const table = nat(
      `:${chain} - [0:0]`,
      `:${c2} - [0:0]`,
      `:${foreign} - [0:0]`,
      `-A POSTROUTING -s 10.1.2.3/32 -m comment --comment ${q} -j ${chain}`,
      `-A POSTROUTING -s 10.1.2.4/32 -m comment --comment "name: \\"net1\\" id: \\"c2\\"" -j ${c2}`,
      `-A POSTROUTING -s 10.9.0.4/32 -m comment --comment "name: \\"net2\\" id: \\"c3\\"" -j ${foreign}`,
    );
    const calls: Call[] = [];
    const run: CommandRunner = async (cmd, args, input) => {
      calls.push({ cmd, args, input });
      if (cmd === 'ip6tables-save') return { code: null, stdout: '', stderr: '', error: Object.assign(new Error('spawn ip6tables-save ENOENT'), { code: 'ENOENT' }) };
      return { code: 0, stdout: cmd === 'iptables-save' ? table : '', stderr: '' };
    };
    await gcIpMasqIptables(run, 'net1', [{ containerID: 'c1', ifname: 'eth0' }]);
    expect(calls.find((c) => c.cmd === 'iptables-restore')?.input).toBe(
      `*nat\n-D POSTROUTING -s 10.1.2.4/32 -m comment --comment "name: \\"net1\\" id: \\"c2\\"" -j ${c2}\n-F ${c2}\n-X ${c2}\nCOMMIT\n`,
    );
  });
});
