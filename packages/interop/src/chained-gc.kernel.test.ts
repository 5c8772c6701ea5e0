// Interop (chained plugins, GC): @tscni/engine's gcNetworkList at cniVersion 1.1.0 over tscni's
// bridge + host-local, portmap, bandwidth, firewall and tuning, inside a stand-in host namespace.
// The engine DELs the cached attachments that are not valid; the plugins' own GC must then remove
// what the cache never knew about; a second network on the same host keeps everything.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CniEngine, netConfListFromFile } from '@tscni/engine';
import type { RuntimeConf } from '@tscni/engine';
import { toCurrentResult } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { makeTempDir, uniqueName } from '@tscni/testing';
import type { TempDir } from '@tscni/testing';
import {
  NetnsPluginExec,
  cacheFilePath,
  createNetns,
  createStandInHost,
  deleteNetns,
  eventually,
  filesIn,
  firstIp,
  hostLocalReservations,
  installOurPlugins,
  linkNames,
  linesWithIp,
  netfilterMentions,
  subnet240,
} from './harness.js';
import type { Netns } from './harness.js';

const IFNAME = 'eth0';
const VERSION = '1.1.0';

interface Attachment {
  label: string;
  netns: Netns;
  containerId: string;
  hostPort: number;
  result?: Result;
}



/** Every address of an attachment's result (IPv4 and IPv6), without prefix lengths. */
function allIps(a: Attachment): string[] {
  return (a.result?.ips ?? []).map((x) => x.address.split('/')[0] ?? x.address);
}

/** Host-side links an attachment's ADD reported: its veth and bandwidth's ifb. */
function hostSide(a: Attachment): string[] {
  return (a.result?.interfaces ?? []).filter((x) => x.sandbox === undefined && !x.name.startsWith('tscbr')).map((x) => x.name);
}

let ours: TempDir;

beforeAll(async () => {
  ours = await makeTempDir('tscni-ours-');
  await installOurPlugins(ours.path);
}, 120_000);

afterAll(async () => {
  await ours?.remove();
});

