// Property tests: printing and re-reading results and configs is stable for every version, any
// conversion output is a valid result of its target version, and no malformed input makes a
// parser throw anything but a CniError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCniArgs, parseCniArgs, stringifyCniArgs } from './args.js';
import { parseJson, parseNetConf, parseNetConfList } from './conf.js';
import { CniError } from './errors.js';
import { convertResult, formatResult, parseResult, type AnyResult } from './result.js';
import { parseVersion, parseVersionInfo, SPEC_VERSIONS } from './versions.js';

const RUNS = { numRuns: 300 };

// ---- generators of valid values ----

const ip4 = fc.ipV4();
const ip6 = fc.ipV6();
const anyIP = fc.oneof(ip4, ip6);
const cidr = fc.oneof(
  fc.tuple(ip4, fc.integer({ min: 0, max: 32 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(ip6, fc.integer({ min: 0, max: 128 })).map(([a, n]) => `${a}/${n}`),
);
const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const text = fc.string({ maxLength: 12 });
const texts = fc.array(text, { maxLength: 3 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const clean = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o)) as T; // drops undefined members

const route = fc
  .record({ dst: cidr, gw: opt(anyIP), mtu: opt(int), advmss: opt(int), priority: opt(int), table: opt(int), scope: opt(int) })
  .map(clean);
const dns = fc.record({ nameservers: opt(fc.array(anyIP, { maxLength: 3 })), domain: opt(text), search: opt(texts), options: opt(texts) }).map(clean);

const result100 = fc
  .record({
    cniVersion: fc.constantFrom('1.0.0', '1.1.0'),
    interfaces: opt(
      fc.array(
        fc.record({ name: text, mac: opt(text), mtu: opt(int), sandbox: opt(text), socketPath: opt(text), pciID: opt(text) }),
        { maxLength: 3 },
      ),
    ),
    ips: opt(fc.array(fc.record({ interface: opt(fc.nat(4)), address: cidr, gateway: opt(anyIP) }), { maxLength: 4 })),
    routes: opt(fc.array(route, { maxLength: 4 })),
    dns: opt(dns),
  })
  .map(clean);
const result040 = fc
  .record({
    cniVersion: fc.constantFrom('0.3.0', '0.3.1', '0.4.0'),
    interfaces: opt(fc.array(fc.record({ name: text, mac: opt(text), sandbox: opt(text) }), { maxLength: 3 })),
    ips: opt(
      fc.array(fc.record({ version: fc.constantFrom('4', '6'), interface: opt(fc.nat(4)), address: cidr, gateway: opt(anyIP) }), { maxLength: 4 }),
    ),
    routes: opt(fc.array(route, { maxLength: 4 })),
    dns: opt(dns),
  })
  .map(clean);
const ipc020 = fc.record({ ip: cidr, gateway: opt(anyIP), routes: opt(fc.array(route, { maxLength: 3 })) }).map(clean);
const result020 = fc
  .record({ cniVersion: fc.constantFrom('0.1.0', '0.2.0', ''), ip4: opt(ipc020), ip6: opt(ipc020), dns: opt(dns) })
  .map(clean);
const anyResultJson = fc.oneof(result100, result040, result020);

const KNOWN = new Set(['cniversion', 'name', 'type', 'capabilities', 'ipam', 'dns', 'args', 'runtimeconfig', 'prevresult', 'cni.dev/valid-attachments']);
const unknownKeys = fc.dictionary(
  text.filter((k) => !KNOWN.has(k.toLowerCase())),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 4 },
);
const netName = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}$/);
const pluginConf = fc
  .tuple(
    fc.record({
      type: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
      capabilities: opt(fc.dictionary(text, fc.boolean(), { maxKeys: 3 })),
      ipam: opt(fc.record({ type: fc.constantFrom('host-local', 'static', 'dhcp'), subnet: opt(cidr) }).map(clean)),
      dns: opt(dns),
      args: opt(fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 })),
    }),
    unknownKeys,
  )
  .map(([known, extra]) => clean({ ...extra, ...known }));
const netConf = fc
  .tuple(pluginConf, netName, opt(fc.constantFrom(...SPEC_VERSIONS)))
  .map(([p, name, cniVersion]) => clean({ ...p, name, cniVersion }));
const boolish = fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'TRUE', 'False'));
const netConfList = fc
  .record({
    name: netName,
    cniVersion: opt(fc.constantFrom(...SPEC_VERSIONS)),
    cniVersions: opt(fc.array(fc.constantFrom(...SPEC_VERSIONS, '2.0.0'), { maxLength: 3 })),
    disableCheck: opt(boolish),
    disableGC: opt(boolish),
    plugins: fc.array(pluginConf, { minLength: 1, maxLength: 3 }),
  })
  .map(clean);

// ---- round trips ----

