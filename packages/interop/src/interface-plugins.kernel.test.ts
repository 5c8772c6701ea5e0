// Interop (Go runtime → tscni interface plugins): Debian's Go libcni (tools/go-runtime) runs ADD,
// CHECK and DEL of lists made of the plugins tools/install-plugins installs, alone and mixed with the
// Go reference plugins, at 0.3.1, 0.4.0 and 1.0.0, inside a stand-in host namespace.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SPEC_VERSIONS, parseResult, toCurrentResult, versionAtLeast, versionsFrom } from '@tscni/spec';
import type { AnyResult, CapabilityArgs, Result } from '@tscni/spec';
import { makeTempDir, uniqueName } from '@tscni/testing';
import type { TempDir } from '@tscni/testing';
import {
  cacheFilePath,
  createNetns,
  createStandInHost,
  deleteNetns,
  eventually,
  filesIn,
  firstIp,
  goRuntime,
  goRuntimeCniError,
  goRuntimeVersions,
  hostLocalReservations,
  installOurPlugins,
  linkNames,
  linesWithIp,
  mixedPluginDir,
  netfilterMentions,
  ping,
  runInOk,
  subnet240,
} from './harness.js';
import type { GoRuntimeOptions, Netns } from './harness.js';

/** Every executable tools/install-plugins installs, with the spec versions its VERSION must list. */
const EXPECTED_VERSIONS: Record<string, readonly string[]> = {
  bridge: SPEC_VERSIONS,
  ptp: SPEC_VERSIONS,
  loopback: SPEC_VERSIONS,
  macvlan: SPEC_VERSIONS,
  ipvlan: SPEC_VERSIONS,
  vlan: SPEC_VERSIONS,
  'host-device': SPEC_VERSIONS,
  dummy: SPEC_VERSIONS,
  tap: SPEC_VERSIONS,
  'host-local': SPEC_VERSIONS,
  static: SPEC_VERSIONS,
  dhcp: SPEC_VERSIONS,
  portmap: SPEC_VERSIONS,
  bandwidth: versionsFrom('0.3.0'),
  firewall: versionsFrom('0.4.0'),
  tuning: SPEC_VERSIONS,
  sbr: SPEC_VERSIONS,
  vrf: versionsFrom('0.3.1'),
};

let ours: TempDir;

beforeAll(async () => {
  ours = await makeTempDir('tscni-ours-');
  await installOurPlugins(ours.path);
}, 120_000);

afterAll(async () => {
  await ours?.remove();
});

describe('VERSION of the installed plugins, decoded by Go libcni', () => {
  it('lists 0.1.0-1.1.0 for every plugin but bandwidth (>=0.3.0), firewall (>=0.4.0) and vrf (>=0.3.1)', async () => {
    const installed = (await filesIn(ours.path)).filter((f) => f !== 'tscni_native.node');
    expect(installed).toEqual(Object.keys(EXPECTED_VERSIONS).sort());
    const dir = await makeTempDir('tscni-version-');
    try {
      const conflist = join(dir.path, 'all.conflist');
      const plugins = installed.map((type) => ({ type }));
      await writeFile(conflist, JSON.stringify({ cniVersion: '1.0.0', name: 'versions', plugins }));
      const decoded = await goRuntimeVersions(conflist, ours.path);
      const want = Object.fromEntries(installed.map((t) => [t, { supportedVersions: [...(EXPECTED_VERSIONS[t] ?? [])] }]));
      expect(decoded).toEqual(want);
    } finally {
      await dir.remove();
    }
  });
});

const IFNAME = 'eth0';

interface ChainCase {
  title: string;
  /** Where each plugin type comes from. */
  picks: Record<string, 'ours' | 'go'>;
  /** `bridge` (two containers on one bridge), `ptp` (two containers routed by the host) or `loopback`. */
  shape: 'bridge' | 'ptp' | 'loopback';
  portmap?: boolean;
  bandwidth?: boolean;
  firewall?: boolean;
  tuning?: boolean;
  /** host-local hands out an IPv6 address too (fd00:240::/48), and the containers ping over both. */
  dualStack?: boolean;
}

