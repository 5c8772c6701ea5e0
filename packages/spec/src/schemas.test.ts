// The public zod schemas (schemas.ts) and the hand checks the parsers use (shape.ts, conf.ts,
// result.ts) accept exactly the same documents: checked on random, mutated configs and results of
// every family, after the Go-style key reading that the parsers apply first.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toJSONSchema } from 'zod/mini';
import { goReadPlugin, parseNetConf, parseNetConfList } from './conf.js';
import { CniError } from './errors.js';
import { parseResult, resultVersionOf } from './result.js';
import { goReadView } from './shape.js';
import * as schemas from './schemas.js';
import {
  capabilityArgsSchema,
  errorResultSchema,
  netConfListSchema,
  netConfSchema,
  result020Schema,
  result040Schema,
  resultSchema,
  versionInfoSchema,
} from './schemas.js';
import { parseVersionInfo } from './versions.js';

const RUNS = { numRuns: 4000 };

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Sets an own key, "__proto__" included (assignment would change the prototype instead). */
function put(o: Obj, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isObject(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) put(out, k, clone(x));
    return out;
  }
  return v;
}

// ---- valid-looking documents ----

const ip4 = fc.ipV4();
const ip6 = fc.ipV6();
const anyIP = fc.oneof(ip4, ip6);
const cidr = fc.oneof(
  fc.tuple(ip4, fc.integer({ min: 0, max: 32 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(ip6, fc.integer({ min: 0, max: 128 })).map(([a, n]) => `${a}/${n}`),
);
const int = fc.integer({ min: -1000, max: 100_000 });
const text = fc.string({ maxLength: 8 });
const texts = fc.array(text, { maxLength: 2 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const route = fc.record({ dst: cidr, gw: opt(anyIP), mtu: opt(int), advmss: opt(int), priority: opt(int), table: opt(int), scope: opt(int) });
const dns = fc.record({ nameservers: opt(fc.array(anyIP, { maxLength: 2 })), domain: opt(text), search: opt(texts), options: opt(texts) });
const result100 = fc.record({
  cniVersion: fc.constantFrom('1.0.0', '1.1.0'),
  interfaces: opt(fc.array(fc.record({ name: opt(text), mac: opt(text), mtu: opt(int), sandbox: opt(text), socketPath: opt(text), pciID: opt(text) }), { maxLength: 2 })),
  ips: opt(fc.array(fc.record({ interface: opt(fc.nat(3)), address: cidr, gateway: opt(anyIP) }), { maxLength: 2 })),
  routes: opt(fc.array(route, { maxLength: 2 })),
  dns: opt(dns),
});
const result040 = fc.record({
  cniVersion: fc.constantFrom('0.3.0', '0.3.1', '0.4.0'),
  interfaces: opt(fc.array(fc.record({ name: opt(text), mac: opt(text), sandbox: opt(text) }), { maxLength: 2 })),
  ips: opt(fc.array(fc.record({ version: opt(fc.constantFrom('4', '6')), interface: opt(fc.nat(3)), address: cidr, gateway: opt(anyIP) }), { maxLength: 2 })),
  routes: opt(fc.array(route, { maxLength: 2 })),
  dns: opt(dns),
});
const ipc020 = fc.record({ ip: cidr, gateway: opt(anyIP), routes: opt(fc.array(route, { maxLength: 2 })) });
const result020 = fc.record({ cniVersion: opt(fc.constantFrom('0.1.0', '0.2.0', '')), ip4: opt(ipc020), ip6: opt(ipc020), dns: opt(dns) });

const plugin = fc.record({
  cniVersion: opt(fc.constantFrom('0.4.0', '1.0.0', '1.1.0')),
  name: opt(fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,8}$/)),
  type: opt(fc.constantFrom('bridge', 'portmap', 'tuning')),
  capabilities: opt(fc.dictionary(fc.constantFrom('portMappings', 'mac', 'ips'), fc.boolean(), { maxKeys: 2 })),
  ipam: opt(fc.record({ type: opt(fc.constantFrom('host-local', 'static')), subnet: opt(cidr) })),
  dns: opt(dns),
  args: opt(fc.dictionary(text, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })),
  runtimeConfig: opt(fc.dictionary(text, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })),
  prevResult: opt(fc.oneof(result100, result040)),
  'cni.dev/valid-attachments': opt(fc.array(fc.record({ containerID: opt(text), ifname: opt(text) }), { maxLength: 2 })),
  bridge: opt(text),
});
const VERSIONS = ['', '0.1.0', '0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '1.2.0', '2.0.0', 'x.y'];
const flag = opt(fc.oneof(fc.boolean(), fc.constantFrom('true', 'FALSE', 'False', 'yes', '')));
const conflist = fc.record({
  cniVersion: opt(fc.constantFrom(...VERSIONS)),
  cniVersions: opt(fc.array(fc.constantFrom(...VERSIONS), { maxLength: 3 })),
  name: opt(text),
  disableCheck: flag,
  disableGC: flag,
  loadOnlyInlinedPlugins: flag,
  plugins: opt(fc.array(plugin, { maxLength: 3 })),
});

// ---- mutations: replace, delete or add a node anywhere, with awkward values and Go-style keys ----

const KEYS = [
  'name', 'NAME', 'Name', 'type', 'Type', 'cniVersion', 'cniversion', 'CNIVersion', 'cniVersions', 'ipam', 'IPAM', 'dns', 'Dns',
  'capabilities', 'args', 'runtimeConfig', 'RuntimeConfig', 'prevResult', 'cni.dev/valid-attachments', 'plugins', 'disableCheck',
  'disableGC', 'loadOnlyInlinedPlugins', 'interfaces', 'ips', 'IPs', 'routes', 'ip4', 'ip6', 'ip', 'address', 'Address', 'version',
  'interface', 'gateway', 'dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope', 'nameservers', 'domain', 'search', 'options',
  'mac', 'sandbox', 'socketPath', 'pciID', 'containerID', 'ifname', 'supportedVersions', 'code', 'msg', 'details', '__proto__',
  'constructor', 'extra',
];
const awkward = fc.oneof(
  fc.constantFrom<unknown>(
    null, '', 'x', 'net-1', '-bad', 'host-local', 0, 1, -1, 1.5, 2 ** 53, 1e300, true, false, 'true', 'False', 'yes', [], {}, [null],
    [{}], ['a'], ['0.4.0', '1.1.0', '2.0.0'], ['bad'], '10.1.2.3/24', '10.1.2.3', 'fd00::1/64', 'fd00::1', '10.1.2.3/33', '::ffff:1.2.3.4/120',
    '0.1.0', '0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '1.2.0', '4', '6',
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const mutation = fc.record({ op: fc.constantFrom('replace', 'delete', 'add'), at: fc.nat(), key: fc.constantFrom(...KEYS), value: awkward });
type Mutation = { op: 'replace' | 'delete' | 'add'; at: number; key: string; value: unknown };

/** Every node of a value as [parent, key] pairs; the root has no parent. */
function nodes(root: Obj): Array<[Obj | unknown[], string | number]> {
  const out: Array<[Obj | unknown[], string | number]> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), walk(x)));
    else if (isObject(v)) for (const [k, x] of Object.entries(v)) out.push([v, k]), walk(x);
  };
  walk(root);
  return out;
}

