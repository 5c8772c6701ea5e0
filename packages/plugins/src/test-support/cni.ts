// Test support: install the plugin executables with tools/install-plugins into a temporary CNI bin
// directory and run them the way a container runtime does: exec with only the CNI variables in the
// environment (no PATH), the network configuration on stdin.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Installs every plugin into a fresh directory; returns it. Remove it with `rmSync` when done. */
export function installPlugins(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tscni-cnibin-'));
  try {
    execFileSync(join(repoRoot, 'tools', 'install-plugins'), [dir], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

export interface CniEnv {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  path: string;
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

/** The CNI variables of `env`, with `extra` (e.g. PATH for a Go plugin that execs iptables). */
function cniVars(env: CniEnv, extra: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = { CNI_COMMAND: env.command, CNI_PATH: env.path, ...extra };
  if (env.containerId !== undefined) vars['CNI_CONTAINERID'] = env.containerId;
  if (env.netns !== undefined) vars['CNI_NETNS'] = env.netns;
  if (env.ifName !== undefined) vars['CNI_IFNAME'] = env.ifName;
  if (env.args !== undefined) vars['CNI_ARGS'] = env.args;
  return vars;
}

function execWith(cmd: string, argv: readonly string[], vars: Record<string, string>, conf: unknown): PluginRun {
  const r = spawnSync(cmd, argv, { env: vars, input: JSON.stringify(conf), encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** Execs a plugin executable (ours or a reference one) with a runtime's environment and `conf` on stdin. */
export function runExecutable(exe: string, env: CniEnv, conf: unknown, extraEnv: Record<string, string> = {}): PluginRun {
  return execWith(exe, [], cniVars(env, extraEnv), conf);
}

/** Execs `<binDir>/<type>` with a runtime's environment and `conf` on stdin. */
export function runPlugin(binDir: string, type: string, env: CniEnv, conf: unknown): PluginRun {
  return runExecutable(join(binDir, type), env, conf);
}

/** The result of a run that must have succeeded (else an error with what it printed). */
export function succeeded(r: PluginRun, what: string): Record<string, unknown> {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return r.json ?? {};
}

/** Where the Go reference plugins are installed (Debian's containernetworking-plugins). */
export const REFERENCE_DIR = '/usr/lib/cni';
const ADDON = join(repoRoot, 'native', 'build', 'Release', 'tscni_native.node');

/**
 * Why a test that runs our executables next to the Go reference plugins cannot run here, or
 * undefined: it needs root, the native addon, the `reference` plugins and the other files `needs`.
 */
export function referenceSkipReason(reference: readonly string[], needs: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(ADDON)) return 'native addon not built (pnpm --filter @tscni/native build)';
  const missing = [...reference.map((p) => join(REFERENCE_DIR, p)), ...needs].filter((f) => !existsSync(f));
  return missing.length === 0 ? undefined : `missing ${missing.join(', ')}`;
}

/** tools/go-runtime: Go's libcni as a command (build it with tools/go-runtime/build.sh). */
export const GO_RUNTIME = join(repoRoot, 'tools', 'go-runtime', 'bin', 'go-cni-runtime');

export interface GoRuntimeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `go-cni-runtime <verb> <conflist> <netns>`: a network list run by Go's libcni with `bin` as
 * CNI_PATH (and PATH kept, for Go plugins that exec iptables).
 */
export function goRuntime(verb: string, conflist: string, netns: string, o: { bin: string; cacheDir: string; containerId: string; extra?: readonly string[] }): GoRuntimeRun {
  const r = spawnSync(GO_RUNTIME, [verb, conflist, netns, '--cache-dir', o.cacheDir, '--container-id', o.containerId, ...(o.extra ?? [])], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', CNI_PATH: o.bin },
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** goRuntime that must succeed: its stdout (the result for add), else an error with its stderr. */
export function goRuntimeOk(verb: string, conflist: string, netns: string, o: Parameters<typeof goRuntime>[3]): string {
  const r = goRuntime(verb, conflist, netns, o);
  if (r.code !== 0) throw new Error(`go-cni-runtime ${verb}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A CNI bin directory for chains with the reference plugins: our executables `ours` bundled into it
 * (the native addon beside them, no install marker, so their IPAM is always exec'd) and the Go
 * `reference` plugins linked in. Remove it with `rmSync` when done.
 */
export function chainBin(ours: readonly string[], reference: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'tscni-chainbin-'));
  try {
    const entries = ours.map((p) => `src/bin/${p}.ts:${p}`);
    execFileSync(process.execPath, [join(repoRoot, 'tools', 'build-bin.mjs'), join(repoRoot, 'packages', 'plugins'), '--outdir', dir, ...entries], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    copyFileSync(ADDON, join(dir, 'tscni_native.node'));
    for (const p of reference) symlinkSync(join(REFERENCE_DIR, p), join(dir, p));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

export interface TestSubnet {
  v4: string;
  /** "10.a.b." */
  prefix4: string;
  v6: string;
  /** "fd7c:h::" */
  prefix6: string;
}

/**
 * A random private /24 and /64 that no route of the host's main table mentions yet, so tests and
 * other work on the host never collide.
 */
export function testSubnet(): TestSubnet {
  const inUse = execFileSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' }) + execFileSync('ip', ['-6', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (;;) {
    const a = 100 + Math.floor(Math.random() * 100);
    const b = Math.floor(Math.random() * 256);
    const h = (0x1000 + Math.floor(Math.random() * 0xe000)).toString(16);
    const s = { v4: `10.${a}.${b}.0/24`, prefix4: `10.${a}.${b}.`, v6: `fd7c:${h}::/64`, prefix6: `fd7c:${h}::` };
    if (!inUse.includes(s.prefix4) && !inUse.includes(s.prefix6)) return s;
  }
}

/** The host's forwarding sysctls, to put back after a test file that turned them on. */
export function saveForwarding(): () => void {
  const keys = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'];
  const saved = keys.map((k) => [k, readFileSync(k, 'utf8').trim()] as const);
  return () => {
    for (const [k, v] of saved) if (readFileSync(k, 'utf8').trim() !== v) writeFileSync(k, v);
  };
}

/** `ip` by absolute path: the runtime-like environment given to plugins has no PATH. */
const IP_BIN = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

/**
 * Execs `<binDir>/<type>` inside the named namespace `hostNetns` (`ip netns exec`), which then stands
 * in for the host: everything the plugin does "on the host" (bridge, nftables, iptables) happens
 * there, while the environment is still only the CNI variables (plus `extraEnv`, e.g. PATH for a
 * Go plugin that execs iptables).
 */
export function runPluginIn(hostNetns: string, binDir: string, type: string, env: CniEnv, conf: unknown, extraEnv: Record<string, string> = {}): PluginRun {
  return execWith(IP_BIN, ['netns', 'exec', hostNetns, join(binDir, type)], cniVars(env, extraEnv), conf);
}
