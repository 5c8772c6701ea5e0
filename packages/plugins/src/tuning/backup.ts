// Floor 3 (plugins/tuning): the file that remembers an interface's original settings between ADD and
// DEL, `<dataDir>/<containerID>_<ifname>.json`, in the reference's format (`mac`, `promisc`, `mtu`,
// `allmulti`, `txQLen`, one-space indented) so either implementation restores the other's. Our
// additions, which the reference ignores: `sysctl` (original values by path below /proc/sys) and
// `network` (whose attachment it is, for GC).
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GoObject } from '../shared/conf.js';

export interface Backup {
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
  sysctl?: Record<string, string>;
  network?: string;
}

export function backupFile(dataDir: string, containerId: string, ifName: string): string {
  return join(dataDir, backupName(containerId, ifName));
}

export function backupName(containerId: string, ifName: string): string {
  return `${containerId}_${ifName}.json`;
}

/** Parses a backup (Go decodes keys case-insensitively; fields of the wrong type are dropped). */
export function parseBackup(text: string): Backup | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const o = new GoObject(raw);
  const b: Backup = {};
  const mac = o.get('mac');
  if (typeof mac === 'string' && mac !== '') b.mac = mac;
  const promisc = o.get('promisc');
  if (typeof promisc === 'boolean') b.promisc = promisc;
  const mtu = o.get('mtu');
  if (typeof mtu === 'number' && Number.isInteger(mtu) && mtu > 0) b.mtu = mtu;
  const allmulti = o.get('allmulti');
  if (typeof allmulti === 'boolean') b.allmulti = allmulti;
  const qlen = o.get('txQLen');
  if (typeof qlen === 'number' && Number.isInteger(qlen) && qlen >= 0) b.txQLen = qlen;
  const sysctl = o.get('sysctl');
  if (typeof sysctl === 'object' && sysctl !== null && !Array.isArray(sysctl)) {
    const entries = Object.entries(sysctl as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string');
    if (entries.length > 0) b.sysctl = Object.fromEntries(entries);
  }
  const network = o.get('network');
  if (typeof network === 'string') b.network = network;
  return b;
}

/** The file's backup; undefined when there is none. An unreadable or corrupt file reads as `{}`. */
export function readBackup(file: string): Backup | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    return {};
  }
  return parseBackup(text) ?? {};
}

/** The bytes Go's json.MarshalIndent(config, "", " ") writes, our fields after the reference's. */
export function formatBackup(b: Backup): string {
  const ordered: Backup = {};
  if (b.mac !== undefined && b.mac !== '') ordered.mac = b.mac;
  if (b.promisc !== undefined) ordered.promisc = b.promisc;
  if (b.mtu !== undefined && b.mtu !== 0) ordered.mtu = b.mtu;
  if (b.allmulti !== undefined) ordered.allmulti = b.allmulti;
  if (b.txQLen !== undefined) ordered.txQLen = b.txQLen;
  if (b.sysctl !== undefined && Object.keys(b.sysctl).length > 0) ordered.sysctl = b.sysctl;
  if (b.network !== undefined) ordered.network = b.network;
  return JSON.stringify(ordered, null, 1);
}

/** Written to a temporary name and renamed, so a crash never leaves half a file for DEL to trip on. */
export function writeBackup(file: string, dataDir: string, b: Backup): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, formatBackup(b), { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function removeBackup(file: string): void {
  rmSync(file, { force: true });
}

/** Names of the backup files in a data directory (none when it does not exist). */
export function listBackups(dataDir: string): string[] {
  try {
    return readdirSync(dataDir).filter((f) => f.endsWith('.json'));
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return [];
    throw e;
  }
}
