// Configuration parsing: plugin side (skel rules, Go's lenient reading) and runtime side (libcni
// NetworkConfFromBytes rules), with table tests of every error and its field-naming message.
import { describe, expect, it } from 'vitest';
import { confListFromConf, parseJson, parseNetConf, parseNetConfList } from './conf.js';
import { CniError, ErrorCode } from './errors.js';

function failure(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error('expected a CniError');
}

describe('parseJson', () => {
  it('reads text and bytes', () => {
    expect(parseJson('{"a":1}')).toEqual({ a: 1 });
    expect(parseJson(new TextEncoder().encode('[1,"x"]'))).toEqual([1, 'x']);
  });
  it.each(['', '{', '{"a":1}x', '\ufeff{}', 'undefined'])('rejects %j with code 6', (text) => {
    expect(failure(() => parseJson(text)).code).toBe(ErrorCode.DecodingFailure);
  });
});

describe('parseNetConf (plugin side)', () => {
  const base = { cniVersion: '1.1.0', name: 'mynet', type: 'bridge' };

  it('keeps every key, unknown ones untouched and in order', () => {
    const input = { cniVersion: '1.0.0', name: 'n', type: 'bridge', bridge: 'cni0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24' }]] }, z: { deep: [1, null] } };
    const conf = parseNetConf(JSON.stringify(input));
    expect(conf).toEqual(input);
    expect(Object.keys(conf)).toEqual(Object.keys(input));
    expect(parseNetConf(new TextEncoder().encode(JSON.stringify(input)))).toEqual(input);
    expect(parseNetConf(input)).toEqual(input);
    expect(parseNetConf(input)).not.toBe(input);
  });
  it('leaves a missing cniVersion absent (it means 0.1.0) and reads a missing type as ""', () => {
    const conf = parseNetConf({ name: 'n' });
    expect(conf.cniVersion).toBeUndefined();
    expect(conf.type).toBe('');
  });
  it('reads `ipam: {}` (bridge without IPAM) with an empty type', () => {
    expect(parseNetConf({ ...base, ipam: {} }).ipam).toEqual({ type: '' });
  });
  it('reads known keys case-insensitively and null as absent, like Go', () => {
    const conf = parseNetConf({ Name: 'n', TYPE: 'bridge', IPAM: { Type: 'host-local', subnet: 'x' }, dns: null, CNIVersion: '0.4.0', other: null });
    expect(conf).toEqual({ name: 'n', type: 'bridge', ipam: { type: 'host-local', subnet: 'x' }, cniVersion: '0.4.0', other: null });
    expect(parseNetConf({ name: 'a', NAME: 'b' }).name).toBe('b');
    expect(parseNetConf({ name: 'a', NAME: null }).name).toBe('a');
  });
  it('keeps a "__proto__" key as data without touching prototypes', () => {
    const conf = parseNetConf('{"name":"n","type":"t","__proto__":{"polluted":true}}');
    expect(Object.getPrototypeOf(conf)).toBe(Object.prototype);
    expect(Object.keys(conf)).toContain('__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.stringify(conf)).toBe('{"name":"n","type":"t","__proto__":{"polluted":true}}');
  });

  it.each([
    ['not json', 6, 'error unmarshall network config:'],
    ['[1]', 6, 'error unmarshall network config: expected a JSON object, got array'],
    ['"x"', 6, 'expected a JSON object, got string'],
    ['null', 7, 'missing network name'],
    ['{"type":"bridge"}', 7, 'missing network name'],
    ['{"name":""}', 7, 'missing network name'],
    ['{"name":"a b"}', 7, 'invalid characters found in network name'],
    ['{"name":5}', 7, 'invalid network config: "name" must be a string, got number'],
    ['{"name":"n","type":true}', 7, '"type" must be a string, got boolean'],
    ['{"name":"n","cniVersion":1}', 7, '"cniVersion" must be a string, got number'],
    ['{"name":"n","capabilities":[]}', 7, '"capabilities" must be an object'],
    ['{"name":"n","capabilities":{"mac":"yes"}}', 7, '"capabilities.mac" must be a boolean, got string'],
    ['{"name":"n","ipam":"host-local"}', 7, '"ipam" must be an object, got string'],
    ['{"name":"n","ipam":{"type":1}}', 7, '"ipam.type" must be a string, got number'],
    ['{"name":"n","dns":{"nameservers":"1.1.1.1"}}', 7, '"dns.nameservers" must be an array, got string'],
    ['{"name":"n","dns":{"search":[1]}}', 7, '"dns.search[0]" must be a string, got number'],
    ['{"name":"n","args":[]}', 7, '"args" must be an object, got array'],
    ['{"name":"n","runtimeConfig":"x"}', 7, '"runtimeConfig" must be an object'],
    ['{"name":"n","prevResult":[]}', 7, '"prevResult" must be an object, got array'],
    ['{"name":"n","cni.dev/valid-attachments":{}}', 7, '"cni.dev/valid-attachments" must be an array'],
    ['{"name":"n","cni.dev/valid-attachments":[{"containerID":1}]}', 7, '"cni.dev/valid-attachments[0].containerID" must be a string'],
  ])('%s -> code %i: %s', (input, code, text) => {
    const e = failure(() => parseNetConf(input));
    expect(e.code).toBe(code);
    expect(e.message).toContain(text);
  });
});

