// Kernel tests for the addon's namespace side: create/delete interop with iproute2, work inside a
// namespace without the JS thread ever moving, sysctl isolation, error data, descriptor hygiene.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, readFileSync, readSync, rmdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeError, loadNative, NETLINK_ROUTE, type NativeBinding } from './index.js';
import {
  canRun,
  getLinkRequest,
  ipLinkNames,
  ipNetnsList,
  openFdCount,
  parseLinkDatagram,
  removeNetnsQuietly,
  run,
  skipReason,
  uniqueName,
} from './test-support.js';

const NETNS_DIR = '/run/netns';
const errnos: Record<string, number> = osConstants.errno;

async function dumpLinks(n: NativeBinding, fd: number, seq: number): Promise<string[]> {
  n.netlinkSend(fd, getLinkRequest(seq));
  const links: string[] = [];
  for (;;) {
    const datagram = parseLinkDatagram(await n.netlinkRecvAsync(fd));
    links.push(...datagram.links);
    if (datagram.done) return links.sort();
  }
}

function readFd(fd: number): string {
  const buf = Buffer.alloc(256);
  const len = readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, len).toString('utf8').trim();
}

function expectNativeError(fn: () => unknown, fields: { code: string; syscall: string; message: string }): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isNativeError(caught)).toBe(true);
  expect(caught).toMatchObject({ code: fields.code, errno: errnos[fields.code], syscall: fields.syscall });
  expect((caught as Error).message).toContain(fields.message);
}

