// Interop test harness: real network namespaces (and stand-in host namespaces the runtimes run in),
// the executables under test (bundled cnitool, the Go reference runtime and plugins, tscni's test
// plugins and installed plugins), traffic helpers and host-state probes for leak checks.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawExec, findInPath } from '@tscni/engine';
import type { ExecOptions, PluginExec } from '@tscni/engine';
import type { Result } from '@tscni/spec';
import { TEST_PLUGIN_NAMES, testPluginPath, uniqueName } from '@tscni/testing';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Debian's containernetworking-plugins (Go reference plugins). */
export const GO_PLUGIN_DIR = '/usr/lib/cni';
/** Built by tools/go-runtime/build.sh. */
export const GO_RUNTIME = join(repoRoot, 'tools', 'go-runtime', 'bin', 'go-cni-runtime');
/** Bundled by `pnpm --filter @tscni/cnitool build`. */
export const CNITOOL = join(repoRoot, 'packages', 'cnitool', 'dist', 'bin', 'cnitool');
/** Throws (failing the test, never skipping it) when a built artefact is missing. */
export function requireBuilt(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`bash tools/setup.sh\` (builds the bundled executables and the Go runtime)`);
  }
  return path;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, never throwing on a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env === undefined ? process.env : { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolvePromise({ code: code ?? (signal === null ? 1 : 128), stdout, stderr });
    });
    if (child.stdin !== null) {
      // A command may exit without reading its input; that is its answer, not a test error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** Runs a command and throws with its output when it fails. */
export async function runOk(cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

export interface Netns {
  name: string;
  path: string;
}

/** `ip netns add` with a unique name; pair with {@link deleteNetns} in a finally/afterEach. */
export async function createNetns(prefix = 'tscio'): Promise<Netns> {
  const name = uniqueName(prefix, 20);
  await runOk('ip', ['netns', 'add', name]);
  return { name, path: `/run/netns/${name}` };
}

export async function deleteNetns(ns: Netns): Promise<void> {
  await run('ip', ['netns', 'del', ns.name]);
}

/** ICMP echo from inside `from` to `toIp` (two tries); resolves true on a reply. */
export async function ping(from: Netns, toIp: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'exec', from.name, 'ping', '-c', '2', '-i', '0.2', '-W', '2', toIp]);
  return r.code === 0;
}

