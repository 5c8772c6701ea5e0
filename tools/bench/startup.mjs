#!/usr/bin/env node
// Benchmark (not a test): whole-process wall time of a bundled tscni plugin against a bare
// `node -e 0`, because a CNI plugin pays its start-up on every ADD/DEL/CHECK.
//
// Usage: node tools/bench/startup.mjs [--runs 30] [--warmup 5] [--check]
//   --check: exit 1 when a tscni case's median is above 1.3x bare node (the acceptance target).
// Needs the bundled test plugins: pnpm --filter @tscni/testing build
//
// Cases run interleaved (one of each per round, order rotating) so drift in machine load hits all
// of them alike. The no-op ADD uses a CNI_NETNS path that does not exist: tscni-noop never enters
// the namespace, and skel's own-netns guard still does its stat calls, so their cost is counted.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TARGET_RATIO = 1.3;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const noop = join(root, 'packages', 'testing', 'dist', 'bin', 'tscni-noop');
const goLoopback = '/usr/lib/cni/loopback';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    check: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);

if (!existsSync(noop)) {
  console.error(`startup bench: ${noop} is missing; run: pnpm --filter @tscni/testing build`);
  process.exit(2);
}

const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const addConf = JSON.stringify({ cniVersion: '1.1.0', name: 'bench', type: 'tscni-noop' });
const addEnv = {
  ...baseEnv,
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'bench-ctr',
  CNI_NETNS: '/var/run/netns/tscni-bench-absent',
  CNI_IFNAME: 'eth0',
  CNI_PATH: dirname(noop),
};
const versionIn = '{"cniVersion":"1.1.0"}';

/** @type {Array<{name: string, cmd: string, args: string[], env: Record<string,string>, input: string, ok: (out: string) => boolean, tscni: boolean}>} */
const cases = [
  { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], env: baseEnv, input: '', ok: () => true, tscni: false },
  {
    name: 'tscni-noop VERSION',
    cmd: noop,
    args: [],
    env: { ...baseEnv, CNI_COMMAND: 'VERSION' },
    input: versionIn,
    ok: (out) => JSON.parse(out).supportedVersions.includes('1.1.0'),
    tscni: true,
  },
  {
    name: 'tscni-noop ADD (no-op)',
    cmd: noop,
    args: [],
    env: addEnv,
    input: addConf,
    ok: (out) => JSON.parse(out).interfaces[0].name === 'eth0',
    tscni: true,
  },
];
if (existsSync(goLoopback)) {
  cases.push({
    name: 'Go loopback VERSION',
    cmd: goLoopback,
    args: [],
    env: { ...baseEnv, CNI_COMMAND: 'VERSION' },
    input: versionIn,
    ok: (out) => JSON.parse(out).cniVersion !== undefined,
    tscni: false,
  });
}

// The bundles are run the way a runtime runs them: exec of the file, its shebang finds `node`.
// Put this node first on PATH so the shebang and the baseline use the same binary.
for (const c of cases) c.env = { ...c.env, PATH: `${dirname(process.execPath)}:${c.env.PATH}` };

function once(c) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { env: c.env, input: c.input, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 || !c.ok(r.stdout)) {
    throw new Error(`${c.name}: exit ${r.status}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
  }
  return ms;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};

for (let i = 0; i < warmup; i++) for (const c of cases) once(c);
const times = new Map(cases.map((c) => [c.name, []]));
for (let round = 0; round < runs; round++) {
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(round + k) % cases.length];
    times.get(c.name).push(once(c));
  }
}

const base = quantile(times.get('node -e 0'), 0.5);
const baseMin = Math.min(...times.get('node -e 0'));
// Other work on the machine inflates wall times in bursts; the load average and the minimum (a
// floor no burst can lower) help to read a median that looks off.
console.log(`startup bench: ${runs} interleaved runs after ${warmup} warm-up rounds, node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('case                         median ms  p90 ms  min ms   ratio (median)  ratio (min)');
let failed = false;
for (const c of cases) {
  const xs = times.get(c.name);
  const med = quantile(xs, 0.5);
  const min = Math.min(...xs);
  const ratio = med / base;
  const mark = c.tscni ? (ratio <= TARGET_RATIO ? '  ok' : `  ABOVE ${TARGET_RATIO}x`) : '';
  if (c.tscni && ratio > TARGET_RATIO) failed = true;
  const cols = [med, quantile(xs, 0.9), min].map((x) => x.toFixed(1).padStart(8)).join('');
  console.log(`${c.name.padEnd(28)}${cols}   ${ratio.toFixed(2).padStart(9)}x ${(min / baseMin).toFixed(2).padStart(11)}x${mark}`);
}
if (values.check && failed) process.exit(1);
