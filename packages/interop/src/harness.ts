// Interop test harness: real network namespaces, the executables under test (bundled cnitool, the
// Go reference runtime and plugins, tscni's test plugins) and host-state probes for leak checks.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TEST_PLUGIN_NAMES, testPluginPath, uniqueName } from '@tscni/testing';

const execFileP = promisify(execFile);

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

export async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

export async function deleteLink(name: string): Promise<void> {
  await run('ip', ['link', 'del', 'dev', name]);
}

/** ICMP echo from inside `from` to `toIp` (two tries); resolves true on a reply. */
export async function ping(from: Netns, toIp: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'exec', from.name, 'ping', '-c', '2', '-i', '0.2', '-W', '2', toIp]);
  return r.code === 0;
}

/** iptables-save and ip6tables-save output (all tables), for leak checks. */
async function netfilterDump(): Promise<string> {
  const [v4, v6] = await Promise.all([execFileP('iptables-save'), execFileP('ip6tables-save')]);
  return `${v4.stdout}\n${v6.stdout}`;
}

/** Lines of the netfilter dump that mention `needle` (e.g. a container ID or a network name). */
export async function netfilterLinesMentioning(needle: string): Promise<string[]> {
  return (await netfilterDump()).split('\n').filter((l) => l.includes(needle));
}

// The Go portmap and firewall plugins create shared chains and jumps that they never remove (they
// serve every container). Tests that ran those plugins call this afterwards so the machine is left
// as found; it only touches chains that hold nothing but the plugins' own fixed rules.
const SHARED_NAT = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'];

export async function removeIdleSharedGoChains(): Promise<void> {
  for (const bin of ['iptables', 'ip6tables']) {
    const nat = await run(bin, ['-t', 'nat', '-S', 'CNI-HOSTPORT-DNAT']);
    // `-S CHAIN` prints `-N CHAIN` plus one line per rule; anything more means a container still uses it.
    if (nat.code === 0 && nat.stdout.trim().split('\n').length === 1) {
      await run(bin, ['-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT']);
      await run(bin, ['-t', 'nat', '-D', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT']);
      await run(bin, ['-t', 'nat', '-D', 'POSTROUTING', '-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ']);
      for (const chain of SHARED_NAT) {
        await run(bin, ['-t', 'nat', '-F', chain]);
        await run(bin, ['-t', 'nat', '-X', chain]);
      }
    }
    const admin = await run(bin, ['-S', 'CNI-ADMIN']);
    const fwd = await run(bin, ['-S', 'CNI-FORWARD']);
    const fwdRules = fwd.stdout.trim().split('\n').filter((l) => l.startsWith('-A '));
    const onlyAdminJump = fwdRules.length === 1 && fwdRules[0]?.includes('-j CNI-ADMIN') === true;
    if (admin.code === 0 && admin.stdout.trim().split('\n').length === 1 && fwd.code === 0 && (onlyAdminJump || fwdRules.length === 0)) {
      await run(bin, ['-D', 'FORWARD', '-m', 'comment', '--comment', 'CNI firewall plugin rules', '-j', 'CNI-FORWARD']);
      await run(bin, ['-F', 'CNI-FORWARD']);
      await run(bin, ['-X', 'CNI-FORWARD']);
      await run(bin, ['-X', 'CNI-ADMIN']);
    }
  }
}

/**
 * Tables that iptables-nft creates on first use (`ip nat`, `ip filter`, `ip6 …`) stay behind empty;
 * delete each one of them that holds no rule at all so no nft table is left on the machine.
 */
export async function removeEmptyIptablesNftTables(): Promise<void> {
  for (const [family, table] of [['ip', 'nat'], ['ip', 'filter'], ['ip6', 'nat'], ['ip6', 'filter']] as const) {
    const listed = await run('nft', ['list', 'table', family, table]);
    if (listed.code !== 0) continue;
    const hasRule = listed.stdout.split('\n').some((l) => {
      const t = l.trim();
      return t !== '' && !t.startsWith('table ') && !t.startsWith('chain ') && !t.startsWith('type ') && t !== '}' && !t.startsWith('policy ');
    });
    if (!hasRule) await run('nft', ['delete', 'table', family, table]);
  }
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

/** Picks a random RFC 1918 /24 under 10.200.0.0/13 that no route on the host covers yet. */
export async function freeSubnet24(): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const b = randomBytes(2);
    const subnet = `10.${200 + ((b[0] ?? 0) % 8)}.${b[1] ?? 0}.0/24`;
    const routes = await runOk('ip', ['-4', 'route', 'show', 'table', 'all', 'to', 'match', subnet.replace('.0/24', '.1')]);
    // Only default routes may cover it: any more specific route means the subnet is in use.
    if (routes.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('default'))) return subnet;
  }
  throw new Error('no free 10.200.0.0/13 /24 found');
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
}

/** Runs tools/go-runtime's `go-cni-runtime <verb> <conflist> <netns>` (Go libcni). */
export function goRuntime(verb: 'add' | 'check' | 'del' | 'cached', conflistFile: string, netnsPath: string, o: GoRuntimeOptions): Promise<RunResult> {
  const args = [verb, conflistFile, netnsPath];
  if (o.ifName !== undefined) args.push('--ifname', o.ifName);
  if (o.containerId !== undefined) args.push('--container-id', o.containerId);
  if (o.cacheDir !== undefined) args.push('--cache-dir', o.cacheDir);
  if (o.cniArgs !== undefined) args.push('--args', o.cniArgs);
  if (o.capArgs !== undefined) args.push('--cap-args', JSON.stringify(o.capArgs));
  return run(requireBuilt(GO_RUNTIME), args, { env: { CNI_PATH: o.cniPath } });
}

/** The last stderr line of go-cni-runtime when a plugin returned a CNI error: {code, msg, details?}. */
export function goRuntimeCniError(stderr: string): { code: number; msg: string; details?: string } | undefined {
  const last = stderr.trim().split('\n').at(-1);
  if (last === undefined || !last.startsWith('{')) return undefined;
  return JSON.parse(last) as { code: number; msg: string; details?: string };
}