describe('parseNetConfList (runtime side, libcni rules)', () => {
  const list = {
    cniVersion: '0.4.0',
    cniVersions: ['1.0.0', '1.1.0', '9.0.0'],
    name: 'mynet',
    disableCheck: 'TRUE',
    disableGC: false,
    loadOnlyInlinedPlugins: 'false',
    custom: { x: 1 },
    plugins: [
      { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.1.0.0/16' } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };

  it('selects the version, reads flags and keeps plugin objects whole', () => {
    const out = parseNetConfList(JSON.stringify(list));
    expect(out.cniVersion).toBe('1.1.0');
    expect(out.cniVersions).toEqual(['1.0.0', '1.1.0', '9.0.0']);
    expect(out.disableCheck).toBe(true);
    expect(out.disableGC).toBe(false);
    expect(out.loadOnlyInlinedPlugins).toBe(false);
    expect(out['custom']).toEqual({ x: 1 });
    expect(out.plugins).toEqual(list.plugins);
    expect(out.plugins[0]).not.toBe(list.plugins[0]);
  });
  it('keeps cniVersion as given without cniVersions, and an empty list without plugins', () => {
    const out = parseNetConfList({ name: 'n', cniVersion: '7.0.0' });
    expect(out.cniVersion).toBe('7.0.0');
    expect(out.plugins).toEqual([]);
    expect(parseNetConfList({ name: '' }).name).toBe(''); // the name is checked on ADD, not here
  });
  it('reads plugin keys case-insensitively (Go PluginConf) but list keys exactly (Go map)', () => {
    expect(parseNetConfList({ name: 'n', plugins: [{ Type: 'bridge' }] }).plugins[0]?.type).toBe('bridge');
    expect(failure(() => parseNetConfList({ Name: 'n' })).message).toContain('missing "name"');
  });
  it('confListFromConf wraps one plugin config', () => {
    const out = confListFromConf(parseNetConf({ cniVersion: '0.3.1', name: 'single', type: 'ptp', mtu: 1400 }));
    expect(out).toEqual({ name: 'single', cniVersion: '0.3.1', plugins: [{ cniVersion: '0.3.1', name: 'single', type: 'ptp', mtu: 1400 }] });
  });

  it.each([
    ['{', 6, 'error parsing configuration list:'],
    ['[]', 6, 'expected a JSON object, got array'],
    ['null', 7, 'missing "name"'],
    ['{}', 7, 'missing "name"'],
    ['{"name":1}', 7, '"name" must be a string, got number'],
    ['{"name":"n","cniVersion":1.0}', 7, '"cniVersion" must be a string, got number'],
    ['{"name":"n","cniVersion":null}', 7, '"cniVersion" must be a string, got null'],
    ['{"name":"n","cniVersions":"1.0.0"}', 7, '"cniVersions" must be an array of strings, got string'],
    ['{"name":"n","cniVersions":["1.0.0",1]}', 7, '"cniVersions[1]" must be a string, got number'],
    ['{"name":"n","cniVersions":["x"]}', 7, 'invalid cniVersions entry "x" at index 0'],
    ['{"name":"n","cniVersion":"y","cniVersions":["1.0.0"]}', 7, 'invalid cniVersion "y"'],
    ['{"name":"n","disableCheck":"yes"}', 7, 'invalid value "yes" for "disableCheck"'],
    ['{"name":"n","disableGC":1}', 7, '"disableGC" must be a boolean or "true"/"false", got number'],
    ['{"name":"n","disableCheck":null}', 7, '"disableCheck" must be a boolean or "true"/"false", got null'],
    ['{"name":"n","loadOnlyInlinedPlugins":true}', 7, '"loadOnlyInlinedPlugins" is true and there is no "plugins" key'],
    ['{"name":"n","loadOnlyInlinedPlugins":"True"}', 7, 'no "plugins" key'],
    ['{"name":"n","plugins":{}}', 7, '"plugins" must be an array, got object'],
    ['{"name":"n","plugins":null}', 7, '"plugins" must be an array, got null'],
    ['{"name":"n","plugins":[]}', 7, '"plugins" must not be empty'],
    ['{"name":"n","plugins":[1]}', 7, '"plugins[0]" must be an object, got number'],
    ['{"name":"n","plugins":[{"type":"a"},{}]}', 7, '"plugins[1].type" is required'],
    ['{"name":"n","plugins":[null]}', 7, '"plugins[0].type" is required'],
    ['{"name":"n","plugins":[{"type":""}]}', 7, '"plugins[0].type" is required'],
    ['{"name":"n","plugins":[{"type":5}]}', 7, '"plugins[0].type" must be a string, got number'],
    ['{"name":"n","plugins":[{"type":"a","capabilities":{"x":1}}]}', 7, '"plugins[0].capabilities.x" must be a boolean, got number'],
  ])('%s -> code %i: %s', (input, code, text) => {
    const e = failure(() => parseNetConfList(input));
    expect(e.code).toBe(code);
    expect(e.message).toContain(text);
  });
});
