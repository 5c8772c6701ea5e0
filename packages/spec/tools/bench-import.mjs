// Measures what importing @tscni/spec adds to a plugin's start: bundles src/index.ts the way
// plugin executables are bundled, then compares the median wall time of `node -e require(bundle)`
// with `node -e 0`. Usage (from the repo root): node packages/spec/tools/bench-import.mjs [runs]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 20);
const out = join(mkdtempSync(join(tmpdir(), 'spec-bench-')), 'spec.cjs');
execFileSync('pnpm', ['exec', 'esbuild', 'packages/spec/src/index.ts', '--bundle', '--platform=node', '--format=cjs', `--outfile=${out}`, '--log-level=warning'], { stdio: 'inherit' });

function median(args) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed`);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

// Interleave the two measurements so machine noise hits both alike.
const base = [];
const spec = [];
for (let round = 0; round < 3; round++) {
  base.push(median(['-e', '0']));
  spec.push(median(['-e', `require(${JSON.stringify(out)})`]));
}
const mid = (xs) => xs.sort((a, b) => a - b)[1];
console.log(`bundle ${statSync(out).size} bytes`);
console.log(`node -e 0:            ${mid(base).toFixed(1)} ms (median of ${runs}, middle of 3 rounds)`);
console.log(`node -e require(spec): ${mid(spec).toFixed(1)} ms`);
console.log(`added:                ${(mid(spec) - mid(base)).toFixed(1)} ms`);

// The same cost measured inside one process (immune to process start-up noise): time of the
// require() call itself, and of a first parseNetConf + parseResult + convertResult + formatResult.
const probe = `const t0=process.hrtime.bigint();const s=require(${JSON.stringify(out)});const t1=process.hrtime.bigint();
s.parseNetConf('{"cniVersion":"1.1.0","name":"n","type":"bridge","ipam":{"type":"host-local"}}');
s.formatResult(s.convertResult(s.parseResult({cniVersion:"1.1.0",ips:[{address:"10.0.0.2/24"}]}),"0.4.0"));
const t2=process.hrtime.bigint();console.log(Number(t1-t0)/1e6+" "+Number(t2-t1)/1e6)`;
const req = [];
const first = [];
for (let i = 0; i < runs; i++) {
  const [a, b] = execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim().split(' ').map(Number);
  req.push(a);
  first.push(b);
}
const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`in-process require(): ${med(req).toFixed(2)} ms; first parse+convert+format: ${med(first).toFixed(2)} ms (medians of ${runs})`);
