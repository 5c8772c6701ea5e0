import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CniError } from '@tscni/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confFiles, loadNetworkConfList, netConfListFromBytes, pluginConfFromBytes } from './conf.js';
import { ConfigNotFoundError, NoConfigsFoundError } from './errors.js';

const fixtures = fileURLToPath(new URL('../testdata/go-libcni-1.1.2/', import.meta.url));
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tscni-conf-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function codeOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
}

describe('netConfListFromBytes', () => {
  it('keeps the raw bytes and re-marshals each plugin with sorted keys', () => {
    const src = '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"b","z":1,"a":"<"}]}';
    const l = netConfListFromBytes(src);
    expect(text(l.bytes)).toBe(src);
    expect(l.plugins[0]?.network).toEqual({ type: 'b', name: '' });
    expect(text(l.plugins[0]!.bytes)).toBe('{"a":"\\u003c","type":"b","z":1}');
  });

  it('selects the highest version of cniVersion ∪ cniVersions not above 1.1.0', () => {
    expect(netConfListFromBytes('{"name":"n","cniVersion":"0.4.0","cniVersions":["1.0.0","2.0.0"],"plugins":[{"type":"x"}]}').cniVersion).toBe('1.0.0');
    expect(netConfListFromBytes('{"name":"n","cniVersion":"0.3.1","plugins":[{"type":"x"}]}').cniVersion).toBe('0.3.1');
  });

  it('reads booleans as JSON bools or "true"/"false" strings in any case', () => {
    const l = netConfListFromBytes('{"name":"n","disableCheck":"TRUE","disableGC":true,"loadOnlyInlinedPlugins":"false","plugins":[{"type":"x"}]}');
    expect([l.disableCheck, l.disableGC, l.loadOnlyInlinedPlugins]).toEqual([true, true, false]);
    expect(() => netConfListFromBytes('{"name":"n","disableCheck":"yes","plugins":[{"type":"x"}]}')).toThrow(/invalid value "yes" for disableCheck/);
    expect(() => netConfListFromBytes('{"name":"n","disableGC":1,"plugins":[{"type":"x"}]}')).toThrow(/invalid type number for disableGC/);
  });

  it('allows a missing plugins key only when drop-ins may be loaded', () => {
    expect(netConfListFromBytes('{"name":"n"}').plugins).toEqual([]);
    expect(() => netConfListFromBytes('{"name":"n","loadOnlyInlinedPlugins":true}')).toThrow(/loadOnlyInlinedPlugins/);
  });

  it('reads plugin fields case-insensitively like Go (type, capabilities)', () => {
    const l = netConfListFromBytes('{"name":"n","plugins":[{"Type":"x","Capabilities":{"mac":true}}]}');
    expect(l.plugins[0]?.network).toMatchObject({ type: 'x', capabilities: { mac: true } });
  });

  it.each([
    ['not JSON', '{', 6, /error parsing configuration list/],
    ['an array', '[]', 6, /expected a JSON object/],
    ['no name', '{"plugins":[{"type":"x"}]}', 7, /no name/],
    ['name of the wrong type', '{"name":5,"plugins":[{"type":"x"}]}', 7, /invalid name type number/],
    ['cniVersion of the wrong type', '{"name":"n","cniVersion":1,"plugins":[{"type":"x"}]}', 7, /invalid cniVersion type number/],
    ['cniVersions not an array', '{"name":"n","cniVersions":"1.0.0","plugins":[{"type":"x"}]}', 7, /invalid type for cniVersions/],
    ['cniVersions with a number', '{"name":"n","cniVersions":[1],"plugins":[{"type":"x"}]}', 7, /cniVersions index 0/],
    ['malformed cniVersions entry', '{"name":"n","cniVersions":["x.y"],"plugins":[{"type":"x"}]}', 7, /cniVersions/],
    ['plugins not an array', '{"name":"n","plugins":{}}', 7, /invalid 'plugins' type object/],
    ['empty plugins', '{"name":"n","plugins":[]}', 7, /no plugins in list/],
    ['plugin without type', '{"name":"n","plugins":[{"name":"x"}]}', 7, /failed to parse plugin config 0: .*missing 'type'/],
    ['plugin type not a string', '{"name":"n","plugins":[{"type":1}]}', 7, /"type" must be a string/],
    ['capabilities not booleans', '{"name":"n","plugins":[{"type":"x","capabilities":{"mac":"yes"}}]}', 7, /capabilities.mac/],
    ['ipam not an object', '{"name":"n","plugins":[{"type":"x","ipam":"host-local"}]}', 7, /"ipam" must be an object/],
  ])('rejects %s', (_what, src, code, msg) => {
    expect(codeOf(() => netConfListFromBytes(src))).toBe(code);
    expect(() => netConfListFromBytes(src)).toThrow(msg);
  });
});