describe('round trips', () => {
  it('parse -> format -> parse is stable for results of every version', () => {
    fc.assert(
      fc.property(anyResultJson, (json) => {
        const first = parseResult(json);
        const printed = formatResult(first);
        const again = parseResult(printed);
        expect(again).toEqual(first);
        expect(formatResult(again)).toBe(printed);
      }),
      RUNS,
    );
  });

  it('every conversion yields a valid, canonical result of the target version', () => {
    fc.assert(
      fc.property(anyResultJson, fc.constantFrom(...SPEC_VERSIONS), (json, to) => {
        const r = parseResult(json);
        let out: AnyResult;
        try {
          out = convertResult(r, to);
        } catch (e) {
          expect(e).toBeInstanceOf(CniError);
          expect((e as CniError).msg).toBe('cannot convert: no valid IP addresses');
          expect(['0.1.0', '0.2.0']).toContain(to);
          return;
        }
        expect(out.cniVersion).toBe(to);
        expect(parseResult(formatResult(out))).toEqual(out);
      }),
      RUNS,
    );
  });

  it('conversions inside a family keep everything but the version', () => {
    const family = (v: string) => (v.startsWith('1.') ? 2 : v === '0.1.0' || v === '0.2.0' ? 0 : 1);
    fc.assert(
      fc.property(anyResultJson, fc.constantFrom(...SPEC_VERSIONS), (json, to) => {
        const r = parseResult(json);
        fc.pre(family(r.cniVersion) === family(to));
        expect(convertResult(r, to)).toEqual({ ...r, cniVersion: to });
      }),
      RUNS,
    );
  });

  it('1.x -> 0.4.0 -> 1.x loses only mtu, socketPath and pciID', () => {
    fc.assert(
      fc.property(result100, (json) => {
        const r = parseResult(json) as import('./result.js').Result;
        const back = convertResult(convertResult(r, '0.4.0'), r.cniVersion) as import('./result.js').Result;
        const stripped = r.interfaces?.map(({ name, mac, sandbox }) => clean({ name, mac, sandbox }));
        expect(back).toEqual(clean({ ...r, interfaces: stripped }));
      }),
      RUNS,
    );
  });

  it('parse -> stringify -> parse is stable for plugin configs and keeps them whole', () => {
    fc.assert(
      fc.property(netConf, (json) => {
        const first = parseNetConf(JSON.stringify(json));
        expect(first).toEqual(json);
        expect(parseNetConf(JSON.stringify(first))).toEqual(first);
      }),
      RUNS,
    );
  });

  it('parse -> stringify -> parse is stable for conflists', () => {
    fc.assert(
      fc.property(netConfList, (json) => {
        const first = parseNetConfList(JSON.stringify(json));
        expect(first.plugins).toEqual(json.plugins);
        expect(parseNetConfList(JSON.stringify(first))).toEqual(first);
      }),
      RUNS,
    );
  });

  it('CNI_ARGS pairs without ; or = round-trip', () => {
    const part = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/[;=]/.test(s));
    fc.assert(
      fc.property(fc.array(fc.tuple(part, part), { maxLength: 5 }), (pairs) => {
        expect(parseCniArgs(stringifyCniArgs(pairs))).toEqual(pairs);
      }),
      RUNS,
    );
  });
});

// ---- malformed input ----

/** Replaces one node (chosen by index in a walk of the value) with another JSON value. */
function mutate(value: unknown, index: number, replacement: unknown): unknown {
  let n = index;
  const walk = (v: unknown): unknown => {
    if (n-- === 0) return replacement;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

const junk = fc.oneof(
  fc.jsonValue(),
  fc.anything(),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.tuple(fc.oneof(anyResultJson, netConf, netConfList), fc.nat(40), fc.jsonValue({ maxDepth: 2 })).map(([v, i, r]) => mutate(v, i, r)),
  fc.tuple(fc.oneof(anyResultJson, netConf, netConfList), fc.nat(40), fc.jsonValue({ maxDepth: 2 })).map(([v, i, r]) =>
    JSON.stringify(mutate(v, i, r)),
  ),
);

function onlyCniErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    expect(typeof e.code).toBe('number');
    expect(e.msg.length).toBeGreaterThan(0);
  }
}

describe('malformed input throws only CniError', () => {
  const parsers: Array<[string, (v: unknown) => unknown]> = [
    ['parseNetConf', (v) => parseNetConf(v)],
    ['parseNetConfList', (v) => parseNetConfList(v)],
    ['parseResult', (v) => parseResult(v)],
    ['parseResult with fallback', (v) => parseResult(v, '1.0.0')],
    ['parseVersionInfo', (v) => parseVersionInfo(v)],
    ['CniError.fromJSON', (v) => CniError.fromJSON(v)],
    ['parseCniArgs', (v) => (typeof v === 'string' ? parseCniArgs(v) : undefined)],
    ['loadCniArgs', (v) => (typeof v === 'string' ? loadCniArgs(v, ['IP', 'MAC']) : undefined)],
    ['parseVersion', (v) => (typeof v === 'string' ? parseVersion(v) : undefined)],
    ['parseJson', (v) => (typeof v === 'string' || v instanceof Uint8Array ? parseJson(v) : undefined)],
    ['convert after parse', (v) => convertResult(parseResult(v), '0.2.0')],
  ];
  it.each(parsers)('%s', (_name, parse) => {
    fc.assert(
      fc.property(junk, (v) => onlyCniErrors(() => parse(v))),
      { numRuns: 500 },
    );
  });

  it('survives hostile nesting', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepResult = `{"cniVersion":"1.0.0","ips":${deep}}`;
    for (const parse of parsers.map(([, p]) => p)) {
      onlyCniErrors(() => parse(deep));
      onlyCniErrors(() => parse(deepResult));
    }
  });
});
