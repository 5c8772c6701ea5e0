// Tests for the test plugins in-process (over captureIO): tscni-debug's config keys and tscni-noop's
// chaining, in every spec version.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SPEC_VERSIONS, versionAtLeast } from '@tscni/spec';
import { GARBAGE_TEXT, runDebugPlugin } from './debug-plugin.js';
import { captureIO, makeTempDir, readDebugRecords } from './fixtures.js';
import type { TempDir } from './fixtures.js';
import { runNoopPlugin } from './noop-plugin.js';

const NETNS = '/var/run/netns/tscni-test-absent';

function env(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: 'ctr', CNI_NETNS: NETNS, CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin', HOME: '/root', ...extra };
}

const conf = (over: Record<string, unknown> = {}): string => JSON.stringify({ cniVersion: '1.1.0', name: 'tnet', type: 'tscni-debug', ...over });

async function debug(command: string, stdin: string, extra: Record<string, string> = {}) {
  const c = captureIO(env(command, extra), stdin);
  const code = await runDebugPlugin(c.io);
  return { code, exited: c.exitCode(), stdout: c.stdout(), stderr: c.stderr() };
}

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('tscni-testing-');
});
afterEach(async () => {
  await tmp.remove();
});

describe('tscni-debug', () => {
  it('records every verb with all CNI_* variables and the parsed stdin', async () => {
    const debugFile = `${tmp.path}/calls.jsonl`;
    const stdin = conf({ debugFile, extra: [1, 2] });
    for (const verb of ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS']) {
      const r = await debug(verb, stdin, { CNI_ARGS: 'A=B', CNI_NETNS_OVERRIDE: '1' });
      expect(r.code).toBe(0);
    }
    const records = await readDebugRecords(debugFile);
    expect(records.map((r) => r.command)).toEqual(['ADD', 'CHECK', 'DEL', 'GC', 'STATUS']);
    expect(records[0]?.env).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr',
      CNI_NETNS: NETNS,
      CNI_IFNAME: 'net1',
      CNI_PATH: '/opt/cni/bin',
      CNI_ARGS: 'A=B',
      CNI_NETNS_OVERRIDE: '1',
    });
    expect(records[2]?.stdin).toMatchObject({ name: 'tnet', debugFile, extra: [1, 2] });
  });

  it.each(SPEC_VERSIONS)('ADD without prevResult answers a minimal valid %s result', async (v) => {
    const r = await debug('ADD', conf({ cniVersion: v }));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out['cniVersion']).toBe(v);
    if (versionAtLeast(v, '0.3.0')) expect(out['interfaces']).toEqual([{ name: 'net1', sandbox: NETNS }]);
    else expect(out['interfaces']).toBeUndefined();
  });

  it('ADD passes prevResult through, converted to the config version', async () => {
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'br0' }], ips: [{ address: '10.0.0.5/24', gateway: '10.0.0.1' }] };
    const r = await debug('ADD', conf({ cniVersion: '0.4.0', prevResult: { ...prevResult, cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.5/24', gateway: '10.0.0.1' }] } }));
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: '0.4.0', interfaces: [{ name: 'br0' }], ips: [{ version: '4', address: '10.0.0.5/24' }] });
  });

  it('ADD answers the configured `result` exactly, even in another version', async () => {
    const result = { cniVersion: '0.3.1', ips: [{ version: '4', address: '192.0.2.7/24' }], odd: true };
    const r = await debug('ADD', conf({ result }));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(JSON.stringify(result, null, 4));
  });

  it('fails the configured verb with the configured error, and only that verb', async () => {
    const errors = { DEL: { code: 11, msg: 'try again', details: 'busy' }, STATUS: { code: 50, msg: 'not ready' } };
    const del = await debug('DEL', conf({ errors }));
    expect(del.code).toBe(1);
    expect(JSON.parse(del.stdout)).toEqual({ cniVersion: '1.1.0', code: 11, msg: 'try again', details: 'busy' });
    const status = await debug('STATUS', conf({ errors }));
    expect(JSON.parse(status.stdout)).toMatchObject({ code: 50, msg: 'not ready' });
    expect((await debug('ADD', conf({ errors }))).code).toBe(0);
  });

  it('sleeps `sleepMs` before answering', async () => {
    const t0 = performance.now();
    const r = await debug('CHECK', conf({ sleepMs: 120 }));
    expect(r.code).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it.each([
    [true, GARBAGE_TEXT],
    ['<html>oops', '<html>oops'],
  ] as const)('prints garbage=%j instead of the answer', async (garbage, text) => {
    const add = await debug('ADD', conf({ garbage }));
    expect(add).toMatchObject({ code: 0, stdout: text });
    const failing = await debug('DEL', conf({ garbage, errors: { DEL: { code: 7, msg: 'x' } }, exitCode: 3 }));
    expect(failing).toMatchObject({ code: 3, exited: 3, stdout: text });
  });

  it('`exitCode` overrides the exit status but keeps the answer', async () => {
    const ok = await debug('ADD', conf({ exitCode: 42 }));
    expect(ok.code).toBe(42);
    expect(ok.exited).toBe(42);
    expect(JSON.parse(ok.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    const failed = await debug('ADD', conf({ exitCode: 0, errors: { ADD: { code: 5, msg: 'io' } } }));
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout)).toMatchObject({ code: 5 });
  });

  it.each([
    ['debugFile', 5],
    ['sleepMs', -1],
    ['garbage', 1],
    ['exitCode', 256],
    ['errors', []],
    ['errors', { ADD: { code: 'x', msg: 'm' } }],
    ['errors', { ADD: { code: 1 } }],
  ])('a bad `%s` (%j) is code 7 naming the key', async (key, value) => {
    const r = await debug('ADD', conf({ [key]: value }));
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout) as { code: number; msg: string };
    expect(err.code).toBe(7);
    expect(err.msg).toContain(`"${key}`);
  });

  it('answers VERSION with all seven versions', async () => {
    const r = await debug('VERSION', '{"cniVersion":"0.4.0"}');
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '0.4.0', supportedVersions: [...SPEC_VERSIONS] });
  });
});

