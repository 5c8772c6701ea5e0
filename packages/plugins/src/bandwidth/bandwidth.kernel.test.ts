// Kernel tests of the bundled bandwidth executable chained after the reference bridge + host-local:
// shaping measured with iperf3 in both directions, the tc state read with `tc -j`, CHECK and DEL in
// both directions against the reference bandwidth plugin, GC and STATUS.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetnsPool, ip, ipQuiet, runId, uniq } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { REFERENCE_DIR, chainBin, referenceSkipReason, runExecutable, succeeded } from '../test-support/cni.js';
import type { CniEnv, PluginRun } from '../test-support/cni.js';
import { ifbName } from './ifb.js';

const skipReason = referenceSkipReason(['bridge', 'host-local', 'bandwidth']);

let work = '';
let bin = '';
let kernelReason: string | undefined;

interface Attachment {
  net: string;
  ns: TestNetns;
  containerId: string;
  /** The bridge plugin's result: bandwidth's prevResult. */
  bridgeResult: Record<string, unknown>;
  /** What bandwidth ADD printed (or the bridge result when bandwidth was not run). */
  result: Record<string, unknown>;
  hostVeth: string;
  containerIp: string;
}

/** One plugin invocation the way a runtime does it (PATH kept: the Go plugins exec iptables). */
function run(exe: string, verb: CniEnv['command'], conf: Record<string, unknown>, env: Omit<CniEnv, 'command' | 'path'> = {}): PluginRun {
  return runExecutable(exe, { command: verb, path: bin, ...env }, conf, { PATH: process.env['PATH'] ?? '/usr/bin:/bin' });
}

const ours = (): string => join(bin, 'bandwidth');
const theirs = join(REFERENCE_DIR, 'bandwidth');

const pool = new NetnsPool();
const bridges: string[] = [];
const attachments: Attachment[] = [];
let subnetCounter = 0;

function bridgeConf(net: string, br: string, subnet: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: net,
    type: 'bridge',
    bridge: br,
    isGateway: true,
    ipam: { type: 'host-local', subnet, dataDir: join(work, 'ipam') },
  };
}

function bwConf(net: string, limits: Record<string, unknown>, prevResult?: Record<string, unknown>, version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: net, type: 'bandwidth', ...limits, ...(prevResult === undefined ? {} : { prevResult }) };
}

/** A container attached to a fresh bridge by the reference bridge plugin, not yet shaped. */
function attach(net: string, br: string, subnet: string): Attachment {
  const ns = pool.create('tscbw');
  const containerId = `ctr${runId}${ns.name}`;
  const bridgeResult = succeeded(run(join(bin, 'bridge'), 'ADD', bridgeConf(net, br, subnet), { netns: ns.path, containerId, ifName: 'eth0' }), 'bridge ADD');
  const ifaces = bridgeResult['interfaces'] as Array<{ name: string; sandbox?: string }>;
  const hostVeth = ifaces.find((i) => i.sandbox === undefined && i.name !== br)?.name ?? '';
  const ips = bridgeResult['ips'] as Array<{ address: string }>;
  const containerIp = (ips[0]?.address ?? '').split('/')[0] ?? '';
  const a = { net, ns, containerId, bridgeResult, result: bridgeResult, hostVeth, containerIp };
  attachments.push(a);
  return a;
}

function newBridge(): { br: string; subnet: string } {
  const br = uniq('tscbr');
  bridges.push(br);
  subnetCounter += 1;
  return { br, subnet: `10.220.${subnetCounter}.0/24` };
}

function env(a: Attachment): { netns: string; containerId: string; ifName: string } {
  return { netns: a.ns.path, containerId: a.containerId, ifName: 'eth0' };
}

interface TcQdisc {
  kind: string;
  handle: string;
  root?: boolean;
  options?: { rate?: number; burst?: number };
}

