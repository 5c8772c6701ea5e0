// Engine layer: the result cache, byte-compatible with Go libcni (`<cacheDir>/results/<net>-<cid>-<ifname>`,
// JSON "cniCacheV1"), so containerd/CRI-O and tscni can read each other's entries. Unlike libcni,
// writes are atomic (temp file, fsync, rename) so a crash never leaves an empty entry (cni#1055).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CniError, ErrorCode } from '@tscni/spec';
import { goMarshalStruct } from './gojson.js';

export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const CACHE_KIND_V1 = 'cniCacheV1';

/** One cache entry (Go libcni cachedInfo), members in the order Go writes them. */
export interface CacheEntry {
  containerId: string;
  /** The network configuration bytes (the list file's bytes); stored base64 like Go's []byte. */
  config: Uint8Array;
  ifName: string;
  networkName: string;
  netns?: string | undefined;
  cniArgs?: ReadonlyArray<readonly [string, string]> | undefined;
  capabilityArgs?: Record<string, unknown> | undefined;
  /** The final ADD result as JSON (in the version the last plugin returned). */
  result?: Record<string, unknown> | undefined;
}

/** An attachment found in the cache (libcni NetworkAttachment). */
export interface NetworkAttachment {
  containerId: string;
  network: string;
  ifName: string;
  config: Uint8Array;
  netns: string;
  cniArgs: Array<[string, string]> | undefined;
  capabilityArgs: Record<string, unknown> | undefined;
}

export function resultsDir(cacheDir: string): string {
  return join(cacheDir, 'results');
}

