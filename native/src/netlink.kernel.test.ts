// Kernel tests for the addon's netlink pipe: sockets land in the asked namespace, datagrams are
// never cut, asynchronous receives queue, cancel on close, and never keep a process from ending.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative, NETLINK_ROUTE, nativeAddonCandidates, type NativeBinding } from './index.js';
import {
  canRun,
  getLinkRequest,
  ipLinkNames,
  openFdCount,
  parseLinkDatagram,
  type ParsedDatagram,
  run,
  skipReason,
  uniqueName,
} from './test-support.js';

type Receive = (n: NativeBinding, fd: number) => Promise<Uint8Array>;
const syncRecv: Receive = (n, fd) => Promise.resolve(n.netlinkRecv(fd));
const asyncRecv: Receive = (n, fd) => n.netlinkRecvAsync(fd);

async function dump(n: NativeBinding, fd: number, seq: number, recv: Receive): Promise<{ links: string[]; datagrams: Array<ParsedDatagram & { length: number }> }> {
  expect(n.netlinkSend(fd, getLinkRequest(seq))).toBe(32);
  const datagrams: Array<ParsedDatagram & { length: number }> = [];
  for (;;) {
    const bytes = await recv(n, fd);
    const parsed = parseLinkDatagram(bytes);
    datagrams.push({ ...parsed, length: bytes.length });
    if (parsed.done) break;
  }
  return { links: datagrams.flatMap((d) => d.links).sort(), datagrams };
}

const addonPath = nativeAddonCandidates().find((p) => spawnSync('test', ['-f', p]).status === 0);