describe.skipIf(!canRun)(`native netns (${skipReason})`, () => {
  const created: string[] = [];
  const cleanups: Array<() => void> = [];

  function newNetnsPath(): string {
    const path = `${NETNS_DIR}/${uniqueName()}`;
    created.push(path);
    return path;
  }

  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    for (const path of created.splice(0)) {
      try {
        loadNative().netnsDelete(path);
      } catch {
        removeNetnsQuietly(path);
      }
    }
  });

  it('creates a namespace that ip netns lists and uses, and deletes it', () => {
    const n = loadNative();
    const path = newNetnsPath();
    const name = basename(path);
    n.netnsCreate(path);
    expect(ipNetnsList()).toContain(name);
    expect(ipLinkNames(name)).toEqual(['lo']);
    expect(n.netnsInode(path)).not.toBe(n.netnsInode('/proc/self/ns/net'));
    expect(n.netnsInode(path)).toBe(statSync(path).ino);
    expect(run('findmnt', ['-n', '-o', 'PROPAGATION', NETNS_DIR])).toMatch(/shared/);

    n.netnsDelete(path);
    expect(existsSync(path)).toBe(false);
    expect(ipNetnsList()).not.toContain(name);
    expect(() => n.netnsDelete(path)).not.toThrow();
  });

  it('uses and deletes namespaces made by ip netns add', async () => {
    const n = loadNative();
    const path = newNetnsPath();
    const name = basename(path);
    run('ip', ['netns', 'add', name]);
    const fd = n.netlinkOpen(NETLINK_ROUTE, path);
    try {
      expect(await dumpLinks(n, fd, 1)).toEqual(['lo']);
    } finally {
      n.close(fd);
    }
    n.netnsDelete(path);
    expect(ipNetnsList()).not.toContain(name);
  });

  it('refuses to create over an existing path or at a relative one', () => {
    const n = loadNative();
    const path = newNetnsPath();
    n.netnsCreate(path);
    expectNativeError(() => n.netnsCreate(path), { code: 'EEXIST', syscall: 'open', message: `open(${path}): EEXIST` });
    expectNativeError(() => n.netnsCreate('relative/ns'), { code: 'EINVAL', syscall: 'netnsCreate', message: 'is not absolute' });
  });

  it('creates a missing directory and makes it a shared mount point, as ip netns add does', () => {
    const n = loadNative();
    const dir = `/run/${uniqueName('tscdir')}`;
    const path = `${dir}/ns`;
    cleanups.push(() => {
      n.netnsDelete(path);
      spawnSync('umount', ['-l', dir]);
      if (existsSync(dir)) rmdirSync(dir);
    });
    n.netnsCreate(path);
    expect(run('findmnt', ['-n', '-o', 'TARGET,PROPAGATION', dir])).toMatch(new RegExp(`^${dir}\\s+shared`, 'm'));
    expect(n.netnsInode(path)).not.toBe(n.netnsInode('/proc/self/ns/net'));
  });

  it('opens /proc/sys files inside the namespace: a write there leaves the root namespace alone', () => {
    const n = loadNative();
    const path = newNetnsPath();
    n.netnsCreate(path);
    const file = '/proc/sys/net/ipv4/ip_forward';
    const rootBefore = readFileSync(file, 'utf8').trim();

    const rfd = n.openInNetns(path, file, constants.O_RDONLY);
    const inNs = readFd(rfd);
    closeSync(rfd);
    const wanted = inNs === '1' ? '0' : '1';

    const wfd = n.openInNetns(path, file, constants.O_WRONLY);
    try {
      writeSync(wfd, `${wanted}\n`);
    } finally {
      closeSync(wfd);
    }
    expect(run('ip', ['netns', 'exec', basename(path), 'sysctl', '-n', 'net.ipv4.ip_forward']).trim()).toBe(wanted);
    expect(readFileSync(file, 'utf8').trim()).toBe(rootBefore);
    const again = n.openInNetns(path, file, constants.O_RDONLY);
    expect(readFd(again)).toBe(wanted);
    n.close(again);
    // null means the caller's own namespace
    const own = n.openInNetns(null, file, constants.O_RDONLY);
    expect(readFd(own)).toBe(rootBefore);
    n.close(own);
  });

  it('throws errors carrying errno, code and syscall', () => {
    const n = loadNative();
    const missing = `${NETNS_DIR}/${uniqueName()}`;
    expectNativeError(() => n.netlinkOpen(NETLINK_ROUTE, missing), {
      code: 'ENOENT',
      syscall: 'open',
      message: `open(${missing}): ENOENT`,
    });
    expectNativeError(() => n.netnsInode(missing), { code: 'ENOENT', syscall: 'stat', message: `stat(${missing})` });
    expectNativeError(() => n.close(2 ** 30), { code: 'EBADF', syscall: 'close', message: 'close(fd 1073741824): EBADF' });
    expectNativeError(() => n.netlinkOpen(255, null), { code: 'EPROTONOSUPPORT', syscall: 'socket', message: 'socket(' });
    const call = n.netlinkOpen as (...args: unknown[]) => number;
    expect(() => call('route', null)).toThrow(TypeError);
    expect(() => call(NETLINK_ROUTE, 42)).toThrow(TypeError);

    const notNs = join(tmpdir(), uniqueName());
    writeFileSync(notNs, '');
    cleanups.push(() => spawnSync('rm', ['-f', notNs]));
    expectNativeError(() => n.openInNetns(notNs, '/proc/sys/net/ipv4/ip_forward', constants.O_RDONLY), {
      code: 'EINVAL',
      syscall: 'setns',
      message: `setns(${notNs}): EINVAL`,
    });
  });

  it('never moves the JS thread: 200 concurrent operations across 20 namespaces', async () => {
    const n = loadNative();
    const jsThread = () => ({
      process: statSync('/proc/self/ns/net').ino,
      thread: statSync('/proc/thread-self/ns/net').ino,
      native: n.netnsInode('/proc/thread-self/ns/net'),
    });
    const before = jsThread();
    const spaces = Array.from({ length: 20 }, () => {
      const path = newNetnsPath();
      n.netnsCreate(path);
      const bridge = uniqueName('tscb');
      run('ip', ['-n', basename(path), 'link', 'add', bridge, 'type', 'bridge']);
      return { path, bridge };
    });
    expect(jsThread()).toEqual(before);

    const seen: Array<ReturnType<typeof jsThread>> = [];
    const operation = async (i: number): Promise<void> => {
      const ns = spaces[i % spaces.length];
      if (ns === undefined) throw new Error('unreachable');
      await Promise.resolve();
      if (i % 2 === 0) {
        const fd = n.netlinkOpen(NETLINK_ROUTE, ns.path);
        try {
          // Only this namespace has this bridge.
          expect(await dumpLinks(n, fd, i)).toEqual(['lo', ns.bridge].sort());
        } finally {
          n.close(fd);
        }
      } else {
        // This sysctl file exists only in the namespace that has the bridge.
        const fd = n.openInNetns(ns.path, `/proc/sys/net/ipv4/conf/${ns.bridge}/forwarding`, constants.O_RDONLY);
        try {
          expect(readFd(fd)).toMatch(/^[01]$/);
        } finally {
          n.close(fd);
        }
      }
      seen.push(jsThread());
    };
    await Promise.all(Array.from({ length: 200 }, (_, i) => operation(i)));
    expect(seen).toHaveLength(200);
    for (const s of seen) expect(s).toEqual(before);
    expect(jsThread()).toEqual(before);
  });

  it('leaks no descriptors over 1,000 open/close cycles', async () => {
    const n = loadNative();
    const path = newNetnsPath();
    n.netnsCreate(path);
    const missing = `${NETNS_DIR}/${uniqueName()}`;
    const before = openFdCount();
    for (let i = 0; i < 1000; i++) {
      const sock = n.netlinkOpen(NETLINK_ROUTE, i % 2 === 0 ? path : null);
      if (i % 100 === 0) expect(await dumpLinks(n, sock, i)).toContain('lo');
      n.close(sock);
      const file = n.openInNetns(path, '/proc/sys/net/ipv4/ip_forward', constants.O_RDONLY);
      n.close(file);
      expect(() => n.netlinkOpen(NETLINK_ROUTE, missing)).toThrow(/ENOENT/);
    }
    for (let i = 0; i < 20; i++) {
      const extra = `${NETNS_DIR}/${uniqueName()}`;
      created.push(extra);
      n.netnsCreate(extra);
      n.netnsDelete(extra);
    }
    expect(openFdCount()).toBe(before);
  });
});
