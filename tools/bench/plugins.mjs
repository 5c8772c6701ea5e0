#!/usr/bin/env node
// Benchmark (not a test): tscni's plugins against the Go reference plugins in /usr/lib/cni, both
// driven by the SAME runtime: @tscni/engine in this process (bundled from source with esbuild), whose
// RawExec spawns every plugin as an executable, exactly as a runtime would. Only CNI_PATH differs:
// a directory with ONLY ours (tools/install-plugins, so host-local runs in-process inside our
// interface plugins) or ONLY /usr/lib/cni (Go; host-local is exec'd). No case mixes the two.
//
//   interface   ADD+DEL of bridge+host-local, ptp+host-local, loopback
//   chain       ADD+DEL of bridge (isGateway, ipMasq) + host-local, portmap, bandwidth, firewall,
//               tuning, each plugin with its default backend (ours: nftables over netlink for
//               ipMasq/portmap/firewall; Go 1.1.1: iptables), plus the processes exec'd per ADD and
//               per DEL, counted with `strace -f -e trace=execve` on one extra attachment
//
// Every sample is one attachment: a fresh namespace from a pool made before the timed part, ADD
// timed, DEL timed. `--concurrency` workers share one engine; ours and Go's alternate in chunks
// (order flipping each chunk) so load drift hits both alike. p99 of 50 samples is their maximum.
//
// Everything runs inside a throw-away "host" namespace (`ip netns exec`, which also remounts /sys
// for it): the bridges, veth host ends, ifb devices, iptables rules and nftables tables the plugins
// make there vanish with it. The outer process deletes that namespace and any container namespace
// left over, whatever happened inside.
//
// Usage (root, after `pnpm turbo run build`):
//   node tools/bench/plugins.mjs [--n 50] [--concurrency 1,8] [--warmup 2] [--bench interface,chain]
//                                [--no-exec-count]
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const self = fileURLToPath(import.meta.url);
const GO_DIR = '/usr/lib/cni';
const NS_PREFIX = 'tscb';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '1,8' },
    warmup: { type: 'string', default: '2' },
    bench: { type: 'string', default: 'interface,chain' },
    'no-exec-count': { type: 'boolean', default: false },
    // Set by the outer process for the inner one.
    inner: { type: 'boolean', default: false },
    tag: { type: 'string' },
    work: { type: 'string' },
  },
});

