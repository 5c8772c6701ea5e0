// Runs the bundled cnitool as a real process against the bundled tscni-debug/tscni-noop plugins:
// malformed configs and environments must give the right exit status, CNI code and message, and
// never a stack trace.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let work: string;
let binDir: string;
let cnitool: string;

// Fresh bundles of this checkout (cnitool and the test plugins) in a private directory, so the test
// never runs a stale build and never writes into another package's dist/.
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tscni-cnitool-bin-'));
  binDir = join(work, 'bin');
  const build = (pkg: string, ...entries: string[]) => {
    const r = spawnSync(process.execPath, [join(repo, 'tools', 'build-bin.mjs'), join(repo, 'packages', pkg), '--outdir', binDir, ...entries], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`build-bin ${pkg} failed: ${r.stderr}`);
  };
  build('cnitool', 'src/bin/cnitool.ts:cnitool');
  build('testing', 'src/bin/tscni-debug.ts:tscni-debug', 'src/bin/tscni-noop.ts:tscni-noop');
  cnitool = join(binDir, 'cnitool');
  // A plugin that fails with a message on stderr only (no CNI error JSON), like a crashing binary.
  await writeFile(join(binDir, 'stderr-only'), '#!/bin/sh\necho "fatal: cannot open /dev/foo" >&2\nexit 3\n');
  await chmod(join(binDir, 'stderr-only'), 0o755);
  // A plugin that records its pid in $PIDFILE and hangs.
  await writeFile(join(binDir, 'hang-pid'), '#!/bin/sh\necho $$ > "$PIDFILE"\nexec sleep 30\n');
  await chmod(join(binDir, 'hang-pid'), 0o755);
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCnitool(argv: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(cnitool, argv, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', rej);
    child.on('close', (status) => res({ status, stdout, stderr }));
  });
}

interface Case {
  name: string;
  /** conflist contents (object → JSON) written as 10-net.conflist; a string is written verbatim. */
  conf?: unknown;
  /** extra files in NETCONFPATH. */
  files?: Record<string, string>;
  argv?: string[];
  env?: Record<string, string>;
  /** Run these cnitool command lines first (each must succeed). */
  before?: string[][];
  exit: number;
  /** The CNI error code the failure carries (equal to `exit` unless it does not fit in 1..254). */
  code?: number;
  stderr: RegExp;
}

const debug = (extra: Record<string, unknown> = {}) => ({ type: 'tscni-debug', ...extra });
const net = (plugins: unknown[], extra: Record<string, unknown> = {}) => ({ cniVersion: '1.1.0', name: 'net', plugins, ...extra });