const CASES: ChainCase[] = [
  { title: 'our bridge + host-local (dual stack)', picks: { bridge: 'ours', 'host-local': 'ours' }, shape: 'bridge', dualStack: true },
  { title: 'our ptp + host-local (dual stack)', picks: { ptp: 'ours', 'host-local': 'ours' }, shape: 'ptp', dualStack: true },
  { title: 'our loopback', picks: { loopback: 'ours' }, shape: 'loopback' },
  {
    title: 'our bridge + host-local + portmap + tuning',
    picks: { bridge: 'ours', 'host-local': 'ours', portmap: 'ours', tuning: 'ours' },
    shape: 'bridge',
    portmap: true,
    tuning: true,
  },
  { title: 'our bridge + host-local, Go portmap', picks: { bridge: 'ours', 'host-local': 'ours', portmap: 'go' }, shape: 'bridge', portmap: true },
  { title: 'Go bridge, our host-local (dual stack)', picks: { bridge: 'go', 'host-local': 'ours' }, shape: 'bridge', dualStack: true },
  // Our interface plugin's result feeding Go's meta plugins, and the other way round (firewall
  // needs 0.4.0, so these run from there).
  {
    title: 'our bridge + host-local, Go bandwidth + firewall + tuning',
    picks: { bridge: 'ours', 'host-local': 'ours', bandwidth: 'go', firewall: 'go', tuning: 'go' },
    shape: 'bridge',
    bandwidth: true,
    firewall: true,
    tuning: true,
  },
  {
    title: 'Go bridge + host-local, our portmap + bandwidth + firewall + tuning',
    picks: { bridge: 'go', 'host-local': 'go', portmap: 'ours', bandwidth: 'ours', firewall: 'ours', tuning: 'ours' },
    shape: 'bridge',
    portmap: true,
    bandwidth: true,
    firewall: true,
    tuning: true,
  },
];

interface Attachment {
  netns: Netns;
  containerId: string;
  capArgs: CapabilityArgs;
  result?: Result;
}

interface Fixture {
  dir: TempDir;
  host: Netns;
  attachments: Attachment[];
}

/** The result's IPv6 address (dual-stack lists put it second), without its prefix length. */
function secondIp(result: Result): string {
  const address = result.ips?.find((x) => x.address.includes(':'))?.address;
  if (address === undefined) throw new Error(`result has no IPv6 address: ${JSON.stringify(result)}`);
  return address.split('/')[0] ?? address;
}