/** `<cacheDir>/results/<net>-<cid>-<ifname>`; all three parts are required. */
export function cacheFilePath(cacheDir: string, networkName: string, containerId: string, ifName: string): string {
  if (networkName === '' || containerId === '' || ifName === '') {
    throw new CniError(
      ErrorCode.Internal,
      `cache file path requires network name (${JSON.stringify(networkName)}), container ID (${JSON.stringify(containerId)}), and interface name (${JSON.stringify(ifName)})`,
    );
  }
  // Names reach here unvalidated on DEL/CHECK/GC (libcni validates them on ADD only); never let one
  // point outside the results directory.
  for (const part of [networkName, containerId, ifName]) {
    if (part.includes('/') || part.includes('\0') || part === '.' || part === '..') {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid cache file name part ${JSON.stringify(part)}`);
    }
  }
  return join(resultsDir(cacheDir), `${networkName}-${containerId}-${ifName}`);
}

/** The exact bytes Go's json.Marshal(&cachedInfo) produces for this entry (omitempty as Go applies it). */
export function encodeCacheEntry(e: CacheEntry): string {
  const nonEmpty = <T extends object>(v: T | undefined): T | undefined =>
    v !== undefined && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0) ? v : undefined;
  return goMarshalStruct([
    ['kind', CACHE_KIND_V1],
    ['containerId', e.containerId],
    ['config', e.config],
    ['ifName', e.ifName],
    ['networkName', e.networkName],
    ['netns', e.netns === '' ? undefined : e.netns],
    ['cniArgs', nonEmpty(e.cniArgs)],
    ['capabilityArgs', nonEmpty(e.capabilityArgs)],
    ['result', nonEmpty(e.result)],
  ]);
}

/** Writes `data` to `file` atomically: a 0600 temp file in the same directory, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  // Hidden and without the entry's name, so neither we nor libcni's listing mistakes a leftover for an entry.
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export async function writeCacheEntry(cacheDir: string, e: CacheEntry): Promise<void> {
  const file = cacheFilePath(cacheDir, e.networkName, e.containerId, e.ifName);
  try {
    await mkdir(resultsDir(cacheDir), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, encodeCacheEntry(e));
  } catch (err) {
    throw new CniError(ErrorCode.IOFailure, `failed to set network ${JSON.stringify(e.networkName)} cached result: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/** Removes an entry; a missing one is not an error. */
export async function deleteCacheEntry(cacheDir: string, networkName: string, containerId: string, ifName: string): Promise<void> {
  let file: string;
  try {
    file = cacheFilePath(cacheDir, networkName, containerId, ifName);
  } catch {
    return;
  }
  await unlink(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** The raw bytes of an entry, or undefined when it does not exist (libcni ignores read errors). */
export async function readCacheBytes(file: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(file);
  } catch {
    return undefined;
  }
}

export interface DecodedCacheEntry {
  kind: string;
  containerId: string;
  config: Uint8Array;
  ifName: string;
  networkName: string;
  netns: string;
  cniArgs: Array<[string, string]> | undefined;
  capabilityArgs: Record<string, unknown> | undefined;
  result: Record<string, unknown> | undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Go decodes struct members case-insensitively; the last matching key wins.
function member(o: Record<string, unknown>, name: string): unknown {
  let found: unknown;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === lower) found = v;
  return found;
}

/**
 * Decodes a cache file as Go's json.Unmarshal into cachedInfo would: any type mismatch is an
 * error (CniError 6). The `kind` is returned, not checked; callers decide about legacy files.
 */
export function decodeCacheEntry(bytes: Uint8Array): DecodedCacheEntry {
  const fail = (why: string): CniError => new CniError(ErrorCode.DecodingFailure, `failed to decode cache entry: ${why}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (!isObject(v)) throw fail('not a JSON object');
  const str = (name: string): string => {
    const x = member(v, name);
    if (x === undefined || x === null) return '';
    if (typeof x !== 'string') throw fail(`"${name}" must be a string`);
    return x;
  };
  const configText = str('config');
  if (!BASE64.test(configText) || configText.length % 4 !== 0) throw fail('"config" is not base64');
  let cniArgs: Array<[string, string]> | undefined;
  const rawArgs = member(v, 'cniArgs');
  if (rawArgs !== undefined && rawArgs !== null) {
    if (!Array.isArray(rawArgs)) throw fail('"cniArgs" must be an array of pairs');
    cniArgs = rawArgs.map((p: unknown) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string') throw fail('"cniArgs" must be an array of pairs');
      return [p[0], p[1]];
    });
  }
  const obj = (name: string): Record<string, unknown> | undefined => {
    const x = member(v, name);
    if (x === undefined || x === null) return undefined;
    if (!isObject(x)) throw fail(`"${name}" must be an object`);
    return x;
  };
  return {
    kind: str('kind'),
    containerId: str('containerId'),
    config: Buffer.from(configText, 'base64'),
    ifName: str('ifName'),
    networkName: str('networkName'),
    netns: str('netns'),
    cniArgs,
    capabilityArgs: obj('capabilityArgs'),
    result: obj('result'),
  };
}

/**
 * The attachments recorded in `<cacheDir>/results`, sorted by file name, optionally only those of
 * one container (libcni GetCachedAttachments). Unreadable, non-V1 and incomplete entries are
 * skipped; a missing directory gives [].
 */
export async function listCachedAttachments(cacheDir: string, containerId?: string): Promise<NetworkAttachment[]> {
  const dir = resultsDir(cacheDir);
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CniError(ErrorCode.IOFailure, `failed to list ${dir}: ${(e as Error).message}`, undefined, { cause: e });
  }
  const out: NetworkAttachment[] = [];
  for (const name of names) {
    if (name.startsWith('.tmp-')) continue;
    if (containerId) {
      const part = `-${containerId}-`;
      const pos = name.indexOf(part);
      if (pos <= 0 || pos + part.length >= name.length) continue;
    }
    const bytes = await readCacheBytes(join(dir, name));
    if (bytes === undefined) continue;
    let e: DecodedCacheEntry;
    try {
      e = decodeCacheEntry(bytes);
    } catch {
      continue;
    }
    if (e.kind !== CACHE_KIND_V1) continue;
    if (containerId && e.containerId !== containerId) continue;
    if (e.ifName === '' || e.networkName === '') continue;
    out.push({
      containerId: e.containerId,
      network: e.networkName,
      ifName: e.ifName,
      config: e.config,
      netns: e.netns,
      cniArgs: e.cniArgs,
      capabilityArgs: e.capabilityArgs,
    });
  }
  return out;
}