const cases: Case[] = [
  // command line
  { name: 'unknown command', argv: ['frob', 'net', 'ns'], exit: 64, stderr: /^Error: unknown command "frob"\nRun 'cnitool --help' for usage\.\n$/ },
  { name: 'missing netns argument', argv: ['add', 'net'], exit: 64, stderr: /missing <netns>/ },
  { name: 'unknown flag', argv: ['add', '--frob', 'net', 'ns'], exit: 64, stderr: /unknown flag: --frob/ },
  { name: 'bad --timeout', argv: ['add', '--timeout', 'x', 'net', 'ns'], exit: 64, stderr: /invalid --timeout "x"/ },
  // finding and parsing the configuration
  { name: 'empty NETCONFPATH', exit: 7, stderr: /^Error: no net configurations found in \S+\n$/ },
  { name: 'network not found', conf: net([debug()], { name: 'other' }), exit: 7, stderr: /no net configuration with name "net" in / },
  { name: 'config is not JSON', conf: '{"name": "net", ', exit: 6, stderr: /error parsing configuration list: .*JSON/ },
  { name: 'config is a JSON array', conf: '[1,2]', exit: 6, stderr: /expected a JSON object, got array/ },
  { name: 'missing name', conf: { cniVersion: '1.1.0', plugins: [debug()] }, exit: 7, stderr: /error parsing configuration list: no name/ },
  { name: 'name of the wrong type', conf: { cniVersion: '1.1.0', name: 7, plugins: [debug()] }, exit: 7, stderr: /invalid name type number/ },
  { name: 'cniVersion of the wrong type', conf: net([debug()], { cniVersion: 1.1 }), exit: 7, stderr: /invalid cniVersion type number/ },
  { name: 'cniVersions with a number', conf: net([debug()], { cniVersions: ['1.0.0', 2] }), exit: 7, stderr: /cniVersions index 1: number/ },
  { name: 'plugins is not an array', conf: net([], { plugins: { type: 'x' } }), exit: 7, stderr: /invalid 'plugins' type object/ },
  { name: 'plugins is empty', conf: net([]), exit: 7, stderr: /no plugins in list/ },
  { name: 'plugin without type', conf: net([{ name: 'x' }]), exit: 7, stderr: /failed to parse plugin config 0: .*missing 'type'/ },
  { name: 'plugin type of the wrong type', conf: net([{ type: ['tscni-debug'] }]), exit: 7, stderr: /"type" must be a string, got array/ },
  { name: 'disableCheck not a boolean', conf: net([debug()], { disableCheck: 'maybe' }), exit: 7, stderr: /invalid value "maybe" for disableCheck/ },
  { name: 'loadOnlyInlinedPlugins without plugins', conf: { cniVersion: '1.1.0', name: 'net', loadOnlyInlinedPlugins: true }, exit: 7, stderr: /`loadOnlyInlinedPlugins` is true, and no 'plugins' key/ },
  { name: 'broken drop-in plugin', conf: net([debug()]), files: { 'net/1.conf': '{"type": ' }, exit: 6, stderr: /error parsing configuration/ },
  { name: 'invalid network name', conf: net([debug()], { name: 'bad name!' }), argv: ['add', 'bad name!', 'ns'], exit: 7, stderr: /invalid characters found in network name/ },
  // runtime arguments
  { name: 'ifname too long', conf: net([debug()]), argv: ['add', 'net', 'ns', '-i', 'this-is-too-long0'], exit: 4, stderr: /interface name is too long/ },
  { name: 'ifname with a slash (CNI_IFNAME)', conf: net([debug()]), env: { CNI_IFNAME: 'eth/0' }, exit: 4, stderr: /interface name contains \/ or : or whitespace/ },
  { name: 'bad container ID', conf: net([debug()]), argv: ['add', 'net', 'ns', '--container-id', 'no spaces'], exit: 4, stderr: /invalid characters in containerID/ },
  { name: 'empty container ID', conf: net([debug()]), argv: ['add', 'net', 'ns', '--container-id='], exit: 3, stderr: /missing containerID/ },
  { name: 'CNI_ARGS pair without =', conf: net([debug()]), env: { CNI_ARGS: 'IgnoreUnknown=1;FOO' }, exit: 4, stderr: /invalid CNI_ARGS pair "FOO"/ },
  { name: 'CNI_ARGS value with =', conf: net([debug()]), env: { CNI_ARGS: 'A=b=c' }, exit: 4, stderr: /invalid CNI_ARGS pair "A=b=c"/ },
  { name: 'CNI_ARGS empty value', conf: net([debug()]), env: { CNI_ARGS: 'A=' }, exit: 4, stderr: /invalid CNI_ARGS pair "A="/ },
  { name: 'CAP_ARGS not JSON', conf: net([debug()]), env: { CAP_ARGS: '{portMappings:' }, exit: 4, stderr: /invalid CAP_ARGS: / },
  { name: 'CAP_ARGS an array', conf: net([debug()]), env: { CAP_ARGS: '[]' }, exit: 4, stderr: /invalid CAP_ARGS: want a JSON object, got an array/ },
  { name: 'bad CNITOOL_TIMEOUT', conf: net([debug()]), env: { CNITOOL_TIMEOUT: '-1' }, exit: 4, stderr: /invalid CNITOOL_TIMEOUT "-1"/ },
  // versions
  { name: 'unknown cniVersion (plugin refuses)', conf: net([debug()], { cniVersion: '9.9.9' }), exit: 1, stderr: /failed \(add\): incompatible CNI versions/ },
  { name: 'malformed cniVersion on CHECK', conf: net([debug()], { cniVersion: 'one' }), argv: ['check', 'net', 'ns'], exit: 1, stderr: /invalid version "one"/ },
  { name: 'CHECK below 0.4.0', conf: net([debug()], { cniVersion: '0.3.1' }), argv: ['check', 'net', 'ns'], exit: 1, stderr: /configuration version "0\.3\.1" does not support the CHECK command/ },
  // finding and running plugins
  { name: 'plugin not found', conf: net([{ type: 'no-such-plugin' }]), exit: 50, stderr: /plugin type="no-such-plugin" failed \(add\): failed to find plugin "no-such-plugin" in path \[/ },
  { name: 'empty CNI_PATH', conf: net([debug()]), env: { CNI_PATH: '' }, exit: 50, stderr: /failed to find plugin "tscni-debug" in path \[\]/ },
  { name: 'path separator in type', conf: net([{ type: '../../bin/sh' }]), exit: 7, stderr: /invalid plugin type: must not contain a path separator/ },
  { name: 'version of a missing plugin', argv: ['version', 'nope'], exit: 50, stderr: /failed to find plugin "nope"/ },
  { name: 'plugin hangs (timeout)', conf: net([debug({ sleepMs: 20_000 })]), argv: ['add', 'net', 'ns', '--timeout', '0.5'], exit: 11, stderr: /plugin "tscni-debug" timed out after 500ms and was killed/ },
  { name: 'plugin prints garbage and succeeds', conf: net([debug({ garbage: true })]), exit: 6, stderr: /plugin "tscni-debug" printed a result that is not JSON/ },
  { name: 'plugin prints garbage and fails', conf: net([debug({ garbage: 'oops', exitCode: 1 })]), exit: 6, stderr: /netplugin failed but error parsing its diagnostic message "oops"/ },
  { name: 'plugin fails with stderr only', conf: net([{ type: 'stderr-only' }]), exit: 255, code: 0, stderr: /netplugin failed: "fatal: cannot open \/dev\/foo": exit status 3/ },
  { name: 'plugin result then non-zero exit', conf: net([debug({ exitCode: 5 })]), exit: 255, code: 0, stderr: /netplugin failed with no error message: exit status 5/ },
  { name: 'plugin error code is kept', conf: net([debug({ name: 'dbg', errors: { ADD: { code: 117, msg: 'no addresses', details: 'pool 10.0.0.0/30' } } })]), exit: 117, stderr: /^Error: plugin type="tscni-debug" name="dbg" failed \(add\): no addresses; pool 10\.0\.0\.0\/30\n$/ },
  { name: 'plugin internal error (999)', conf: net([debug({ errors: { ADD: { code: 999, msg: 'kaboom' } } })]), exit: 255, code: 999, stderr: /failed \(add\): kaboom/ },
  { name: 'plugin rejects its config', conf: net([debug({ sleepMs: 'soon' })]), exit: 7, stderr: /tscni-debug: "sleepMs" must be a number >= 0/ },
  { name: 'second plugin fails in a chain', conf: net([{ type: 'tscni-noop' }, debug({ errors: { ADD: { code: 11, msg: 'try later' } } })]), exit: 11, stderr: /plugin type="tscni-debug" failed \(add\): try later/ },
  { name: 'DEL failure is wrapped', conf: net([debug({ errors: { DEL: { code: 120, msg: 'stuck' } } })]), argv: ['del', 'net', 'ns'], exit: 120, stderr: /failed \(delete\): stuck/ },
  { name: 'STATUS error keeps its code and text', conf: net([debug({ errors: { STATUS: { code: 50, msg: 'daemon down' } } })]), argv: ['status', 'net'], exit: 50, stderr: /^Error: daemon down\n$/ },
  { name: 'GC failure is reported', conf: net([debug({ errors: { GC: { code: 121, msg: 'gc broke' } } })]), argv: ['gc', 'net'], exit: 121, stderr: /^Error: failed to GC plugin tscni-debug: gc broke\n$/ },
  {
    name: 'CHECK failure after a good ADD',
    conf: net([debug({ errors: { CHECK: { code: 122, msg: 'interface gone' } } })]),
    before: [['add', 'net', 'ns']],
    argv: ['check', 'net', 'ns'],
    exit: 122,
    stderr: /failed \(check\): interface gone/,
  },
];

describe('cnitool as a process: malformed configs and environments', () => {
  it.concurrent.each(cases)('$name', async (c) => {
    const dir = await mkdtemp(join(work, 'case-'));
    const confDir = join(dir, 'net.d');
    await mkdir(confDir);
    if (c.conf !== undefined) await writeFile(join(confDir, '10-net.conflist'), typeof c.conf === 'string' ? c.conf : JSON.stringify(c.conf));
    for (const [name, body] of Object.entries(c.files ?? {})) {
      await mkdir(dirname(join(confDir, name)), { recursive: true });
      await writeFile(join(confDir, name), body);
    }
    const env = { NETCONFPATH: confDir, CNI_PATH: binDir, CNI_CACHE_DIR: join(dir, 'cache'), ...c.env };
    for (const argv of c.before ?? []) {
      const pre = await runCnitool(argv, env);
      expect(pre.status, pre.stderr).toBe(0);
    }
    const r = await runCnitool(c.argv ?? ['add', 'net', join(dir, 'ns')], env);
    expect(r.stderr).toMatch(c.stderr);
    expect(r.status).toBe(c.exit);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith('Error: ')).toBe(true);
    expect(r.stderr.split('\n').filter((l) => l.length > 0).length, 'one error line (plus a usage hint)').toBeLessThanOrEqual(2);
    for (const text of [r.stdout, r.stderr]) expect(text).not.toMatch(/^\s+at /m);
    // The CNI code is the exit status unless it does not fit (0 and 999 exit 255).
    if (c.code !== undefined) expect(c.exit).toBe(255);
  });

  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
});

