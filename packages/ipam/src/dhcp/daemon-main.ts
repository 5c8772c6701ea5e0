// Floor 3 (ipam/dhcp): `dhcp daemon [flags]`, the reference's command line (Go flag syntax:
// -name value, -name=value, --name value; bare booleans), the root-only socket (mode 0600, or a
// systemd-activated one), the pidfile, and shutdown on SIGINT/SIGTERM.
import { chmodSync, existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { netnsChannel } from './channel.js';
import type { ChannelOpener } from './channel.js';
import { DEFAULT_SOCKET_PATH } from './config.js';
import { DhcpDaemon } from './daemon.js';

export interface DaemonFlags {
  pidfile: string | undefined;
  hostPrefix: string;
  socketPath: string;
  broadcast: boolean;
  timeoutMs: number;
  resendMaxMs: number;
  resendTimeoutMs: number;
}

export const USAGE = `usage: dhcp daemon [-pidfile PATH] [-hostprefix PREFIX] [-socketpath PATH] [-broadcast]
                   [-timeout 10s] [-resendmax 62s] [-resendtimeout 208s]`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go time.Duration string ("10s", "1m30s", "250ms") in milliseconds. */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return s === '' ? undefined : total;
}

export function parseDaemonFlags(argv: readonly string[]): DaemonFlags {
  const flags: DaemonFlags = {
    pidfile: undefined,
    hostPrefix: '',
    socketPath: DEFAULT_SOCKET_PATH,
    broadcast: false,
    timeoutMs: 10_000,
    resendMaxMs: 62_000,
    resendTimeoutMs: 208_000,
  };
  const strings = { pidfile: 'pidfile', hostprefix: 'hostPrefix', socketpath: 'socketPath' } as const;
  const durations = { timeout: 'timeoutMs', resendmax: 'resendMaxMs', resendtimeout: 'resendTimeoutMs' } as const;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--?([a-z]+)(?:=(.*))?$/s.exec(arg);
    if (m === null) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const name = m[1]!;
    let value = m[2];
    if (name === 'broadcast') {
      if (value !== undefined && !/^(true|false|1|0)$/.test(value)) throw new UsageError(`-broadcast: invalid boolean ${JSON.stringify(value)}`);
      flags.broadcast = value === undefined || value === 'true' || value === '1';
      continue;
    }
    if (!(name in strings) && !(name in durations)) throw new UsageError(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: -${name}`);
    }
    if (name in strings) {
      flags[strings[name as keyof typeof strings]] = value;
    } else {
      const ms = parseDuration(value);
      if (ms === undefined) throw new UsageError(`invalid duration ${JSON.stringify(value)} for -${name}`);
      flags[durations[name as keyof typeof durations]] = ms;
    }
  }
  if (flags.socketPath === '') throw new UsageError('-socketpath must not be empty');
  return flags;
}

/** Is something answering on this unix socket path? */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Listens on the path with mode 0600 from the first moment (umask), clearing a stale socket file. */
async function listenRootOnly(server: Server, path: string): Promise<void> {
  if (existsSync(path)) {
    if (await socketAnswers(path)) throw new Error(`another DHCP daemon is listening on ${path}`);
    unlinkSync(path);
  }
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  chmodSync(path, 0o600);
}

export interface RunningDaemon {
  daemon: DhcpDaemon;
  socketPath: string | undefined;
  stop(): Promise<void>;
}

/** Starts the daemon: a systemd-activated socket (LISTEN_FDS) if one was passed, else -socketpath. */
export async function startDaemon(flags: DaemonFlags, o: { openChannel?: ChannelOpener; log?: (line: string) => void } = {}): Promise<RunningDaemon> {
  const daemon = new DhcpDaemon({
    hostPrefix: flags.hostPrefix,
    broadcast: flags.broadcast,
    timeoutMs: flags.timeoutMs,
    resendMaxMs: flags.resendMaxMs,
    reacquireTimeoutMs: flags.resendTimeoutMs,
    openChannel: o.openChannel ?? netnsChannel,
    ...(o.log === undefined ? {} : { log: o.log }),
  });
  const server = daemon.createServer();
  let socketPath: string | undefined;
  const activated = process.env['LISTEN_PID'] === String(process.pid) && Number(process.env['LISTEN_FDS'] ?? '0') >= 1;
  if (activated) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: 3 }, () => resolve());
    });
  } else {
    await listenRootOnly(server, flags.socketPath);
    socketPath = flags.socketPath;
  }
  if (flags.pidfile !== undefined) writeFileSync(flags.pidfile, `${process.pid}\n`);
  return {
    daemon,
    socketPath,
    async stop() {
      await daemon.close();
      for (const f of [socketPath, flags.pidfile]) {
        if (f === undefined) continue;
        try {
          unlinkSync(f);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** `dhcp daemon …` as a process: runs until SIGINT/SIGTERM; returns the exit code. */
export async function daemonMain(argv: readonly string[]): Promise<number> {
  let flags: DaemonFlags;
  try {
    flags = parseDaemonFlags(argv);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    return 2;
  }
  let running: RunningDaemon;
  try {
    running = await startDaemon(flags);
  } catch (e) {
    process.stderr.write(`dhcp daemon: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  process.stderr.write(`${new Date().toISOString()} dhcp daemon listening on ${running.socketPath ?? 'the activated socket'}\n`);
  return new Promise<number>((resolve) => {
    const shutdown = (): void => {
      void running.stop().then(() => resolve(0));
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
}