function mutate(value: unknown, ms: readonly Mutation[]): unknown {
  const box: Obj = { root: clone(value) };
  for (const m of ms) {
    const all: Array<[Obj | unknown[], string | number]> = [[box, 'root'], ...nodes(box['root'] as Obj)];
    const [parent, key] = all[m.at % all.length]!;
    const node = Array.isArray(parent) ? parent[key as number] : parent[key as string];
    if (m.op === 'replace') {
      if (Array.isArray(parent)) parent[key as number] = clone(m.value);
      else put(parent, key as string, clone(m.value));
    } else if (m.op === 'delete' && parent !== box) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (m.op === 'add') {
      if (Array.isArray(node)) node.push(clone(m.value));
      else if (isObject(node)) put(node, m.key, clone(m.value));
    }
  }
  return box['root'];
}

const mutated = (base: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 1, arbitrary: base.map(clone) },
    { weight: 4, arbitrary: fc.tuple(base, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([v, ms]) => mutate(v, ms)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );

// ---- the comparison ----

function accepts(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return false;
  }
}

/** Runs a property over many inputs and checks that both answers came up often enough to mean something. */
function agree(inputs: fc.Arbitrary<unknown>, hand: (v: unknown) => boolean, schema: (v: unknown) => boolean): void {
  let yes = 0;
  let no = 0;
  fc.assert(
    fc.property(inputs, (v) => {
      const byHand = hand(v);
      expect({ value: v, schema: schema(v) }).toEqual({ value: v, schema: byHand });
      if (byHand) yes++;
      else no++;
    }),
    RUNS,
  );
  expect(yes).toBeGreaterThan(RUNS.numRuns / 20);
  expect(no).toBeGreaterThan(RUNS.numRuns / 20);
}

