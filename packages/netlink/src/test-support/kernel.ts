// Test support for *.kernel.test.ts (not built, not exported): unique names, throw-away namespaces
// created through our own API, and `ip -j` as the independent witness of what the kernel holds.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createNetns, deleteNetns, netnsPath } from '../netns.js';
import { NetlinkError } from '../codec/errors.js';

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

/** Namespaces created for a test; `cleanup()` removes them all (call it in finally/afterEach). */
export class NetnsPool {
  readonly #made: TestNetns[] = [];
  create(prefix = 'tscnl'): TestNetns {
    const name = uniq(prefix);
    createNetns(name);
    const ns = { name, path: netnsPath(name) };
    this.#made.push(ns);
    return ns;
  }
  cleanup(): void {
    for (const ns of this.#made.splice(0)) deleteNetns(ns.name);
  }
}

/** `ip -n <ns> -j <args>` parsed; `ns` null runs in our own namespace. */
export function ipJson<T = unknown>(ns: TestNetns | null, ...args: string[]): T {
  const argv = [...(ns ? ['-n', ns.name] : []), '-j', ...args];
  const out = execFileSync('ip', argv, { encoding: 'utf8' });
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

export function bridgeJson<T = unknown>(ns: TestNetns, ...args: string[]): T {
  const out = execFileSync('bridge', ['-n', ns.name, '-j', ...args], { encoding: 'utf8' });
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

/** Plain `ip` for setting up a fixture device the test is not about; fails loudly. */
export function ip(ns: TestNetns | null, ...args: string[]): void {
  const r = spawnSync('ip', [...(ns ? ['-n', ns.name] : []), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
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
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown> };
}

export function links(ns: TestNetns | null): IpLink[] {
  return ipJson<IpLink[]>(ns, '-d', 'link', 'show');
}

export function link(ns: TestNetns | null, name: string): IpLink | undefined {
  return links(ns).find((l) => l.ifname === name);
}

/** The kernel does not know this link kind (or this feature): the test must be skipped, not passed. */
export function kernelLacks(e: unknown): boolean {
  return (
    e instanceof NetlinkError &&
    (e.code === 'EOPNOTSUPP' || /Unknown device type/i.test(e.extAck?.msg ?? ''))
  );
}
