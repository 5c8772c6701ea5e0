// Interop (chained plugins): the whole chain a Podman 4 network uses (bridge + host-local, portmap,
// firewall, tuning) plus bandwidth, all tscni's, driven the way Podman drives it (VERSION, ADD, DEL;
// K8S_* CNI_ARGS with IgnoreUnknown, IP=/MAC= for static addresses, capabilities portMappings,
// bandwidth and mac) by Go libcni and by @tscni/engine, inside a stand-in host namespace.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CniEngine, netConfListFromFile } from '@tscni/engine';
import { formatResult, parseResult, toCurrentResult } from '@tscni/spec';
import type { AnyResult, CapabilityArgs, Result } from '@tscni/spec';
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
  goRuntime,
  goRuntimeVersions,
  hostLocalReservations,
  installOurPlugins,
  linkNames,
  linesWithIp,
  netfilterMentions,
  runInOk,
  startTcpServer,
  subnet240,
  tcpRequest,
} from './harness.js';
import type { Netns, TcpServer } from './harness.js';

const IFNAME = 'eth0';
// Podman leaves these plugins' state directories at their defaults.
const HOST_LOCAL_DIR = '/var/lib/cni/networks';
const TUNING_DIR = '/run/cni/tuning';
// The client reaches the host over a veth pair of its own: host end .1, client .2.
const HOST_ADDR = '10.240.0.1';
const CLIENT_ADDR = '10.240.0.2';

interface Sandbox {
  netns: Netns;
  containerId: string;
  args: Array<[string, string]>;
  capArgs: CapabilityArgs;
  hostPort: number;
  /** What the test asked for (IP= / MAC= / capability mac); the IP is host-local's choice when unset. */
  wantIp?: string;
  wantMac: string;
  result?: Result;
}

interface Runtime {
  check(conflist: string, s: Sandbox): Promise<void>;
  versions(conflist: string): Promise<Record<string, string[]>>;
  add(conflist: string, s: Sandbox): Promise<Record<string, unknown>>;
  del(conflist: string, s: Sandbox): Promise<void>;
}

