// Kernel tests for the bundled dhcp executable and its daemon against dnsmasq: a server namespace
// runs dnsmasq on one end of a veth, the other end sits in a "container" namespace. Proves the
// acquire (DISCOVER/OFFER/REQUEST/ACK from inside the namespace), renewal at T1 (dnsmasq's
// option 58 set to a few seconds, since its shortest lease is 2 minutes), CHECK, release on DEL
// (the lease file entry goes), the 0600 socket, and the lease being dropped with its namespace.
// The daemon's UDP socket in the container namespace is observed with `ss` inside it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['dnsmasq', 'ip', 'ss', 'setpriv'].filter((c) => !have(c));
const isRoot = process.getuid?.() === 0;

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = resolve(pkgDir, '..', '..');
// The bundled daemon loads the addon from beside itself, as tools/install-plugins lays it out.
const addon = join(repoRoot, 'native', 'build', 'Release', 'tscni_native.node');
const skipReason = !isRoot
  ? 'needs root'
  : missing.length > 0
    ? `missing ${missing.join(', ')}`
    : !existsSync(addon)
      ? 'native addon not built (pnpm --filter @tscni/native build)'
      : undefined;

let binDir: string;
let work: string;
let tag: string;
let subnet: string; // "10.245.N"
let dnsmasq: ChildProcess | undefined;
let daemon: ChildProcess | undefined;
let daemonLog: string;
let socketPath: string;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const client = () => `${tag}c`;
const server = () => `${tag}s`;
const clientIf = () => `${tag}a`;
const subnet2 = () => subnet.replace(/^10\.245\./, '10.246.');

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function runPlugin(command: string, conf: object, extraEnv: Record<string, string> = {}) {
  const r = spawnSync(join(binDir, 'dhcp'), [], {
    input: JSON.stringify(conf),
    encoding: 'utf8',
    env: {
      ...process.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'ctr-dhcp',
      CNI_NETNS: `/run/netns/${client()}`,
      CNI_IFNAME: clientIf(),
      CNI_PATH: binDir,
      ...extraEnv,
    },
  });
  return { code: r.status, out: r.stdout === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>), stderr: r.stderr };
}

function conf(ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { cniVersion: '1.0.0', name: 'dhcpnet', type: 'macvlan', ipam: { type: 'dhcp', daemonSocketPath: socketPath, ...ipam }, ...extra };
}