describe('pluginConfFromBytes', () => {
  it('keeps the file bytes', () => {
    const src = '{ "type": "x", "name": "n" }';
    expect(text(pluginConfFromBytes(src).bytes)).toBe(src);
  });
});

describe('confFiles', () => {
  it('lists matching files sorted, skipping directories; a missing dir is empty', async () => {
    await writeFile(join(dir, 'b.conf'), '');
    await writeFile(join(dir, 'a.json'), '');
    await writeFile(join(dir, 'c.conflist'), '');
    await writeFile(join(dir, 'd.conf.bak'), '');
    await mkdir(join(dir, 'e.conf'));
    expect(await confFiles(dir, ['.conf', '.json'])).toEqual([join(dir, 'a.json'), join(dir, 'b.conf')]);
    expect(await confFiles(join(dir, 'nope'), ['.conf'])).toEqual([]);
  });
});

describe('loadNetworkConfList', () => {
  const write = (name: string, body: unknown) => writeFile(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));

  it('prefers .conflist files in sorted order, first name match wins', async () => {
    await write('20-b.conflist', { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'second' }] });
    await write('10-a.conflist', { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'first' }] });
    await write('05-net.conf', { cniVersion: '1.0.0', name: 'net', type: 'single' });
    const l = await loadNetworkConfList(dir, 'net');
    expect(l.plugins.map((p) => p.network.type)).toEqual(['first']);
  });

  it('aborts on any broken .conflist, even one for another network', async () => {
    await write('10-a.conflist', '{broken');
    await write('20-b.conflist', { name: 'net', plugins: [{ type: 'x' }] });
    await expect(loadNetworkConfList(dir, 'net')).rejects.toThrow(/error parsing configuration list/);
  });

  it('appends drop-in <dir>/<name>/*.conf plugins unless loadOnlyInlinedPlugins', async () => {
    await write('10.conflist', { cniVersion: '1.1.0', name: 'net', plugins: [{ type: 'inline' }] });
    await mkdir(join(dir, 'net'));
    await write('net/2-b.conf', { type: 'dropB' });
    await write('net/1-a.conf', { type: 'dropA' });
    await write('net/3-c.json', { type: 'ignored' });
    const l = await loadNetworkConfList(dir, 'net');
    expect(l.plugins.map((p) => p.network.type)).toEqual(['inline', 'dropA', 'dropB']);
    await write('10.conflist', { cniVersion: '1.1.0', name: 'net', loadOnlyInlinedPlugins: true, plugins: [{ type: 'inline' }] });
    expect((await loadNetworkConfList(dir, 'net')).plugins.map((p) => p.network.type)).toEqual(['inline']);
  });

  it('builds a list from drop-ins only when plugins is absent', async () => {
    await write('10.conflist', { cniVersion: '1.1.0', name: 'net' });
    await expect(loadNetworkConfList(dir, 'net')).rejects.toThrow(/no plugin configs found/);
    await mkdir(join(dir, 'net'));
    await write('net/a.conf', { type: 'drop' });
    expect((await loadNetworkConfList(dir, 'net')).plugins.map((p) => p.network.type)).toEqual(['drop']);
  });

  it('upconverts a .conf to the same list bytes Go libcni builds', async () => {
    await writeFile(join(dir, '10-single.conf'), await readFile(join(fixtures, 'single.conf')));
    const l = await loadNetworkConfList(dir, 'single');
    expect(text(l.bytes)).toBe(await readFile(join(fixtures, 'single.upconverted.json'), 'utf8'));
    expect(l.cniVersion).toBe('0.4.0');
    expect(l.plugins[0]?.network.type).toBe('bridge');
  });

  it('reports typed errors like libcni', async () => {
    const none = await loadNetworkConfList(dir, 'x').catch((e: unknown) => e);
    expect(none).toBeInstanceOf(NoConfigsFoundError);
    expect((none as CniError).message).toBe(`no net configurations found in ${dir}`);
    await write('a.conflist', { name: 'other', plugins: [{ type: 'x' }] });
    const missing = await loadNetworkConfList(dir, 'x').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigNotFoundError);
    expect((missing as CniError).message).toBe(`no net configuration with name "x" in ${dir}`);
    expect((missing as CniError).code).toBe(7);
    await write('b.conf', { name: 'other2', type: 'x' });
    await expect(loadNetworkConfList(dir, 'x')).rejects.toBeInstanceOf(ConfigNotFoundError);
  });
});
