// Engine layer: JSON text exactly as Go's encoding/json Marshal writes it for decoded JSON values
// (maps have sorted keys, compact, HTML-safe escapes), so plugin stdin and the result cache match libcni.

/** A JSON value as `JSON.parse` produces it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// Go escapes these on top of what JSON.stringify escapes: the HTML-significant characters (because
// json.Marshal calls HTMLEscape) and the JavaScript line terminators U+2028/U+2029.
const GO_EXTRA_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

// A lone UTF-16 surrogate cannot appear in a Go string decoded from JSON (Go replaces invalid
// code points with U+FFFD on decode), so we write the replacement character instead of \udXXX.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Go's quoting of a string: JSON.stringify plus HTML-safe and U+2028/9 escapes. */
export function goQuote(s: string): string {
  return JSON.stringify(s.replace(LONE_SURROGATE, '\uFFFD')).replace(/[<>&\u2028\u2029]/g, (c) => GO_EXTRA_ESCAPES[c] ?? c);
}

/** Go's float64 formatting; JavaScript's shortest round-trip form agrees except for negative zero. */
function goNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${n}`);
  return Object.is(n, -0) ? '-0' : JSON.stringify(n);
}

/**
 * Marshals a decoded JSON value like Go's `json.Marshal` of the equivalent `interface{}` value:
 * object keys sorted (Go maps), no whitespace, Go string escapes. `undefined` object members are
 * skipped (they cannot come from JSON.parse; skipping them lets callers build values with optional keys).
 */
export function goMarshal(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return goQuote(value);
    case 'number':
      return goNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v: unknown) => goMarshal(v === undefined ? null : v)).join(',')}]`;
      if (value instanceof Uint8Array) return goQuote(Buffer.from(value).toString('base64'));
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => compareGoStrings(a, b));
      return `{${entries.map(([k, v]) => `${goQuote(k)}:${goMarshal(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`json: unsupported type: ${typeof value}`);
  }
}

/**
 * Marshals an object whose members are written in the given order, as Go writes a struct
 * (field order, `omitempty` handled by the caller leaving a member undefined); member values
 * are marshalled with {@link goMarshal}.
 */
export function goMarshalStruct(fields: ReadonlyArray<readonly [string, unknown]>): string {
  const parts = fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${goQuote(k)}:${goMarshal(v)}`);
  return `{${parts.join(',')}}`;
}

// Go sorts map keys by their UTF-8 bytes; JavaScript compares UTF-16 code units. They differ only
// for characters above U+FFFF against U+E000..U+FFFF, so compare by code points.
function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const ca = [...a];
  const cb = [...b];
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]!.codePointAt(0)!;
    const y = cb[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return ca.length - cb.length;
}