const leaseFile = () => join(work, 'dnsmasq.leases');
const leases = () => (existsSync(leaseFile()) ? readFileSync(leaseFile(), 'utf8') : '');
const dnsmasqLog = () => readFileSync(join(work, 'dnsmasq.log'), 'utf8');
/** The daemon's UDP sockets on port 68 of an interface, as `ss` in the container namespace lists them. */
const dhcpSockets = (ifName = clientIf()) =>
  spawnSync('ip', ['netns', 'exec', client(), 'ss', '-H', '-uanp'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(`0.0.0.0%${ifName}:68 `) && l.includes(`pid=${daemon!.pid},`));
/** Whether the server end of the first veth exists: it goes only once the container namespace is freed. */
const serverEndExists = () => spawnSync('ip', ['-n', server(), 'link', 'show', `${tag}b`], { stdio: 'ignore' }).status === 0;

describe.skipIf(skipReason !== undefined)(`dhcp against dnsmasq${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`, () => {
  beforeAll(() => {
    binDir = mkdtempSync(join(tmpdir(), 'tscni-dhcp-bin-'));
    execFileSync('node', [join(repoRoot, 'tools', 'build-bin.mjs'), pkgDir, '--outdir', binDir, 'src/bin/dhcp.ts:dhcp'], { stdio: 'pipe' });
    copyFileSync(addon, join(binDir, 'tscni_native.node'));
  });
  afterAll(() => rmSync(binDir, { recursive: true, force: true }));

  beforeEach(async () => {
    tag = `tsc${randomBytes(3).toString('hex')}`;
    subnet = `10.245.${randomBytes(1)[0]!}`;
    work = mkdtempSync(join(tmpdir(), 'tscni-dhcp-'));
    socketPath = join(work, 'run', 'dhcp.sock');
    ip('netns', 'add', client());
    ip('netns', 'add', server());
    ip('link', 'add', clientIf(), 'netns', client(), 'type', 'veth', 'peer', 'name', `${tag}b`, 'netns', server());
    ip('-n', client(), 'link', 'set', clientIf(), 'up');
    ip('-n', server(), 'link', 'set', `${tag}b`, 'up');
    ip('-n', server(), 'addr', 'add', `${subnet}.1/24`, 'dev', `${tag}b`);
    // A second link into the same container namespace, served from another subnet.
    ip('link', 'add', `${tag}x`, 'netns', client(), 'type', 'veth', 'peer', 'name', `${tag}y`, 'netns', server());
    ip('-n', client(), 'link', 'set', `${tag}x`, 'up');
    ip('-n', server(), 'link', 'set', `${tag}y`, 'up');
    ip('-n', server(), 'addr', 'add', `${subnet2()}.1/24`, 'dev', `${tag}y`);
    // `ip netns exec` execs dnsmasq, so the child's pid is dnsmasq's own.
    dnsmasq = spawn(
      'ip',
      [
        'netns', 'exec', server(), 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--no-ping', '--bind-interfaces',
        `--interface=${tag}b`, `--dhcp-range=${subnet}.10,${subnet}.50,255.255.255.0,2m`,
        `--interface=${tag}y`, `--dhcp-range=${subnet2()}.10,${subnet2()}.50,255.255.255.0,2m`,
        '--dhcp-option=option:T1,4', '--dhcp-option=option:T2,8', `--dhcp-option=option:dns-server,${subnet}.53`,
        `--dhcp-leasefile=${leaseFile()}`, '--log-dhcp', `--log-facility=${join(work, 'dnsmasq.log')}`,
      ],
      { stdio: 'ignore' },
    );
    daemonLog = '';
    daemon = spawn(join(binDir, 'dhcp'), ['daemon', '-socketpath', socketPath, '-pidfile', join(work, 'dhcp.pid'), '-timeout', '15s'], { stdio: ['ignore', 'ignore', 'pipe'] });
    daemon.stderr!.setEncoding('utf8');
    daemon.stderr!.on('data', (s: string) => {
      daemonLog += s;
    });
    await until('the daemon socket', () => existsSync(socketPath));
    await until('dnsmasq', () => existsSync(join(work, 'dnsmasq.log')) && dnsmasqLog().includes('DHCP, IP range'));
  });

  afterEach(async () => {
    for (const p of [daemon, dnsmasq]) {
      if (p === undefined || p.exitCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
    }
    spawnSync('ip', ['netns', 'del', client()]);
    spawnSync('ip', ['netns', 'del', server()]);
    rmSync(work, { recursive: true, force: true });
  });

  it('ADD acquires inside the namespace, the lease renews at T1, CHECK passes, DEL releases it', async () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);

    const add = runPlugin('ADD', conf({ provide: [{ option: 'host-name', fromArg: 'K8S_POD_NAME' }] }), { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web-0' });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const result = add.out as { ips: Array<{ address: string; gateway: string }>; routes: unknown; dns: unknown };
    const address = result.ips[0]!.address;
    expect(address).toMatch(new RegExp(`^${subnet.replace(/\./g, '\\.')}\\.(1\\d|[2-4]\\d|50)/24$`));
    expect(result.ips[0]!.gateway).toBe(`${subnet}.1`);
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0', gw: `${subnet}.1` }]);
    expect(result.dns).toEqual({ nameservers: [`${subnet}.53`] });

    // dnsmasq's lease file: expiry, MAC, address, host name, client id (hex of ctr/net/ifname).
    const addr = address.split('/')[0]!;
    // Type 0 (not a hardware address) then the text, as the reference's daemon sends it.
    const clientIdHex = `00:${Buffer.from(`ctr-dhcp/dhcpnet/${clientIf()}`).toString('hex').match(/../g)!.join(':')}`;
    const mac = ip('-n', client(), '-j', 'link', 'show', clientIf());
    const line = leases().split('\n').find((l) => l.includes(` ${addr} `));
    expect(line).toBeDefined();
    const [, leaseMac, leaseAddr, hostName, clientId] = line!.split(' ');
    expect(mac).toContain(leaseMac!);
    expect(leaseAddr).toBe(addr);
    expect(hostName).toBe('web-0');
    expect(clientId).toBe(clientIdHex);

    // The interface plugin would now configure the address; renewals are unicast from it.
    ip('-n', client(), 'addr', 'add', address, 'dev', clientIf());
    const expiry0 = Number(line!.split(' ')[0]);
    const acks = () => dnsmasqLog().split('\n').filter((l) => l.includes(`DHCPACK(${tag}b) ${addr} `)).length;
    expect(acks()).toBe(1);
    await until('a renewal ACK in the dnsmasq log', () => acks() >= 2, 15_000);
    await until('the renewal in the daemon log', () => daemonLog.includes(`renewed ${addr}`));
    await until('a later expiry in the lease file', () => {
      const l = leases().split('\n').find((x) => x.includes(` ${addr} `));
      return l !== undefined && Number(l.split(' ')[0]) > expiry0;
    });
    const renewal = dnsmasqLog().split('\n').filter((l) => l.includes(`DHCPREQUEST(${tag}b) ${addr} `));
    expect(renewal.length).toBeGreaterThanOrEqual(2);

    const check = runPlugin('CHECK', conf({}, { prevResult: add.out }));
    expect(check.code, JSON.stringify(check.out)).toBe(0);
    const wrong = runPlugin('CHECK', conf({}, { prevResult: { cniVersion: '1.0.0', ips: [{ address: `${subnet}.99/24` }] } }));
    expect(wrong.code).toBe(1);

    expect(dhcpSockets()).toHaveLength(1);
    const del = runPlugin('DEL', conf());
    expect(del.code, JSON.stringify(del.out)).toBe(0);
    await until('the lease file entry to go', () => !leases().includes(` ${addr} `));
    expect(dnsmasqLog()).toContain(`DHCPRELEASE(${tag}b) ${addr} `);
    await until('the socket to close', () => dhcpSockets().length === 0);
    expect(runPlugin('DEL', conf()).code).toBe(0);
    expect(runPlugin('CHECK', conf()).out).toMatchObject({ code: 3 });
  });

  it('two interfaces of one namespace hold separate leases at once; with no address configured, DEL releases by broadcast', async () => {
    const a = runPlugin('ADD', conf());
    const b = runPlugin('ADD', conf(), { CNI_IFNAME: `${tag}x` });
    expect(a.code, JSON.stringify(a.out)).toBe(0);
    expect(b.code, JSON.stringify(b.out)).toBe(0);
    // One socket per interface, both on port 68 (SO_REUSEADDR + SO_BINDTODEVICE).
    expect(dhcpSockets()).toHaveLength(1);
    expect(dhcpSockets(`${tag}x`)).toHaveLength(1);
    const addrA = (a.out as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
    const addrB = (b.out as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
    expect(addrA.startsWith(`${subnet}.`)).toBe(true);
    expect(addrB.startsWith(`${subnet2()}.`)).toBe(true);
    expect(leases()).toContain(` ${addrA} `);
    expect(leases()).toContain(` ${addrB} `);
    expect(runPlugin('DEL', conf(), { CNI_IFNAME: `${tag}x` }).code).toBe(0);
    await until('the second lease to go', () => !leases().includes(` ${addrB} `));
    expect(leases()).toContain(` ${addrA} `);
    expect(runPlugin('CHECK', conf(), {}).code).toBe(0);
    expect(runPlugin('DEL', conf()).code).toBe(0);
    await until('the first lease to go', () => !leases().includes(` ${addrA} `));
  });

  it('the socket refuses non-root users; STATUS answers for root', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '-e', `require('net').connect(${JSON.stringify(socketPath)}).on('error', (e) => { console.log(e.code); }).on('connect', () => { console.log('connected'); process.exit(0); })`],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim()).toBe('EACCES');
    expect(runPlugin('STATUS', { ...conf(), cniVersion: '1.1.0' }).code).toBe(0);
  });

  it('writes its pidfile and removes it and the socket on SIGTERM; STATUS then answers 50', async () => {
    const pidFile = join(work, 'dhcp.pid');
    await until('the pidfile', () => existsSync(pidFile));
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(daemon!.pid));
    const exited = new Promise<number | null>((r) => daemon!.once('exit', (code) => r(code)));
    daemon!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    expect(runPlugin('STATUS', { ...conf(), cniVersion: '1.1.0' }).out).toMatchObject({ code: 50 });
  });

  it('ADD fails when the interface does not exist, and keeps nothing', () => {
    const r = runPlugin('ADD', conf(), { CNI_IFNAME: 'nosuchif0' });
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ code: 999, msg: expect.stringMatching(/nosuchif0/) });
    expect(dhcpSockets('nosuchif0')).toEqual([]);
    expect(dhcpSockets()).toEqual([]);
  });

  it('stops maintaining the lease once its namespace is deleted without DEL, freeing the namespace', async () => {
    const add = runPlugin('ADD', conf());
    expect(add.code).toBe(0);
    expect(dhcpSockets()).toHaveLength(1);
    ip('netns', 'del', client());
    await until('the daemon to notice', () => daemonLog.includes(`netns /run/netns/${client()} is gone`), 15_000);
    // The daemon's sockets were all that kept the namespace alive: once they are closed the kernel
    // frees it, and its veth takes the peer in the server namespace along.
    await until('the container namespace to be freed', () => !serverEndExists());
  });
});
