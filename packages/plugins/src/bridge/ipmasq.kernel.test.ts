// Kernel test of ipMasq end to end: the bridge plugin runs in-process against a namespace standing
// in for the host (its rtnetlink and nftables opened there), with an "outside" namespace that has no
// route back to the container subnet. Only a masqueraded container reaches it; DEL removes the rules.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { NETLINK_NETFILTER, RtNetlink, SocketTransport, writeSysctl } from '@tscni/netlink';
import { loadNative } from '@tscni/native';
import { NetnsPool, ip, ping } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { installPlugins, saveForwarding, testSubnet } from '../test-support/cni.js';
import { IPMASQ_TABLE, commentForInstance } from '../shared/ipmasq.js';
import { bridgePlugin } from './plugin.js';

const pool = new NetnsPool();
let bin: string;
let dataDir: string;
let restoreForwarding: () => void;

beforeAll(() => {
  restoreForwarding = saveForwarding();
  bin = installPlugins();
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-masq-'));
});
afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  restoreForwarding();
});
afterEach(() => pool.cleanup());

/** Runs the bridge plugin in this process with `host` standing in for the host namespace. */
async function run(host: TestNetns, command: string, container: TestNetns, containerId: string, conf: unknown): Promise<{ code: number; out: string }> {
  const plugin = bridgePlugin({
    open: (p) => RtNetlink.open(p ?? host.path),
    nft: () => SocketTransport.open(NETLINK_NETFILTER, host.path, loadNative()),
  });
  let out = '';
  const code = await pluginMain(plugin, { supportedVersions: SPEC_VERSIONS }, {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: container.path, CNI_IFNAME: 'eth0', CNI_PATH: bin },
    stdin: async () => new TextEncoder().encode(JSON.stringify(conf)),
    stdout: (s) => {
      out += s;
    },
    stderr: () => undefined,
    exit: () => undefined,
  });
  return { code, out };
}

describe('bridge ipMasq', () => {
  it('masquerades a container to the outside only when ipMasq is on', async () => {
    const host = pool.create();
    const outside = pool.create();
    ip(host, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'down0', 'netns', outside.name);
    ip(host, 'addr', 'add', '198.18.0.1/24', 'dev', 'up0');
    ip(outside, 'addr', 'add', '198.18.0.2/24', 'dev', 'down0');
    ip(host, 'link', 'set', 'up0', 'up');
    ip(outside, 'link', 'set', 'down0', 'up');
    writeSysctl('net/ipv4/ip_forward', '1', host.path);

    const plainNet = testSubnet();
    const masqNet = testSubnet();
    const conf = (name: string, subnet: string, ipMasq: boolean) => ({
      cniVersion: '1.1.0',
      name,
      type: 'bridge',
      bridge: `br-${name}`,
      isDefaultGateway: true,
      ipMasq,
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet }]] },
    });

    const plain = pool.create();
    const plainAdd = await run(host, 'ADD', plain, 'ctr-plain', conf('plain', plainNet.v4, false));
    expect(plainAdd.code, plainAdd.out).toBe(0);
    expect(ping(plain, `${plainNet.prefix4}1`)).toBe(true);
    // The outside has no route back to the container subnet: unmasqueraded replies get lost.
    expect(ping(plain, '198.18.0.2')).toBe(false);

    const masq = pool.create();
    const masqConf = conf('masq', masqNet.v4, true);
    const masqAdd = await run(host, 'ADD', masq, 'ctr-masq', masqConf);
    expect(masqAdd.code, masqAdd.out).toBe(0);
    expect(ping(masq, '198.18.0.2')).toBe(true);
    const rules = execFileSync('ip', ['netns', 'exec', host.name, 'nft', 'list', 'table', 'inet', IPMASQ_TABLE], { encoding: 'utf8' });
    const comment = commentForInstance({ network: 'masq', ifName: 'eth0', containerId: 'ctr-masq' });
    expect(rules).toContain(`ip saddr ${masqNet.prefix4}2 ip daddr != ${masqNet.v4} masquerade comment "${comment}"`);

    const del = await run(host, 'DEL', masq, 'ctr-masq', masqConf);
    expect(del.code, del.out).toBe(0);
    const after = execFileSync('ip', ['netns', 'exec', host.name, 'nft', 'list', 'table', 'inet', IPMASQ_TABLE], { encoding: 'utf8' });
    expect(after).not.toContain(comment);
  });
});
