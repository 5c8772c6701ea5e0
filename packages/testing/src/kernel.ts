// Test support (private): helpers shared by the *.kernel.test.ts suites: names unique per run,
// throw-away namespaces (made through the caller's own API), and `ip -j` as the independent witness.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const runId = randomBytes(2).toString('hex');
let counter = 0;

/** A name unique to this run, at most 15 characters (IFNAMSIZ - 1). */
export function uniq(prefix = 't'): string {
  const name = `${prefix}${runId}${(counter++).toString(36)}`;
  if (name.length > 15) throw new Error(`test name ${name} is longer than 15 characters`);
  return name;
}

export interface TestNetns {
  readonly name: string;
  readonly path: string;
}

/** How a suite makes and removes a named namespace: the package under test brings its own (netlink's). */
export interface NetnsOps {
  create(name: string): void;
  remove(name: string): void;
  path(name: string): string;
}

/** Namespaces created for a test; `cleanup()` removes those still present (call it in finally/afterEach). */
export class NetnsPool {
  readonly #made: TestNetns[] = [];
  readonly #ops: NetnsOps;
  readonly #prefix: string;
  constructor(ops: NetnsOps, defaultPrefix = 'tscn') {
    this.#ops = ops;
    this.#prefix = defaultPrefix;
  }
  create(prefix = this.#prefix): TestNetns {
    const name = uniq(prefix);
    this.#ops.create(name);
    const ns = { name, path: this.#ops.path(name) };
    this.#made.push(ns);
    return ns;
  }
  /** Deletes one namespace now (e.g. to test DEL after the container is gone). */
  remove(ns: TestNetns): void {
    this.#ops.remove(ns.name);
  }
  cleanup(): void {
    for (const ns of this.#made.splice(0)) this.#ops.remove(ns.name);
  }
}

/** `ip [-n ns] -j <args>` parsed; `ns` null runs in our own namespace. */
export function ipJson<T = unknown>(ns: TestNetns | null, ...args: string[]): T {
  const argv = [...(ns ? ['-n', ns.name] : []), '-j', ...args];
  const out = execFileSync('ip', argv, { encoding: 'utf8' });
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

/** `bridge -n <ns> -j <args>` parsed. */
export function bridgeJson<T = unknown>(ns: TestNetns, ...args: string[]): T {
  const out = execFileSync('bridge', ['-n', ns.name, '-j', ...args], { encoding: 'utf8' });
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

/** Plain `ip` for preparing or breaking things the test is not about; fails loudly. */
export function ip(ns: TestNetns | null, ...args: string[]): void {
  const r = spawnSync('ip', [...(ns ? ['-n', ns.name] : []), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** `ip` that may fail (cleanup of things that may already be gone). */
export function ipQuiet(ns: TestNetns | null, ...args: string[]): void {
  spawnSync('ip', [...(ns ? ['-n', ns.name] : []), ...args], { encoding: 'utf8' });
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  ifalias?: string;
  txqlen?: number;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown> };
}

export function links(ns: TestNetns | null): IpLink[] {
  return ipJson<IpLink[]>(ns, '-d', 'link', 'show');
}

export function link(ns: TestNetns | null, name: string): IpLink | undefined {
  return links(ns).find((l) => l.ifname === name);
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  broadcast?: string;
  tentative?: boolean;
}

export function addrs(ns: TestNetns | null, dev: string): IpAddrInfo[] {
  const out = ipJson<Array<{ addr_info: IpAddrInfo[] }>>(ns, 'addr', 'show', 'dev', dev);
  return out[0]?.addr_info ?? [];
}

/** "local/prefixlen" of the global-scope addresses on a link. */
export function globalCidrs(ns: TestNetns | null, dev: string): string[] {
  return addrs(ns, dev)
    .filter((a) => a.scope === 'global')
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  protocol?: string;
}

export function routes(ns: TestNetns | null, family: '-4' | '-6', ...filter: string[]): IpRoute[] {
  return ipJson<IpRoute[]>(ns, family, 'route', 'show', ...filter);
}

/** `ip netns exec <ns> sysctl` equivalent without a shell: read /proc/sys through `ip netns exec cat`. */
export function sysctl(ns: TestNetns | null, key: string): string {
  const file = `/proc/sys/${key.replaceAll('.', '/')}`;
  const argv = ns ? ['netns', 'exec', ns.name, 'cat', file] : [];
  const out = ns ? execFileSync('ip', argv, { encoding: 'utf8' }) : execFileSync('cat', [file], { encoding: 'utf8' });
  return out.trim();
}

/** One ping from inside `ns`; true when answered. */
export function ping(ns: TestNetns, address: string): boolean {
  const v6 = address.includes(':');
  const r = spawnSync('ip', ['netns', 'exec', ns.name, 'ping', ...(v6 ? ['-6'] : []), '-c', '1', '-W', '2', address], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * The source address a TCP listener in `server` sees when `client` connects to `address:port`, or
 * undefined when no connection arrives (e.g. replies cannot route back). Both ends are Node
 * processes started with `ip netns exec`.
 */
export async function tcpSourceSeen(server: TestNetns, client: TestNetns, address: string, port: number): Promise<string | undefined> {
  const serverJs = `const s=require('net').createServer(c=>{process.stdout.write('from '+c.remoteAddress+'\\n');c.end();s.close();});s.listen(${port},'0.0.0.0',()=>process.stdout.write('ready\\n'));setTimeout(()=>process.exit(2),8000);`;
  const child = spawn('ip', ['netns', 'exec', server.name, process.execPath, '-e', serverJs], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const lines = new Promise<void>((resolve) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.on('close', () => resolve());
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    await lines;
    const clientJs = `const c=require('net').connect(${port},${JSON.stringify(address)});c.on('connect',()=>c.end());c.on('error',()=>process.exit(1));setTimeout(()=>process.exit(3),3000);`;
    spawnSync('ip', ['netns', 'exec', client.name, process.execPath, '-e', clientJs], { stdio: 'ignore', timeout: 10_000 });
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
  } finally {
    child.kill();
  }
  return /from (\S+)/.exec(out)?.[1];
}
