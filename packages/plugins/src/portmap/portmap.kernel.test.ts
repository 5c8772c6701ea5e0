// Kernel tests of portmap with real traffic, for both backends. Each test builds its own little
// world of namespaces so the machine's own rules are never touched: a "host" namespace (where the
// plugin writes its nftables/iptables rules, as a real host would), a sandbox joined to it by a veth
// running test servers, and a client namespace on a second veth. Traffic is checked from the
// client (via the host's address), from the host itself (127.0.0.1 and its own address), and from
// the sandbox to its own mapped port through the host (hairpin), TCP and UDP, IPv4 and IPv6.
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RtNetlink, formatIp } from '@tscni/netlink';
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import type { PluginFuncs } from '@tscni/skel';
import { NetnsPool, ip, netfilterIn, runId } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { chainBin } from '../test-support/cni.js';
import { toolRunner } from '../shared/iptables-restore.js';
import type { CommandRunner } from '../shared/iptables-restore.js';
import { canonicalAddr } from './config.js';
import { portmapPlugin } from './plugin.js';
import type { PortmapDeps } from './plugin.js';
import { NFT_TABLE, dnatChainName } from './nftables.js';
import { dnChainName } from './iptables.js';

const BACKENDS = ['nftables', 'iptables'] as const;
type BackendName = (typeof BACKENDS)[number];

const pool = new NetnsPool();
const servers: ChildProcess[] = [];
let subnetSeq = Math.floor(Math.random() * 120);

