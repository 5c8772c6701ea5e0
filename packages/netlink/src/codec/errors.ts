// Codec layer: the kernel's answer to a failed request (NLMSG_ERROR with a negative errno, optional
// extended ack of linux/netlink.h NLMSGERR_ATTR_*) as one error class that keeps the data.

import { getSystemErrorMap } from 'node:util';

/** Extended ack: what the kernel said about a failure beyond the errno (needs NETLINK_EXT_ACK). */
export interface ExtAck {
  /** NLMSGERR_ATTR_MSG, e.g. "Unknown device type". */
  readonly msg?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the offending attribute, from the start of our request header. */
  readonly offset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: a required attribute that was missing. */
  readonly missingType?: number;
  /** NLMSGERR_ATTR_COOKIE, subsystem specific. */
  readonly cookie?: Uint8Array;
}

let errnoNames: Map<number, [string, string]> | undefined;

// libuv names errno 95 ENOTSUP; the kernel and iproute2 say EOPNOTSUPP (the same number on Linux).
// 524 is the kernel-internal ENOTSUPP that some drivers leak to userspace.
const PREFERRED: ReadonlyMap<number, [string, string]> = new Map([
  [95, ['EOPNOTSUPP', 'operation not supported']],
  [524, ['ENOTSUPP', 'operation not supported (kernel internal)']],
]);

/** Errno number -> [code, description] from libuv's table (the same names Node's system errors use). */
export function describeErrno(errno: number): { code: string; description: string } {
  errnoNames ??= getSystemErrorMap();
  const hit = PREFERRED.get(Math.abs(errno)) ?? errnoNames.get(-Math.abs(errno));
  return hit ? { code: hit[0], description: hit[1] } : { code: `E${errno}`, description: `errno ${errno}` };
}

/** The header fields of the request an error answers, as the kernel echoed them in struct nlmsgerr. */
export interface NetlinkRequestHeader {
  readonly type: number;
  readonly flags: number;
  /** The sequence number the transport gave the request: tells which message of a batch failed. */
  readonly seq: number;
}

export interface NetlinkErrorOptions {
  readonly extAck?: ExtAck | undefined;
  /** nlmsg_type of the request that failed, for messages and debugging (defaults to request.type). */
  readonly requestType?: number | undefined;
  /** The request this error answers (from the nlmsgerr's embedded header). */
  readonly request?: NetlinkRequestHeader | undefined;
  readonly operation?: string | undefined;
  readonly cause?: unknown;
}

export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /** Positive errno (the kernel sends it negated). */
  readonly errno: number;
  /** Symbolic errno, e.g. 'EEXIST'. */
  readonly code: string;
  readonly extAck?: ExtAck;
  readonly requestType?: number;
  /** The request this error answers: type, flags and sequence number, as echoed by the kernel. */
  readonly request?: NetlinkRequestHeader;
  /** Sequence number of the request this error answers (= request.seq). */
  readonly seq?: number;

  constructor(errno: number, opts: NetlinkErrorOptions = {}) {
    const e = Math.abs(errno);
    const { code, description } = describeErrno(e);
    const what = opts.operation ? `${opts.operation}: ` : '';
    const detail = opts.extAck?.msg ? `${opts.extAck.msg} (${code})` : `${description} (${code})`;
    super(`${what}${detail}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.errno = e;
    this.code = code;
    if (opts.extAck) this.extAck = opts.extAck;
    const requestType = opts.requestType ?? opts.request?.type;
    if (requestType !== undefined) this.requestType = requestType;
    if (opts.request) {
      const { type, flags, seq } = opts.request;
      this.request = { type, flags, seq };
      this.seq = seq;
    }
  }
}

export function isNetlinkError(e: unknown, code?: string): e is NetlinkError {
  return e instanceof NetlinkError && (code === undefined || e.code === code);
}
