// Floor 3 (ipam/dhcp): the plugin <-> daemon protocol: one newline-terminated JSON request and one
// JSON reply per unix-socket connection. It replaces the reference's Go net/rpc (DHCP.Allocate,
// DHCP.Release), so the Go plugin cannot talk to this daemon nor ours to the Go daemon.
import { connect } from 'node:net';
import { CniError, ErrorCode } from '@tscni/spec';
import type { ErrorResult } from '@tscni/spec';

/** One option to send: its code and bytes as hex (JSON has no byte strings). */
export interface WireOption {
  code: number;
  hex: string;
}

export interface AllocateRequest {
  method: 'allocate';
  /** `<containerID>/<netName>/<ifName>`: the lease's key, and option 61 unless overridden. */
  key: string;
  containerId: string;
  netName: string;
  ifName: string;
  netns: string;
  /** Options 55 (request list), 61, 12, 60, 77, … exactly as the client sends them. */
  options: WireOption[];
}

export type DaemonRequest =
  | AllocateRequest
  | { method: 'release'; key: string }
  | { method: 'lease'; key: string }
  | { method: 'gc'; netName: string; keep: string[] }
  | { method: 'ping' };

/** A lease as the daemon reports it (times in seconds, `expiresIn` from the moment of the reply). */
export interface WireLease {
  address: string;
  prefix: number;
  serverId: string;
  leaseTime: number;
  renewalTime: number;
  rebindingTime: number;
  expiresIn: number;
  routers: string[];
  dnsServers: string[];
  domainName?: string;
  classlessRoutes: Array<{ dst: string; gw: string }>;
  staticRoutes: Array<{ dst: string; gw: string }>;
  state: string;
}

export type DaemonReply =
  | { ok: true; lease?: WireLease; released?: string[] }
  | { ok: false; error: ErrorResult };

export const MAX_LINE = 1 << 20;

export function leaseKey(containerId: string, netName: string, ifName: string): string {
  return `${containerId}/${netName}/${ifName}`;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

/** Sends one request to the daemon and waits (at most timeoutMs) for its reply. */
export function callDaemon(socketPath: string, req: DaemonRequest, timeoutMs: number): Promise<DaemonReply> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let done = false;
    const finish = (err: CniError | undefined, reply?: DaemonReply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(reply as DaemonReply);
    };
    const timer = setTimeout(
      () => finish(new CniError(ErrorCode.TryAgainLater, `DHCP daemon at ${socketPath} did not answer ${req.method} within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_LINE) finish(new CniError(ErrorCode.DecodingFailure, 'DHCP daemon reply is too long'));
        return;
      }
      let reply: unknown;
      try {
        reply = JSON.parse(buf.slice(0, nl));
      } catch {
        finish(new CniError(ErrorCode.DecodingFailure, 'DHCP daemon sent a reply that is not JSON'));
        return;
      }
      if (typeof reply !== 'object' || reply === null || typeof (reply as { ok?: unknown }).ok !== 'boolean') {
        finish(new CniError(ErrorCode.DecodingFailure, 'DHCP daemon sent a malformed reply'));
        return;
      }
      finish(undefined, reply as DaemonReply);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      finish(new CniError(ErrorCode.IOFailure, `error dialing DHCP daemon at ${socketPath}: ${e.code ?? e.message}`, 'is `dhcp daemon` running?', { cause: e }));
    });
    sock.on('end', () => finish(new CniError(ErrorCode.IOFailure, `DHCP daemon at ${socketPath} closed the connection without a reply`)));
  });
}

/** The daemon's reply as a value, or its error as a CniError. */
export function unwrap(reply: DaemonReply): { lease?: WireLease; released?: string[] } {
  if (reply.ok) return reply;
  throw CniError.fromJSON(reply.error);
}