afterEach(() => {
  for (const s of servers.splice(0)) {
    if (s.pid !== undefined) {
      try {
        process.kill(-s.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  pool.cleanup();
});

/** Commands in a namespace, for iptables. */
function runnerIn(ns: TestNetns): CommandRunner {
  return (cmd, args, input) => toolRunner('nsenter', [`--net=${ns.path}`, cmd, ...args], input);
}

function depsFor(host: TestNetns): PortmapDeps {
  return {
    netfilter: netfilterIn(host),
    rtnl: () => RtNetlink.open(host.path),
    hostNetns: host.path,
    run: runnerIn(host),
  };
}

interface Invocation {
  code: number;
  json: Record<string, unknown> | undefined;
}

async function invoke(
  funcs: PluginFuncs,
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS',
  conf: Record<string, unknown>,
  env: { containerId?: string; netns?: string; ifName?: string } = {},
): Promise<Invocation> {
  let out = '';
  const code = await pluginMain(funcs, { supportedVersions: SPEC_VERSIONS }, {
    env: {
      CNI_COMMAND: command,
      CNI_PATH: '/nonexistent',
      ...(env.containerId === undefined ? {} : { CNI_CONTAINERID: env.containerId }),
      ...(env.netns === undefined ? {} : { CNI_NETNS: env.netns }),
      ...(env.ifName === undefined ? {} : { CNI_IFNAME: env.ifName }),
    },
    stdin: () => Promise.resolve(new TextEncoder().encode(JSON.stringify(conf))),
    stdout: (s) => {
      out += s;
    },
    stderr: () => {},
    exit: () => {},
  });
  return { code, json: out === '' ? undefined : (JSON.parse(out) as Record<string, unknown>) };
}

interface World {
  host: TestNetns;
  sandbox: TestNetns;
  client: TestNetns;
  /** Host-side veth towards the sandbox. */
  hostVeth: string;
  sb4: string;
  sb6: string;
  /** Host addresses on the client link ("the host's address"). */
  host4: string;
  host6: string;
  client4: string;
  client6: string;
  gw4: string;
  gw6: string;
  prefix4: string;
  prefix6: string;
}

function nextSubnet(): number {
  subnetSeq = (subnetSeq + 1) % 250;
  return subnetSeq;
}

/** host <-veth-> sandbox (10.210.a.0/24, fd00:210:a::/64) and host <-veth-> client (10.210.b.0/24). */
function makeWorld(): World {
  const host = pool.create('tscpmh');
  const sandbox = pool.create('tscpms');
  const client = pool.create('tscpmc');
  const a = nextSubnet();
  const b = nextSubnet();
  const hostVeth = `pmh${runId}${a.toString(36)}`;
  const hostVethC = `pmc${runId}${b.toString(36)}`;
  for (const ns of [host, sandbox, client]) {
    ip(ns, 'link', 'set', 'lo', 'up');
    // Link-local addresses still in DAD delay the first IPv6 neighbour discovery by a second or more.
    sysctlIn(ns, 'net/ipv6/conf/default/accept_dad', '0');
  }
  ip(host, 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sandbox.name);
  ip(host, 'link', 'add', hostVethC, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name);
  const w: World = {
    host,
    sandbox,
    client,
    hostVeth,
    gw4: `10.210.${a}.1`,
    sb4: `10.210.${a}.2`,
    gw6: `fd00:210:${a.toString(16)}::1`,
    sb6: `fd00:210:${a.toString(16)}::2`,
    host4: `10.210.${b}.1`,
    client4: `10.210.${b}.2`,
    host6: `fd00:210:${b.toString(16)}::1`,
    client6: `fd00:210:${b.toString(16)}::2`,
    prefix4: `10.210.${a}.0/24`,
    prefix6: `fd00:210:${a.toString(16)}::/64`,
  };
  ip(host, 'addr', 'add', `${w.gw4}/24`, 'dev', hostVeth);
  ip(host, 'addr', 'add', `${w.gw6}/64`, 'dev', hostVeth, 'nodad');
  ip(host, 'addr', 'add', `${w.host4}/24`, 'dev', hostVethC);
  ip(host, 'addr', 'add', `${w.host6}/64`, 'dev', hostVethC, 'nodad');
  ip(host, 'link', 'set', hostVeth, 'up');
  ip(host, 'link', 'set', hostVethC, 'up');
  ip(sandbox, 'addr', 'add', `${w.sb4}/24`, 'dev', 'eth0');
  ip(sandbox, 'addr', 'add', `${w.sb6}/64`, 'dev', 'eth0', 'nodad');
  ip(sandbox, 'link', 'set', 'eth0', 'up');
  ip(sandbox, 'route', 'add', 'default', 'via', w.gw4);
  ip(sandbox, '-6', 'route', 'add', 'default', 'via', w.gw6);
  ip(client, 'addr', 'add', `${w.client4}/24`, 'dev', 'eth0');
  ip(client, 'addr', 'add', `${w.client6}/64`, 'dev', 'eth0', 'nodad');
  ip(client, 'link', 'set', 'eth0', 'up');
  ip(client, 'route', 'add', 'default', 'via', w.host4);
  ip(client, '-6', 'route', 'add', 'default', 'via', w.host6);
  sysctlIn(host, 'net/ipv4/ip_forward', '1');
  sysctlIn(host, 'net/ipv6/conf/all/forwarding', '1');
  return w;
}

function sysctlIn(ns: TestNetns, key: string, value: string): void {
  const r = spawnSync('nsenter', [`--net=${ns.path}`, 'sh', '-c', `echo ${value} > /proc/sys/${key}`]);
  if (r.status !== 0) throw new Error(`sysctl ${key}: ${r.stderr}`);
}

function readSysctlIn(ns: TestNetns, key: string): string {
  return spawnSync('nsenter', [`--net=${ns.path}`, 'cat', `/proc/sys/${key}`], { encoding: 'utf8' }).stdout.trim();
}

/** TCP and UDP servers (dual-stack) that answer every request with the protocol and the peer address they saw. */
const SERVER = `
const [tcpPort, udpPort] = process.argv.slice(1).map(Number);
let ready = 0;
const up = () => { if (++ready === 2) process.stdout.write('ready\\n'); };
require('net').createServer((s) => { s.on('error', () => {}); s.end('tcp ' + s.remoteAddress + '\\n'); }).listen({ port: tcpPort, host: '::', ipv6Only: false }, up);
const u = require('dgram').createSocket({ type: 'udp6', ipv6Only: false });
u.on('message', (m, r) => u.send('udp ' + r.address + '\\n', r.port, r.address));
u.bind(udpPort, '::', up);
`;

async function startServers(w: World, tcpPort: number, udpPort: number): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', w.sandbox.name, process.execPath, '-e', SERVER, String(tcpPort), String(udpPort)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  servers.push(p);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('test servers did not start')), 10_000);
    p.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.on('exit', (code) => reject(new Error(`test servers exited with ${code}`)));
  });
}

/**
 * A client that sends one request and prints the first answer: TCP reads until the server closes,
 * UDP sends "ping" (from `sport` when given) and waits for one datagram. Exits 1 on error or after
 * `waitMs` (UDP has no refusal, so a test that expects silence shortens it).
 */
const CLIENT = `
const [proto, host, port, sport, wait] = process.argv.slice(1);
const done = (out, code) => { process.stdout.write(out); process.exit(code); };
setTimeout(() => done('', 1), +wait);
if (proto === 'tcp') {
  const s = require('net').connect({ host, port: +port });
  let out = '';
  s.setEncoding('utf8');
  s.on('data', (d) => { out += d; });
  s.on('end', () => done(out, 0));
  s.on('error', () => done('', 1));
  s.end();
} else {
  const s = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (m) => done(m.toString(), 0));
  s.on('error', () => done('', 1));
  s.bind(+sport, () => s.send('ping\\n', +port, host));
}
`;

/** One request from `ns`; the server's answer ("tcp 10.210.3.2": protocol and the peer it saw), or undefined. */
function request(ns: TestNetns, proto: 'tcp' | 'udp', host: string, port: number, opts: { sport?: number; waitMs?: number } = {}): string | undefined {
  const args = [proto, host, String(port), String(opts.sport ?? 0), String(opts.waitMs ?? 4000)];
  const r = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', CLIENT, ...args], {
    encoding: 'utf8',
    timeout: 8_000,
  });
  const out = r.stdout.trim();
  if (out === '') return undefined;
  // The dual-stack server sees IPv4 peers as ::ffff:a.b.c.d; report those as a.b.c.d.
  const [p, peer = ''] = out.split(' ');
  const addr = canonicalAddr(peer);
  return addr === undefined ? out : `${p} ${formatIp(addr)}`;
}

