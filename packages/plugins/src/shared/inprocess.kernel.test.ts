// Kernel test for the in-process IPAM path of installed executables: with the same-build marker on
// the installed host-local, ptp never execs it (a host-local whose code would fail still works);
// with a different build id the same file is exec'd, and its failure comes back as the error.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetnsPool } from '../test-support/kernel.js';
import { installPlugins, runPlugin, saveForwarding, testSubnet } from '../test-support/cni.js';
import { readMarker } from './marker.js';

const pool = new NetnsPool();
let bin: string;
let dataDir: string;
let restoreForwarding: () => void;

beforeAll(() => {
  restoreForwarding = saveForwarding();
  bin = installPlugins();
  dataDir = mkdtempSync(join(tmpdir(), 'tscni-inproc-'));
});
afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  restoreForwarding();
});
afterEach(() => pool.cleanup());

describe('installed executables', () => {
  it('all carry the marker of one build, with the type they implement', () => {
    const files = readdirSync(bin).filter((f) => !f.endsWith('.node')).sort();
    expect(files).toEqual(expect.arrayContaining(['host-local', 'loopback', 'ptp', 'static']));
    const markers = files.map((f) => readMarker(join(bin, f)));
    expect(markers.map((m) => m?.type)).toEqual(files);
    expect(new Set(markers.map((m) => m?.build)).size).toBe(1);
    expect(readFileSync(join(bin, 'ptp'), 'utf8').split('\n', 1)[0]).toMatch(/^#!\/.*node$/);
  });

  it('ptp runs a same-build host-local in-process and execs a foreign one', () => {
    const hostLocal = join(bin, 'host-local');
    const original = readFileSync(hostLocal, 'utf8');
    const [shebang, marker] = original.split('\n', 2);
    const failing = 'process.stdout.write(JSON.stringify({code:999,msg:"host-local was exec\'d"}));process.exit(1);\n';
    const net = testSubnet();
    const conf = {
      cniVersion: '1.1.0',
      name: 'inproc',
      type: 'ptp',
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: net.v4 }]] },
    };
    try {
      // Same marker, body that fails when run: only an in-process call can succeed.
      writeFileSync(hostLocal, `${shebang}\n${marker}\n${failing}`);
      const ns = pool.create();
      const env = { command: 'ADD' as const, containerId: 'c1', netns: ns.path, ifName: 'eth0', path: bin };
      const ok = runPlugin(bin, 'ptp', env, conf);
      expect(ok.code, ok.stdout).toBe(0);
      expect((ok.json as { ips: Array<{ address: string }> }).ips[0]?.address).toBe(`${net.prefix4}2/24`);

      // Another build id: the file is exec'd, and what it printed is the error ptp reports.
      writeFileSync(hostLocal, `${shebang}\n${marker?.replace(/build=[0-9a-f]+/, 'build=0000000000000000')}\n${failing}`);
      const ns2 = pool.create();
      const viaExec = runPlugin(bin, 'ptp', { ...env, containerId: 'c2', netns: ns2.path }, conf);
      expect(viaExec.code).toBe(1);
      expect(viaExec.json).toMatchObject({ code: 999, msg: "host-local was exec'd" });
    } finally {
      writeFileSync(hostLocal, original);
    }
  });
});
