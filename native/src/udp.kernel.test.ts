// Kernel tests for the addon's udpOpen: the socket is created and bound inside the asked namespace,
// carries its flags and options, and Node's dgram adopts the descriptor (`bind({ fd })`) to move
// datagrams across a veth pair, including broadcasts from an interface with no address (DHCP).
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from './index.js';
import { canRun, openFdCount, run, skipReason, uniqueName } from './test-support.js';

interface Received {
  msg: string;
  from: RemoteInfo;
}

/** Node's dgram adopting a descriptor from udpOpen; the socket then owns the fd. */
function adopt(fd: number): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ fd }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function nextMessage(socket: Socket, timeoutMs = 5000): Promise<Received> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no datagram within the timeout')), timeoutMs);
    socket.once('message', (msg, from) => {
      clearTimeout(timer);
      resolve({ msg: msg.toString('utf8'), from });
    });
  });
}

function send(socket: Socket, text: string, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => socket.send(text, port, address, (e) => (e ? reject(e) : resolve())));
}

/** File status flags of one of our descriptors (the `flags:` line of /proc/self/fdinfo, octal). */
function fdFlags(fd: number): number {
  const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'));
  return Number.parseInt(line!.split(/\s+/)[1]!, 8);
}

const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

describe.skipIf(!canRun)(`native udpOpen (${skipReason})`, () => {
  const namespaces: string[] = [];
  const sockets: Socket[] = [];
  const fds: number[] = [];

  /** Two namespaces joined by a veth pair, both ends up; only the server end has an address. */
  function pair(): { client: string; server: string; clientIf: string; serverIf: string; subnet: string } {
    const client = uniqueName();
    const server = uniqueName();
    for (const name of [client, server]) {
      run('ip', ['netns', 'add', name]);
      namespaces.push(name);
    }
    const clientIf = uniqueName('tsu');
    const serverIf = uniqueName('tsv');
    run('ip', ['link', 'add', clientIf, 'netns', client, 'type', 'veth', 'peer', 'name', serverIf, 'netns', server]);
    run('ip', ['-n', client, 'link', 'set', clientIf, 'up']);
    run('ip', ['-n', server, 'link', 'set', serverIf, 'up']);
    const subnet = `10.247.${1 + Math.floor(Math.random() * 250)}`;
    run('ip', ['-n', server, 'addr', 'add', `${subnet}.1/24`, 'dev', serverIf]);
    return { client, server, clientIf, serverIf, subnet };
  }

  async function open(netns: string | null, opts: Parameters<ReturnType<typeof loadNative>['udpOpen']>[1]): Promise<Socket> {
    const socket = await adopt(loadNative().udpOpen(netns, opts));
    sockets.push(socket);
    return socket;
  }

  afterEach(() => {
    for (const s of sockets.splice(0)) {
      try {
        s.close();
      } catch {
        // closed by the test
      }
    }
    for (const fd of fds.splice(0)) loadNative().close(fd);
    for (const name of namespaces.splice(0)) spawnSync('ip', ['netns', 'delete', name]);
  });

  it('sockets opened in two namespaces talk across a veth through dgram: broadcast from an address-less interface, then unicast', async () => {
    const { client, server, clientIf, serverIf, subnet } = pair();
    const c = await open(`/run/netns/${client}`, { port: 6800, bindToDevice: clientIf, broadcast: true, reuseAddr: true });
    const s = await open(`/run/netns/${server}`, { port: 6700, bindToDevice: serverIf, broadcast: true });
    expect(c.address()).toEqual({ address: '0.0.0.0', family: 'IPv4', port: 6800 });

    // The client end has no address and no route: only SO_BINDTODEVICE + SO_BROADCAST let it send.
    const atServer = nextMessage(s);
    await send(c, 'discover', 6700, '255.255.255.255');
    expect(await atServer).toMatchObject({ msg: 'discover', from: { address: '0.0.0.0', port: 6800 } });

    const atClient = nextMessage(c);
    await send(s, 'offer', 6800, '255.255.255.255');
    expect(await atClient).toMatchObject({ msg: 'offer', from: { address: `${subnet}.1`, port: 6700 } });

    run('ip', ['-n', client, 'addr', 'add', `${subnet}.2/24`, 'dev', clientIf]);
    const unicastAtServer = nextMessage(s);
    await send(c, 'request', 6700, `${subnet}.1`);
    expect(await unicastAtServer).toMatchObject({ msg: 'request', from: { address: `${subnet}.2`, port: 6800 } });
    const unicastAtClient = nextMessage(c);
    await send(s, 'ack', 6800, `${subnet}.2`);
    expect(await unicastAtClient).toMatchObject({ msg: 'ack', from: { address: `${subnet}.1`, port: 6700 } });

    // ss inside each namespace sees the bound sockets (0.0.0.0%dev:port) held by this process.
    const ss = (ns: string) => run('ip', ['netns', 'exec', ns, 'ss', '-H', '-uanp']);
    expect(ss(client)).toMatch(new RegExp(`0\\.0\\.0\\.0%${clientIf}:6800 .*pid=${process.pid},`));
    expect(ss(server)).toMatch(new RegExp(`0\\.0\\.0\\.0%${serverIf}:6700 .*pid=${process.pid},`));
    expect(run('ss', ['-H', '-uanp'])).not.toMatch(new RegExp(`%${clientIf}:6800 `));
  });

  it('the descriptor is close-on-exec and non-blocking; closing the dgram socket releases it', async () => {
    const before = openFdCount();
    const fd = loadNative().udpOpen(null, { port: 0 });
    expect(fdFlags(fd) & (O_NONBLOCK | O_CLOEXEC)).toBe(O_NONBLOCK | O_CLOEXEC);
    expect(openFdCount()).toBe(before + 1);
    const socket = await adopt(fd);
    expect(socket.address().port).toBeGreaterThan(0);
    await new Promise<void>((resolve) => socket.close(resolve));
    expect(openFdCount()).toBe(before);
  });

  it('the device name is looked up in the namespace: a device of another one is ENODEV', () => {
    const { client, clientIf } = pair();
    expect(() => loadNative().udpOpen(null, { port: 0, bindToDevice: clientIf })).toThrow(
      expect.objectContaining({ code: 'ENODEV', syscall: 'setsockopt', message: expect.stringContaining(`SO_BINDTODEVICE ${clientIf}`) }),
    );
    fds.push(loadNative().udpOpen(`/run/netns/${client}`, { port: 0, bindToDevice: clientIf }));
  });

  it('without SO_REUSEADDR a taken port is EADDRINUSE; sockets that ask for it share the port, one per device as DHCP clients do', () => {
    const { client, clientIf } = pair();
    const ns = `/run/netns/${client}`;
    const n = loadNative();
    fds.push(n.udpOpen(ns, { port: 6801 }));
    expect(() => n.udpOpen(ns, { port: 6801 })).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
    fds.push(n.udpOpen(ns, { port: 6802, reuseAddr: true, bindToDevice: clientIf }));
    fds.push(n.udpOpen(ns, { port: 6802, reuseAddr: true, bindToDevice: 'lo' }));
  });

  it('a missing namespace fails in open with the path; bad arguments are TypeErrors', () => {
    const n = loadNative();
    const missing = `/run/netns/${uniqueName()}`;
    expect(() => n.udpOpen(missing, { port: 0 })).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open', message: expect.stringContaining(missing) }));
    const bad = n.udpOpen as (netns: unknown, opts: unknown) => number;
    expect(() => bad(null, { port: 65536 })).toThrow(TypeError);
    expect(() => bad(null, { port: 1.5 })).toThrow(TypeError);
    expect(() => bad(null, undefined)).toThrow(TypeError);
    expect(() => bad(null, { port: 0, bindToDevice: '' })).toThrow(TypeError);
    expect(() => bad(null, { port: 0, broadcast: 'yes' })).toThrow(TypeError);
    expect(() => n.udpOpen(null, { port: 0, bindToDevice: 'a-name-of-16-chr' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