function prevResult(w: World, opts: { v6?: boolean; host?: number } = {}): Record<string, unknown> {
  const sb4 = opts.host === undefined ? w.sb4 : w.sb4.replace(/\.2$/, `.${opts.host}`);
  const sb6 = opts.host === undefined ? w.sb6 : w.sb6.replace(/::2$/, `::${opts.host.toString(16)}`);
  const ips: Array<Record<string, unknown>> = [{ address: `${sb4}/24`, gateway: w.gw4, interface: 1 }];
  if (opts.v6 !== false) ips.push({ address: `${sb6}/64`, gateway: w.gw6, interface: 1 });
  return {
    cniVersion: '1.1.0',
    interfaces: [{ name: w.hostVeth }, { name: 'eth0', sandbox: w.sandbox.path }],
    ips,
  };
}

function config(net: string, backend: BackendName, mappings: unknown[], prev: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.1.0', name: net, type: 'portmap', backend, runtimeConfig: { portMappings: mappings }, prevResult: prev, ...extra };
}

/** `conntrack -L` of UDP flows to `port` in a namespace. */
function conntrackUdp(ns: TestNetns, port: number): string {
  return spawnSync('ip', ['netns', 'exec', ns.name, 'conntrack', '-L', '-p', 'udp', '--dport', String(port)], { encoding: 'utf8' }).stdout;
}

