#!/usr/bin/env node
// Benchmark (not a test): the kernel work of one bridge attachment — veth pair created in the
// container namespace with its peer directly in the host namespace, host end on the bridge and up,
// container address, link up, default route — then its removal, done four ways:
//   ts          @tscni/netlink in this process (sockets opened per attachment, as a plugin would)
//   ts-cold     the same code in a fresh `node` process per step (a plugin's real start-up cost)
//   ip-batch    iproute2 `ip -batch`; ip cannot switch namespace per batch line, so the attachment
//               takes one batch process per namespace (host, then container) and the removal one `ip`
//   go-bridge   the reference plugin /usr/lib/cni/bridge + host-local, ADD then DEL, started through
//               `nsenter --net` so its "host" is a throw-away namespace (nsenter's own cost is
//               measured separately and reported)
// Rounds are interleaved (order rotating) so load drift hits every case alike; medians are reported.
// Everything happens in namespaces created here and deleted at the end.
//
// Usage (root): node tools/bench/netlink-attach.mjs [--runs 40] [--warmup 3]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '40' }, warmup: { type: 'string', default: '3' } },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);

const GO_BRIDGE = '/usr/lib/cni/bridge';
const tag = randomBytes(3).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'tscni-nlbench-'));
process.env.TSCNI_NATIVE_PATH = join(root, 'native', 'build', 'Release', 'tscni_native.node');

// One small entry, bundled from the package's TypeScript source: used in-process and as the cold CLI.
const entry = `
import { RtNetlink, createNetns, deleteNetns, netnsPath } from ${JSON.stringify(join(root, 'packages/netlink/src/index.ts'))};
export { createNetns, deleteNetns, netnsPath, RtNetlink };
export async function attach(hostNs, ctrNs, bridge, hostVeth, cidr, gw) {
  const host = RtNetlink.open(hostNs);
  const ctr = RtNetlink.open(ctrNs);
  try {
    await ctr.createLink({ name: 'eth0', kind: 'veth', peer: { name: hostVeth, netns: hostNs } });
    await host.setLink(hostVeth, { master: bridge, up: true });
    await ctr.addAddress('eth0', cidr);
    await ctr.setLinkUp('eth0');
    await ctr.addRoute({ dst: 'default', gateway: gw, dev: 'eth0' });
  } finally {
    host.close();
    ctr.close();
  }
}
export async function detach(ctrNs) {
  const ctr = RtNetlink.open(ctrNs);
  try {
    await ctr.deleteLink('eth0');
  } finally {
    ctr.close();
  }
}
const [verb, ...args] = process.argv.slice(2);
if (verb === 'attach') await attach(...args);
else if (verb === 'detach') await detach(...args);
`;
const bundle = join(work, 'nl-bench.mjs');
await build({
  stdin: { contents: entry, resolveDir: join(root, 'packages', 'netlink'), sourcefile: 'nl-bench-entry.ts', loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  logLevel: 'error',
});
const nl = await import(pathToFileURL(bundle).href);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const hostName = `tscbh${tag}`;
const ctr = { ts: `tscbt${tag}`, cold: `tscbc${tag}`, ip: `tscbi${tag}`, go: `tscbg${tag}` };
const hostNs = nl.netnsPath(hostName);
const bridge = 'tscbr0';
const gw = '10.99.0.1';
const made = [];

function setup() {
  for (const name of [hostName, ...Object.values(ctr)]) {
    nl.createNetns(name);
    made.push(name);
  }
  // The bridge the first Go ADD would create; made once so every case attaches to the same thing.
  run('ip', ['-n', hostName, 'link', 'add', bridge, 'type', 'bridge']);
  run('ip', ['-n', hostName, 'addr', 'add', `${gw}/16`, 'dev', bridge]);
  run('ip', ['-n', hostName, 'link', 'set', bridge, 'up']);
}

const goConf = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'nlbench',
  type: 'bridge',
  bridge,
  isGateway: true,
  ipMasq: false,
  ipam: {
    type: 'host-local',
    ranges: [[{ subnet: '10.99.0.0/16', rangeStart: '10.99.3.1', rangeEnd: '10.99.3.250', gateway: gw }]],
    routes: [{ dst: '0.0.0.0/0' }],
    dataDir: join(work, 'ipam'),
  },
});
const goEnv = (cmd) => ({
  PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: `bench-${tag}`,
  CNI_NETNS: nl.netnsPath(ctr.go),
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/usr/lib/cni',
});

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Each case: attach() and detach() return their wall time in ms. */
const cases = {
  ts: {
    async attach() {
      const t0 = process.hrtime.bigint();
      await nl.attach(hostNs, nl.netnsPath(ctr.ts), bridge, `vt${tag}`, '10.99.1.2/16', gw);
      return ms(t0);
    },
    async detach() {
      const t0 = process.hrtime.bigint();
      await nl.detach(nl.netnsPath(ctr.ts));
      return ms(t0);
    },
  },
  'ts-cold': {
    async attach() {
      const t0 = process.hrtime.bigint();
      run(process.execPath, [bundle, 'attach', hostNs, nl.netnsPath(ctr.cold), bridge, `vc${tag}`, '10.99.4.2/16', gw]);
      return ms(t0);
    },
    async detach() {
      const t0 = process.hrtime.bigint();
      run(process.execPath, [bundle, 'detach', nl.netnsPath(ctr.cold)]);
      return ms(t0);
    },
  },
  'ip-batch': {
    async attach() {
      const t0 = process.hrtime.bigint();
      run('ip', ['-n', hostName, '-batch', '-'], {
        input: `link add vi${tag} type veth peer name eth0 netns ${ctr.ip}\nlink set vi${tag} master ${bridge} up\n`,
      });
      run('ip', ['-n', ctr.ip, '-batch', '-'], {
        input: `addr add 10.99.2.2/16 dev eth0\nlink set eth0 up\nroute add default via ${gw} dev eth0\n`,
      });
      return ms(t0);
    },
    async detach() {
      const t0 = process.hrtime.bigint();
      run('ip', ['-n', ctr.ip, 'link', 'del', 'eth0']);
      return ms(t0);
    },
  },
  'go-bridge': {
    async attach() {
      const t0 = process.hrtime.bigint();
      run('nsenter', [`--net=${hostNs}`, GO_BRIDGE], { input: goConf, env: goEnv('ADD') });
      return ms(t0);
    },
    async detach() {
      const t0 = process.hrtime.bigint();
      run('nsenter', [`--net=${hostNs}`, GO_BRIDGE], { input: goConf, env: goEnv('DEL') });
      return ms(t0);
    },
  },
};