describe.each(CASES.flatMap((c) => (c.firewall === true ? ['0.4.0', '1.0.0'] : ['0.3.1', '0.4.0', '1.0.0']).map((v) => [c.title, v, c] as const)))(
  'Go libcni runs %s at cniVersion %s',
  (_title, version, c) => {
    let fx: Fixture | undefined;

    afterEach(async () => {
      if (fx === undefined) return;
      // Deleting the stand-in host takes whatever a failed test left there (links, rules, tables).
      for (const a of fx.attachments) await deleteNetns(a.netns);
      await deleteNetns(fx.host);
      await fx.dir.remove();
      fx = undefined;
    });

    it(`ADD${versionAtLeast(version, '0.4.0') ? ', CHECK' : ''}, traffic, DEL; nothing is left`, async () => {
      const dir = await makeTempDir('tscni-ifplug-');
      const host = await createStandInHost();
      fx = { dir, host, attachments: [] };
      const count = c.shape === 'loopback' ? 1 : 2;
      for (let i = 0; i < count; i++) {
        const hostPort = 20000 + Math.floor(Math.random() * 20000);
        fx.attachments.push({
          netns: await createNetns('tscif'),
          containerId: uniqueName(`ctr${i}-`, 24),
          capArgs: {
            ...(c.portmap === true ? { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] } : {}),
            ...(c.bandwidth === true ? { bandwidth: { ingressRate: 16_000_000, ingressBurst: 160_000, egressRate: 16_000_000, egressBurst: 160_000 } } : {}),
            ...(c.tuning === true ? { mac: `02:42:0a:f0:00:${(16 + i).toString(16)}` } : {}),
          },
        });
      }
      const allOurs = Object.values(c.picks).every((p) => p === 'ours');
      const cniPath = allOurs ? ours.path : join(dir.path, 'bin');
      if (!allOurs) await mixedPluginDir(cniPath, ours.path, c.picks);

      const network = uniqueName('tscifnet-', 18);
      const bridge = uniqueName('tscbr', 12);
      const { subnet, prefix, subnet6, prefix6 } = subnet240();
      const dataDir = join(dir.path, 'ipam');
      const tuningDir = join(dir.path, 'tuning');
      const cacheDir = join(dir.path, 'cache');
      const ranges = c.dualStack === true ? [[{ subnet }], [{ subnet: subnet6 }]] : [[{ subnet }]];
      const ipam = { type: 'host-local', ranges, routes: [{ dst: '0.0.0.0/0' }], dataDir };
      const plugins: Array<Record<string, unknown>> = [];
      if (c.shape === 'bridge') plugins.push({ type: 'bridge', bridge, isGateway: true, ipMasq: true, ipam });
      if (c.shape === 'ptp') plugins.push({ type: 'ptp', ipMasq: true, ipam });
      if (c.shape === 'loopback') plugins.push({ type: 'loopback' });
      if (c.portmap === true) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
      if (c.bandwidth === true) plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } });
      if (c.firewall === true) plugins.push({ type: 'firewall' });
      if (c.tuning === true) {
        // Go tuning 1.1.1 substitutes IFNAME on ADD but not on CHECK, so it gets the literal name.
        const sysctl = { [`net.ipv4.conf.${c.picks['tuning'] === 'go' ? IFNAME : 'IFNAME'}.arp_notify`]: '1' };
        plugins.push({ type: 'tuning', capabilities: { mac: true }, sysctl, dataDir: tuningDir });
      }
      const conflist = join(dir.path, `${network}.conflist`);
      await writeFile(conflist, JSON.stringify({ cniVersion: version, name: network, plugins }, null, 2));
      const ifName = c.shape === 'loopback' ? 'lo' : IFNAME;
      const opts = (a: Attachment): GoRuntimeOptions => ({ cniPath, cacheDir, containerId: a.containerId, ifName, capArgs: a.capArgs, host });

      for (const a of fx.attachments) {
        const add = await goRuntime('add', conflist, a.netns.path, opts(a));
        expect(add.stderr).toBe('');
        expect(add.code).toBe(0);
        const json = JSON.parse(add.stdout) as Record<string, unknown>;
        expect(json['cniVersion']).toBe(version);
        const result = toCurrentResult(parseResult(json, version) as AnyResult);
        a.result = result;
        const container = result.interfaces?.find((i) => i.sandbox !== undefined);

        if (c.shape === 'loopback') {
          expect(result.interfaces).toEqual([expect.objectContaining({ name: 'lo', sandbox: a.netns.path })]);
          expect(await runInOk(undefined, 'ip', ['-n', a.netns.name, '-o', 'link', 'show', 'lo'])).toMatch(/[<,]UP[,>]/);
        } else {
          const ip = firstIp(result);
          expect(ip.startsWith(prefix)).toBe(true);
          expect(await runInOk(undefined, 'ip', ['-n', a.netns.name, '-4', '-o', 'addr', 'show', 'dev', IFNAME])).toContain(`${ip}/24`);
          expect(container).toMatchObject({ name: IFNAME, sandbox: a.netns.path });
          const hostEnds = (result.interfaces ?? []).filter((i) => i.sandbox === undefined && i.name !== bridge).map((i) => i.name);
          // The veth's host end, and bandwidth's ifb.
          expect(hostEnds).toEqual(c.bandwidth === true ? [expect.stringMatching(/^veth/), expect.stringMatching(/^bwp/)] : [expect.stringMatching(/^veth/)]);
          const hostLinks = await linkNames(host);
          expect(hostLinks).toEqual(expect.arrayContaining(hostEnds));
          if (c.shape === 'bridge') {
            expect(result.interfaces?.[0]?.name).toBe(bridge);
            expect(await runInOk(host, 'ip', ['-o', 'link', 'show', 'dev', hostEnds[0] ?? ''])).toContain(`master ${bridge}`);
          }
          expect(await hostLocalReservations(dataDir, network)).toContain(ip);
          if (c.dualStack === true) {
            const ip6 = secondIp(result);
            expect(ip6.startsWith(prefix6)).toBe(true);
            expect(await runInOk(undefined, 'ip', ['-n', a.netns.name, '-6', '-o', 'addr', 'show', 'dev', IFNAME])).toContain(`${ip6}/64`);
            expect(await hostLocalReservations(dataDir, network)).toContain(ip6);
          }
        }
        if (c.portmap === true) {
          const hostPort = a.capArgs.portMappings?.[0]?.hostPort ?? 0;
          // The DNAT of the mapping (nftables `dnat to IP:80`, iptables `--to-destination IP:80`).
          const rules = await netfilterMentions(host, [`${firstIp(result)}:80`]);
          expect(rules.some((l) => l.includes(String(hostPort)))).toBe(true);
        }
        if (c.bandwidth === true) {
          // The ingress limit: tbf at 2 MB/s on the host veth (root handle 1:).
          const veth = (result.interfaces ?? []).find((i) => i.sandbox === undefined && i.name.startsWith('veth'))?.name ?? '';
          const qdiscs = JSON.parse(await runInOk(host, 'tc', ['-j', 'qdisc', 'show', 'dev', veth])) as Array<{ kind: string; root?: boolean; options?: { rate?: number } }>;
          expect(qdiscs.find((q) => q.root === true)).toMatchObject({ kind: 'tbf', options: { rate: 2_000_000 } });
        }
        if (c.firewall === true) {
          const ip = firstIp(result);
          const accepts = linesWithIp(await netfilterMentions(host, [ip]), ip).filter((l) => /accept/i.test(l));
          expect(accepts.length).toBeGreaterThanOrEqual(2); // from the address, and established to it
        }
        if (c.tuning === true) {
          expect((await runInOk(undefined, 'ip', ['netns', 'exec', a.netns.name, 'sysctl', '-n', `net.ipv4.conf.${IFNAME}.arp_notify`])).trim()).toBe('1');
          expect(await filesIn(tuningDir)).toContain(`${a.containerId}_${IFNAME}.json`);
          expect(container?.mac).toBe(a.capArgs.mac);
          expect(await runInOk(undefined, 'ip', ['-n', a.netns.name, '-o', 'link', 'show', 'dev', IFNAME])).toContain(`link/ether ${a.capArgs.mac ?? ''}`);
        }
        await expect(readFile(cacheFilePath(cacheDir, network, a.containerId, ifName), 'utf8')).resolves.toContain(a.containerId);

        // CHECK right after this attachment's ADD: the Go bridge compares the bridge MAC with the
        // cached result, and the bridge's MAC changes when a port with a lower MAC joins.
        const check = await goRuntime('check', conflist, a.netns.path, opts(a));
        if (!versionAtLeast(version, '0.4.0')) {
          expect(check.code).toBe(1);
          expect(check.stderr).toContain('does not support the CHECK command');
        } else if (c.picks['portmap'] === 'go') {
          // Go portmap 1.1.1's CHECK looks for its IPv4 rules with ip6tables and always fails; every
          // plugin before it (ours) has passed by then.
          expect(check.code).toBe(1);
          expect(goRuntimeCniError(check.stderr)).toMatchObject({ code: 999, msg: expect.stringMatching(/^could not check ipv6 dnat: chain CNI-DN-\w+ not found/) });
        } else {
          expect(check.stderr).toBe('');
          expect(check.code).toBe(0);
        }
      }

      if (c.shape !== 'loopback') {
        const [a, b] = fx.attachments as [Attachment, Attachment];
        const ipA = firstIp(a.result as Result);
        const ipB = firstIp(b.result as Result);
        expect(ipA).not.toBe(ipB);
        expect(await ping(a.netns, ipB)).toBe(true);
        expect(await ping(b.netns, ipA)).toBe(true);
        if (c.dualStack === true) {
          expect(await ping(a.netns, secondIp(b.result as Result))).toBe(true);
          expect(await ping(b.netns, secondIp(a.result as Result))).toBe(true);
        }
      }

      for (const a of [...fx.attachments].reverse()) {
        const del = await goRuntime('del', conflist, a.netns.path, opts(a));
        expect(del.stderr).toBe('');
        expect(del.code).toBe(0);
        const result = a.result as Result;
        if (c.shape === 'loopback') {
          expect(await runInOk(undefined, 'ip', ['-n', a.netns.name, '-o', 'link', 'show', 'lo'])).not.toMatch(/[<,]UP[,>]/);
        } else {
          const ip = firstIp(result);
          const hostEnds = (result.interfaces ?? []).filter((i) => i.sandbox === undefined && i.name !== bridge).map((i) => i.name);
          expect(await eventually(async () => !(await linkNames(host)).some((l) => hostEnds.includes(l)), 30_000)).toBe(true);
          expect(await runInOk(undefined, 'ip', ['-n', a.netns.name, '-o', 'link', 'show'])).not.toContain(`${IFNAME}@`);
          const ips = c.dualStack === true ? [ip, secondIp(result)] : [ip];
          const rules = await netfilterMentions(host, [a.containerId, ...ips]);
          expect(rules.filter((l) => l.includes(a.containerId))).toEqual([]);
          for (const x of ips) expect(linesWithIp(rules, x)).toEqual([]);
        }
        await expect(readFile(cacheFilePath(cacheDir, network, a.containerId, ifName))).rejects.toMatchObject({ code: 'ENOENT' });
      }

      // DEL again (a runtime retrying, now without a cache entry) succeeds and changes nothing.
      for (const a of fx.attachments) {
        const again = await goRuntime('del', conflist, a.netns.path, opts(a));
        expect(again.stderr).toBe('');
        expect(again.code).toBe(0);
      }

      // Only the bridge stays on the host (as with Go libcni), no reservation, no tuning backup.
      expect((await linkNames(host)).sort()).toEqual(c.shape === 'bridge' ? [bridge, 'lo'].sort() : ['lo']);
      expect(await hostLocalReservations(dataDir, network)).toEqual([]);
      expect(await filesIn(tuningDir)).toEqual([]);
      expect(await filesIn(join(cacheDir, 'results'))).toEqual([]);
      // Nothing ever reached the real host.
      expect(await netfilterMentions(undefined, fx.attachments.map((a) => a.containerId))).toEqual([]);
    }, 120_000);
  },
);
