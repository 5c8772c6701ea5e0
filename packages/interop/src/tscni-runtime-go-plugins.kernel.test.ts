// Interop (tscni runtime → Go plugins): the @tscni/engine library and the bundled cnitool drive
// Debian's Go reference plugins (bridge, host-local, portmap, tuning, firewall, bandwidth) in real
// namespaces: ADD, CHECK, traffic, DEL, GC, and nothing of the attachment is left afterwards. The
// plugins run in a stand-in host namespace, so the iptables chains they share (CNI-FORWARD,
// CNI-HOSTPORT-*) are theirs alone: other suites on the machine can neither see nor change them.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CniEngine, netConfListFromFile } from '@tscni/engine';
import { formatResult, isCniError, parseResult, toCurrentResult } from '@tscni/spec';
import type { AnyResult, CapabilityArgs, Result } from '@tscni/spec';
import { makeTempDir, uniqueName } from '@tscni/testing';
import type { TempDir } from '@tscni/testing';
import {
  CNITOOL,
  GO_PLUGIN_DIR,
  NetnsPluginExec,
  cacheFilePath,
  createNetns,
  createStandInHost,
  deleteNetns,
  goRuntime,
  goRuntimeCniError,
  hostLocalFiles,
  linkNames,
  linesWithIp,
  netfilterMentions,
  ping,
  requireBuilt,
  runIn,
  runInOk,
  subnet240,
} from './harness.js';
import type { Netns } from './harness.js';

interface Attachment {
  netns: Netns;
  containerId: string;
  capArgs: CapabilityArgs;
}

type CheckOutcome = { ok: true } | { ok: false; code: number; message: string };

/** One way of being the runtime: the engine library in this process, or the cnitool executable. */
interface Driver {
  add(conflist: string, a: Attachment): Promise<Record<string, unknown>>;
  check(conflist: string, a: Attachment): Promise<CheckOutcome>;
  del(conflist: string, a: Attachment): Promise<void>;
  gc?(conflist: string, valid: Attachment[]): Promise<void>;
}

const IFNAME = 'eth0';

function engineDriver(cacheDir: string, host: Netns, wrapperDir: string): Required<Driver> {
  const engine = new CniEngine({ path: [GO_PLUGIN_DIR], cacheDir, exec: new NetnsPluginExec(host, wrapperDir) });
  const rt = (a: Attachment) => ({ containerId: a.containerId, netns: a.netns.path, ifName: IFNAME, capabilityArgs: a.capArgs });
  return {
    async add(conflist, a) {
      const result = await engine.addNetworkList(await netConfListFromFile(conflist), rt(a));
      return JSON.parse(formatResult(result)) as Record<string, unknown>;
    },
    async check(conflist, a) {
      try {
        await engine.checkNetworkList(await netConfListFromFile(conflist), rt(a));
        return { ok: true };
      } catch (e) {
        if (!isCniError(e)) throw e;
        return { ok: false, code: e.code, message: `${e.msg} ${e.details ?? ''}` };
      }
    },
    async del(conflist, a) {
      await engine.delNetworkList(await netConfListFromFile(conflist), rt(a));
    },
    async gc(conflist, valid) {
      const list = await netConfListFromFile(conflist);
      await engine.gcNetworkList(list, { validAttachments: valid.map((a) => ({ containerID: a.containerId, ifname: IFNAME })) });
    },
  };
}