describe('@tscni/engine GC over the full tscni chain at cniVersion 1.1.0', () => {
  let dir: TempDir | undefined;
  let host: Netns | undefined;
  let attachments: Attachment[] = [];

  afterEach(async () => {
    for (const a of attachments) await deleteNetns(a.netns);
    if (host !== undefined) await deleteNetns(host);
    await dir?.remove();
    dir = host = undefined;
    attachments = [];
  });

  it('one valid attachment out of five (dual stack): only its rules, devices, addresses and backups remain; another network is untouched', async () => {
    dir = await makeTempDir('tscni-gc-');
    host = await createStandInHost();
    const cacheDir = join(dir.path, 'cache');
    const otherCacheDir = join(dir.path, 'other-cache');
    const dataDir = join(dir.path, 'ipam');
    const tuningDir = join(dir.path, 'tuning');
    const exec = new NetnsPluginExec(host, join(dir.path, 'wrappers'));
    const engine = new CniEngine({ path: [ours.path], cacheDir, exec });

    // Dual stack, so the IPv6 rules (portmap's ip6 table, firewall's and the masquerade's ip6 rules) are collected too.
    const makeList = async (network: string, bridge: string, subnet: string, subnet6: string): Promise<string> => {
      const file = join(dir?.path ?? '', `${network}.conflist`);
      const plugins = [
        { type: 'bridge', bridge, isGateway: true, ipMasq: true, ipam: { type: 'host-local', ranges: [[{ subnet }], [{ subnet: subnet6 }]], dataDir } },
        { type: 'portmap', backend: 'nftables', capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
        { type: 'firewall', backend: 'nftables' },
        { type: 'tuning', capabilities: { mac: true }, sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' }, dataDir: tuningDir },
      ];
      await writeFile(file, JSON.stringify({ cniVersion: VERSION, name: network, plugins }, null, 2));
      return file;
    };
    const network = uniqueName('tscgc-', 16);
    const bystanderNet = uniqueName('tscgcb-', 16);
    const bridge = uniqueName('tscbr', 12);
    const bystanderBridge = uniqueName('tscbr', 12);
    const s1 = subnet240();
    let s2 = subnet240();
    while (s2.subnet === s1.subnet) s2 = subnet240();
    const conflist = await makeList(network, bridge, s1.subnet, s1.subnet6);
    const bystanderList = await makeList(bystanderNet, bystanderBridge, s2.subnet, s2.subnet6);

    const rt = (a: Attachment): RuntimeConf => ({
      containerId: a.containerId,
      netns: a.netns.path,
      ifName: IFNAME,
      args: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', a.label]],
      capabilityArgs: {
        portMappings: [{ hostPort: a.hostPort, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 },
        mac: `02:00:00:00:00:${(attachments.indexOf(a) + 16).toString(16)}`,
      },
    });
    for (const [i, label] of ['valid', 'cached', 'cached-gone', 'uncached', 'other-cache', 'bystander'].entries()) {
      attachments.push({ label, netns: await createNetns('tscgc'), containerId: uniqueName(`${label}-`, 28), hostPort: 20000 + i * 3000 + Math.floor(Math.random() * 3000) });
    }
    const [valid, cached, cachedGone, uncached, otherCache, bystander] = attachments as [Attachment, Attachment, Attachment, Attachment, Attachment, Attachment];
    const list = await netConfListFromFile(conflist);
    for (const a of [valid, cached, cachedGone, uncached]) a.result = toCurrentResult(await engine.addNetworkList(list, rt(a)));
    // Made by another runtime with its own cache: the engine never hears of it.
    const otherEngine = new CniEngine({ path: [ours.path], cacheDir: otherCacheDir, exec });
    otherCache.result = toCurrentResult(await otherEngine.addNetworkList(list, rt(otherCache)));
    bystander.result = toCurrentResult(await engine.addNetworkList(await netConfListFromFile(bystanderList), rt(bystander)));

    const stale = [cached, cachedGone, uncached, otherCache];
    const kept = [valid, bystander];
    const before = await netfilterMentions(host, ['']);
    for (const a of attachments) {
      expect(hostSide(a)).toEqual([expect.stringMatching(/^veth/), expect.stringMatching(/^bwp/)]);
      const rules = await netfilterMentions(host, [a.containerId]);
      // portmap's chains, firewall's two accept rules and bridge's masquerade rule name the container.
      expect(rules.length).toBeGreaterThanOrEqual(4);
      // Rules for both addresses: portmap's DNAT, firewall's accepts, the masquerade.
      expect(allIps(a)).toHaveLength(2);
      for (const ip of allIps(a)) expect(linesWithIp(before, ip).length).toBeGreaterThanOrEqual(3);
    }
    expect(await filesIn(tuningDir)).toHaveLength(6);

    // The sandboxes of the stale attachments go away (their veths with them); the uncached one also
    // loses its cache entry, as when a runtime's state is lost.
    for (const a of [cachedGone, uncached, otherCache]) await deleteNetns(a.netns);
    await rm(cacheFilePath(cacheDir, network, uncached.containerId, IFNAME));
    const staleVeths = stale.map((a) => hostSide(a)[0] ?? '');
    const staleIfbs = stale.map((a) => hostSide(a)[1] ?? '');
    expect(await eventually(async () => !(await linkNames(host as Netns)).some((l) => staleVeths.slice(1).includes(l)), 30_000)).toBe(true);

    await engine.gcNetworkList(list, { validAttachments: [{ containerID: valid.containerId, ifname: IFNAME }] });

    // Links: the two bridges and what the kept attachments made, nothing of the stale ones.
    expect(await eventually(async () => !(await linkNames(host as Netns)).some((l) => [...staleVeths, ...staleIfbs].includes(l)), 30_000)).toBe(true);
    expect((await linkNames(host)).sort()).toEqual(['lo', bridge, bystanderBridge, ...kept.flatMap(hostSide)].sort());
    // host-local: only the kept addresses.
    expect(await hostLocalReservations(dataDir, network)).toEqual(allIps(valid).sort());
    expect(await hostLocalReservations(dataDir, bystanderNet)).toEqual(allIps(bystander).sort());
    // tuning: only the kept backups.
    expect(await filesIn(tuningDir)).toEqual(kept.map((a) => `${a.containerId}_${IFNAME}.json`).sort());
    // nftables (portmap, firewall, bridge masquerade): nothing names a stale container, address or port.
    const all = await netfilterMentions(host, ['']);
    for (const a of stale) {
      expect(all.filter((l) => l.includes(a.containerId))).toEqual([]);
      for (const ip of allIps(a)) expect(linesWithIp(all, ip)).toEqual([]);
      expect(all.filter((l) => new RegExp(`\\b${a.hostPort}\\b`).test(l))).toEqual([]);
    }
    for (const a of kept) {
      expect((await netfilterMentions(host, [a.containerId])).length).toBeGreaterThanOrEqual(4);
      expect(all.some((l) => l.includes(`${firstIp(a.result as Result)}:80`) && l.includes(String(a.hostPort)))).toBe(true);
      for (const ip of allIps(a)) expect(linesWithIp(all, ip).length).toBeGreaterThanOrEqual(3);
    }
    // The engine's cache: the synthesised DELs removed the stale entries it knew.
    expect(await filesIn(join(cacheDir, 'results'))).toEqual(
      [cacheFilePath(cacheDir, network, valid.containerId, IFNAME), cacheFilePath(cacheDir, bystanderNet, bystander.containerId, IFNAME)].map((p) => p.slice(p.lastIndexOf('/') + 1)).sort(),
    );

    // The valid attachment is intact: CHECK passes and DEL then leaves nothing of it.
    await engine.checkNetworkList(list, rt(valid));
    await engine.checkNetworkList(await netConfListFromFile(bystanderList), rt(bystander));
    await engine.delNetworkList(list, rt(valid));
    await engine.delNetworkList(await netConfListFromFile(bystanderList), rt(bystander));
    await otherEngine.delNetworkList(list, rt(otherCache));
    expect(await eventually(async () => (await linkNames(host as Netns)).length === 3, 30_000)).toBe(true);
    expect((await linkNames(host)).sort()).toEqual(['lo', bridge, bystanderBridge].sort());
    expect(await hostLocalReservations(dataDir, network)).toEqual([]);
    expect(await hostLocalReservations(dataDir, bystanderNet)).toEqual([]);
    expect(await filesIn(tuningDir)).toEqual([]);
    expect(await netfilterMentions(host, attachments.map((a) => a.containerId))).toEqual([]);
    expect(await filesIn(join(cacheDir, 'results'))).toEqual([]);
    expect(await filesIn(join(otherCacheDir, 'results'))).toEqual([]);
    await expect(readFile(cacheFilePath(cacheDir, network, valid.containerId, IFNAME))).rejects.toMatchObject({ code: 'ENOENT' });
    // Nothing ever reached the real host.
    expect(await netfilterMentions(undefined, attachments.map((a) => a.containerId))).toEqual([]);
  }, 240_000);
});