/** What parseNetConfList gives the plugin check: each plugin object read as Go reads it. */
function goReadList(v: unknown): unknown {
  if (!isObject(v) || !Array.isArray(v['plugins'])) return v;
  const out = clone(v) as Obj;
  out['plugins'] = (v['plugins'] as unknown[]).map((p) => (isObject(p) ? goReadPlugin(p) : p));
  return out;
}

const FAMILY: Record<string, string> = { '': '020', '0.1.0': '020', '0.2.0': '020', '0.3.0': '040', '0.3.1': '040', '0.4.0': '040', '1.0.0': '100', '1.1.0': '100' };
const anyResult = fc.oneof(result100, result040, result020);

describe('zod schemas accept what the hand checks accept', () => {
  it('plugin configuration: netConfSchema vs parseNetConf', () => {
    agree(
      mutated(plugin),
      (v) => accepts(() => parseNetConf(v)),
      (v) => isObject(v) && netConfSchema.safeParse(goReadPlugin(v)).success,
    );
  });

  it('plugin configuration: the schema reads what parseNetConf returns', () => {
    fc.assert(
      fc.property(mutated(plugin), (v) => {
        fc.pre(accepts(() => parseNetConf(v)));
        const byHand = parseNetConf(v);
        // zod leaves an own "__proto__" key out of what it returns; parseNetConf keeps it.
        fc.pre(!JSON.stringify(v).includes('"__proto__"'));
        const out = netConfSchema.parse(goReadPlugin(v as Obj)) as Obj;
        // A GC attachment's missing fields read as "" in the schema (Go's zero value).
        const attachments = byHand['cni.dev/valid-attachments'];
        if (Array.isArray(attachments)) out['cni.dev/valid-attachments'] = attachments;
        expect(out).toEqual(byHand);
      }),
      { numRuns: 1000 },
    );
  });

  it('conflist: netConfListSchema vs parseNetConfList', () => {
    agree(
      mutated(conflist),
      (v) => accepts(() => parseNetConfList(v)),
      (v) => netConfListSchema.safeParse(goReadList(v)).success,
    );
  });

  it('conflist: the schema selects the version and reads flags as parseNetConfList does', () => {
    fc.assert(
      fc.property(mutated(conflist), (v) => {
        fc.pre(accepts(() => parseNetConfList(v)));
        fc.pre(!JSON.stringify(v).includes('"__proto__"'));
        const byHand = parseNetConfList(v);
        const out = netConfListSchema.parse(goReadList(v)) as Obj;
        out['plugins'] = byHand.plugins; // compared above, plugin by plugin
        expect(out).toEqual(byHand);
      }),
      { numRuns: 1000 },
    );
  });

  const families: Array<[string, (v: unknown) => boolean]> = [
    ['020', (v) => result020Schema.safeParse(v).success],
    ['040', (v) => result040Schema.safeParse(v).success],
    ['100', (v) => resultSchema.safeParse(v).success],
  ];
  it.each(families)('results of family %s: schema vs parseResult', (family, schema) => {
    agree(
      mutated(anyResult),
      (v) => accepts(() => parseResult(v)) && FAMILY[resultVersionOf(goReadView(v))] === family,
      (v) => isObject(v) && schema(goReadView(v)),
    );
  });

  it('VERSION replies: versionInfoSchema vs parseVersionInfo, with the same result', () => {
    const reply = fc.record({
      cniVersion: opt(fc.constantFrom('0.1.0', '0.2.0', '0.4.0', '1.1.0', '')),
      supportedVersions: opt(fc.array(fc.constantFrom('0.1.0', '0.2.0', '1.0.0'), { maxLength: 3 })),
    });
    agree(
      mutated(reply),
      (v) => accepts(() => parseVersionInfo(v)),
      (v) => versionInfoSchema.safeParse(v).success,
    );
    fc.assert(
      fc.property(mutated(reply), (v) => {
        fc.pre(accepts(() => parseVersionInfo(v)));
        expect(versionInfoSchema.parse(v)).toEqual(parseVersionInfo(v));
      }),
      { numRuns: 500 },
    );
  });
});