/** Files under a host-local data dir for `network` (names only). */
export async function hostLocalFiles(dataDir: string, network: string): Promise<string[]> {
  try {
    return (await readdir(join(dataDir, network))).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The libcni result-cache path for an attachment (`<cacheDir>/results/<net>-<id>-<ifname>`). */
export function cacheFilePath(cacheDir: string, network: string, containerId: string, ifName: string): string {
  return join(cacheDir, 'results', `${network}-${containerId}-${ifName}`);
}

/** Copies the bundled test plugins into `dir` (a CNI_PATH of their own, as a runtime would see it). */
export async function installTestPlugins(dir: string): Promise<void> {
  for (const name of TEST_PLUGIN_NAMES) {
    const to = join(dir, name);
    await copyFile(testPluginPath(name), to);
    await chmod(to, 0o755);
  }
}

export interface GoRuntimeOptions {
  cniPath: string;
  ifName?: string;
  containerId?: string;
  cacheDir?: string;
  cniArgs?: string;
  capArgs?: Record<string, unknown>;
  /** Run the runtime (and so every plugin it execs) inside this stand-in host namespace. */
  host?: Netns;
}

/** Runs tools/go-runtime's `go-cni-runtime <verb> <conflist> <netns>` (Go libcni). */
export function goRuntime(verb: 'add' | 'check' | 'del' | 'cached', conflistFile: string, netnsPath: string, o: GoRuntimeOptions): Promise<RunResult> {
  const args = [verb, conflistFile, netnsPath];
  if (o.ifName !== undefined) args.push('--ifname', o.ifName);
  if (o.containerId !== undefined) args.push('--container-id', o.containerId);
  if (o.cacheDir !== undefined) args.push('--cache-dir', o.cacheDir);
  if (o.cniArgs !== undefined) args.push('--args', o.cniArgs);
  if (o.capArgs !== undefined) args.push('--cap-args', JSON.stringify(o.capArgs));
  return runIn(o.host, requireBuilt(GO_RUNTIME), args, { env: { CNI_PATH: o.cniPath } });
}

/** The last stderr line of go-cni-runtime when a plugin returned a CNI error: {code, msg, details?}. */
export function goRuntimeCniError(stderr: string): { code: number; msg: string; details?: string } | undefined {
  const last = stderr.trim().split('\n').at(-1);
  if (last === undefined || !last.startsWith('{')) return undefined;
  return JSON.parse(last) as { code: number; msg: string; details?: string };
}

// ---- tscni's installed plugins, a stand-in host namespace, traffic and leak probes ----

/** tools/install-plugins: our plugin executables and the native addon, as /opt/cni/bin is populated. */
export const INSTALL_PLUGINS = join(repoRoot, 'tools', 'install-plugins');

/**
 * Installs our plugins into `dir` from the bundles already built (`pnpm turbo run build`); the tests
 * never rebuild them, so they exercise exactly what the build produced.
 */
export async function installOurPlugins(dir: string): Promise<void> {
  const r = await run(INSTALL_PLUGINS, ['--no-build', dir], { timeoutMs: 120_000 });
  if (r.code !== 0) {
    throw new Error(`tools/install-plugins --no-build ${dir} exited ${r.code} (run \`pnpm turbo run build\` first)\n${r.stderr}`);
  }
}

/**
 * A CNI_PATH directory whose entries are symlinks, each to our installed plugin (in `oursDir`) or to
 * Debian's Go plugin of that type, so a chain can mix implementations type by type. Our bundles
 * follow the link to find the native addon beside their real file.
 */
export async function mixedPluginDir(dir: string, oursDir: string, picks: Record<string, 'ours' | 'go'>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [type, from] of Object.entries(picks)) {
    await symlink(join(from === 'ours' ? oursDir : GO_PLUGIN_DIR, type), join(dir, type));
  }
}

/**
 * A namespace that stands in for the host: the runtimes run inside it (`ip netns exec`), so every
 * bridge, veth host end, ifb, nftables table and iptables rule the plugins make on "the host" lives
 * there, never collides with other work on the machine, and goes when it is deleted.
 */
export async function createStandInHost(prefix = 'tschost'): Promise<Netns> {
  const ns = await createNetns(prefix);
  await runOk('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
  return ns;
}

/** Runs `cmd` inside `ns` (the real host when undefined). */
export function runIn(ns: Netns | undefined, cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return ns === undefined ? run(cmd, args, opts) : run('ip', ['netns', 'exec', ns.name, cmd, ...args], opts);
}

export async function runInOk(ns: Netns | undefined, cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await runIn(ns, cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${ns === undefined ? '' : `[${ns.name}] `}${cmd} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

/** `go-cni-runtime version <conflist>`: what libcni decodes from each plugin type's VERSION reply. */
export async function goRuntimeVersions(conflistFile: string, cniPath: string): Promise<Record<string, { supportedVersions: string[] }>> {
  const out = await runOk(requireBuilt(GO_RUNTIME), ['version', conflistFile], { env: { CNI_PATH: cniPath } });
  return JSON.parse(out) as Record<string, { supportedVersions: string[] }>;
}

/**
 * The engine's plugin exec, but each plugin runs inside `host` (through a two-line `ip netns exec`
 * wrapper script per plugin), so @tscni/engine in this process can drive plugins in a stand-in host.
 */
export class NetnsPluginExec implements PluginExec {
  private readonly raw = new RawExec({ stderr: null });
  private readonly wrappers = new Map<string, string>();

  constructor(
    private readonly host: Netns,
    private readonly wrapperDir: string,
  ) {}

  findInPath(type: string, paths: readonly string[]): Promise<string> {
    return findInPath(type, paths);
  }

  async execPlugin(path: string, stdin: Uint8Array, env: Record<string, string>, opts: ExecOptions): Promise<Uint8Array> {
    let wrapper = this.wrappers.get(path);
    if (wrapper === undefined) {
      wrapper = join(this.wrapperDir, `${this.wrappers.size}-${path.slice(path.lastIndexOf('/') + 1)}`);
      await mkdir(this.wrapperDir, { recursive: true });
      await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec '${this.host.name}' '${path}'\n`, { mode: 0o755 });
      this.wrappers.set(path, wrapper);
    }
    return this.raw.execPlugin(wrapper, stdin, env, opts);
  }
}

/** Lines of iptables-save, ip6tables-save and `nft list ruleset` inside `ns` that mention any needle. */
export async function netfilterMentions(ns: Netns | undefined, needles: readonly string[]): Promise<string[]> {
  const dumps = await Promise.all([
    runInOk(ns, 'iptables-save', []),
    runInOk(ns, 'ip6tables-save', []),
    runInOk(ns, 'nft', ['list', 'ruleset']),
  ]);
  return dumps
    .join('\n')
    .split('\n')
    .filter((l) => needles.some((n) => l.includes(n)));
}

/** The first address of a result, without its prefix length. */
export function firstIp(result: Result): string {
  const address = result.ips?.[0]?.address;
  if (address === undefined) throw new Error(`result has no IP: ${JSON.stringify(result)}`);
  return address.split('/')[0] ?? address;
}

/** The lines that mention `ip` as a whole address (10.240.1.2 must not match 10.240.1.23). */
export function linesWithIp(lines: readonly string[], ip: string): string[] {
  // An IPv4 address may be followed by `:port`; an IPv6 one ends at anything but a hex digit or colon.
  const re = ip.includes(':')
    ? new RegExp(`(^|[^0-9a-fA-F:])${ip}([^0-9a-fA-F:]|$)`, 'i')
    : new RegExp(`(^|[^0-9.])${ip.replaceAll('.', '\\.')}([^0-9]|$)`);
  return lines.filter((l) => re.test(l));
}

/** Names of the links in `ns` (the real host when undefined). */
export async function linkNames(ns: Netns | undefined): Promise<string[]> {
  const out = await runInOk(ns, 'ip', ['-j', 'link', 'show']);
  return (JSON.parse(out) as Array<{ ifname: string }>).map((l) => l.ifname);
}

/** The files of a directory (none when it does not exist). */
export async function filesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** host-local reservations in a network's data dir: everything but its lock and round-robin cursors. */
export async function hostLocalReservations(dataDir: string, network: string): Promise<string[]> {
  return (await hostLocalFiles(dataDir, network)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
}

/** Polls `probe` until it returns true (every 100 ms, up to `timeoutMs`); returns the last answer. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A random /24 under 10.240.0.0/16 and a /64 under fd00:240::/48, the ranges of these suites (the
 * stand-in hosts keep them apart from everything else).
 */
export function subnet240(): { subnet: string; prefix: string; subnet6: string; prefix6: string } {
  const third = 1 + ((randomBytes(1)[0] ?? 0) % 254);
  const hex = third.toString(16);
  return { subnet: `10.240.${third}.0/24`, prefix: `10.240.${third}.`, subnet6: `fd00:240:0:${hex}::/64`, prefix6: `fd00:240:0:${hex}:` };
}

export interface TcpServer {
  stop(): void;
}

/**
 * A Node TCP server inside `ns` on `port` that answers each connection with `<greeting> <peer
 * address>` and closes it. Resolves once it listens; `stop` kills the process (ours, by its pid).
 */
export function startTcpServer(ns: Netns, port: number, greeting: string): Promise<TcpServer> {
  const script =
    `const s=require('net').createServer(c=>c.end(${JSON.stringify(greeting)}+' '+c.remoteAddress));` +
    `s.listen(${port},'0.0.0.0',()=>process.stdout.write('listening\\n'));`;
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const server: TcpServer = { stop: () => void child.kill('SIGKILL') };
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      server.stop();
      reject(new Error(`TCP server in ${ns.name} did not start: ${err}`));
    }, 30_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolvePromise(server);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`TCP server in ${ns.name} exited ${code}: ${err}`));
    });
  });
}

/**
 * Connects from inside `ns` to `host:port` and returns what the server sent (up to three tries, as a
 * freshly made path may drop the first SYN); undefined when no try got an answer.
 */
export async function tcpRequest(ns: Netns, host: string, port: number): Promise<string | undefined> {
  const script =
    `const c=require('net').connect({host:${JSON.stringify(host)},port:${port},timeout:4000});let d='';` +
    `c.setEncoding('utf8').on('data',x=>d+=x).on('end',()=>{process.stdout.write(d);process.exit(0)})` +
    `.on('timeout',()=>process.exit(3)).on('error',e=>{process.stderr.write(String(e));process.exit(4)});`;
  for (let i = 0; i < 3; i++) {
    const r = await run('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script], { timeoutMs: 20_000 });
    if (r.code === 0 && r.stdout !== '') return r.stdout;
  }
  return undefined;
}