/** Prove each case really attached: eth0 up with its address and default route, host end on the bridge. */
function verify(name, ctrName) {
  const addrs = JSON.parse(run('ip', ['-n', ctrName, '-j', 'addr', 'show', 'dev', 'eth0']));
  const routes = JSON.parse(run('ip', ['-n', ctrName, '-j', 'route', 'show', 'default']));
  const ok =
    addrs[0]?.flags.includes('UP') &&
    addrs[0].addr_info.some((a) => a.family === 'inet' && a.local.startsWith('10.99.')) &&
    routes[0]?.gateway === gw;
  const ports = JSON.parse(run('ip', ['-n', hostName, '-j', 'link', 'show', 'master', bridge]));
  if (!ok || ports.length !== 1) throw new Error(`${name}: attachment not as expected`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median wall time of a process that does nothing, to read the cold and Go numbers against. */
function startCost(cmd, args, n) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    run(cmd, args);
    xs.push(ms(t0));
  }
  return median(xs);
}

try {
  setup();
  const names = Object.keys(cases);
  const ctrOf = { ts: ctr.ts, 'ts-cold': ctr.cold, 'ip-batch': ctr.ip, 'go-bridge': ctr.go };
  for (const n of names) {
    await cases[n].attach();
    verify(n, ctrOf[n]);
    await cases[n].detach();
  }
  const samples = Object.fromEntries(names.map((n) => [n, { attach: [], detach: [], total: [] }]));
  for (let round = 0; round < warmup + runs; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const n of order) {
      const a = await cases[n].attach();
      const d = await cases[n].detach();
      if (round >= warmup) {
        samples[n].attach.push(a);
        samples[n].detach.push(d);
        samples[n].total.push(a + d);
      }
    }
  }
  const nsenterMs = startCost('nsenter', [`--net=${hostNs}`, '/bin/true'], 20);
  const nodeMs = startCost(process.execPath, ['-e', '0'], 20);
  const base = median(samples.ts.total);
  const baseCold = median(samples['ts-cold'].total);
  console.log(`bridge attachment + removal, ${runs} interleaved rounds (${warmup} warm-up), medians in ms`);
  console.log('case        attach   detach    total   vs ts   vs ts-cold');
  for (const n of names) {
    const a = median(samples[n].attach);
    const d = median(samples[n].detach);
    const t = median(samples[n].total);
    console.log(
      `${n.padEnd(10)} ${a.toFixed(2).padStart(7)} ${d.toFixed(2).padStart(8)} ${t.toFixed(2).padStart(8)} ${(t / base).toFixed(2).padStart(6)}x ${(t / baseCold).toFixed(2).padStart(9)}x`,
    );
  }
  console.log(`go-bridge includes two nsenter starts; nsenter --net /bin/true alone: ${nsenterMs.toFixed(2)} ms median`);
  console.log(`ts-cold includes two node starts; node -e 0 alone: ${nodeMs.toFixed(2)} ms median`);
  console.log('removal is dominated by the kernel: unregistering a veth waits for an RCU grace period.');
} finally {
  spawnSync('nsenter', [`--net=${hostNs}`, GO_BRIDGE], { input: goConf, env: goEnv('DEL') });
  for (const name of made) nl.deleteNetns(name);
  rmSync(work, { recursive: true, force: true });
}
