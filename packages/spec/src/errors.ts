// Layer 1 (spec): the CNI error object and its code table, mirroring SPEC "Error" and Go pkg/types.Error.
// One class carries every CNI failure; plugins print it, runtimes parse it back with fromJSON.

/** Well-known CNI error codes (SPEC section 6, plus Go-only 8 and 999). 100+ are plugin-specific. */
export const ErrorCode = {
  Unknown: 0,
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

/** The error JSON a plugin prints. The reference skel omits `cniVersion`; the spec lists it. */
export interface ErrorResult {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  readonly code: number;
  readonly msg: string;
  readonly details: string | undefined;

  constructor(code: number, msg: string, details?: string, options?: { cause?: unknown }) {
    // Same text as Go's (*types.Error).Error(): "msg" or "msg; details".
    super(details ? `${msg}; ${details}` : msg, options);
    this.name = 'CniError';
    this.code = code;
    this.msg = msg;
    this.details = details === '' ? undefined : details;
  }

  /** Key order as the reference prints it (code, msg, details), with the optional cniVersion first. */
  toJSON(cniVersion?: string): ErrorResult {
    const out: ErrorResult = cniVersion ? { cniVersion, code: this.code, msg: this.msg } : { code: this.code, msg: this.msg };
    if (this.details !== undefined) out.details = this.details;
    return out;
  }

  /**
   * Reads a plugin's error output (a JSON text, its bytes, or an already parsed value) the way
   * Go's invoke decodes `types.Error`: missing fields are zero values, wrong types are a
   * decoding failure (thrown as CniError code 6).
   */
  static fromJSON(value: unknown): CniError {
    let v = value;
    if (typeof v === 'string' || v instanceof Uint8Array) {
      const text = typeof v === 'string' ? v : new TextDecoder().decode(v);
      try {
        v = JSON.parse(text) as unknown;
      } catch (e) {
        throw new CniError(ErrorCode.DecodingFailure, 'error parsing plugin error output', errorText(e));
      }
    }
    if (v === null) return new CniError(0, '');
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw new CniError(ErrorCode.DecodingFailure, 'error parsing plugin error output', `expected a JSON object, got ${jsonTypeName(v)}`);
    }
    const o = v as Record<string, unknown>;
    const code = o['code'] ?? 0;
    if (typeof code !== 'number' || !Number.isSafeInteger(code) || code < 0) {
      throw new CniError(ErrorCode.DecodingFailure, 'error parsing plugin error output', '"code" must be a non-negative integer');
    }
    const msg = o['msg'] ?? '';
    if (typeof msg !== 'string') {
      throw new CniError(ErrorCode.DecodingFailure, 'error parsing plugin error output', '"msg" must be a string');
    }
    const details = o['details'] ?? '';
    if (typeof details !== 'string') {
      throw new CniError(ErrorCode.DecodingFailure, 'error parsing plugin error output', '"details" must be a string');
    }
    return new CniError(code, msg, details);
  }
}

export function isCniError(e: unknown): e is CniError {
  return e instanceof CniError;
}

/** Any thrown value as a CniError: CniErrors pass through, everything else is code 999 (as skel does). */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  return new CniError(ErrorCode.Internal, errorText(e), undefined, { cause: e });
}

/** The message of any thrown value, without a stack. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return String(e);
  } catch {
    return 'unknown error';
  }
}

/** Name of a JSON value's type for messages ("array", "null", ...). */
export function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