// NODE_EXTRA_CA_CERTS makes every node start read a CA bundle (~30 ms here); no plugin needs it.
const childEnv = { ...process.env };
delete childEnv.NODE_EXTRA_CA_CERTS;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: childEnv, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr ?? ''}${r.stdout ?? ''}`);
  return r.stdout;
}

if (!values.inner) await outer();
else await inner();

// ---------------------------------------------------------------------------------------------
// Outer: make the host namespace, run the benchmark inside it, remove everything afterwards.

async function outer() {
  if (process.getuid?.() !== 0) {
    console.error('plugins bench: needs root (namespaces, bridges, iptables)');
    process.exit(2);
  }
  if (!existsSync(join(GO_DIR, 'bridge'))) {
    console.error(`plugins bench: the Go reference plugins are not in ${GO_DIR}`);
    process.exit(2);
  }
  const tag = randomBytes(3).toString('hex');
  const host = `${NS_PREFIX}${tag}host`;
  const work = mkdtempSync(join(tmpdir(), 'tscni-plugbench-'));
  let code = 1;
  try {
    run('ip', ['netns', 'add', host]);
    run('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
    const child = spawn('ip', ['netns', 'exec', host, process.execPath, self, ...process.argv.slice(2), '--inner', '--tag', tag, '--work', work], {
      stdio: 'inherit',
      env: childEnv,
    });
    // Ctrl-C reaches the child through the terminal; a signal sent to this process alone is passed on.
    // Either way this process stays to clean up.
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    code = await new Promise((res) => child.on('close', (c, sig) => res(c ?? (sig ? 128 : 1))));
  } finally {
    // Container namespaces were bind-mounted inside the child's mount namespace, which is gone by
    // now; what can be left here is the empty file. `ip netns del` unmounts (if needed) and unlinks.
    let names = [];
    try {
      names = readdirSync('/run/netns').filter((n) => n.startsWith(`${NS_PREFIX}${tag}`));
    } catch {
      // no /run/netns: nothing was made
    }
    for (const n of names) {
      const r = spawnSync('ip', ['netns', 'del', n], { encoding: 'utf8' });
      if (r.status !== 0) console.error(`plugins bench: could not delete namespace ${n}: ${r.stderr}`);
    }
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// Inner: runs in the host namespace.

async function inner() {
  const N = Number(values.n);
  const WARMUP = Number(values.warmup);
  const CONCS = values.concurrency.split(',').map(Number);
  const BENCHES = values.bench.split(',');
  const tag = values.tag;
  const work = values.work;
  if (!Number.isInteger(N) || N < 1) throw new Error('--n: a positive integer');
  if (CONCS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency: comma-separated positive integers');
  for (const b of BENCHES) if (b !== 'interface' && b !== 'chain') throw new Error(`--bench: unknown ${b} (interface, chain)`);

  const ADDON = join(root, 'native', 'build', 'Release', 'tscni_native.node');
  process.env.TSCNI_NATIVE_PATH = ADDON;
  const oursDir = join(work, 'ours');
  const install = spawnSync(process.execPath, [join(root, 'tools', 'install-plugins'), '--no-build', oursDir], { encoding: 'utf8', env: childEnv });
  if (install.status !== 0) {
    console.error(`plugins bench: tools/install-plugins failed (run \`pnpm turbo run build\` first):\n${install.stderr}`);
    process.exit(2);
  }

  const { build } = await import('esbuild');
  const entry = `
import { CniEngine, RawExec, netConfListFromBytes } from ${JSON.stringify(join(root, 'packages/engine/src/index.ts'))};
import { createNetns, deleteNetns, netnsPath } from ${JSON.stringify(join(root, 'packages/netlink/src/index.ts'))};
export { createNetns, deleteNetns, netnsPath, netConfListFromBytes };
export function engineFor(cniPath, cacheDir, env) {
  return new CniEngine({ path: [cniPath], cacheDir, exec: new RawExec({ baseEnv: env, stderr: null }) });
}
// One ADD or DEL in a process of its own, for strace to count what it execs.
if (process.argv[2] === '--one-op') {
  const [verb, confFile, cniPath, cacheDir, netns, containerId, capArgs] = process.argv.slice(3);
  const { readFileSync } = await import('node:fs');
  const engine = engineFor(cniPath, cacheDir, { PATH: process.env.PATH });
  const list = netConfListFromBytes(readFileSync(confFile));
  const rt = { containerId, netns, ifName: 'eth0', capabilityArgs: JSON.parse(capArgs) };
  if (verb === 'ADD') await engine.addNetworkList(list, rt);
  else await engine.delNetworkList(list, rt);
}
`;
  const bundle = join(work, 'plugins-bench.mjs');
  await build({
    stdin: { contents: entry, resolveDir: join(root, 'packages', 'engine'), sourcefile: 'plugins-bench-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    logLevel: 'error',
  });
  const lib = await import(pathToFileURL(bundle).href);

  // What the plugins inherit: PATH (Go finds iptables through it) and nothing that changes node's
  // start-up or where our plugins find the addon (they take the one installed beside them).
  const pluginEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  const impls = {
    ours: { dir: oursDir, label: 'ours' },
    go: { dir: GO_DIR, label: 'Go' },
  };

  // ---- configurations ----------------------------------------------------------------------
  let netIndex = 0; // one /24 of 10.250.0.0/16 and one bridge name per (cell, implementation)
  function network(kind, impl) {
    const k = netIndex++;
    if (k > 255) throw new Error('too many cells for 10.250.0.0/16');
    const name = `tscb-${tag}-${k}`;
    const bridge = `tb${tag}${k.toString(16).padStart(2, '0')}`;
    const subnet = `10.250.${k}.0/24`;
    const ipam = { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(work, 'ipam', name) };
    let plugins;
    if (kind === 'bridge') plugins = [{ type: 'bridge', bridge, isGateway: true, ipam }];
    else if (kind === 'ptp') plugins = [{ type: 'ptp', ipam }];
    else if (kind === 'loopback') plugins = [{ type: 'loopback' }];
    else {
      // Podman's default network (bridge, portmap, firewall, tuning) plus Kubernetes' bandwidth.
      plugins = [
        { type: 'bridge', bridge, isGateway: true, ipMasq: true, hairpinMode: true, ipam },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
        { type: 'firewall' },
        { type: 'tuning', sysctl: { 'net.core.somaxconn': '512' } },
      ];
    }
    const json = JSON.stringify({ cniVersion: '1.0.0', name, plugins });
    return {
      json,
      list: lib.netConfListFromBytes(json),
      engine: lib.engineFor(impls[impl].dir, join(work, 'cache', name), pluginEnv),
      capArgs: (i) =>
        kind === 'chain'
          ? {
              portMappings: [{ hostPort: 20000 + (i % 40000), containerPort: 80, protocol: 'tcp' }],
              bandwidth: { ingressRate: 100_000_000, ingressBurst: 1_000_000, egressRate: 100_000_000, egressBurst: 1_000_000 },
            }
          : {},
    };
  }

  // ---- namespaces --------------------------------------------------------------------------
  const live = new Set();
  let nsCounter = 0;
  function makePool(count) {
    const names = [];
    for (let i = 0; i < count; i++) {
      const name = `${NS_PREFIX}${tag}c${nsCounter++}`;
      lib.createNetns(name);
      live.add(name);
      names.push(name);
    }
    return names;
  }
  function dropPool(names) {
    for (const n of names) {
      try {
        lib.deleteNetns(n);
        live.delete(n);
      } catch (e) {
        console.error(`could not delete namespace ${n}: ${e.message}`);
      }
    }
  }

  // ---- measurement -------------------------------------------------------------------------
  const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
  const describeError = (e) => {
    const stderr = typeof e?.stderr === 'string' && e.stderr.trim() !== '' ? ` [stderr: ${e.stderr.trim().slice(0, 400)}]` : '';
    return `${e?.code !== undefined ? `code ${e.code}: ` : ''}${e?.message ?? String(e)}${stderr}`;
  };

  /** One attachment: ADD then DEL, both timed; failures are kept with their message. */
  async function attachment(net, nsName, id, i, stats) {
    const rt = { containerId: id, netns: lib.netnsPath(nsName), ifName: 'eth0', capabilityArgs: net.capArgs(i) };
    let t0 = process.hrtime.bigint();
    let added = false;
    try {
      await net.engine.addNetworkList(net.list, rt);
      stats?.add.push(ms(t0));
      added = true;
    } catch (e) {
      stats?.errors.push(`ADD: ${describeError(e)}`);
    }
    t0 = process.hrtime.bigint();
    try {
      await net.engine.delNetworkList(net.list, rt);
      if (added) stats?.del.push(ms(t0));
    } catch (e) {
      stats?.errors.push(`DEL: ${describeError(e)}`);
    }
  }

  async function batch(net, pool, from, count, conc, idBase, stats) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = from + next++;
        await attachment(net, pool[i], `${idBase}-${i}`, i, stats);
      }
    };
    await Promise.all(Array.from({ length: Math.min(conc, count) }, worker));
  }

  /** One cell: a scenario at one concurrency, ours and Go's alternating in chunks. */
  async function cell(kind, conc) {
    const chunk = Math.max(10, 2 * conc);
    const nets = { ours: network(kind, 'ours'), go: network(kind, 'go') };
    const pools = { ours: makePool(N + WARMUP), go: makePool(N + WARMUP) };
    const stats = { ours: { add: [], del: [], errors: [], wallMs: 0 }, go: { add: [], del: [], errors: [], wallMs: 0 } };
    try {
      // Warm-up at concurrency 1: the first ADD makes the bridge and the base chains/tables.
      for (const impl of ['ours', 'go']) {
        await batch(nets[impl], pools[impl], N, WARMUP, 1, `${kind}-${impl}-w`, null);
      }
      let order = ['ours', 'go'];
      for (let from = 0; from < N; from += chunk) {
        const count = Math.min(chunk, N - from);
        for (const impl of order) {
          const t0 = process.hrtime.bigint();
          await batch(nets[impl], pools[impl], from, count, conc, `${kind}-${impl}-c${conc}`, stats[impl]);
          stats[impl].wallMs += ms(t0);
        }
        order = [order[1], order[0]];
      }
    } finally {
      dropPool(pools.ours);
      dropPool(pools.go);
    }
    return stats;
  }

  function pct(xs, p) {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  }

  const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(1)).padStart(8);
  const r = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? '-' : `${(a / b).toFixed(2)}x`).padStart(8);
  const header = `${'case'.padEnd(18)}${'conc'.padStart(5)}  ${'impl'.padEnd(8)}${'ADD p50'.padStart(8)}${'ADD p99'.padStart(8)}${'DEL p50'.padStart(8)}${'DEL p99'.padStart(8)}${'att/s'.padStart(8)}  errors`;

  function report(title, rows) {
    console.log(`\n${title}`);
    console.log('(att/s: attachments per second of wall time; ours/Go: ratio of times, >1 = ours slower, last column = wall time)');
    console.log(header);
    for (const { name, conc, stats } of rows) {
      for (const impl of ['ours', 'go']) {
        const s = stats[impl];
        const rate = s.add.length > 0 ? ((s.add.length * 1000) / s.wallMs).toFixed(1) : '-';
        console.log(
          `${name.padEnd(18)}${String(conc).padStart(5)}  ${impls[impl].label.padEnd(8)}${f(pct(s.add, 50))}${f(pct(s.add, 99))}${f(pct(s.del, 50))}${f(pct(s.del, 99))}${rate.padStart(8)}  ${s.errors.length}`,
        );
      }
      const o = stats.ours;
      const g = stats.go;
      console.log(
        `${''.padEnd(18)}${''.padStart(5)}  ${'ours/Go'.padEnd(8)}${r(pct(o.add, 50), pct(g.add, 50))}${r(pct(o.add, 99), pct(g.add, 99))}${r(pct(o.del, 50), pct(g.del, 50))}${r(pct(o.del, 99), pct(g.del, 99))}${r(o.wallMs, g.wallMs)}`,
      );
    }
    for (const { name, conc, stats } of rows) {
      for (const impl of ['ours', 'go']) {
        const errs = stats[impl].errors;
        if (errs.length === 0) continue;
        const counts = new Map();
        for (const e of errs) counts.set(e, (counts.get(e) ?? 0) + 1);
        console.log(`  ${impls[impl].label} ${name} @${conc}: ${errs.length} failed operation(s):`);
        for (const [e, c] of counts) console.log(`    ${c}x ${e}`);
      }
    }
  }

  // ---- exec count --------------------------------------------------------------------------
  /** Successful execve calls in an `strace -f -e trace=execve` log, by program, minus the traced node itself. */
  function countExecs(logFile) {
    const pending = new Map();
    const done = [];
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      const call = /^(\d+)\s+execve\("([^"]+)"/.exec(line);
      if (call) {
        if (/= 0$/.test(line)) done.push(call[2]);
        else if (line.includes('<unfinished ...>')) pending.set(call[1], call[2]);
        continue;
      }
      const resumed = /^(\d+)\s+<\.\.\. execve resumed>.*= 0$/.exec(line);
      if (resumed && pending.has(resumed[1])) done.push(pending.get(resumed[1]));
    }
    done.shift(); // node running the bundle
    const byProgram = new Map();
    for (const p of done) byProgram.set(basename(p), (byProgram.get(basename(p)) ?? 0) + 1);
    return { total: done.length, byProgram };
  }

  function execCounts() {
    const out = {};
    for (const impl of ['ours', 'go']) {
      const net = network('chain', impl);
      const confFile = join(work, `chain-${impl}.conflist`);
      writeFileSync(confFile, net.json);
      const [ns] = makePool(1);
      const id = `exec-count-${impl}`;
      const capArgs = JSON.stringify(net.capArgs(39999));
      out[impl] = {};
      try {
        // One untraced ADD+DEL first, so the traced ADD does not also pay for making the bridge and chains.
        for (const [verb, warm] of [['ADD', true], ['DEL', true], ['ADD', false], ['DEL', false]]) {
          const log = join(work, `strace-${impl}-${verb}.log`);
          const args = [bundle, '--one-op', verb, confFile, impls[impl].dir, join(work, 'cache', `exec-${impl}`), lib.netnsPath(ns), id, capArgs];
          if (warm) run(process.execPath, args, { env: pluginEnv });
          else {
            run('strace', ['-f', '-qq', '-e', 'trace=execve', '-o', log, process.execPath, ...args], { env: pluginEnv });
            out[impl][verb] = countExecs(log);
          }
        }
      } finally {
        dropPool([ns]);
      }
    }
    return out;
  }

  // ---- main --------------------------------------------------------------------------------
  const started = process.hrtime.bigint();
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const goVersion = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins'], { encoding: 'utf8' });
  const goLabel = goVersion.status === 0 ? `${GO_DIR} (containernetworking-plugins ${goVersion.stdout})` : GO_DIR;
  console.log(
    `plugins bench: engine @tscni/engine in-process, plugins exec'd; ours from tools/install-plugins, Go from ${goLabel}; ` +
      `N=${N} per cell after ${WARMUP} warm-up, concurrency ${CONCS.join(',')}; node ${process.version}; load ${load()}`,
  );
  // The floor under every one of our plugins: a bare node start with the environment they get.
  const nodeStarts = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    run(process.execPath, ['-e', '0'], { env: pluginEnv });
    nodeStarts.push(ms(t0));
  }
  console.log(`node -e 0 (no NODE_EXTRA_CA_CERTS): p50 ${pct(nodeStarts, 50).toFixed(1)} ms over 10 runs`);
  try {
    if (BENCHES.includes('interface')) {
      const rows = [];
      for (const [kind, name] of [['bridge', 'bridge+host-local'], ['ptp', 'ptp+host-local'], ['loopback', 'loopback']]) {
        for (const conc of CONCS) rows.push({ name, conc, stats: await cell(kind, conc) });
      }
      report('Interface plugins: one ADD+DEL per attachment, ms', rows);
    }
    if (BENCHES.includes('chain')) {
      const rows = [];
      for (const conc of CONCS) rows.push({ name: 'full chain', conc, stats: await cell('chain', conc) });
      report('Chained plugins: bridge(+host-local, ipMasq) -> portmap -> bandwidth -> firewall -> tuning, ms', rows);
      if (!values['no-exec-count']) {
        if (spawnSync('strace', ['-V']).status !== 0) console.log('\nexec count: strace not found, skipped');
        else {
          const counts = execCounts();
          console.log('\nprocesses exec\'d per operation of the full chain (strace -f -e trace=execve, one attachment):');
          for (const impl of ['ours', 'go']) {
            for (const verb of ['ADD', 'DEL']) {
              const c = counts[impl][verb];
              const parts = [...c.byProgram].sort((a, b) => b[1] - a[1]).map(([p, k]) => `${p} ${k}`);
              console.log(`  ${impls[impl].label.padEnd(5)} ${verb}: ${String(c.total).padStart(3)}  (${parts.join(', ')})`);
            }
          }
        }
      }
    }
  } finally {
    dropPool([...live]);
  }
  console.log(`\ndone in ${(ms(started) / 1000).toFixed(0)} s; load ${load()}`);
}