describe('cnitool as a process: a whole lifecycle', () => {
  it('add, check, status, del, gc with the real test plugins and a Go-format cache', async () => {
    const dir = await mkdtemp(join(work, 'life-'));
    const confDir = join(dir, 'net.d');
    await mkdir(confDir);
    const debugFile = join(dir, 'debug.jsonl');
    await writeFile(
      join(confDir, '10-net.conflist'),
      JSON.stringify(net([{ type: 'tscni-noop' }, debug({ debugFile, capabilities: { portMappings: true } })])),
    );
    const env = {
      NETCONFPATH: confDir,
      CNI_PATH: binDir,
      CNI_CACHE_DIR: join(dir, 'cache'),
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p',
      CAP_ARGS: '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}',
    };
    const ns = join(dir, 'ns');
    const add = await runCnitool(['add', 'net', ns, '-i', 'net1'], env);
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const result = JSON.parse(add.stdout) as { cniVersion: string };
    expect(result.cniVersion).toBe('1.1.0');
    expect(add.stdout).toMatch(/^\{\n {4}"cniVersion": "1\.1\.0"/);
    for (const argv of [['check', 'net', ns, '-i', 'net1'], ['status', 'net'], ['del', 'net', ns, '-i', 'net1']]) {
      const r = await runCnitool(argv, env);
      expect(r, argv.join(' ')).toEqual({ status: 0, stdout: '', stderr: '' });
    }
    // Attach again, then gc deletes every cached attachment of the network.
    expect((await runCnitool(['add', 'net', ns], env)).status).toBe(0);
    expect(await readdir(join(dir, 'cache', 'results'))).toHaveLength(1);
    expect((await runCnitool(['gc', 'net'], env)).status).toBe(0);
    expect(await readdir(join(dir, 'cache', 'results'))).toEqual([]);

    const records = (await readFile(debugFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { command: string; env: Record<string, string>; stdin: Record<string, unknown> });
    expect(records.map((r) => r.command)).toEqual(['ADD', 'CHECK', 'STATUS', 'DEL', 'ADD', 'DEL', 'GC']);
    const first = records[0]!;
    expect(first.env).toMatchObject({ CNI_IFNAME: 'net1', CNI_NETNS: ns, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p' });
    expect(first.env['CNI_CONTAINERID']).toMatch(/^cnitool-[0-9a-f]{20}$/);
    expect(first.stdin['runtimeConfig']).toEqual({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    expect(first.stdin['prevResult']).toMatchObject({ cniVersion: '1.1.0' });
    // The synthesised DEL of gc used the args cached by the second ADD.
    expect(records[5]?.env).toMatchObject({ CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p' });
  });

  it('SIGINT aborts a hanging plugin: it is killed and cnitool exits 11', async () => {
    const dir = await mkdtemp(join(work, 'sigint-'));
    await mkdir(join(dir, 'net.d'));
    await writeFile(join(dir, 'net.d', '10-net.conflist'), JSON.stringify(net([{ type: 'hang-pid' }])));
    const pidFile = join(dir, 'pid');
    const child = spawn(cnitool, ['add', 'net', join(dir, 'ns')], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NETCONFPATH: join(dir, 'net.d'), CNI_PATH: binDir, CNI_CACHE_DIR: join(dir, 'cache'), PIDFILE: pidFile },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<number | null>((res) => child.on('close', res));
    let pid = 0;
    for (let i = 0; i < 100 && pid === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || 0;
    }
    expect(pid).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await closed).toBe(11);
    expect(stderr).toMatch(/^Error: plugin type="hang-pid" failed \(add\): plugin "hang-pid" was aborted\n$/);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });

  it('prints help and exits 0', async () => {
    const r = await runCnitool(['--help'], {});
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^cnitool: run a CNI network configuration/);
    expect(r.stderr).toBe('');
  });
});