function nftList(ns: TestNetns, family: 'ip' | 'ip6'): string {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', family, NFT_TABLE], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/** Handles of the rules in the IPv4 base chains (a rewrite gives new ones). */
function baseHandles(ns: TestNetns): Record<string, number[]> {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'table', 'ip', NFT_TABLE], { encoding: 'utf8' });
  const out: Record<string, number[]> = { prerouting: [], output: [], postrouting: [] };
  for (const item of (JSON.parse(r.stdout) as { nftables: Array<{ rule?: { chain: string; handle: number } }> }).nftables) {
    if (item.rule !== undefined && item.rule.chain in out) out[item.rule.chain]!.push(item.rule.handle);
  }
  return out;
}

function iptSave(ns: TestNetns, v: 4 | 6): string {
  return spawnSync('ip', ['netns', 'exec', ns.name, v === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'nat'], { encoding: 'utf8' }).stdout;
}

/** Everything the backend holds for the host namespace, as text. */
function ruleset(w: World, backend: BackendName): string {
  return backend === 'nftables' ? nftList(w.host, 'ip') + nftList(w.host, 'ip6') : iptSave(w.host, 4) + iptSave(w.host, 6);
}

describe.each(BACKENDS)('portmap (%s backend)', (backend) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld();
  });

  it('forwards TCP and UDP over IPv4 and IPv6 from a client, from the host and hairpin; DEL removes it', async () => {
    const plugin = portmapPlugin(depsFor(w.host));
    await startServers(w, 80, 81);
    const env = { containerId: `ctr-${runId}`, netns: w.sandbox.path, ifName: 'eth0' };
    const conf = config(`pm-${backend}`, backend, [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 8081, containerPort: 81, protocol: 'udp' },
    ], prevResult(w));

    // Nothing answers before the mapping exists.
    expect(request(w.client, 'tcp', w.host4, 8080)).toBeUndefined();

    const add = await invoke(plugin, 'ADD', conf, env);
    expect(add.code, JSON.stringify(add.json)).toBe(0);
    expect(add.json?.['ips']).toEqual(prevResult(w)['ips']);

    // From the client namespace, through the host's address on its veth: no SNAT (the server sees the client).
    expect(request(w.client, 'tcp', w.host4, 8080)).toBe(`tcp ${w.client4}`);
    expect(request(w.client, 'udp', w.host4, 8081)).toBe(`udp ${w.client4}`);
    expect(request(w.client, 'tcp', w.host6, 8080)).toBe(`tcp ${w.client6}`);
    expect(request(w.client, 'udp', w.host6, 8081)).toBe(`udp ${w.client6}`);

    // From the host itself: localhost (IPv4 only in Linux) is masqueraded to the host's veth address.
    expect(readSysctlIn(w.host, `net/ipv4/conf/${w.hostVeth}/route_localnet`)).toBe('1');
    expect(request(w.host, 'tcp', '127.0.0.1', 8080)).toBe(`tcp ${w.gw4}`);
    expect(request(w.host, 'udp', '127.0.0.1', 8081)).toBe(`udp ${w.gw4}`);
    expect(request(w.host, 'tcp', w.host4, 8080)).toMatch(/^tcp /);
    expect(request(w.host, 'udp', w.host6, 8081)).toMatch(/^udp /);
    expect(request(w.host, 'tcp', w.host6, 8080)).toMatch(/^tcp /);

    // Hairpin: the sandbox reaches its own mapped port through the host and sees the host, not itself.
    expect(request(w.sandbox, 'tcp', w.host4, 8080)).toBe(`tcp ${w.gw4}`);
    expect(request(w.sandbox, 'udp', w.host4, 8081)).toBe(`udp ${w.gw4}`);
    expect(request(w.sandbox, 'tcp', w.host6, 8080)).toBe(`tcp ${w.gw6}`);

    const check = await invoke(plugin, 'CHECK', conf, env);
    expect(check.code, JSON.stringify(check.json)).toBe(0);

    const del = await invoke(plugin, 'DEL', { ...conf, prevResult: undefined, runtimeConfig: undefined }, env);
    expect(del.code, JSON.stringify(del.json)).toBe(0);
    expect(request(w.client, 'tcp', w.host4, 8080)).toBeUndefined();
    expect(request(w.client, 'tcp', w.host6, 8080)).toBeUndefined();
    expect(request(w.host, 'tcp', '127.0.0.1', 8080)).toBeUndefined();
    const left = ruleset(w, backend);
    expect(left).not.toContain(backend === 'nftables' ? dnatChainName({ network: `pm-${backend}`, containerId: env.containerId, ifName: 'eth0' }) : dnChainName({ network: `pm-${backend}`, containerId: env.containerId, ifName: 'eth0' }));

    // DEL again (and without any configuration left) is fine.
    expect((await invoke(plugin, 'DEL', { ...conf, prevResult: undefined }, env)).code).toBe(0);
    // CHECK now fails: the rules are gone.
    expect((await invoke(plugin, 'CHECK', conf, env)).code).toBe(1);
  });

  it('maps a host IP only for that address, and sctp/hostIP keys round-trip through CHECK and DEL', async () => {
    const plugin = portmapPlugin(depsFor(w.host));
    await startServers(w, 80, 81);
    const env = { containerId: `hip-${runId}`, netns: w.sandbox.path, ifName: 'eth0' };
    const conf = config(`pmh-${backend}`, backend, [
      { hostPort: 9080, containerPort: 80, protocol: 'tcp', hostIP: w.host4 },
      { hostPort: 9080, containerPort: 80, protocol: 'tcp', hostIP: w.host6 },
      { hostPort: 9132, containerPort: 80, protocol: 'sctp' },
    ], prevResult(w));
    expect((await invoke(plugin, 'ADD', conf, env)).code).toBe(0);
    expect(request(w.client, 'tcp', w.host4, 9080)).toBe(`tcp ${w.client4}`);
    expect(request(w.client, 'tcp', w.host6, 9080)).toBe(`tcp ${w.client6}`);
    // The host's other address (on the sandbox veth) is not mapped.
    expect(request(w.client, 'tcp', w.gw4, 9080)).toBeUndefined();
    expect((await invoke(plugin, 'CHECK', conf, env)).code).toBe(0);
    expect((await invoke(plugin, 'DEL', conf, env)).code).toBe(0);
    expect(request(w.client, 'tcp', w.host4, 9080)).toBeUndefined();
  });

  it('CHECK passes on an IPv4-only sandbox and fails once a rule is missing', async () => {
    const plugin = portmapPlugin(depsFor(w.host));
    const env = { containerId: `chk-${runId}`, netns: w.sandbox.path, ifName: 'eth0' };
    const conf = config(`pmc-${backend}`, backend, [{ hostPort: 8443, containerPort: 443, protocol: 'tcp' }], prevResult(w, { v6: false }));
    expect((await invoke(plugin, 'ADD', conf, env)).code).toBe(0);
    expect((await invoke(plugin, 'CHECK', conf, env)).code).toBe(0);
    // Another mapping than the one installed is reported.
    const other = config(`pmc-${backend}`, backend, [{ hostPort: 8444, containerPort: 443, protocol: 'tcp' }], prevResult(w, { v6: false }));
    const bad = await invoke(plugin, 'CHECK', other, env);
    expect(bad.code).toBe(1);
    expect(String(bad.json?.['msg'])).toContain('8444');
    // No port mappings: CHECK passes through.
    expect((await invoke(plugin, 'CHECK', config(`pmc-${backend}`, backend, [], prevResult(w)), env)).code).toBe(0);
    // Someone empties the attachment's chain: CHECK notices, and ADD again repairs it.
    const owner = { network: `pmc-${backend}`, containerId: env.containerId, ifName: 'eth0' };
    const flush = backend === 'nftables' ? ['nft', 'flush', 'chain', 'ip', NFT_TABLE, dnatChainName(owner)] : ['iptables', '-t', 'nat', '-F', dnChainName(owner)];
    expect(spawnSync('ip', ['netns', 'exec', w.host.name, ...flush]).status).toBe(0);
    expect((await invoke(plugin, 'CHECK', conf, env)).code).toBe(1);
    expect((await invoke(plugin, 'ADD', conf, env)).code).toBe(0);
    expect((await invoke(plugin, 'CHECK', conf, env)).code).toBe(0);
    if (backend === 'nftables') {
      // A base rule that keeps its comment but not its expressions is noticed and repaired too.
      const handle = baseHandles(w.host)['postrouting']![0]!;
      const replace = ['nft', 'replace', 'rule', 'ip', NFT_TABLE, 'postrouting', 'handle', String(handle), 'counter', 'comment', '"masq_targets lookup"'];
      expect(spawnSync('ip', ['netns', 'exec', w.host.name, ...replace]).status).toBe(0);
      const changed = await invoke(plugin, 'CHECK', conf, env);
      expect(changed.code).toBe(1);
      expect(String(changed.json?.['msg'])).toContain('base chains');
      expect((await invoke(plugin, 'ADD', conf, env)).code).toBe(0);
      expect((await invoke(plugin, 'CHECK', conf, env)).code).toBe(0);
    }
    expect((await invoke(plugin, 'DEL', conf, env)).code).toBe(0);
  });

  it('GC keeps only the valid attachment out of five', async () => {
    const plugin = portmapPlugin(depsFor(w.host));
    const net = `pmgc-${backend}`;
    const ids = [0, 1, 2, 3, 4].map((i) => `gc${i}-${runId}`);
    let base: Record<string, number[]> | undefined;
    for (const [i, id] of ids.entries()) {
      const conf = config(net, backend, [{ hostPort: 7000 + i, containerPort: 80, protocol: 'tcp' }], prevResult(w, { host: 10 + i }));
      expect((await invoke(plugin, 'ADD', conf, { containerId: id, netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);
      // nftables: the first ADD writes the base chains, the later ones find them in place and leave them.
      if (backend === 'nftables') {
        base ??= baseHandles(w.host);
        expect(baseHandles(w.host)).toEqual(base);
      }
    }
    // An attachment of another network must survive this network's GC.
    const foreign = config(`${net}-other`, backend, [{ hostPort: 7100, containerPort: 80, protocol: 'tcp' }], prevResult(w, { host: 20 }));
    expect((await invoke(plugin, 'ADD', foreign, { containerId: 'other', netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);

    const gcConf = { cniVersion: '1.1.0', name: net, type: 'portmap', backend, 'cni.dev/valid-attachments': [{ containerID: ids[2], ifname: 'eth0' }] };
    const gc = await invoke(plugin, 'GC', gcConf);
    expect(gc.code, JSON.stringify(gc.json)).toBe(0);

    const text = ruleset(w, backend);
    const chain = (id: string, network = net) =>
      backend === 'nftables' ? dnatChainName({ network, containerId: id, ifName: 'eth0' }) : dnChainName({ network, containerId: id, ifName: 'eth0' });
    for (const [i, id] of ids.entries()) {
      if (i === 2) expect(text).toContain(chain(id));
      else expect(text).not.toContain(chain(id));
    }
    expect(text).toContain(chain('other', `${net}-other`));
    expect(text).toContain('7002');
    expect(text).not.toContain('7000');
    // The survivor still passes CHECK.
    const keep = config(net, backend, [{ hostPort: 7002, containerPort: 80, protocol: 'tcp' }], prevResult(w, { host: 12 }));
    const ck = await invoke(plugin, 'CHECK', keep, { containerId: ids[2]!, netns: w.sandbox.path, ifName: 'eth0' });
    expect(ck.code, JSON.stringify(ck.json)).toBe(0);
  });

  it('ADD deletes stale UDP conntrack entries of the mapped host ports', async () => {
    const plugin = portmapPlugin(depsFor(w.host));
    await startServers(w, 80, 81);
    // Another container's mapping already exists (it also makes the namespace track connections).
    const first = config(`pmct-${backend}`, backend, [{ hostPort: 5353, containerPort: 81, protocol: 'udp' }], prevResult(w, { host: 30 }));
    expect((await invoke(plugin, 'ADD', first, { containerId: 'ct0', netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);
    // A UDP flow to the host port before the mapping exists: the host answers "port unreachable",
    // and conntrack keeps the (un-NATed) entry, which would capture the same flow after ADD.
    expect(request(w.client, 'udp', w.host4, 8081, { sport: 40001, waitMs: 500 })).toBeUndefined();
    expect(conntrackUdp(w.host, 8081)).toContain('sport=40001');
    const conf = config(`pmct-${backend}`, backend, [{ hostPort: 8081, containerPort: 81, protocol: 'udp' }], prevResult(w));
    expect((await invoke(plugin, 'ADD', conf, { containerId: 'ct', netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);
    expect(conntrackUdp(w.host, 8081)).not.toContain('sport=40001');
    expect(request(w.client, 'udp', w.host4, 8081, { sport: 40001 })).toBe(`udp ${w.client4}`);
  });

  it('STATUS is ok when the backend is usable', async () => {
    const plugin = portmapPlugin(depsFor(w.host));
    const st = await invoke(plugin, 'STATUS', { cniVersion: '1.1.0', name: 'pmst', type: 'portmap', backend });
    expect(st.code, JSON.stringify(st.json)).toBe(0);
  });
});

describe('portmap backend specifics', () => {
  it('nftables: a host port held by another attachment is refused, naming the holder', async () => {
    const w = makeWorld();
    const plugin = portmapPlugin(depsFor(w.host));
    const conf = config('pmx', 'nftables', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], prevResult(w));
    expect((await invoke(plugin, 'ADD', conf, { containerId: 'first', netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);
    // The same attachment again (a retried ADD) is fine and leaves one rule.
    expect((await invoke(plugin, 'ADD', conf, { containerId: 'first', netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);
    const second = await invoke(plugin, 'ADD', conf, { containerId: 'second', netns: w.sandbox.path, ifName: 'eth0' });
    expect(second.code).toBe(1);
    expect(second.json?.['code']).toBe(7);
    expect(String(second.json?.['msg'])).toContain('container first');
    expect(nftList(w.host, 'ip').match(/ dnat to /g)).toHaveLength(1);
  });

  it('STATUS fails with code 50 when the chosen backend cannot work', async () => {
    const w = makeWorld();
    const broken: PortmapDeps = {
      ...depsFor(w.host),
      run: () => Promise.resolve({ code: 1, stdout: '', stderr: 'iptables: permission denied' }),
      netfilter: () => {
        throw Object.assign(new Error('socket: permission denied'), { code: 'EACCES' });
      },
    };
    const plugin = portmapPlugin(broken);
    for (const backend of [undefined, 'iptables', 'nftables']) {
      const st = await invoke(plugin, 'STATUS', { cniVersion: '1.1.0', name: 'pmst', type: 'portmap', ...(backend ? { backend } : {}) });
      expect(st.code).toBe(1);
      expect(st.json?.['code']).toBe(50);
    }
  });

  it('iptables: coexists with the Go reference portmap (its DEL removes our rules and ours removes its)', async () => {
    const w = makeWorld();
    const plugin = portmapPlugin(depsFor(w.host));
    const go = (command: string, conf: unknown, id: string) =>
      spawnSync('ip', ['netns', 'exec', w.host.name, '/usr/lib/cni/portmap'], {
        input: JSON.stringify(conf),
        encoding: 'utf8',
        env: { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: w.sandbox.path, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', PATH: process.env['PATH'] ?? '' },
      });
    const prev = { ...prevResult(w), cniVersion: '1.0.0' };
    const goConf = { cniVersion: '1.0.0', name: 'pmgo', type: 'portmap', runtimeConfig: { portMappings: [{ hostPort: 8090, containerPort: 80, protocol: 'tcp' }] }, prevResult: prev };
    const ours = config('pmgo', 'iptables', [{ hostPort: 8091, containerPort: 80, protocol: 'tcp' }], prevResult(w));
    await startServers(w, 80, 81);
    expect(go('ADD', goConf, 'go-ctr').status).toBe(0);
    expect((await invoke(plugin, 'ADD', ours, { containerId: 'ts-ctr', netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);
    expect(request(w.client, 'tcp', w.host4, 8090)).toMatch(/^tcp /);
    expect(request(w.client, 'tcp', w.host4, 8091)).toMatch(/^tcp /);
    // Shared chains exist once.
    expect(iptSave(w.host, 4).match(/^-A PREROUTING .*CNI-HOSTPORT-DNAT$/gm)).toHaveLength(1);
    // Go's DEL of our attachment (same chain name) and our DEL of Go's.
    expect(go('DEL', { ...goConf, runtimeConfig: { portMappings: [{ hostPort: 8091, containerPort: 80, protocol: 'tcp' }] } }, 'ts-ctr').status).toBe(0);
    expect(request(w.client, 'tcp', w.host4, 8091)).toBeUndefined();
    expect((await invoke(plugin, 'DEL', config('pmgo', 'iptables', [], undefined), { containerId: 'go-ctr', netns: w.sandbox.path, ifName: 'eth0' })).code).toBe(0);
    expect(request(w.client, 'tcp', w.host4, 8090)).toBeUndefined();
    expect(iptSave(w.host, 4)).not.toMatch(/CNI-DN-/);
  });

  it('the bundled executable (cold exec, no PATH; automatic and iptables backends) forwards, checks and removes', async () => {
    const w = makeWorld();
    const bin = chainBin(['portmap']);
    try {
      await startServers(w, 80, 81);
      const conf = { cniVersion: '1.0.0', name: 'pmexe', type: 'portmap', runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }, prevResult: { ...prevResult(w), cniVersion: '1.0.0' } };
      const exe = (command: string, c: unknown) =>
        spawnSync('ip', ['netns', 'exec', w.host.name, join(bin, 'portmap')], {
          input: JSON.stringify(c),
          encoding: 'utf8',
          env: { CNI_COMMAND: command, CNI_CONTAINERID: 'exe', CNI_NETNS: w.sandbox.path, CNI_IFNAME: 'eth0', CNI_PATH: bin },
        });
      const add = exe('ADD', conf);
      expect(add.status, add.stdout + add.stderr).toBe(0);
      expect(JSON.parse(add.stdout)).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: `${w.sb4}/24` }, { address: `${w.sb6}/64` }] });
      expect(nftList(w.host, 'ip')).toContain('dnat to');
      expect(request(w.client, 'tcp', w.host4, 8080)).toBe(`tcp ${w.client4}`);
      expect(request(w.host, 'tcp', '127.0.0.1', 8080)).toBe(`tcp ${w.gw4}`);
      expect(exe('CHECK', conf).status).toBe(0);
      const noPrev = exe('ADD', { ...conf, prevResult: undefined });
      expect(JSON.parse(noPrev.stdout)).toMatchObject({ code: 7, msg: 'must be called as chained plugin' });
      expect(exe('DEL', { cniVersion: '1.0.0', name: 'pmexe', type: 'portmap' }).status).toBe(0);
      expect(request(w.client, 'tcp', w.host4, 8080)).toBeUndefined();
      const status = exe('STATUS', { cniVersion: '1.1.0', name: 'pmexe', type: 'portmap' });
      expect(status.status, status.stdout).toBe(0);
      // Started without PATH, as some runtimes do: the iptables tools are still found (in sbin).
      const ipt = { ...conf, backend: 'iptables' };
      const iptAdd = exe('ADD', ipt);
      expect(iptAdd.status, iptAdd.stdout).toBe(0);
      expect(request(w.client, 'tcp', w.host4, 8080)).toBe(`tcp ${w.client4}`);
      expect(exe('DEL', ipt).status).toBe(0);
      expect(request(w.client, 'tcp', w.host4, 8080)).toBeUndefined();
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
