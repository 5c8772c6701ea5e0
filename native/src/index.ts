// Native layer, JS side: the typed surface of the C++ addon (tscni_native.node) and its lazy loader.
// The addon only does what Node cannot; all protocol work lives in @tscni/netlink.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Netlink protocol families (linux/netlink.h) used by tscni. */
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const NETLINK_GENERIC = 16;

/** File name of the compiled addon; bundled plugin executables ship it beside themselves. */
export const NATIVE_ADDON_FILE = 'tscni_native.node';

/** Environment variable naming an addon file to load when the package build is absent. */
export const NATIVE_PATH_ENV = 'TSCNI_NATIVE_PATH';

export interface TunOptions {
  /** IFF_TAP when true, IFF_TUN when false. IFF_NO_PI is always set. */
  tap: boolean;
  multiQueue?: boolean;
  vnetHdr?: boolean;
  owner?: number;
  group?: number;
  /** Default true: the device outlives the descriptor, which is closed before returning. */
  persist?: boolean;
}

export interface UdpOpenOptions {
  /** Local port; the socket is bound to 0.0.0.0:port (0 lets the kernel pick one). */
  port: number;
  /** SO_BINDTODEVICE: send and receive only through this interface of the namespace (ENODEV if
   * it is not there). A socket bound to a device can send before the device has an address. */
  bindToDevice?: string;
  /** SO_BROADCAST: allow sending to 255.255.255.255 and subnet broadcasts. Default false. */
  broadcast?: boolean;
  /** SO_REUSEADDR: share the port with other such sockets (one per device, e.g. DHCP port 68).
   * Default false. */
  reuseAddr?: boolean;
}

/**
 * The addon's functions. Anything that must happen inside another network namespace runs on a
 * short-lived dedicated thread; the calling (JS) thread never changes namespace. A netnsPath of
 * null means the caller's own namespace. Failures throw (or reject with) a {@link NativeError}.
 */
export interface NativeBinding {
  /** unshare(CLONE_NEWNET) on a short-lived thread and bind-mount it at path, like `ip netns add`
   * (the directory is created and made a shared mount point). An existing path fails with EEXIST. */
  netnsCreate(path: string): void;
  /** umount2(MNT_DETACH) + unlink; a missing path is success. */
  netnsDelete(path: string): void;
  /** st_ino of a namespace file, e.g. '/proc/self/ns/net' or '/run/netns/x'. */
  netnsInode(path: string): number;
  /** A bound AF_NETLINK socket opened inside the namespace: 1 MiB buffers, NETLINK_EXT_ACK and
   * NETLINK_GET_STRICT_CHK on where the kernel has them (so dump requests need full headers). */
  netlinkOpen(protocol: number, netnsPath: string | null): number;
  /** sendto the kernel (nl_pid 0); returns the bytes sent. */
  netlinkSend(fd: number, buf: Uint8Array): number;
  /** Waits for and returns one whole datagram (sized by a MSG_TRUNC peek, never truncated). */
  netlinkRecv(fd: number): Uint8Array;
  /** Like netlinkRecv without blocking the JS thread (uv_poll); concurrent calls on one fd are
   * served in call order; close() rejects pending ones with EBADF. */
  netlinkRecvAsync(fd: number): Promise<Uint8Array>;
  /** open(file, flags | O_CLOEXEC) inside the namespace: /proc/sys/net reflects the namespace of
   * the opening thread, and the descriptor keeps it. flags are fs.constants.O_*. */
  openInNetns(netnsPath: string | null, file: string, flags: number): number;
  /** An AF_INET SOCK_DGRAM socket (SOCK_CLOEXEC | SOCK_NONBLOCK) created and bound inside the
   * namespace; returns its fd. The addon does no UDP I/O: hand the fd to Node's dgram
   * (`createSocket('udp4').bind({ fd })`), which then owns and closes it. */
  udpOpen(netnsPath: string | null, opts: UdpOpenOptions): number;
  /** close(2); also cancels pending netlinkRecvAsync calls on the fd. */
  close(fd: number): void;
  /** flock(LOCK_EX or LOCK_SH); a contended lock is waited for off the JS thread. Interoperates
   * with any other flock(2) user (Go's host-local, util-linux flock). */
  flock(fd: number, exclusive: boolean): Promise<void>;
  funlock(fd: number): void;
  /** Creates a TUN/TAP device ('' or a pattern like 'tap%d' lets the kernel name it) inside the
   * namespace and returns the kernel's name for it. */
  tunCreate(name: string, opts: TunOptions, netnsPath: string | null): string;
}