describe('schemas', () => {
  it('name the field of the first problem', () => {
    const r = netConfListSchema.safeParse({ name: 'n', plugins: [{ type: 'bridge', ipam: { type: 1 } }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['plugins', 0, 'ipam', 'type']);
    const bad = resultSchema.safeParse({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2' }] });
    expect(bad.error?.issues[0]).toMatchObject({ path: ['ips', 0, 'address'], message: expect.stringContaining('prefix length') });
  });

  it('fill in what the parsers fill in', () => {
    expect(result040Schema.parse({ cniVersion: '0.4.0', ips: [{ address: 'fd00::2/64' }] })).toEqual({
      cniVersion: '0.4.0',
      ips: [{ address: 'fd00::2/64', version: '6' }],
      dns: {},
    });
    expect(result020Schema.parse({ ip4: { ip: '10.0.0.2/24' } })).toEqual({ cniVersion: '0.1.0', ip4: { ip: '10.0.0.2/24' }, dns: {} });
    expect(netConfSchema.parse({ name: 'n', ipam: {}, bridge: 'br0' })).toEqual({ name: 'n', type: '', ipam: { type: '' }, bridge: 'br0' });
    expect(netConfListSchema.parse({ name: 'n', cniVersion: '0.4.0', cniVersions: ['1.0.0', '9.0.0'], disableCheck: 'TRUE' })).toEqual({
      name: 'n',
      cniVersion: '1.0.0',
      cniVersions: ['1.0.0', '9.0.0'],
      disableCheck: true,
      plugins: [],
    });
  });

  it('check error replies and capability args as the spec and CONVENTIONS describe them', () => {
    expect(errorResultSchema.safeParse({ code: 7, msg: 'bad', details: 'x' }).success).toBe(true);
    expect(errorResultSchema.safeParse({ code: -1, msg: 'bad' }).success).toBe(false);
    expect(errorResultSchema.safeParse({ msg: 'bad' }).success).toBe(false);
    const caps = {
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      ipRanges: [[{ subnet: '10.1.0.0/16', rangeStart: '10.1.0.10', gateway: '10.1.0.1' }]],
      bandwidth: { ingressRate: 1_000_000, ingressBurst: 1_000 },
      dns: { servers: ['10.0.0.10'], searches: ['svc.local'] },
      mac: 'c2:11:22:33:44:55',
      'io.kubernetes.cri.pod-annotations': { a: 'b' },
    };
    expect(capabilityArgsSchema.parse(caps)).toEqual(caps);
    expect(capabilityArgsSchema.safeParse({ bandwidth: { egressRate: -1 } }).success).toBe(false);
    expect(capabilityArgsSchema.safeParse({ ipRanges: [[{ subnet: '10.1.0.0' }]] }).success).toBe(false);
    expect(capabilityArgsSchema.safeParse({ portMappings: [{ hostPort: 80.5, containerPort: 80 }] }).success).toBe(false);
  });

  it('export as JSON Schema (the input side, as a document is written)', () => {
    for (const [name, schema] of Object.entries(schemas)) {
      const json = toJSONSchema(schema, { io: 'input' });
      expect(json, name).toMatchObject({ type: 'object' });
    }
    const list = toJSONSchema(netConfListSchema, { io: 'input' }) as { required?: string[]; properties: Record<string, unknown> };
    expect(list.required).toEqual(['name']);
    expect(list.properties['disableCheck']).toEqual({ anyOf: [{ type: 'boolean' }, { type: 'string', pattern: expect.any(String) }] });
  });
});