function qdiscs(dev: string): TcQdisc[] {
  const r = spawnSync('tc', ['-j', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return JSON.parse(r.stdout) as TcQdisc[];
}

function ifbs(): string[] {
  const out = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'type', 'ifb'], { encoding: 'utf8' })) as Array<{ ifname: string }>;
  return out.map((l) => l.ifname);
}

function alias(dev: string): string | undefined {
  const out = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as Array<{ ifalias?: string }>;
  return out[0]?.ifalias;
}

/** Bits per second received in a 3 s iperf3 run: host -> container, or container -> host with `reverse`. */
async function throughput(a: Attachment, reverse: boolean): Promise<number> {
  const port = String(5201 + Math.floor(Math.random() * 2000));
  const server = spawn('ip', ['netns', 'exec', a.ns.name, 'iperf3', '-s', '-1', '-p', port, '-B', a.containerIp], { stdio: 'ignore' });
  try {
    for (let attempt = 0; ; attempt++) {
      await new Promise((r) => setTimeout(r, 200));
      const r = spawnSync('iperf3', ['-c', a.containerIp, '-p', port, '-t', '3', '-J', ...(reverse ? ['-R'] : [])], { encoding: 'utf8', timeout: 30_000 });
      if (r.status === 0) {
        const end = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end;
        return end.sum_received.bits_per_second;
      }
      if (attempt >= 10) throw new Error(`iperf3 failed: ${r.stdout}${r.stderr}`);
    }
  } finally {
    server.kill();
  }
}

/** Within ±25% of the limit; one retry, since a loaded 2-core machine can disturb a 3 s run. */
async function expectShaped(a: Attachment, reverse: boolean, limitBits: number): Promise<void> {
  let bps = await throughput(a, reverse);
  if (Math.abs(bps - limitBits) > 0.25 * limitBits) bps = await throughput(a, reverse);
  expect(bps, `${reverse ? 'egress' : 'ingress'} at ${limitBits} bit/s`).toBeGreaterThan(0.75 * limitBits);
  expect(bps, `${reverse ? 'egress' : 'ingress'} at ${limitBits} bit/s`).toBeLessThan(1.25 * limitBits);
}

beforeAll(() => {
  if (skipReason !== undefined) return;
  work = mkdtempSync(join(tmpdir(), 'tscni-bandwidth-'));
  bin = chainBin(['bandwidth'], ['bridge', 'host-local']);
  // STATUS probes every kernel piece the plugin needs (tbf, ingress, u32, mirred, ifb).
  const status = run(ours(), 'STATUS', { cniVersion: '1.1.0', name: 'probe', type: 'bandwidth' });
  if (status.code !== 0) kernelReason = `traffic control unavailable: ${status.stdout}`;
});

afterEach(() => {
  for (const a of attachments.splice(0)) {
    run(ours(), 'DEL', bwConf(a.net, {}, a.result), env(a));
    for (const name of ifbs()) if (name === ifbName(a.net, a.containerId)) ipQuiet(null, 'link', 'del', name);
    ipQuiet(null, 'link', 'del', a.hostVeth);
  }
  pool.cleanup();
  for (const br of bridges.splice(0)) ipQuiet(null, 'link', 'del', br);
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
  if (bin !== '') rmSync(bin, { recursive: true, force: true });
});

