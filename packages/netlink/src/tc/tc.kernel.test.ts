// tc against the real kernel in a fresh namespace: the bandwidth plugin's setup (tbf on a veth,
// ingress qdisc + u32/mirred redirect to an ifb with its own tbf), checked with `tc -j`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadNative } from '@tscni/native';
import { NETLINK_ROUTE } from '../codec/netlink.js';
import { isNetlinkError } from '../codec/errors.js';
import { SocketTransport } from '../transport.js';
import { TC_H_INGRESS, TC_H_ROOT, tcHandle } from './consts.js';
import { computeTbf } from './tbf.js';
import {
  addFilter,
  addQdisc,
  deleteFilter,
  deleteQdisc,
  findQdisc,
  INGRESS_HANDLE,
  listFilters,
  listQdiscs,
  mirredRedirect,
  replaceQdisc,
  u32MatchAll,
} from './tc.js';

const isRoot = process.getuid?.() === 0;

function sh(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

type Json = Array<Record<string, unknown>>;

function tcJson(ns: string, args: string[]): Json {
  return JSON.parse(sh(['netns', 'exec', ns, 'tc', '-j', ...args]) || '[]') as Json;
}

function ifindexOf(ns: string, dev: string): number {
  const j = JSON.parse(sh(['-n', ns, '-j', 'link', 'show', 'dev', dev])) as Array<{ ifindex: number }>;
  const idx = j[0]?.ifindex;
  if (idx === undefined) throw new Error(`no ${dev} in ${ns}`);
  return idx;
}

describe.skipIf(!isRoot)('tc in a fresh namespace', () => {
  const namespaces: string[] = [];
  let ns = '';
  let peer = '';
  let t: SocketTransport;
  let veth = 0;
  let ifb = 0;

  beforeEach(() => {
    const tag = randomBytes(3).toString('hex');
    ns = `tsct${tag}`;
    peer = `tscp${tag}`;
    sh(['netns', 'add', ns]);
    namespaces.push(ns);
    sh(['netns', 'add', peer]);
    namespaces.push(peer);
    sh(['-n', ns, 'link', 'add', 'hostveth', 'type', 'veth', 'peer', 'name', 'ctrveth', 'netns', peer]);
    sh(['-n', ns, 'link', 'add', 'bwpifb', 'type', 'ifb']);
    sh(['-n', ns, 'addr', 'add', '10.9.0.1/24', 'dev', 'hostveth']);
    sh(['-n', peer, 'addr', 'add', '10.9.0.2/24', 'dev', 'ctrveth']);
    for (const [n, d] of [[ns, 'hostveth'], [ns, 'bwpifb'], [peer, 'ctrveth']] as const) sh(['-n', n, 'link', 'set', d, 'up']);
    t = SocketTransport.open(NETLINK_ROUTE, `/run/netns/${ns}`, loadNative());
    veth = ifindexOf(ns, 'hostveth');
    ifb = ifindexOf(ns, 'bwpifb');
  });

  afterEach(() => {
    // Namespaces go even when setup failed half way (e.g. the addon could not load).
    try {
      // Unassigned when beforeEach failed before opening it.
      (t as SocketTransport | undefined)?.close();
    } finally {
      for (const n of namespaces.splice(0)) sh(['netns', 'del', n]);
    }
  });

  it('sets up tbf + ingress + u32/mirred to an ifb that tc lists as written, and deletes it all', async () => {
    // Bandwidth plugin numbers: 1 Mbit/s, 32 kbit burst, 25 ms latency (limit = rate*latency+burst).
    const spec = { rate: 125_000, burst: 4096, latency: 25_000 };
    await replaceQdisc(t, { kind: 'tbf', ifindex: veth, tbf: spec });
    await addQdisc(t, { kind: 'ingress', ifindex: veth });
    await addFilter(t, {
      ifindex: veth,
      parent: INGRESS_HANDLE,
      protocol: 'all',
      kind: 'u32',
      u32: { keys: u32MatchAll(), actions: [mirredRedirect(ifb)] },
    });
    await replaceQdisc(t, { kind: 'tbf', ifindex: ifb, tbf: { rate: 250_000, burst: 8192, latency: 25_000 } });

    const qd = tcJson(ns, ['qdisc', 'show', 'dev', 'hostveth']);
    expect(qd.find((q) => q['kind'] === 'tbf')).toMatchObject({ root: true, options: { rate: 125000, burst: 4096, lat: 25000 } });
    expect(qd.find((q) => q['kind'] === 'ingress')).toMatchObject({ handle: 'ffff:', parent: 'ffff:fff1' });
    const onIfb = tcJson(ns, ['qdisc', 'show', 'dev', 'bwpifb']);
    expect(onIfb.find((q) => q['kind'] === 'tbf')).toMatchObject({ options: { rate: 250000, burst: 8192, lat: 25000 } });
    const filters = tcJson(ns, ['filter', 'show', 'dev', 'hostveth', 'parent', 'ffff:']);
    const node = filters.find((f) => (f['options'] as Record<string, unknown> | undefined)?.['match'] !== undefined);
    expect(node).toMatchObject({
      protocol: 'all',
      kind: 'u32',
      options: {
        match: { value: '0', mask: '0' },
        actions: [{ kind: 'mirred', mirred_action: 'redirect', direction: 'egress', to_dev: 'bwpifb' }],
      },
    });

    // Our decoders see the same, with the numbers CHECK compares.
    const tbf = await findQdisc(t, { ifindex: veth, kind: 'tbf' });
    const want = computeTbf(spec).params;
    expect(tbf?.tbf).toMatchObject({ rate: want.rate, limit: want.limit, buffer: want.buffer, burst: 4096, latency: 25_000 });
    expect(await findQdisc(t, { ifindex: veth, kind: 'ingress' })).toMatchObject({ parent: TC_H_INGRESS, handle: INGRESS_HANDLE });
    const ours = await listFilters(t, { ifindex: veth, parent: INGRESS_HANDLE });
    const redirect = ours.find((f) => f.u32?.actions.length);
    expect(redirect).toMatchObject({ kind: 'u32', protocol: 3, u32: { actions: [{ kind: 'mirred', ifindex: ifb, action: 'redirect' }] } });

    // Traffic arriving on the host veth is redirected through the ifb's tbf.
    sh(['netns', 'exec', peer, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '10.9.0.1']);
    const stats = JSON.parse(sh(['netns', 'exec', ns, 'tc', '-s', '-j', 'qdisc', 'show', 'dev', 'bwpifb'])) as Json;
    expect(Number(stats.find((q) => q['kind'] === 'tbf')?.['packets'] ?? 0)).toBeGreaterThanOrEqual(3);

    // Adding the same ingress qdisc again is an error with the kernel's errno.
    const again = await addQdisc(t, { kind: 'ingress', ifindex: veth }).catch((e: unknown) => e);
    expect(isNetlinkError(again, 'EEXIST')).toBe(true);

    await deleteFilter(t, { ifindex: veth, parent: INGRESS_HANDLE, prio: redirect?.prio ?? 0, protocol: 'all', kind: 'u32' });
    expect((await listFilters(t, { ifindex: veth, parent: INGRESS_HANDLE })).length).toBe(0);
    await deleteQdisc(t, { ifindex: veth, kind: 'ingress' });
    await deleteQdisc(t, { ifindex: veth, parent: TC_H_ROOT });
    await deleteQdisc(t, { ifindex: ifb });
    const left = [...tcJson(ns, ['qdisc', 'show', 'dev', 'hostveth']), ...tcJson(ns, ['qdisc', 'show', 'dev', 'bwpifb'])];
    expect(left.filter((q) => q['kind'] === 'tbf' || q['kind'] === 'ingress')).toEqual([]);
    expect(tcJson(ns, ['filter', 'show', 'dev', 'hostveth', 'ingress'])).toEqual([]);
    expect((await listQdiscs(t, { ifindex: veth })).map((q) => q.kind)).not.toContain('tbf');
    // Deleting what is gone reports ENOENT (or EINVAL for a missing ingress), never silently.
    const gone = await deleteQdisc(t, { ifindex: veth, kind: 'ingress' }).catch((e: unknown) => e);
    expect(isNetlinkError(gone)).toBe(true);
  });

  it('replace swaps a tbf in place, including a 64-bit rate', async () => {
    await replaceQdisc(t, { kind: 'tbf', ifindex: veth, tbf: { rate: 125_000, burst: 4096, latency: 25_000 } });
    await replaceQdisc(t, { kind: 'tbf', ifindex: veth, tbf: { rate: 5_000_000_000, burst: 5 * 1024 * 1024, latency: 25_000 } });
    const all = (await listQdiscs(t, { ifindex: veth })).filter((q) => q.kind === 'tbf');
    expect(all).toHaveLength(1);
    expect(all[0]?.tbf?.rate).toBe(5_000_000_000);
    const j = tcJson(ns, ['qdisc', 'show', 'dev', 'hostveth']).find((q) => q['kind'] === 'tbf');
    expect((j?.['options'] as Record<string, unknown>)['rate']).toBe(5_000_000_000);
  });

  it('an explicit tbf (rate, limit, buffer as the kernel stores them) reads back unchanged, also above 32 bits', async () => {
    // The reference bandwidth plugin's bucket for 1 Mbit/s with an 80 kbit burst, and for 100 Gbit/s.
    for (const want of [
      { rate: 125_000, limit: 13_125, buffer: 1_250_000 },
      { rate: 12_500_000_000, limit: 1_312_500_000, buffer: 1_250_000 },
    ]) {
      await replaceQdisc(t, { kind: 'tbf', ifindex: veth, handle: tcHandle(1, 0), tbf: want });
      const q = await findQdisc(t, { ifindex: veth, kind: 'tbf' });
      expect(q).toMatchObject({ handle: tcHandle(1, 0), parent: TC_H_ROOT });
      expect(q?.tbf).toMatchObject({ ...want, peakrate: 0, mtu: 0 });
      const j = tcJson(ns, ['qdisc', 'show', 'dev', 'hostveth']).find((x) => x['kind'] === 'tbf');
      expect((j?.['options'] as Record<string, unknown>)['rate']).toBe(want.rate);
    }
  });
});