describe('tscni-noop', () => {
  async function noop(command: string, stdin: string, ifName = 'net1') {
    const c = captureIO(env(command, { CNI_IFNAME: ifName }), stdin);
    const code = await runNoopPlugin(c.io);
    return { code, stdout: c.stdout() };
  }

  it('appends its interface to prevResult, keeping the rest', async () => {
    const prevResult = { cniVersion: '1.1.0', interfaces: [{ name: 'first', sandbox: NETNS }], ips: [{ interface: 0, address: '10.0.0.2/24' }] };
    const r = await noop('ADD', conf({ type: 'tscni-noop', prevResult }), 'second');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'first', sandbox: NETNS },
        { name: 'second', sandbox: NETNS },
      ],
      ips: [{ interface: 0, address: '10.0.0.2/24' }],
    });
  });

  it('chains: each plugin output is the next prevResult, in a 0.4.0 config too', async () => {
    let prev: unknown;
    for (const ifName of ['a0', 'a1', 'a2']) {
      const stdin = conf({ cniVersion: '0.4.0', type: 'tscni-noop', ...(prev === undefined ? {} : { prevResult: prev }) });
      prev = JSON.parse((await noop('ADD', stdin, ifName)).stdout);
    }
    expect(prev).toMatchObject({ cniVersion: '0.4.0', interfaces: [{ name: 'a0' }, { name: 'a1' }, { name: 'a2' }] });
  });

  it('passes a legacy prevResult through unchanged', async () => {
    const prevResult = { cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' }, dns: {} };
    const r = await noop('ADD', conf({ cniVersion: '0.2.0', type: 'tscni-noop', prevResult }));
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' } });
  });

  it.each(['DEL', 'CHECK', 'GC', 'STATUS'])('%s succeeds silently', async (verb) => {
    expect(await noop(verb, conf({ type: 'tscni-noop' }))).toEqual({ code: 0, stdout: '' });
  });
});
