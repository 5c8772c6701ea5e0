// CNI_ARGS parsing checked against Go types.LoadArgs (fixtures) plus table tests.
import { describe, expect, it } from 'vitest';
import fixtures from './fixtures/go-reference.json' with { type: 'json' };
import { loadCniArgs, parseCniArgs, stringifyCniArgs } from './args.js';
import { CniError, ErrorCode } from './errors.js';

interface ArgsCase {
  args: string;
  IP?: string;
  error?: string;
  ignoreUnknown: boolean;
}

describe('loadCniArgs matches Go LoadArgs', () => {
  it.each((fixtures.args as ArgsCase[]).map((c) => [c.args, c] as const))('%j', (args, c) => {
    if (c.error !== undefined) {
      let err: unknown;
      try {
        loadCniArgs(args, ['IP']);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CniError);
      expect((err as CniError).code).toBe(ErrorCode.InvalidEnvironmentVariables);
      expect((err as CniError).msg).toBe(c.error);
      return;
    }
    const got = loadCniArgs(args, ['IP']);
    expect(got.IP ?? '').toBe(c.IP);
  });
});

describe('parseCniArgs', () => {
  it.each([
    ['', []],
    ['A=1', [['A', '1']]],
    ['A=1;B=', [['A', '1'], ['B', '']]],
    ['K8S_POD_NAME=p;IgnoreUnknown=1', [['K8S_POD_NAME', 'p'], ['IgnoreUnknown', '1']]],
  ] as const)('%j', (input, expected) => {
    expect(parseCniArgs(input)).toEqual(expected);
  });
  it.each(['A', 'A=1=2', 'A=1;', ';A=1', 'A=1;;B=2'])('rejects %j with code 4 naming the pair', (input) => {
    expect(() => parseCniArgs(input)).toThrow(/ARGS: invalid pair/);
    try {
      parseCniArgs(input);
    } catch (e) {
      expect((e as CniError).code).toBe(4);
    }
  });
  it('stringifies without escaping and round-trips', () => {
    const pairs: Array<[string, string]> = [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', 'default'],
      ['IP', '10.0.0.2'],
    ];
    const s = stringifyCniArgs(pairs);
    expect(s).toBe('IgnoreUnknown=1;K8S_POD_NAMESPACE=default;IP=10.0.0.2');
    expect(parseCniArgs(s)).toEqual(pairs);
    expect(stringifyCniArgs([])).toBe('');
  });
  it('matches known keys case-sensitively and reports IgnoreUnknown when asked for', () => {
    expect(loadCniArgs('IgnoreUnknown=TRUE;ip=x;MAC=m', ['MAC', 'IgnoreUnknown'])).toEqual({ IgnoreUnknown: 'TRUE', MAC: 'm' });
    expect(() => loadCniArgs('ip=x', ['IP'])).toThrow('ARGS: unknown args ["ip=x"]');
  });
});