/** cnitool finds a list by name in NETCONFPATH, so each conflist file sits in a directory of its own. */
function cnitoolDriver(cacheDir: string, host: Netns): Driver {
  const exe = requireBuilt(CNITOOL);
  const network = async (conflist: string) => (JSON.parse(await readFile(conflist, 'utf8')) as { name: string }).name;
  const invoke = async (verb: string, conflist: string, a: Attachment) =>
    runIn(host, exe, [verb, await network(conflist), a.netns.path, '--container-id', a.containerId, '--ifname', IFNAME], {
      env: { NETCONFPATH: dirname(conflist), CNI_PATH: GO_PLUGIN_DIR, CNI_CACHE_DIR: cacheDir, CAP_ARGS: JSON.stringify(a.capArgs) },
    });
  return {
    async add(conflist, a) {
      const r = await invoke('add', conflist, a);
      if (r.code !== 0) throw new Error(`cnitool add exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    },
    async check(conflist, a) {
      const r = await invoke('check', conflist, a);
      if (r.code === 0) return { ok: true };
      // The exit status is the CNI code (255 for codes above 254); the message is on stderr.
      return { ok: false, code: r.code, message: r.stderr };
    },
    async del(conflist, a) {
      const r = await invoke('del', conflist, a);
      if (r.code !== 0) throw new Error(`cnitool del exited ${r.code}: ${r.stderr}`);
    },
  };
}

function firstIp(result: Result): string {
  const address = result.ips?.[0]?.address;
  if (address === undefined) throw new Error(`result has no IP: ${JSON.stringify(result)}`);
  return address.split('/')[0] ?? address;
}

/** Interfaces the plugins created on the host side: the veth peer and bandwidth's ifb (not the bridge). */
function hostLinks(result: Result, bridge: string): string[] {
  return (result.interfaces ?? []).filter((i) => i.sandbox === undefined && i.name !== bridge).map((i) => i.name);
}

interface Fixture {
  dir: TempDir;
  host: Netns;
  cacheDir: string;
  dataDir: string;
  network: string;
  bridge: string;
  /** bridge(host-local) + portmap + tuning + firewall + bandwidth */
  fullList: string;
  /** the same network without portmap (whose CHECK is broken in Go plugins 1.1.1) */
  noPortmapList: string;
  attachments: [Attachment, Attachment];
}

async function makeFixture(version: string): Promise<Fixture> {
  const dir = await makeTempDir('tscni-interop-');
  const host = await createStandInHost();
  const cacheDir = join(dir.path, 'cache');
  const dataDir = join(dir.path, 'ipam');
  const network = uniqueName('tscgo-', 16);
  const bridge = uniqueName('tscbr', 12);
  const { subnet } = subnet240();
  const bridgePlugin = {
    type: 'bridge',
    bridge,
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir },
  };
  const rest = [
    // A literal ifname: Go tuning 1.1.1 substitutes IFNAME on ADD but not on CHECK.
    { type: 'tuning', sysctl: { [`net.ipv4.conf.${IFNAME}.arp_notify`]: '1' } },
    { type: 'firewall', backend: 'iptables' },
    { type: 'bandwidth', capabilities: { bandwidth: true } },
  ];
  const portmap = { type: 'portmap', capabilities: { portMappings: true }, snat: true };
  const fullList = join(dir.path, 'full', `${network}.conflist`);
  const noPortmapList = join(dir.path, 'noportmap', `${network}.conflist`);
  await mkdir(dirname(fullList));
  await mkdir(dirname(noPortmapList));
  await writeFile(fullList, JSON.stringify({ cniVersion: version, name: network, plugins: [bridgePlugin, portmap, ...rest] }, null, 2));
  await writeFile(noPortmapList, JSON.stringify({ cniVersion: version, name: network, plugins: [bridgePlugin, ...rest] }, null, 2));
  const attachments: Attachment[] = [];
  for (const side of ['a', 'b']) {
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    attachments.push({
      netns: await createNetns(`tscgo${side}`),
      containerId: uniqueName(`ctr-${side}-`, 24),
      capArgs: {
        portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 100_000_000, ingressBurst: 1_000_000, egressRate: 100_000_000, egressBurst: 1_000_000 },
      },
    });
  }
  return { dir, host, cacheDir, dataDir, network, bridge, fullList, noPortmapList, attachments: attachments as [Attachment, Attachment] };
}

/** Whatever a failed test left (links, rules, the bridge) goes with the stand-in host. */
async function destroyFixture(fx: Fixture | undefined): Promise<void> {
  if (fx === undefined) return;
  for (const a of fx.attachments) await deleteNetns(a.netns);
  await deleteNetns(fx.host);
  await fx.dir.remove();
}

async function hostLinkExists(host: Netns, name: string): Promise<boolean> {
  return (await linkNames(host)).includes(name);
}

describe.each([
  ['engine', '0.4.0'],
  ['engine', '1.0.0'],
  ['cnitool', '0.4.0'],
  ['cnitool', '1.0.0'],
] as const)('%s drives the Go reference plugins at cniVersion %s', (driverName, version) => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await destroyFixture(fx);
    fx = undefined;
  });

  it('ADD, CHECK, ping both ways, DEL; nothing of either attachment is left', async () => {
    fx = await makeFixture(version);
    const { host, cacheDir, dataDir, network, bridge, fullList, noPortmapList } = fx;
    const driver = driverName === 'engine' ? engineDriver(cacheDir, host, join(fx.dir.path, 'wrappers')) : cnitoolDriver(cacheDir, host);
    const [a, b] = fx.attachments;
    const results: Result[] = [];
    for (const att of [a, b]) {
      const json = await driver.add(fullList, att);
      expect(json['cniVersion']).toBe(version);
      const result = toCurrentResult(parseResult(json, version) as AnyResult);
      results.push(result);
      const ip = firstIp(result);
      const hostPort = att.capArgs.portMappings?.[0]?.hostPort ?? 0;

      // Kernel state the chain produced for this attachment.
      expect(await runInOk(att.netns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', IFNAME])).toContain(`${ip}/24`);
      expect((await runInOk(att.netns, 'sysctl', ['-n', `net.ipv4.conf.${IFNAME}.arp_notify`])).trim()).toBe('1');
      const [veth, ifb] = hostLinks(result, bridge);
      expect(veth).toBeDefined();
      expect(ifb).toMatch(/^bwp/);
      expect(await runInOk(host, 'tc', ['qdisc', 'show', 'dev', veth ?? ''])).toContain('tbf');
      expect(await runInOk(host, 'tc', ['qdisc', 'show', 'dev', ifb ?? ''])).toContain('tbf');
      const rules = await netfilterMentions(host, [att.containerId]);
      expect(rules.join('\n')).toContain(`--dports ${hostPort}`); // portmap DNAT entry
      expect(rules.some((l) => l.includes('-j CNI-'))).toBe(true); // bridge ipMasq chain jump
      expect((await netfilterMentions(host, [`${ip}/32`])).length).toBeGreaterThan(0); // firewall accepts

      // CHECK right after its own ADD: the Go bridge compares the bridge MAC with the cached result,
      // and the kernel changes a bridge's MAC when a port with a lower MAC joins.
      // Full list: whatever we report must be what Go libcni reports for the same attachment (it reads
      // our cache). Go portmap 1.1.1's CHECK looks for its IPv4 rules in ip6tables and fails.
      const ours = await driver.check(fullList, att);
      const ref = await goRuntime('check', fullList, att.netns.path, { cniPath: GO_PLUGIN_DIR, cacheDir, containerId: att.containerId, ifName: IFNAME, capArgs: att.capArgs, host });
      if (ref.code === 0) {
        expect(ours).toEqual({ ok: true });
      } else {
        const refErr = goRuntimeCniError(ref.stderr);
        expect(refErr).toBeDefined();
        expect(ours.ok).toBe(false);
        if (!ours.ok) {
          expect(ours.code).toBe(driverName === 'cnitool' && (refErr?.code ?? 0) > 254 ? 255 : refErr?.code);
          expect(ours.message).toContain(refErr?.msg);
        }
      }
      // Without portmap, every other plugin's CHECK passes against the cached result.
      expect(await driver.check(noPortmapList, att)).toEqual({ ok: true });
    }

    const [ipA, ipB] = results.map(firstIp) as [string, string];
    expect(ipA).not.toBe(ipB);
    expect(await ping(a.netns, ipB)).toBe(true);
    expect(await ping(b.netns, ipA)).toBe(true);

    for (const [i, att] of [b, a].entries()) {
      const result = results[1 - i] as Result;
      const ip = firstIp(result);
      await driver.del(fullList, att);
      for (const link of hostLinks(result, bridge)) expect(await hostLinkExists(host, link)).toBe(false);
      const rules = await netfilterMentions(host, [att.containerId, ip]);
      expect(rules.filter((l) => l.includes(att.containerId))).toEqual([]);
      expect(linesWithIp(rules, ip)).toEqual([]);
      await expect(readFile(cacheFilePath(cacheDir, network, att.containerId, IFNAME))).rejects.toMatchObject({ code: 'ENOENT' });
    }
    // host-local keeps only its lock and round-robin cursor; the bridge stays, as with Go libcni.
    expect((await hostLocalFiles(dataDir, network)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'))).toEqual([]);
    expect(await hostLinkExists(host, bridge)).toBe(true);
    expect(await ping(a.netns, ipB)).toBe(false);
    // Nothing ever reached the real host.
    expect(await netfilterMentions(undefined, [a.containerId, b.containerId])).toEqual([]);
  });
});

describe.each(['0.4.0', '1.0.0'])('engine GC over the Go reference plugins at cniVersion %s', (version) => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await destroyFixture(fx);
    fx = undefined;
  });

  it('GC deletes the cached attachments that are not valid and keeps the valid one', async () => {
    fx = await makeFixture(version);
    const { host, cacheDir, dataDir, network, bridge, fullList } = fx;
    const driver = engineDriver(cacheDir, host, join(fx.dir.path, 'wrappers'));
    const [a, b] = fx.attachments;
    const resA = toCurrentResult(parseResult(await driver.add(fullList, a), version) as AnyResult);
    const resB = toCurrentResult(parseResult(await driver.add(fullList, b), version) as AnyResult);
    // The Go plugins (1.1.1) support spec versions up to 1.0.0, so GC itself is never sent to them:
    // below 1.1.0 the engine, like libcni, only synthesises DELs from its cache (with the cached
    // capability args, so portmap still finds its mappings).
    await driver.gc(fullList, [a]);
    for (const link of hostLinks(resB, bridge)) expect(await hostLinkExists(host, link)).toBe(false);
    expect(await netfilterMentions(host, [b.containerId])).toEqual([]);
    await expect(readFile(cacheFilePath(cacheDir, network, b.containerId, IFNAME))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await hostLocalFiles(dataDir, network)).toContain(firstIp(resA));
    expect(await hostLocalFiles(dataDir, network)).not.toContain(firstIp(resB));
    for (const link of hostLinks(resA, bridge)) expect(await hostLinkExists(host, link)).toBe(true);
    expect((await netfilterMentions(host, [a.containerId])).length).toBeGreaterThan(0);
    await expect(readFile(cacheFilePath(cacheDir, network, a.containerId, IFNAME))).resolves.toBeDefined();
    await driver.del(fullList, a);
    expect(await netfilterMentions(host, [a.containerId])).toEqual([]);
  });
});
