// Versions: parsing checked against Go version.ParseVersion (fixtures), ordering, libcni's
// cniVersions selection and the VERSION reply decoder.
import { describe, expect, it } from 'vitest';
import fixtures from './fixtures/go-reference.json' with { type: 'json' };
import { CniError, ErrorCode } from './errors.js';
import {
  compareVersions,
  formatVersionInfo,
  parseVersion,
  parseVersionInfo,
  selectVersion,
  SPEC_VERSIONS,
  versionAtLeast,
  versionsFrom,
} from './versions.js';

describe('parseVersion matches Go ParseVersion', () => {
  it.each(Object.entries(fixtures.versions as Record<string, { parsed?: string; error?: string }>))('%j', (input, row) => {
    if (row.error !== undefined) {
      expect(() => parseVersion(input)).toThrow(CniError);
      try {
        parseVersion(input);
      } catch (e) {
        expect((e as CniError).code).toBe(ErrorCode.IncompatibleCNIVersion);
      }
      return;
    }
    expect(parseVersion(input).join('.')).toBe(row.parsed);
  });
});

describe('ordering', () => {
  it('orders the spec versions', () => {
    for (let i = 0; i < SPEC_VERSIONS.length; i++) {
      for (let j = 0; j < SPEC_VERSIONS.length; j++) {
        const a = SPEC_VERSIONS[i] as string;
        const b = SPEC_VERSIONS[j] as string;
        expect(compareVersions(a, b)).toBe(Math.sign(i - j));
        expect(versionAtLeast(a, b)).toBe(i >= j);
      }
    }
  });
  it('compares numerically and treats missing parts as 0', () => {
    expect(compareVersions('0.10.0', '0.9.0')).toBe(1);
    expect(compareVersions('1', '1.0.0')).toBe(0);
    expect(compareVersions('', '0.1.0')).toBe(0);
    expect(versionAtLeast('', '0.2.0')).toBe(false);
  });
  it('versionsFrom', () => {
    expect(versionsFrom('0.4.0')).toEqual(['0.4.0', '1.0.0', '1.1.0']);
    expect(versionsFrom('0.1.0')).toEqual([...SPEC_VERSIONS]);
    expect(versionsFrom('9.9.9')).toEqual([]);
  });
});

describe('selectVersion (libcni conflist rules)', () => {
  it.each([
    [undefined, undefined, ''],
    ['0.4.0', undefined, '0.4.0'],
    ['2.0.0', undefined, '2.0.0'], // without cniVersions the version is taken as is
    ['0.4.0', ['1.0.0'], '1.0.0'],
    ['1.1.0', ['0.3.1', '1.0.0'], '1.1.0'],
    [undefined, ['0.3.1', '1.0.0', '0.4.0'], '1.0.0'],
    ['0.3.1', ['1.2.0', '2.0.0'], '0.3.1'], // above CURRENT is skipped
    ['5.0.0', ['6.0.0'], '5.0.0'], // all filtered: the raw cniVersion stays
    [undefined, [], ''],
    ['1.0', ['1.0.0'], '1.0.0'], // equal versions: Go's sort puts the list entry last, so it wins
  ] as const)('%j %j -> %j', (v, vs, expected) => {
    expect(selectVersion(v, vs)).toBe(expected);
  });
  it('rejects malformed entries with code 7 naming them', () => {
    expect(() => selectVersion('1.0.0', ['1.0.0', 'x'])).toThrow('invalid cniVersions entry "x" at index 1');
    expect(() => selectVersion('bad', ['1.0.0'])).toThrow('invalid cniVersion "bad"');
    try {
      selectVersion(undefined, ['x']);
    } catch (e) {
      expect((e as CniError).code).toBe(ErrorCode.InvalidNetworkConfig);
    }
  });
});

describe('parseVersionInfo', () => {
  it('reads a current reply', () => {
    expect(parseVersionInfo('{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}')).toEqual({
      cniVersion: '1.1.0',
      supportedVersions: ['0.4.0', '1.0.0', '1.1.0'],
    });
  });
  it('reads a legacy 0.2.0 reply without supportedVersions as [0.1.0, 0.2.0]', () => {
    expect(parseVersionInfo({ cniVersion: '0.2.0' }).supportedVersions).toEqual(['0.1.0', '0.2.0']);
  });
  it.each([
    ['{}', 'missing field "cniVersion"'],
    ['{"cniVersion":"1.0.0"}', 'missing field "supportedVersions"'],
    ['{"cniVersion":1}', '"cniVersion" must be a string'],
    ['{"cniVersion":"1.0.0","supportedVersions":"1.0.0"}', '"supportedVersions" must be an array'],
    ['{"cniVersion":"1.0.0","supportedVersions":[1]}', '"supportedVersions[0]" must be a string'],
    ['[]', 'expected a JSON object'],
    ['not json', 'decoding version info'],
  ])('%s fails with code 6: %s', (input, message) => {
    expect(() => parseVersionInfo(input)).toThrow(message);
    try {
      parseVersionInfo(input);
    } catch (e) {
      expect((e as CniError).code).toBe(ErrorCode.DecodingFailure);
    }
  });
  it('prints the VERSION reply like Go json.Encoder', () => {
    expect(formatVersionInfo({ cniVersion: '1.1.0', supportedVersions: ['1.0.0', '1.1.0'] })).toBe(
      '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}\n',
    );
  });
});