function goDriver(cniPath: string, cacheDir: string, host: Netns): Runtime {
  const opts = (s: Sandbox) => ({
    cniPath,
    cacheDir,
    host,
    containerId: s.containerId,
    ifName: IFNAME,
    cniArgs: s.args.map(([k, v]) => `${k}=${v}`).join(';'),
    capArgs: s.capArgs,
  });
  return {
    async versions(conflist) {
      const decoded = await goRuntimeVersions(conflist, cniPath);
      return Object.fromEntries(Object.entries(decoded).map(([t, v]) => [t, v.supportedVersions]));
    },
    async add(conflist, s) {
      const r = await goRuntime('add', conflist, s.netns.path, opts(s));
      if (r.code !== 0 || r.stderr !== '') throw new Error(`go-cni-runtime add exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    },
    async check(conflist, s) {
      const r = await goRuntime('check', conflist, s.netns.path, opts(s));
      if (r.code !== 0 || r.stderr !== '') throw new Error(`go-cni-runtime check exited ${r.code}: ${r.stderr}`);
    },
    async del(conflist, s) {
      const r = await goRuntime('del', conflist, s.netns.path, opts(s));
      if (r.code !== 0 || r.stderr !== '') throw new Error(`go-cni-runtime del exited ${r.code}: ${r.stderr}`);
    },
  };
}

function engineDriver(cniPath: string, cacheDir: string, host: Netns, wrapperDir: string): Runtime {
  const engine = new CniEngine({ path: [cniPath], cacheDir, exec: new NetnsPluginExec(host, wrapperDir) });
  const rt = (s: Sandbox) => ({ containerId: s.containerId, netns: s.netns.path, ifName: IFNAME, args: s.args, capabilityArgs: s.capArgs });
  return {
    async versions(conflist) {
      const list = await netConfListFromFile(conflist);
      // What a runtime checks before use: every plugin there, the list's version supported, and the
      // capabilities the list enables.
      expect(await engine.validateNetworkList(list)).toEqual(['bandwidth', 'mac', 'portMappings']);
      const out: Record<string, string[]> = {};
      for (const p of list.plugins) out[p.network.type] = (await engine.getVersionInfo(p.network.type)).supportedVersions;
      return out;
    },
    async add(conflist, s) {
      const result = await engine.addNetworkList(await netConfListFromFile(conflist), rt(s));
      return JSON.parse(formatResult(result)) as Record<string, unknown>;
    },
    async check(conflist, s) {
      await engine.checkNetworkList(await netConfListFromFile(conflist), rt(s));
    },
    async del(conflist, s) {
      await engine.delNetworkList(await netConfListFromFile(conflist), rt(s));
    },
  };
}



interface Qdisc {
  kind: string;
  handle: string;
  root?: boolean;
  options?: { rate?: number; burst?: number };
}

async function qdiscs(host: Netns, dev: string): Promise<Qdisc[]> {
  return JSON.parse(await runInOk(host, 'tc', ['-j', 'qdisc', 'show', 'dev', dev])) as Qdisc[];
}

function randomMac(): string {
  const b = Array.from({ length: 5 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0'));
  return `02:${b.join(':')}`;
}

let ours: TempDir;

beforeAll(async () => {
  ours = await makeTempDir('tscni-ours-');
  await installOurPlugins(ours.path);
}, 120_000);

afterAll(async () => {
  await ours?.remove();
});

const BANDWIDTH = { ingressRate: 16_000_000, ingressBurst: 160_000, egressRate: 8_000_000, egressBurst: 80_000 };

describe.each([
  ['Go libcni', '0.4.0'],
  ['Go libcni', '1.0.0'],
  ['@tscni/engine', '0.4.0'],
  ['@tscni/engine', '1.0.0'],
] as const)('%s runs the full tscni chain the way Podman 4 does, at cniVersion %s', (runtimeName, version) => {
  let dir: TempDir | undefined;
  let host: Netns | undefined;
  let client: Netns | undefined;
  let network = '';
  let sandboxes: Sandbox[] = [];
  let servers: TcpServer[] = [];

  afterEach(async () => {
    for (const s of servers) s.stop();
    for (const s of sandboxes) {
      await deleteNetns(s.netns);
      await rm(join(TUNING_DIR, `${s.containerId}_${IFNAME}.json`), { force: true });
    }
    if (client !== undefined) await deleteNetns(client);
    if (host !== undefined) await deleteNetns(host);
    if (network !== '') await rm(join(HOST_LOCAL_DIR, network), { recursive: true, force: true });
    await dir?.remove();
    dir = host = client = undefined;
    network = '';
    sandboxes = [];
    servers = [];
  });

  it('VERSION, ADD (static IP/MAC, mapped ports, limits), CHECK, traffic through the mapped ports, DEL; nothing is left', async () => {
    dir = await makeTempDir('tscni-chain-');
    host = await createStandInHost();
    client = await createNetns('tscclient');
    const hostEnd = uniqueName('tscvh', 12);
    await runInOk(host, 'ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name]);
    await runInOk(host, 'ip', ['addr', 'add', `${HOST_ADDR}/30`, 'dev', hostEnd]);
    await runInOk(host, 'ip', ['link', 'set', hostEnd, 'up']);
    await runInOk(client, 'ip', ['addr', 'add', `${CLIENT_ADDR}/30`, 'dev', 'eth0']);
    await runInOk(client, 'ip', ['link', 'set', 'eth0', 'up']);
    await runInOk(client, 'ip', ['link', 'set', 'lo', 'up']);

    network = uniqueName('tscchain-', 18);
    const bridge = uniqueName('tscbr', 12);
    const { subnet, prefix } = subnet240();
    const cacheDir = join(dir.path, 'cache');
    const conflist = join(dir.path, `${network}.conflist`);
    // Podman 4's generated bridge network (containers/common libnetwork/cni), with bandwidth added.
    await writeFile(
      conflist,
      JSON.stringify(
        {
          cniVersion: version,
          name: network,
          plugins: [
            {
              type: 'bridge',
              bridge,
              isGateway: true,
              ipMasq: true,
              hairpinMode: true,
              ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet, gateway: `${prefix}1` }]] },
            },
            { type: 'portmap', capabilities: { portMappings: true } },
            { type: 'bandwidth', capabilities: { bandwidth: true } },
            { type: 'firewall', backend: '' },
            { type: 'tuning', capabilities: { mac: true } },
          ],
        },
        null,
        2,
      ),
    );
    const runtime = runtimeName === 'Go libcni' ? goDriver(ours.path, cacheDir, host) : engineDriver(ours.path, cacheDir, host, join(dir.path, 'wrappers'));

    for (let i = 0; i < 2; i++) {
      const containerId = uniqueName('', 32);
      const hostPort = 20000 + i * 10000 + Math.floor(Math.random() * 10000);
      const podArgs: Array<[string, string]> = [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAMESPACE', 'default'],
        ['K8S_POD_NAME', `web-${i}`],
        ['K8S_POD_INFRA_CONTAINER_ID', containerId],
      ];
      const mac = randomMac();
      const capArgs: CapabilityArgs = { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }], bandwidth: BANDWIDTH };
      // The first sandbox asks for its address and MAC in CNI_ARGS, the second for its MAC as a capability.
      const sandbox: Sandbox =
        i === 0
          ? { netns: await createNetns('tscpod'), containerId, hostPort, wantIp: `${prefix}77`, wantMac: mac, capArgs, args: [...podArgs, ['IP', `${prefix}77`], ['MAC', mac]] }
          : { netns: await createNetns('tscpod'), containerId, hostPort, wantMac: mac, capArgs: { ...capArgs, mac }, args: podArgs };
      sandboxes.push(sandbox);
    }

    // VERSION: what the runtime decodes from each plugin of the list.
    const versions = await runtime.versions(conflist);
    for (const type of ['bridge', 'portmap', 'tuning']) expect(versions[type]).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    expect(versions['bandwidth']).toEqual(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    expect(versions['firewall']).toEqual(['0.4.0', '1.0.0', '1.1.0']);

    for (const s of sandboxes) {
      const json = await runtime.add(conflist, s);
      expect(json['cniVersion']).toBe(version);
      const result = toCurrentResult(parseResult(json, version) as AnyResult);
      s.result = result;
      const ip = firstIp(result);
      if (s.wantIp !== undefined) expect(ip).toBe(s.wantIp);
      expect(ip.startsWith(prefix)).toBe(true);
      expect(result.ips?.[0]?.gateway).toBe(`${prefix}1`);

      // Interfaces: [bridge, host veth, container eth0 (with the requested MAC), ifb].
      const names = (result.interfaces ?? []).map((x) => x.name);
      expect(names[0]).toBe(bridge);
      const container = result.interfaces?.find((x) => x.sandbox !== undefined);
      expect(container).toMatchObject({ name: IFNAME, sandbox: s.netns.path, mac: s.wantMac });
      const veth = result.interfaces?.find((x) => x.sandbox === undefined && x.name.startsWith('veth'))?.name ?? '';
      const ifb = result.interfaces?.find((x) => x.name.startsWith('bwp'))?.name ?? '';
      expect(veth).not.toBe('');
      expect(ifb).not.toBe('');
      const link = JSON.parse(await runInOk(s.netns, 'ip', ['-j', 'addr', 'show', 'dev', IFNAME])) as Array<{ address: string; addr_info: Array<{ local: string; prefixlen: number }> }>;
      expect(link[0]?.address).toBe(s.wantMac);
      expect(link[0]?.addr_info).toEqual(expect.arrayContaining([expect.objectContaining({ local: ip, prefixlen: 24 })]));
      expect(await runInOk(s.netns, 'ip', ['-4', 'route', 'show', 'default'])).toContain(`via ${prefix}1`);

      // The limits as tc sees them: tbf on the host veth (to the container) and on the ifb (from it).
      const onVeth = await qdiscs(host, veth);
      expect(onVeth.find((q) => q.root === true)).toMatchObject({ kind: 'tbf', options: { rate: BANDWIDTH.ingressRate / 8, burst: BANDWIDTH.ingressBurst / 8 } });
      expect(onVeth.some((q) => q.kind === 'ingress')).toBe(true);
      expect((await qdiscs(host, ifb)).find((q) => q.root === true)).toMatchObject({ kind: 'tbf', options: { rate: BANDWIDTH.egressRate / 8, burst: BANDWIDTH.egressBurst / 8 } });

      // portmap's DNAT and firewall's accept rules for this address; tuning's backup; host-local's file.
      const rules = await netfilterMentions(host, [ip]);
      expect(rules.some((l) => l.includes(`${ip}:80`) && l.includes(String(s.hostPort)))).toBe(true);
      expect(linesWithIp(rules, ip).some((l) => l.includes('accept') || l.includes('ACCEPT'))).toBe(true);
      expect(await filesIn(TUNING_DIR)).toContain(`${s.containerId}_${IFNAME}.json`);
      expect(await hostLocalReservations(HOST_LOCAL_DIR, network)).toContain(ip);
      await expect(readFile(cacheFilePath(cacheDir, network, s.containerId, IFNAME), 'utf8')).resolves.toContain(s.containerId);
    }

    // Podman sends no CHECK; a runtime that does gets success for both, also for the first sandbox
    // after the second joined the bridge.
    for (const s of sandboxes) await runtime.check(conflist, s);
    // A TCP server in each sandbox answers the client through the host's address and the mapped port.
    for (const [i, s] of sandboxes.entries()) servers.push(await startTcpServer(s.netns, 80, `pod-${i}`));
    for (const [i, s] of sandboxes.entries()) {
      expect(await tcpRequest(client, HOST_ADDR, s.hostPort)).toBe(`pod-${i} ${CLIENT_ADDR}`);
    }
    // Hairpin: the first sandbox reaches the second through the gateway's mapped port, masqueraded
    // (portmap's `snat`, on by default) to the bridge address so the reply comes back the same way.
    expect(await tcpRequest(sandboxes[0]?.netns as Netns, `${prefix}1`, sandboxes[1]?.hostPort ?? 0)).toBe(`pod-1 ${prefix}1`);
    for (const srv of servers) srv.stop();
    servers = [];

    for (const s of [...sandboxes].reverse()) {
      await runtime.del(conflist, s);
      const result = s.result as Result;
      const ip = firstIp(result);
      const hostSide = (result.interfaces ?? []).filter((x) => x.sandbox === undefined && x.name !== bridge).map((x) => x.name);
      expect(hostSide).toHaveLength(2); // veth + ifb
      expect(await eventually(async () => !(await linkNames(host as Netns)).some((l) => hostSide.includes(l)), 30_000)).toBe(true);
      const rules = await netfilterMentions(host, [s.containerId, ip]);
      expect(rules.filter((l) => l.includes(s.containerId))).toEqual([]);
      expect(linesWithIp(rules, ip)).toEqual([]);
      expect(await filesIn(TUNING_DIR)).not.toContain(`${s.containerId}_${IFNAME}.json`);
      await expect(readFile(cacheFilePath(cacheDir, network, s.containerId, IFNAME))).rejects.toMatchObject({ code: 'ENOENT' });
    }
    // DEL again (a runtime retrying, now without a cache entry) succeeds and changes nothing.
    for (const s of sandboxes) await runtime.del(conflist, s);
    expect(await hostLocalReservations(HOST_LOCAL_DIR, network)).toEqual([]);
    expect((await linkNames(host)).sort()).toEqual([bridge, hostEnd, 'lo'].sort());
    expect(await filesIn(join(cacheDir, 'results'))).toEqual([]);
    // The mapped ports answer no more.
    expect(await tcpRequest(client, HOST_ADDR, sandboxes[0]?.hostPort ?? 0)).toBeUndefined();
    // Nothing ever reached the real host.
    expect(await netfilterMentions(undefined, sandboxes.map((s) => s.containerId))).toEqual([]);
  }, 180_000);
});
