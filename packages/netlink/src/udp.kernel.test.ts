// Kernel tests: openUdpSocketInNetns gives a dgram socket living in the asked namespace (datagrams
// cross a veth pair from an interface without an address), keeps that namespace alive until
// closed, and lockFile locks a namespace file (what sbr serialises on).
import { spawnSync } from 'node:child_process';
import type { RemoteInfo, Socket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteNetns } from './netns.js';
import { lockFile } from './lock.js';
import { openUdpSocketInNetns } from './udp.js';
import { NetnsPool, ip, link, uniq } from './test-support/kernel.js';
import type { TestNetns } from './test-support/kernel.js';

const pool = new NetnsPool();
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) {
    try {
      s.close();
    } catch {
      // closed by the test
    }
  }
  pool.cleanup();
});

const openFds = () => readdirSync('/proc/self/fd').length;

function message(socket: Socket): Promise<{ text: string; from: RemoteInfo }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no datagram within 5s')), 5000);
    socket.once('message', (msg, from) => {
      clearTimeout(timer);
      resolve({ text: msg.toString(), from });
    });
  });
}

function send(socket: Socket, text: string, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => socket.send(text, port, address, (e) => (e ? reject(e) : resolve())));
}

/** A "container" and a "server" namespace joined by a veth; only the server end has an address. */
function veth(): { ctr: TestNetns; srv: TestNetns; ctrIf: string; srvIf: string } {
  const ctr = pool.create();
  const srv = pool.create();
  const ctrIf = uniq('tu');
  const srvIf = uniq('tv');
  ip(null, 'link', 'add', ctrIf, 'netns', ctr.name, 'type', 'veth', 'peer', 'name', srvIf, 'netns', srv.name);
  ip(ctr, 'link', 'set', ctrIf, 'up');
  ip(srv, 'link', 'set', srvIf, 'up');
  ip(srv, 'addr', 'add', '10.248.0.1/24', 'dev', srvIf);
  return { ctr, srv, ctrIf, srvIf };
}

async function open(path: string, opts: Parameters<typeof openUdpSocketInNetns>[1]): Promise<Socket> {
  const s = await openUdpSocketInNetns(path, opts);
  sockets.push(s);
  return s;
}

describe('openUdpSocketInNetns', () => {
  it('broadcasts from an address-less interface in one namespace reach the other, and answers come back', async () => {
    const { ctr, srv, ctrIf, srvIf } = veth();
    const c = await open(ctr.path, { port: 6810, bindToDevice: ctrIf, broadcast: true, reuseAddr: true });
    const s = await open(srv.path, { port: 6710, bindToDevice: srvIf, broadcast: true });
    const atServer = message(s);
    await send(c, 'hello', 6710, '255.255.255.255');
    expect(await atServer).toMatchObject({ text: 'hello', from: { address: '0.0.0.0', port: 6810 } });
    const atClient = message(c);
    await send(s, 'welcome', 6810, '255.255.255.255');
    expect(await atClient).toMatchObject({ text: 'welcome', from: { address: '10.248.0.1', port: 6710 } });
    const ss = spawnSync('ip', ['netns', 'exec', ctr.name, 'ss', '-H', '-uanp'], { encoding: 'utf8' }).stdout;
    expect(ss).toMatch(new RegExp(`0\\.0\\.0\\.0%${ctrIf}:6810 .*pid=${process.pid},`));
  });

  it('the socket keeps its namespace alive after the name is deleted, until it is closed', async () => {
    const { ctr, srv, ctrIf, srvIf } = veth();
    const c = await open(ctr.path, { port: 6811, bindToDevice: ctrIf });
    deleteNetns(ctr.name);
    await new Promise((r) => setTimeout(r, 300));
    // The namespace still exists (held by the socket), so the veth's other end does too.
    expect(link(srv, srvIf)).toBeDefined();
    await new Promise<void>((resolve) => c.close(resolve));
    const end = Date.now() + 10_000;
    while (link(srv, srvIf) !== undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(link(srv, srvIf)).toBeUndefined();
  });

  it('fails with the addon error and leaks nothing for a device not in the namespace or a missing namespace', async () => {
    const { ctr } = veth();
    const before = openFds();
    await expect(openUdpSocketInNetns(ctr.path, { port: 0, bindToDevice: 'nosuchdev0' })).rejects.toMatchObject({ code: 'ENODEV', syscall: 'setsockopt' });
    await expect(openUdpSocketInNetns(`/run/netns/${uniq('nx')}`, { port: 0 })).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open' });
    expect(openFds()).toBe(before);
  });
});

describe('lockFile on a namespace file', () => {
  it('locks /run/netns/<name> read-only; a second lock waits for the release', async () => {
    const ns = pool.create();
    const first = await lockFile(ns.path);
    let second = false;
    const waiting = lockFile(ns.path).then((l) => ((second = true), l));
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBe(false);
    first.release();
    (await waiting).release();
    expect(second).toBe(true);
  });
});