describe.skipIf(skipReason !== undefined)('bandwidth plugin in a chain', () => {
  function skipWithoutKernel(ctx: { skip: (note?: string) => void }): void {
    if (kernelReason !== undefined) ctx.skip(kernelReason);
  }

  /** Attach, then shape with our plugin. */
  function shaped(net: string, limits: Record<string, unknown>): Attachment {
    const { br, subnet } = newBridge();
    const a = attach(net, br, subnet);
    a.result = succeeded(run(ours(), 'ADD', bwConf(net, limits, a.bridgeResult), env(a)), 'bandwidth ADD');
    return a;
  }

  it.for([1_000_000, 8_000_000])('shapes both directions to %d bit/s, passes CHECK both ways, and DEL leaves nothing', async (rate, ctx) => {
    skipWithoutKernel(ctx);
    const net = `bw${runId}${rate}`;
    const limits = { ingressRate: rate, ingressBurst: rate / 10, egressRate: rate, egressBurst: rate / 10 };
    const a = shaped(net, limits);
    const ifb = ifbName(net, a.containerId);

    // The result lists the ifb after the bridge's interfaces; tc shows the setup.
    const ifaces = a.result['interfaces'] as Array<{ name: string; mac?: string; sandbox?: string }>;
    expect(ifaces.at(-1)).toMatchObject({ name: ifb });
    expect(ifaces.at(-1)?.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(ifaces.slice(0, -1)).toEqual((a.bridgeResult['interfaces'] as unknown[]));
    const veth = qdiscs(a.hostVeth);
    expect(veth.find((q) => q.kind === 'tbf')).toMatchObject({ handle: '1:', root: true, options: { rate: rate / 8 } });
    expect(veth.some((q) => q.kind === 'ingress')).toBe(true);
    const filters = execFileSync('tc', ['filter', 'show', 'dev', a.hostVeth, 'ingress'], { encoding: 'utf8' });
    expect(filters).toContain(`Egress Redirect to device ${ifb}`);
    expect(qdiscs(ifb).find((q) => q.kind === 'tbf')).toMatchObject({ root: true, options: { rate: rate / 8 } });
    expect(alias(ifb)).toBe(`tscni-bandwidth net=${net}`);

    await expectShaped(a, false, rate);
    await expectShaped(a, true, rate);

    const conf = bwConf(net, limits, a.result);
    expect(run(ours(), 'CHECK', conf, env(a)).code).toBe(0);
    expect(run(theirs, 'CHECK', conf, env(a))).toMatchObject({ code: 0, stdout: '' });

    expect(run(ours(), 'DEL', conf, env(a))).toMatchObject({ code: 0, stdout: '' });
    expect(qdiscs(a.hostVeth).filter((q) => q.kind === 'tbf' || q.kind === 'ingress')).toEqual([]);
    expect(ifbs()).not.toContain(ifb);
    // Idempotent, with or without prevResult.
    expect(run(ours(), 'DEL', conf, env(a)).code).toBe(0);
    expect(run(ours(), 'DEL', bwConf(net, limits), env(a)).code).toBe(0);
  });

  it("CHECK accepts the reference's setup and the reference accepts ours, also for a Kubernetes-sized burst", (ctx) => {
    skipWithoutKernel(ctx);
    for (const limits of [
      { ingressRate: 1_234_567, ingressBurst: 98_765, egressRate: 3_333_333, egressBurst: 77_777 },
      { ingressRate: 1_000_000, ingressBurst: 2_147_483_647, egressRate: 10_000_000_000, egressBurst: 123_456_789 },
    ]) {
      const net = `bwx${runId}`;
      const { br, subnet } = newBridge();
      const a = attach(net, br, subnet);
      const prev = a.bridgeResult;

      // Reference ADD -> our CHECK, our DEL removes everything the reference made.
      const goResult = succeeded(run(theirs, 'ADD', bwConf(net, limits, prev), env(a)), 'reference ADD');
      a.result = goResult;
      expect(run(ours(), 'CHECK', bwConf(net, limits, goResult), env(a))).toMatchObject({ code: 0, stdout: '' });
      expect(run(ours(), 'DEL', bwConf(net, limits, goResult), env(a)).code).toBe(0);
      expect(ifbs()).not.toContain(ifbName(net, a.containerId));
      expect(qdiscs(a.hostVeth).filter((q) => q.kind === 'tbf' || q.kind === 'ingress')).toEqual([]);

      // Our ADD -> reference CHECK, reference DEL removes our ifb.
      const ourResult = succeeded(run(ours(), 'ADD', bwConf(net, limits, prev), env(a)), 'our ADD');
      a.result = ourResult;
      expect(run(theirs, 'CHECK', bwConf(net, limits, ourResult), env(a))).toMatchObject({ code: 0, stdout: '' });
      expect(run(theirs, 'DEL', bwConf(net, limits, ourResult), env(a)).code).toBe(0);
      expect(ifbs()).not.toContain(ifbName(net, a.containerId));
    }
  });

  it('CHECK notices a changed bucket, a missing ifb and a missing redirect', (ctx) => {
    skipWithoutKernel(ctx);
    const net = `bwc${runId}`;
    const limits = { ingressRate: 2_000_000, ingressBurst: 200_000, egressRate: 2_000_000, egressBurst: 200_000 };
    const a = shaped(net, limits);
    const ifb = ifbName(net, a.containerId);
    const conf = bwConf(net, limits, a.result);
    expect(run(ours(), 'CHECK', conf, env(a)).code).toBe(0);

    execFileSync('tc', ['qdisc', 'replace', 'dev', a.hostVeth, 'root', 'handle', '1:', 'tbf', 'rate', '3mbit', 'burst', '25000', 'latency', '25ms']);
    const rate = run(ours(), 'CHECK', conf, env(a));
    expect(rate.code).toBe(1);
    expect(String(rate.json?.['msg'])).toContain('rate');

    execFileSync('tc', ['qdisc', 'del', 'dev', a.hostVeth, 'root']);
    expect(String(run(ours(), 'CHECK', conf, env(a)).json?.['msg'])).toContain('no ingress tbf');
    // Restore the ingress side with our own ADD, then break the egress side.
    a.result = succeeded(run(ours(), 'ADD', bwConf(net, limits, a.bridgeResult), env(a)), 'bandwidth ADD again');
    expect(run(ours(), 'CHECK', bwConf(net, limits, a.result), env(a)).code).toBe(0);
    execFileSync('tc', ['qdisc', 'del', 'dev', a.hostVeth, 'ingress']);
    expect(String(run(ours(), 'CHECK', conf, env(a)).json?.['msg'])).toContain('redirects');
    ip(null, 'link', 'del', ifb);
    expect(String(run(ours(), 'CHECK', conf, env(a)).json?.['msg'])).toContain(`ifb ${ifb} not found`);
  });

  it('ADD twice (a retried ADD) leaves one filter and one ifb', (ctx) => {
    skipWithoutKernel(ctx);
    const net = `bwr${runId}`;
    const limits = { egressRate: 1_000_000, egressBurst: 100_000 };
    const a = shaped(net, limits);
    a.result = succeeded(run(ours(), 'ADD', bwConf(net, limits, a.bridgeResult), env(a)), 'second ADD');
    const ifb = ifbName(net, a.containerId);
    expect((a.result['interfaces'] as Array<{ name: string }>).filter((i) => i.name === ifb)).toHaveLength(1);
    const filters = execFileSync('tc', ['filter', 'show', 'dev', a.hostVeth, 'ingress'], { encoding: 'utf8' });
    expect(filters.match(/Egress Redirect/g)).toHaveLength(1);
    expect(run(ours(), 'CHECK', bwConf(net, limits, a.result), env(a)).code).toBe(0);
  });

  it('errors: host veth not in prevResult, container interface missing', (ctx) => {
    skipWithoutKernel(ctx);
    const net = `bwe${runId}`;
    const { br, subnet } = newBridge();
    const a = attach(net, br, subnet);
    const limits = { ingressRate: 1_000_000, ingressBurst: 100_000 };
    const prev = a.bridgeResult;
    const noHost = { ...prev, interfaces: (prev['interfaces'] as Array<{ name: string }>).filter((i) => i.name !== a.hostVeth) };
    const r1 = run(ours(), 'ADD', bwConf(net, limits, noHost), env(a));
    expect(r1.code).toBe(1);
    expect(String(r1.json?.['msg'])).toContain('no veth peer');
    const r2 = run(ours(), 'ADD', bwConf(net, limits, prev), { ...env(a), ifName: 'eth9' });
    expect(r2.code).toBe(1);
    expect(String(r2.json?.['msg'])).toContain('eth9');
    expect(qdiscs(a.hostVeth).some((q) => q.kind === 'tbf')).toBe(false);
  });

  it('DEL after the container namespace is gone removes the ifb', (ctx) => {
    skipWithoutKernel(ctx);
    const net = `bwd${runId}`;
    const limits = { egressRate: 1_000_000, egressBurst: 100_000 };
    const a = shaped(net, limits);
    const ifb = ifbName(net, a.containerId);
    pool.remove(a.ns);
    expect(ifbs()).toContain(ifb);
    expect(run(ours(), 'DEL', bwConf(net, limits, a.result), env(a))).toMatchObject({ code: 0, stdout: '' });
    expect(ifbs()).not.toContain(ifb);
  });

  it("GC removes this network's ifbs of gone attachments, keeps valid ones, other networks' and fed unmarked ones", (ctx) => {
    skipWithoutKernel(ctx);
    const net = `bwg${runId}`;
    const other = `bwo${runId}`;
    const limits = { egressRate: 1_000_000, egressBurst: 100_000 };
    const keep = shaped(net, limits);
    const gone = shaped(net, limits);
    const foreign = shaped(other, limits);
    // A reference-made ifb (no alias) still fed by its veth, and an orphaned unmarked one.
    const { br, subnet } = newBridge();
    const goAttachment = attach(net, br, subnet);
    goAttachment.result = succeeded(run(theirs, 'ADD', bwConf(net, limits, goAttachment.bridgeResult), env(goAttachment)), 'reference ADD');
    const orphan = `bwp${'0'.repeat(6)}${runId}ab`.slice(0, 15);
    ip(null, 'link', 'add', orphan, 'type', 'ifb');

    try {
      const gc = run(ours(), 'GC', { cniVersion: '1.1.0', name: net, type: 'bandwidth', 'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }] });
      expect(gc).toMatchObject({ code: 0, stdout: '' });
      const now = ifbs();
      expect(now).toContain(ifbName(net, keep.containerId));
      expect(now).not.toContain(ifbName(net, gone.containerId));
      expect(qdiscs(gone.hostVeth).filter((q) => q.kind === 'tbf' || q.kind === 'ingress')).toEqual([]);
      expect(now).toContain(ifbName(other, foreign.containerId));
      expect(now).toContain(ifbName(net, goAttachment.containerId));
      expect(now).not.toContain(orphan);
      expect(run(ours(), 'CHECK', bwConf(net, limits, keep.result), env(keep)).code).toBe(0);
    } finally {
      ipQuiet(null, 'link', 'del', orphan);
    }
  });

  it('STATUS succeeds and leaves no namespace behind', (ctx) => {
    skipWithoutKernel(ctx);
    expect(run(ours(), 'STATUS', { cniVersion: '1.1.0', name: 'x', type: 'bandwidth' })).toMatchObject({ code: 0, stdout: '' });
    // The probe's namespace is named tscni-bw-status-<pid>-<random>; other tests' namespaces may come and go.
    expect(readdirSync('/run/netns').filter((n) => n.startsWith('tscni-bw-status-'))).toEqual([]);
  });

  it('refuses configurations older than 0.3.0 like the reference', (ctx) => {
    skipWithoutKernel(ctx);
    const r = run(ours(), 'ADD', { cniVersion: '0.2.0', name: 'x', type: 'bandwidth' }, { netns: '/run/netns/none', containerId: 'c', ifName: 'eth0' });
    expect(r.code).toBe(1);
    expect(r.json?.['code']).toBe(1);
  });
});
