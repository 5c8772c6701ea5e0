// Results checked against output captured from the Go reference (tools/go-fixtures): parsing
// every version, and converting every input to each of the 7 versions (all 49 version pairs).
import { describe, expect, it } from 'vitest';
import fixtures from './fixtures/go-reference.json' with { type: 'json' };
import { CniError } from './errors.js';
import { convertResult, formatResult, parseResult, resultVersionOf } from './result.js';
import { SPEC_VERSIONS } from './versions.js';

interface Outcome {
  output?: string;
  error?: string;
}
interface Case {
  name: string;
  input: unknown;
  parsed: Outcome;
  converts: Record<string, Outcome>;
}
const cases = fixtures.results as Case[];

describe('results match the Go reference', () => {
  it.each(cases.map((c) => [c.name, c] as const))('parse + print: %s', (_name, c) => {
    if (c.parsed.error !== undefined) {
      expect(() => parseResult(c.input)).toThrow(CniError);
      return;
    }
    expect(formatResult(parseResult(c.input))).toBe(c.parsed.output);
    // Text and bytes read the same as the parsed value.
    expect(formatResult(parseResult(JSON.stringify(c.input)))).toBe(c.parsed.output);
    expect(formatResult(parseResult(new TextEncoder().encode(JSON.stringify(c.input))))).toBe(c.parsed.output);
  });

  const conversions = cases.flatMap((c) => (c.parsed.error === undefined ? SPEC_VERSIONS.map((v) => [c.name, v, c] as const) : []));
  it.each(conversions)('convert %s -> %s', (_name, to, c) => {
    const expected = c.converts[to];
    expect(expected).toBeDefined();
    const from = parseResult(c.input);
    if (expected?.error !== undefined) {
      expect(() => convertResult(from, to)).toThrow(expected.error);
      return;
    }
    expect(formatResult(convertResult(from, to))).toBe(expected?.output);
  });

  it('covers all 49 (from, to) version pairs with at least one fixture', () => {
    const pairs = new Set<string>();
    for (const c of cases) {
      if (c.parsed.error !== undefined) continue;
      for (const to of Object.keys(c.converts)) pairs.add(`${resultVersionOf(c.input)}->${to}`);
    }
    for (const a of SPEC_VERSIONS) for (const b of SPEC_VERSIONS) expect(pairs).toContain(`${a}->${b}`);
  });
});
