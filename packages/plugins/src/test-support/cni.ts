// Test support: install the plugin executables with tools/install-plugins into a temporary CNI bin
// directory and run them the way a container runtime does: exec with only the CNI variables in the
// environment (no PATH), the network configuration on stdin.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Execs `<binDir>/<type>` with a runtime's environment and `conf` on stdin. */
export function runPlugin(binDir: string, type: string, env: CniEnv, conf: unknown): PluginRun {
  const vars: Record<string, string> = { CNI_COMMAND: env.command, CNI_PATH: env.path };
  if (env.containerId !== undefined) vars['CNI_CONTAINERID'] = env.containerId;
  if (env.netns !== undefined) vars['CNI_NETNS'] = env.netns;
  if (env.ifName !== undefined) vars['CNI_IFNAME'] = env.ifName;
  if (env.args !== undefined) vars['CNI_ARGS'] = env.args;
  const r = spawnSync(join(binDir, type), [], { env: vars, input: JSON.stringify(conf), encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
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
  const vars: Record<string, string> = { CNI_COMMAND: env.command, CNI_PATH: env.path, ...extraEnv };
  if (env.containerId !== undefined) vars['CNI_CONTAINERID'] = env.containerId;
  if (env.netns !== undefined) vars['CNI_NETNS'] = env.netns;
  if (env.ifName !== undefined) vars['CNI_IFNAME'] = env.ifName;
  if (env.args !== undefined) vars['CNI_ARGS'] = env.args;
  const r = spawnSync(IP_BIN, ['netns', 'exec', hostNetns, join(binDir, type)], { env: vars, input: JSON.stringify(conf), encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}
