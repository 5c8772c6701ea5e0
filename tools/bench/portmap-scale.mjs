#!/usr/bin/env node
// Benchmark (not a test): how portmap's ADD (and DEL) latency grows with the number of port-mapped
// sandboxes already on the host, for
//   ts-nft         tscni portmap, nftables backend, bundled executable (cold exec: node start-up included)
//   ts-ipt         tscni portmap, backend iptables (one iptables-save + one iptables-restore per family)
//   go-ipt         the reference /usr/lib/cni/portmap (Debian 1.1.1: iptables, one exec per rule check/add)
//   ts-nft-inproc  tscni portmap, nftables, called in this process (no start-up: the netlink work alone)
// Each case runs against two throw-away "host" namespaces: one with no mappings, one with N existing
// port-mapped attachments (made by calling the plugin's ADD with prevResults pointing at addresses
// behind one veth: rules need no live containers). Every executable starts through
// `nsenter --net=<host namespace>` (its cost is measured and reported); the iptables binaries are
// whatever `iptables` is here (iptables-nft on Debian 12). Samples are interleaved across cases
// (rotating order); each sample is an ADD of a fresh attachment then its DEL, so N stays constant.
//
// Usage (root): node tools/bench/portmap-scale.mjs [--n 500] [--samples 40] [--warmup 3] [--cases ts-nft,go-ipt,...]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '500' },
    samples: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '3' },
    cases: { type: 'string', default: 'ts-nft,ts-ipt,go-ipt,ts-nft-inproc' },
  },
});
const N = Number(values.n);
const SAMPLES = Number(values.samples);
const WARMUP = Number(values.warmup);
const CASES = values.cases.split(',');
if (N > 250 * 200) throw new Error('--n: at most 50000');

const GO_PORTMAP = '/usr/lib/cni/portmap';
const tag = randomBytes(3).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'tscni-pmbench-'));
const ADDON = join(root, 'native', 'build', 'Release', 'tscni_native.node');
process.env.TSCNI_NATIVE_PATH = ADDON;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

// The executable, built as tools/install-plugins would, with the addon beside it.
run(process.execPath, [join(root, 'tools', 'build-bin.mjs'), join(root, 'packages', 'plugins'), '--outdir', work, 'src/bin/portmap.ts:portmap']);
copyFileSync(ADDON, join(work, 'tscni_native.node'));
const TS_PORTMAP = join(work, 'portmap');

