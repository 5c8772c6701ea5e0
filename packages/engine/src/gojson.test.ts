import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { goMarshal, goMarshalStruct, goQuote } from './gojson.js';

describe('goMarshal (Go encoding/json Marshal of decoded JSON)', () => {
  it('sorts object keys at every level and writes compact JSON', () => {
    expect(goMarshal({ b: 1, a: { d: [1, { z: 0, y: null }], c: true } })).toBe('{"a":{"c":true,"d":[1,{"y":null,"z":0}]},"b":1}');
  });

  it('escapes <, >, &, U+2028 and U+2029 as Go does', () => {
    expect(goQuote('a<b>&c\u2028\u2029')).toBe('"a\\u003cb\\u003e\\u0026c\\u2028\\u2029"');
  });

  it('leaves non-ASCII text literal and escapes control characters like Go 1.22+', () => {
    expect(goQuote('café\n\t\r\b\f\u0001"\\')).toBe('"café\\n\\t\\r\\b\\f\\u0001\\"\\\\"');
  });

  it('replaces lone surrogates with U+FFFD (Go decodes them so)', () => {
    expect(goQuote('x\uD800y')).toBe('"x\uFFFDy"');
    expect(goQuote('\uD83D\uDE00')).toBe('"\uD83D\uDE00"');
  });

  it('formats numbers like Go float64 (shortest form, e-notation thresholds)', () => {
    expect(goMarshal([1, 1.5, 12345678901, 1e21, 1e-7, 0.000001, -0])).toBe('[1,1.5,12345678901,1e+21,1e-7,0.000001,-0]');
  });

  it('sorts keys by code point (Go compares UTF-8 bytes)', () => {
    expect(goMarshal({ '\uFFFD': 1, '\u{1F600}': 2, B: 3, a: 4 })).toBe('{"B":3,"a":4,"\uFFFD":1,"\u{1F600}":2}');
  });

  it('writes bytes as standard base64 and skips undefined members', () => {
    expect(goMarshal({ c: new TextEncoder().encode('hi'), u: undefined })).toBe('{"c":"aGk="}');
  });

  it('keeps struct member order in goMarshalStruct', () => {
    expect(goMarshalStruct([['z', 1], ['a', undefined], ['m', { y: 1, x: 2 }]])).toBe('{"z":1,"m":{"x":2,"y":1}}');
  });

  it('round-trips any JSON value to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(goMarshal(v))).toEqual(v);
      }),
    );
  });
});
