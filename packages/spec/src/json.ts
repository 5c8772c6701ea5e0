// Layer 1 (spec): JSON in and out the way Go's encoding/json does it, so our bytes match the
// reference: bad JSON is CniError code 6, output escapes <, >, &, U+2028 and U+2029.
import { CniError, ErrorCode, errorText } from './errors.js';

let decoder: { decode(input: Uint8Array): string } | undefined;

/** Parses JSON text or UTF-8 bytes (invalid UTF-8 becomes U+FFFD, as in Go). Bad JSON is CniError code 6. */
export function parseJson(input: string | Uint8Array): unknown {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) text = (decoder ??= new TextDecoder()).decode(input);
  else throw new CniError(ErrorCode.DecodingFailure, 'invalid JSON', 'expected a string or bytes');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, 'invalid JSON', errorText(e), { cause: e });
  }
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** JSON.stringify plus Go's HTML-safe escaping. `indent` 4 matches json.MarshalIndent(v, "", "    "). */
export function goJson(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(HTML_UNSAFE, escapeChar);
}