describe.skipIf(!canRun)(`native netlink (${skipReason})`, () => {
  const namespaces: string[] = [];
  const fds: number[] = [];

  function newNetns(): { name: string; path: string } {
    const name = uniqueName();
    run('ip', ['netns', 'add', name]);
    namespaces.push(name);
    return { name, path: `/run/netns/${name}` };
  }

  function open(netnsPath: string | null): number {
    const fd = loadNative().netlinkOpen(NETLINK_ROUTE, netnsPath);
    fds.push(fd);
    return fd;
  }

  afterEach(() => {
    const n = loadNative();
    for (const fd of fds.splice(0)) {
      try {
        n.close(fd);
      } catch {
        // already closed by the test
      }
    }
    for (const name of namespaces.splice(0)) spawnSync('ip', ['netns', 'delete', name]);
  });

  it.each([
    ['netlinkRecv', syncRecv],
    ['netlinkRecvAsync', asyncRecv],
  ] as const)('a socket opened in a new namespace dumps only lo; the root namespace has more (%s)', async (_, recv) => {
    const n = loadNative();
    const { path } = newNetns();
    expect((await dump(n, open(path), 1, recv)).links).toEqual(['lo']);
    const root = (await dump(n, open(null), 2, recv)).links;
    expect(root).toEqual(ipLinkNames());
    expect(root.length).toBeGreaterThan(1);
  });

  it.each([
    ['netlinkRecv', syncRecv],
    ['netlinkRecvAsync', asyncRecv],
  ] as const)('multi-datagram dumps arrive whole (%s)', async (_, recv) => {
    const n = loadNative();
    const { name, path } = newNetns();
    const bridges = Array.from({ length: 40 }, () => uniqueName('tscb'));
    const batch = bridges.map((b) => `link add ${b} type bridge`).join('\n') + '\n';
    const added = spawnSync('ip', ['-n', name, '-batch', '-'], { input: batch });
    expect(added.status).toBe(0);
    const { links, datagrams } = await dump(n, open(path), 7, recv);
    expect(links).toEqual(['lo', ...bridges].sort());
    expect(links).toEqual(ipLinkNames(name));
    expect(datagrams.length).toBeGreaterThan(1);
    for (const d of datagrams) {
      expect(d.parsedBytes).toBe(d.length);
      expect(new Set(d.seqs)).toEqual(new Set([7]));
    }
  });

  it('an asynchronous receive waits for a reply not yet queued; concurrent receivers are served in order', async () => {
    const n = loadNative();
    const fd = open(newNetns().path);
    const first = n.netlinkRecvAsync(fd);
    const second = n.netlinkRecvAsync(fd);
    n.netlinkSend(fd, getLinkRequest(101, 1));
    n.netlinkSend(fd, getLinkRequest(102, 1));
    const [a, b] = await Promise.all([first, second]);
    expect(parseLinkDatagram(a)).toMatchObject({ seqs: [101], links: ['lo'] });
    expect(parseLinkDatagram(b)).toMatchObject({ seqs: [102], links: ['lo'] });
  });

  it('close() rejects a pending receive with EBADF and the descriptor is released', async () => {
    const n = loadNative();
    const before = openFdCount();
    const fd = n.netlinkOpen(NETLINK_ROUTE, null);
    const pending = n.netlinkRecvAsync(fd);
    n.close(fd);
    await expect(pending).rejects.toMatchObject({ code: 'EBADF', errno: 9, syscall: 'recv' });
    expect(openFdCount()).toBe(before);
    expect(() => n.netlinkSend(fd, getLinkRequest(1))).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'sendto' }));
    await expect(n.netlinkRecvAsync(fd)).rejects.toMatchObject({ code: 'EBADF', syscall: 'recv' });
  });

  it('a kernel error reply comes back as a datagram (the addon does not interpret it)', async () => {
    const n = loadNative();
    const fd = open(newNetns().path);
    n.netlinkSend(fd, getLinkRequest(5, 4242));
    expect(() => parseLinkDatagram(n.netlinkRecv(fd))).toThrow('netlink error 19');
  });

  it('leaks no descriptors or poll handles over 300 async request cycles', async () => {
    const n = loadNative();
    const { path } = newNetns();
    const before = openFdCount();
    for (let i = 0; i < 300; i++) {
      const fd = n.netlinkOpen(NETLINK_ROUTE, path);
      const reply = n.netlinkRecvAsync(fd);
      n.netlinkSend(fd, getLinkRequest(i, 1));
      expect(parseLinkDatagram(await reply).links).toEqual(['lo']);
      n.close(fd);
    }
    expect(openFdCount()).toBe(before);
  });

  describe.skipIf(addonPath === undefined)('process and worker exit', () => {
    const node = (script: string) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, ADDON: addonPath ?? '' },
      });

    it('a process that finished its receives ends by itself', () => {
      const r = node(`
        import { createRequire } from 'node:module';
        const n = createRequire(import.meta.url)(process.env.ADDON);
        const fd = n.netlinkOpen(0, null);
        const reply = n.netlinkRecvAsync(fd);
        const req = new Uint8Array(32); const v = new DataView(req.buffer);
        v.setUint32(0, 32, true); v.setUint16(4, 18, true); v.setUint16(6, 1, true); v.setInt32(20, 1, true);
        setTimeout(() => n.netlinkSend(fd, req), 20);
        await reply;
        n.close(fd);
        console.log('done');
      `);
      expect(r.error).toBeUndefined();
      expect(r.stdout.trim()).toBe('done');
      expect(r.status).toBe(0);
    });

    it('process.exit and worker termination are not held up by a pending receive', () => {
      const r = node(`
        import { Worker } from 'node:worker_threads';
        const worker = new Worker(\`
          const { parentPort } = await import('node:worker_threads');
          const { createRequire } = await import('node:module');
          const n = createRequire(process.env.ADDON)(process.env.ADDON);
          const fd = n.netlinkOpen(0, null);
          n.netlinkRecvAsync(fd).catch(() => {});
          parentPort.postMessage('waiting');
        \`, { eval: true });
        await new Promise((resolve) => worker.once('message', resolve));
        await worker.terminate();
        const { createRequire } = await import('node:module');
        const n = createRequire(import.meta.url)(process.env.ADDON);
        n.netlinkRecvAsync(n.netlinkOpen(0, null)).catch(() => {});
        console.log('terminated');
        process.exit(0);
      `);
      expect(r.error).toBeUndefined();
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('terminated');
      expect(r.status).toBe(0);
    });
  });
});