/** What every error thrown or rejected by the binding carries besides its message
 * (`syscall(detail): CODE (text)`). errno is the positive kernel value, as os.constants.errno. */
export interface NativeError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

export function isNativeError(e: unknown): e is NativeError {
  return (
    e instanceof Error &&
    typeof (e as Partial<NativeError>).errno === 'number' &&
    typeof (e as Partial<NativeError>).code === 'string' &&
    typeof (e as Partial<NativeError>).syscall === 'string'
  );
}

const BINDING_FUNCTIONS = [
  'netnsCreate',
  'netnsDelete',
  'netnsInode',
  'netlinkOpen',
  'netlinkSend',
  'netlinkRecv',
  'netlinkRecvAsync',
  'openInNetns',
  'udpOpen',
  'close',
  'flock',
  'funlock',
  'tunCreate',
] as const satisfies ReadonlyArray<keyof NativeBinding>;

function missingFunctions(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [...BINDING_FUNCTIONS];
  const record = value as Record<string, unknown>;
  return BINDING_FUNCTIONS.filter((name) => typeof record[name] !== 'function');
}

// This module's own file. In an esbuild CJS bundle import.meta is empty, and the bundle's
// __filename (or the script being run) stands in for it.
function modulePath(): string {
  const url: string | undefined = import.meta.url;
  if (typeof url === 'string' && url !== '') return fileURLToPath(url);
  if (typeof __filename === 'string' && __filename !== '') return __filename;
  return process.argv[1] ?? join(process.cwd(), 'index.js');
}

/** Where loadNative looks, in order: the package build (src/ and dist/ are both one level below
 * the package), $TSCNI_NATIVE_PATH, beside this module's real file (a bundled executable: Node
 * resolves a symlinked main script, so this works through /usr/local/bin links), then beside the
 * running script as invoked. */
export function nativeAddonCandidates(): string[] {
  const self = modulePath();
  const candidates = [resolve(dirname(self), '..', 'build', 'Release', NATIVE_ADDON_FILE)];
  const fromEnv = process.env[NATIVE_PATH_ENV];
  if (fromEnv !== undefined && fromEnv !== '') candidates.push(resolve(fromEnv));
  candidates.push(join(dirname(self), NATIVE_ADDON_FILE));
  const script = process.argv[1];
  if (script !== undefined && script !== '') {
    candidates.push(join(dirname(resolve(script)), NATIVE_ADDON_FILE));
  }
  return [...new Set(candidates)];
}

let cached: NativeBinding | undefined;

/** Loads the addon once (later calls return the same object). */
export function loadNative(): NativeBinding {
  if (cached !== undefined) return cached;
  const require = createRequire(modulePath());
  const tried: string[] = [];
  for (const candidate of nativeAddonCandidates()) {
    if (!existsSync(candidate)) {
      tried.push(`${candidate}: not found`);
      continue;
    }
    let loaded: unknown;
    try {
      loaded = require(candidate);
    } catch (e) {
      tried.push(`${candidate}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const missing = missingFunctions(loaded);
    if (missing.length > 0) {
      tried.push(`${candidate}: not the tscni addon (missing ${missing.join(', ')})`);
      continue;
    }
    cached = loaded as NativeBinding;
    return cached;
  }
  throw new Error(
    `cannot load the tscni native addon (${NATIVE_ADDON_FILE}); tried:\n` +
      tried.map((line) => `  ${line}\n`).join('') +
      `build it with \`pnpm --filter @tscni/native build\`, or set ${NATIVE_PATH_ENV} to a built ${NATIVE_ADDON_FILE}`,
  );
}
