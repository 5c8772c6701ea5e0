// CniError: construction, printing like Go types.Error, and decoding a plugin's error output.
import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode, isCniError, toCniError } from './errors.js';
import { formatResult } from './result.js';

describe('CniError', () => {
  it('carries code, msg and details; message is Go Error() text', () => {
    const e = new CniError(ErrorCode.InvalidNetworkConfig, 'bad', 'why');
    expect(e.code).toBe(7);
    expect(e.msg).toBe('bad');
    expect(e.details).toBe('why');
    expect(e.message).toBe('bad; why');
    expect(new CniError(1, 'only').message).toBe('only');
    expect(new CniError(1, 'x', '').details).toBeUndefined();
    expect(e).toBeInstanceOf(Error);
    expect(isCniError(e)).toBe(true);
    expect(isCniError(new Error('x'))).toBe(false);
  });
  it('toJSON omits empty details and adds cniVersion only when given', () => {
    expect(new CniError(4, 'm').toJSON()).toEqual({ code: 4, msg: 'm' });
    expect(new CniError(4, 'm', 'd').toJSON('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 4, msg: 'm', details: 'd' });
    expect(JSON.stringify(new CniError(4, 'm', 'd'))).toBe('{"code":4,"msg":"m","details":"d"}');
  });
  it('prints like Go (4-space indent, no trailing newline, HTML escaped)', () => {
    expect(formatResult(new CniError(7, 'a <b>', 'c & d').toJSON())).toBe(
      '{\n    "code": 7,\n    "msg": "a \\u003cb\\u003e",\n    "details": "c \\u0026 d"\n}',
    );
  });
  it('toCniError keeps CniErrors and maps anything else to 999 with its message', () => {
    const e = new CniError(11, 'later');
    expect(toCniError(e)).toBe(e);
    const wrapped = toCniError(new TypeError('boom'));
    expect(wrapped.code).toBe(ErrorCode.Internal);
    expect(wrapped.msg).toBe('boom');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    expect(toCniError('text').msg).toBe('text');
    expect(toCniError(42).msg).toBe('42');
    expect(toCniError(Object.create(null)).code).toBe(999);
  });
});

describe('CniError.fromJSON', () => {
  it.each([
    ['{"code":7,"msg":"invalid","details":"d"}', 7, 'invalid', 'd'],
    ['{"cniVersion":"1.1.0","code":50,"msg":"not ready"}', 50, 'not ready', undefined],
    ['{"code":100,"msg":"plugin specific"}', 100, 'plugin specific', undefined],
    ['{}', 0, '', undefined],
    ['{"cniVersion":"1.0.0","ips":[]}', 0, '', undefined], // a valid non-error JSON gives a zero Error, like invoke
    ['null', 0, '', undefined],
  ])('%s', (input, code, msg, details) => {
    for (const form of [input, new TextEncoder().encode(input), JSON.parse(input) as unknown]) {
      const e = CniError.fromJSON(form);
      expect([e.code, e.msg, e.details]).toEqual([code, msg, details]);
    }
  });
  it.each([
    ['not json', 'error parsing plugin error output'],
    ['[1]', 'expected a JSON object, got array'],
    ['"str"', 'expected a JSON object, got string'],
    ['{"code":-1}', '"code" must be a non-negative integer'],
    ['{"code":"7"}', '"code" must be a non-negative integer'],
    ['{"code":1.5}', '"code" must be a non-negative integer'],
    ['{"msg":5}', '"msg" must be a string'],
    ['{"details":{}}', '"details" must be a string'],
  ])('%s -> code 6: %s', (input, text) => {
    expect(() => CniError.fromJSON(input)).toThrow(text);
    try {
      CniError.fromJSON(input);
    } catch (e) {
      expect((e as CniError).code).toBe(ErrorCode.DecodingFailure);
    }
  });
});