// The same plugin in this process, aimed at a namespace (the kernel tests' way of calling it).
const entry = `
import { NETLINK_NETFILTER, RtNetlink, SocketTransport, createNetns, deleteNetns, netnsPath } from ${JSON.stringify(join(root, 'packages/netlink/src/index.ts'))};
import { pluginMain } from ${JSON.stringify(join(root, 'packages/skel/src/index.ts'))};
import { SPEC_VERSIONS } from ${JSON.stringify(join(root, 'packages/spec/src/index.ts'))};
import { portmapPlugin } from ${JSON.stringify(join(root, 'packages/plugins/src/portmap/plugin.ts'))};
import { spawnRunner } from ${JSON.stringify(join(root, 'packages/plugins/src/shared/iptables-restore.ts'))};
export { createNetns, deleteNetns, netnsPath };
const plugins = new Map();
function pluginFor(hostPath) {
  let p = plugins.get(hostPath);
  if (p === undefined) {
    p = portmapPlugin({
      netfilter: () => SocketTransport.open(NETLINK_NETFILTER, hostPath),
      rtnl: () => RtNetlink.open(hostPath),
      hostNetns: hostPath,
      run: (cmd, args, input) => spawnRunner('nsenter', ['--net=' + hostPath, cmd, ...args], input),
    });
    plugins.set(hostPath, p);
  }
  return p;
}
export async function invoke(hostPath, env, conf) {
  let out = '';
  const code = await pluginMain(pluginFor(hostPath), { supportedVersions: SPEC_VERSIONS }, {
    env, stdin: async () => new TextEncoder().encode(conf), stdout: (s) => { out += s; }, stderr: () => {}, exit: () => {},
  });
  if (code !== 0) throw new Error('in-process portmap failed: ' + out);
}
`;
const bundle = join(work, 'pm-bench.mjs');
await build({
  stdin: { contents: entry, resolveDir: join(root, 'packages', 'plugins'), sourcefile: 'pm-bench-entry.ts', loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  logLevel: 'error',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const pm = await import(pathToFileURL(bundle).href);

// ---------------------------------------------------------------------------------------------
// Worlds: a host namespace with a veth to one sandbox namespace; the attachments' addresses are
// 10.210.x.y inside the veth's /16, so the host routes every one of them out of that veth.

const made = [];
function world(name) {
  const host = `tscpb${tag}${name}`;
  const sandbox = `tscps${tag}${name}`;
  for (const ns of [host, sandbox]) {
    pm.createNetns(ns);
    made.push(ns);
  }
  run('ip', ['-n', host, 'link', 'add', 'vh0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sandbox]);
  run('ip', ['-n', host, 'addr', 'add', '10.210.0.1/16', 'dev', 'vh0']);
  run('ip', ['-n', host, 'link', 'set', 'vh0', 'up']);
  run('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
  run('ip', ['-n', sandbox, 'addr', 'add', '10.210.0.2/16', 'dev', 'eth0']);
  run('ip', ['-n', sandbox, 'link', 'set', 'eth0', 'up']);
  return { host, hostPath: pm.netnsPath(host), sandboxPath: pm.netnsPath(sandbox) };
}

const addrOf = (i) => `10.210.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`;

function conf(backend, i, hostPort) {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pmbench',
    type: 'portmap',
    ...(backend === undefined ? {} : { backend }),
    runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'vh0' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [{ address: `${addrOf(i)}/16`, interface: 1, gateway: '10.210.0.1' }],
    },
  });
}

const env = (command, id, sandboxPath) => ({
  PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  CNI_COMMAND: command,
  CNI_CONTAINERID: id,
  CNI_NETNS: sandboxPath,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/usr/lib/cni',
});

/** Fills a world with `n` attachments (in-process ADDs; the iptables layout is the reference's). */
async function populate(w, backend, n) {
  for (let i = 0; i < n; i++) {
    await pm.invoke(w.hostPath, env('ADD', `existing-${i}`, w.sandboxPath), conf(backend, i, 20000 + i));
  }
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function exec(bin, w, command, id, body) {
  const t0 = process.hrtime.bigint();
  run('nsenter', [`--net=${w.hostPath}`, bin], { input: body, env: env(command, id, w.sandboxPath) });
  return ms(t0);
}

/** One case: add(world, k) and del(world, k) return wall ms; `backend` is how its worlds are filled. */
const caseDefs = {
  'ts-nft': { backend: 'nftables', add: (w, k) => exec(TS_PORTMAP, w, 'ADD', `s${k}`, conf('nftables', 40000 + k, 40000 + k)), del: (w, k) => exec(TS_PORTMAP, w, 'DEL', `s${k}`, conf('nftables', 40000 + k, 40000 + k)) },
  'ts-ipt': { backend: 'iptables', add: (w, k) => exec(TS_PORTMAP, w, 'ADD', `s${k}`, conf('iptables', 40000 + k, 40000 + k)), del: (w, k) => exec(TS_PORTMAP, w, 'DEL', `s${k}`, conf('iptables', 40000 + k, 40000 + k)) },
  'go-ipt': { backend: 'iptables', add: (w, k) => exec(GO_PORTMAP, w, 'ADD', `s${k}`, conf(undefined, 40000 + k, 40000 + k)), del: (w, k) => exec(GO_PORTMAP, w, 'DEL', `s${k}`, conf(undefined, 40000 + k, 40000 + k)) },
  'ts-nft-inproc': {
    backend: 'nftables',
    add: async (w, k) => {
      const t0 = process.hrtime.bigint();
      await pm.invoke(w.hostPath, env('ADD', `s${k}`, w.sandboxPath), conf('nftables', 40000 + k, 40000 + k));
      return ms(t0);
    },
    del: async (w, k) => {
      const t0 = process.hrtime.bigint();
      await pm.invoke(w.hostPath, env('DEL', `s${k}`, w.sandboxPath), conf('nftables', 40000 + k, 40000 + k));
      return ms(t0);
    },
  },
};

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Counts what the loaded world holds, to show the populations are real. */
function census(w, backend) {
  if (backend === 'nftables') {
    const text = run('ip', ['netns', 'exec', w.host, 'nft', 'list', 'table', 'ip', 'tscni_hostport']);
    return `${(text.match(/dnat to/g) ?? []).length} DNAT rules in per-attachment chains`;
  }
  const text = run('ip', ['netns', 'exec', w.host, 'iptables-save', '-t', 'nat']);
  return `${text.split('\n').filter((l) => l.startsWith('-A ')).length} nat rules`;
}

try {
  for (const c of CASES) if (caseDefs[c] === undefined) throw new Error(`unknown case ${c}`);
  const worlds = {};
  for (const c of CASES) {
    const t0 = process.hrtime.bigint();
    worlds[c] = { empty: world(`${CASES.indexOf(c)}e`), loaded: world(`${CASES.indexOf(c)}l`) };
    await populate(worlds[c].loaded, caseDefs[c].backend, N);
    console.log(`${c}: ${N} existing attachments made in ${(ms(t0) / 1000).toFixed(1)} s (${census(worlds[c].loaded, caseDefs[c].backend)})`);
  }
  const nsenter = [];
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    run('nsenter', [`--net=${worlds[CASES[0]].empty.hostPath}`, '/bin/true']);
    nsenter.push(ms(t0));
  }

  const results = Object.fromEntries(CASES.flatMap((c) => ['empty', 'loaded'].map((s) => [`${c}/${s}`, { add: [], del: [] }])));
  const slots = CASES.flatMap((c) => ['empty', 'loaded'].map((s) => [c, s]));
  for (let k = 0; k < WARMUP + SAMPLES; k++) {
    const rot = k % slots.length;
    for (const [c, s] of [...slots.slice(rot), ...slots.slice(0, rot)]) {
      const w = worlds[c][s];
      const add = await caseDefs[c].add(w, k);
      const del = await caseDefs[c].del(w, k);
      if (k >= WARMUP) {
        results[`${c}/${s}`].add.push(add);
        results[`${c}/${s}`].del.push(del);
      }
    }
  }

  const f = (x) => x.toFixed(1).padStart(7);
  console.log(`\nportmap ADD/DEL latency, ms (N = ${N} existing attachments, ${SAMPLES} samples each; nsenter alone p50 ${pct(nsenter, 50).toFixed(1)} ms)`);
  console.log(`${'case'.padEnd(14)} ${'existing'.padStart(8)}  ${'ADD p50'.padStart(7)} ${'ADD p99'.padStart(7)}  ${'DEL p50'.padStart(7)} ${'DEL p99'.padStart(7)}`);
  for (const c of CASES) {
    for (const s of ['empty', 'loaded']) {
      const r = results[`${c}/${s}`];
      console.log(`${c.padEnd(14)} ${String(s === 'empty' ? 0 : N).padStart(8)}  ${f(pct(r.add, 50))} ${f(pct(r.add, 99))}  ${f(pct(r.del, 50))} ${f(pct(r.del, 99))}`);
    }
  }
  console.log(`\ngrowth (p50 with ${N} existing / p50 with 0):`);
  for (const c of CASES) {
    const e = results[`${c}/empty`];
    const l = results[`${c}/loaded`];
    console.log(`  ${c.padEnd(14)} ADD x${(pct(l.add, 50) / pct(e.add, 50)).toFixed(2)}   DEL x${(pct(l.del, 50) / pct(e.del, 50)).toFixed(2)}`);
  }
  if (CASES.includes('ts-nft') && CASES.includes('go-ipt')) {
    console.log('\nts-nft vs go-ipt (p50 and p99 of ADD, go / ours):');
    for (const s of ['empty', 'loaded']) {
      const o = results[`ts-nft/${s}`].add;
      const g = results[`go-ipt/${s}`].add;
      console.log(`  ${String(s === 'empty' ? 0 : N).padStart(5)} existing: p50 ${(pct(g, 50) / pct(o, 50)).toFixed(2)}x   p99 ${(pct(g, 99) / pct(o, 99)).toFixed(2)}x`);
    }
  }
} finally {
  for (const ns of made) {
    try {
      pm.deleteNetns(ns);
    } catch (e) {
      console.error(`could not delete namespace ${ns}: ${e.message}`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}
