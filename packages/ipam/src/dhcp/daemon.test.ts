import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError, parseNetConf } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import type { CmdArgs } from '@tscni/skel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, ChannelHandlers, ChannelOpener } from './channel.js';
import { ChannelSendError } from './channel.js';
import { FakeClock } from './clock.js';
import { DhcpDaemon } from './daemon.js';
import { parseDaemonFlags, parseDuration, startDaemon } from './daemon-main.js';
import type { RunningDaemon } from './daemon-main.js';
import { MessageType, Opt, decodeMessage, decodeText, encodeClasslessRoutes, encodeMessage, getOption, ipOption, messageType, textOption, u32Option } from './message.js';
import type { DhcpMessage } from './message.js';
import { DHCP_VERSIONS, dhcpAdd, dhcpCheck, dhcpDel, dhcpGc, dhcpPlugin, dhcpStatus, resultFromLease } from './plugin.js';
import { callDaemon } from './protocol.js';

/** A DHCP server on a fake link: one address per client identifier, answers on the next tick. */
class FakeServer {
  readonly seen: DhcpMessage[] = [];
  readonly released: string[] = [];
  silent = false;
  private readonly byClient = new Map<string, string>();
  private next = 10;
  extra: Array<[number, Uint8Array]> = [
    [Opt.SubnetMask, ipOption(['255.255.255.0'])],
    [Opt.Router, ipOption(['10.251.0.1'])],
    [Opt.DomainNameServer, ipOption(['10.251.0.53'])],
    [Opt.DomainName, textOption('example.test')],
    [Opt.LeaseTime, u32Option(3600)],
  ];

  /** The opener the daemon uses; `hwaddr` is what the channel would read from the interface. */
  opener(channels: Channel[] = [], failOpen?: string): ChannelOpener {
    return async (_netns, _ifName, handlers: ChannelHandlers) => {
      if (failOpen !== undefined) throw new Error(failOpen);
      const ch: Channel & { handlers: ChannelHandlers; closed: boolean } = {
        hwaddr: Uint8Array.of(2, 0, 0, 0, 0, channels.length + 1),
        handlers,
        closed: false,
        transport: {
          send: async (payload) => {
            if (ch.closed) throw new ChannelSendError('ECHANNEL', 'closed');
            const m = decodeMessage(payload);
            this.seen.push(m);
            const reply = this.answer(m);
            if (reply !== undefined) setImmediate(() => handlers.onDatagram(reply, { address: '10.251.0.1', port: 67 }));
          },
          close: () => {
            ch.closed = true;
          },
        },
      };
      channels.push(ch);
      return ch;
    };
  }

  private answer(m: DhcpMessage): Uint8Array | undefined {
    if (this.silent) return undefined;
    const id = Buffer.from(getOption(m, Opt.ClientId) ?? []).toString('hex');
    const type = messageType(m);
    if (type === MessageType.Release) {
      this.released.push(m.ciaddr);
      this.byClient.delete(id);
      return undefined;
    }
    let address = this.byClient.get(id);
    if (address === undefined) {
      address = `10.251.0.${this.next++}`;
      this.byClient.set(id, address);
    }
    const reply = type === MessageType.Discover ? MessageType.Offer : MessageType.Ack;
    return encodeMessage({
      ...m,
      op: 2,
      yiaddr: address,
      options: [[Opt.MessageType, Uint8Array.of(reply)], [Opt.ServerId, ipOption(['10.251.0.1'])], ...this.extra],
    });
  }
}

let dir: string;
let netns: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tscni-dhcp-'));
  netns = join(dir, 'netns');
  writeFileSync(netns, ''); // the daemon only needs a path it can stat
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const quiet = () => {};

function cmd(socketPath: string, o: { containerId?: string; ifName?: string; args?: string; prevResult?: unknown; ipam?: Record<string, unknown>; extra?: Record<string, unknown>; netns?: string } = {}): CmdArgs {
  const text = JSON.stringify({
    cniVersion: '1.1.0',
    name: 'dnet',
    type: 'macvlan',
    ipam: { type: 'dhcp', daemonSocketPath: socketPath, ...o.ipam },
    ...(o.prevResult === undefined ? {} : { prevResult: o.prevResult }),
    ...o.extra,
  });
  return {
    containerId: o.containerId ?? 'c1',
    netns: o.netns ?? netns,
    ifName: o.ifName ?? 'eth0',
    args: o.args ?? '',
    path: [],
    stdinData: new TextEncoder().encode(text),
    netconf: parseNetConf(text),
    netnsOverride: false,
  };
}

async function failure(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

describe('dhcp plugin <-> daemon over the unix socket', () => {
  let running: RunningDaemon | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  async function start(server: FakeServer, channels: Channel[] = [], flags: string[] = []) {
    const socketPath = join(dir, 'run', 'dhcp.sock');
    running = await startDaemon(parseDaemonFlags(['-socketpath', socketPath, ...flags]), { openChannel: server.opener(channels), log: quiet });
    return socketPath;
  }

  it('ADD acquires a lease and returns address, gateway, routes, DNS; the daemon socket is mode 0600', async () => {
    const server = new FakeServer();
    const sock = await start(server);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const result = await dhcpAdd(cmd(sock, { args: 'K8S_POD_NAME=web-0', ipam: { priority: 50, provide: [{ option: 'host-name', fromArg: 'K8S_POD_NAME' }] } }));
    expect(result).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.251.0.10/24', gateway: '10.251.0.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.251.0.1', priority: 50 }],
      dns: { nameservers: ['10.251.0.53'], domain: 'example.test' },
    });
    const discover = server.seen[0]!;
    expect(Buffer.from(getOption(discover, Opt.ClientId)!).toString('latin1')).toBe('\0c1/dnet/eth0');
    expect(decodeText(getOption(discover, Opt.HostName))).toBe('web-0');
    expect(running!.daemon.keys).toEqual(['c1/dnet/eth0']);
  });

  it('a repeated ADD returns the held lease; CHECK compares it with prevResult; DEL releases; DEL again succeeds', async () => {
    const server = new FakeServer();
    const sock = await start(server);
    const first = await dhcpAdd(cmd(sock));
    const sent = server.seen.length;
    expect(await dhcpAdd(cmd(sock))).toEqual(first);
    expect(server.seen).toHaveLength(sent);

    await dhcpCheck(cmd(sock, { prevResult: first }));
    const wrong = { ...first, ips: [{ address: '10.251.0.99/24' }] };
    expect((await failure(dhcpCheck(cmd(sock, { prevResult: wrong })))).msg).toMatch(/prevResult does not carry/);
    expect((await failure(dhcpCheck(cmd(sock, { containerId: 'other' })))).code).toBe(3);

    await dhcpDel(cmd(sock));
    expect(server.released).toEqual(['10.251.0.10']);
    expect(messageType(server.seen.at(-1)!)).toBe(MessageType.Release);
    expect(running!.daemon.keys).toEqual([]);
    await dhcpDel(cmd(sock));
    expect((await failure(dhcpCheck(cmd(sock)))).code).toBe(3);
  });

  it('GC releases this network leases of attachments not listed', async () => {
    const server = new FakeServer();
    const sock = await start(server);
    await dhcpAdd(cmd(sock, { containerId: 'a' }));
    await dhcpAdd(cmd(sock, { containerId: 'b' }));
    await dhcpAdd(cmd(sock, { containerId: 'b', ifName: 'net1' }));
    const gc = cmd(sock, { extra: { 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }] } });
    expect((await dhcpGc(gc)).sort()).toEqual(['b/dnet/eth0', 'b/dnet/net1']);
    expect(running!.daemon.keys).toEqual(['a/dnet/eth0']);
    expect(server.released.sort()).toEqual(['10.251.0.11', '10.251.0.12']);
  });

  it('STATUS is fine while the daemon answers, code 50 when it does not; ADD then fails with code 5', async () => {
    const sock = await start(new FakeServer());
    await dhcpStatus(cmd(sock));
    const missing = join(dir, 'nothing.sock');
    const e = await failure(dhcpStatus(cmd(missing)));
    expect(e.code).toBe(50);
    expect(e.msg).toMatch(/error dialing DHCP daemon/);
    expect((await failure(dhcpAdd(cmd(missing)))).code).toBe(5);
  });

  it('ADD fails when no server answers within -timeout and keeps nothing', async () => {
    const server = new FakeServer();
    server.silent = true;
    const channels: Channel[] = [];
    const sock = await start(server, channels, ['-timeout', '300ms']);
    const e = await failure(dhcpAdd(cmd(sock)));
    expect(e.code).toBe(999);
    expect(e.msg).toMatch(/no DHCP lease for c1\/dnet\/eth0 on eth0 within 0.3s/);
    expect(running!.daemon.keys).toEqual([]);
    expect((channels[0] as unknown as { closed: boolean }).closed).toBe(true);
  });

  it('rejects a missing netns (code 8 from the daemon) and an empty CNI_NETNS (code 8 from the plugin)', async () => {
    const sock = await start(new FakeServer());
    const e = await failure(dhcpAdd(cmd(sock, { netns: join(dir, 'gone') })));
    expect(e.code).toBe(8);
    expect((await failure(dhcpAdd(cmd(sock, { netns: '' })))).code).toBe(8);
  });

  it('answers malformed requests with code 6', async () => {
    const sock = await start(new FakeServer());
    const reply = await callDaemon(sock, { method: 'allocate' } as never, 5000);
    expect(reply).toMatchObject({ ok: false, error: { code: 6 } });
  });

  it('refuses to start over a live daemon and replaces a stale socket file', async () => {
    const sock = await start(new FakeServer());
    await expect(startDaemon(parseDaemonFlags(['-socketpath', sock]), { openChannel: new FakeServer().opener(), log: quiet })).rejects.toThrow(/another DHCP daemon/);
    await running!.stop();
    writeFileSync(sock, '');
    running = await startDaemon(parseDaemonFlags(['-socketpath', sock, '-pidfile', join(dir, 'pid')]), { openChannel: new FakeServer().opener(), log: quiet });
    expect(statSync(sock).isSocket()).toBe(true);
    await dhcpStatus(cmd(sock));
  });

  it('runs through pluginMain: ADD prints the result converted to the config version', async () => {
    const sock = await start(new FakeServer());
    const stdin = JSON.stringify({ cniVersion: '0.4.0', name: 'dnet', type: 'macvlan', ipam: { type: 'dhcp', daemonSocketPath: sock } });
    let out = '';
    const code = await pluginMain(dhcpPlugin(), { supportedVersions: DHCP_VERSIONS }, {
      env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c9', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/nowhere' },
      stdin: async () => new TextEncoder().encode(stdin),
      stdout: (s) => {
        out += s;
      },
      stderr: quiet,
      exit: quiet,
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.251.0.10/24', gateway: '10.251.0.1' }] });
  });
});

describe('DhcpDaemon lease upkeep (fake clock)', () => {
  function allocate(daemon: DhcpDaemon, key = 'c1/dnet/eth0') {
    return daemon.handle({ method: 'allocate', key, containerId: 'c1', netName: 'dnet', ifName: 'eth0', netns, options: [] });
  }

  it('stops maintaining a lease whose namespace file disappears', async () => {
    const clock = new FakeClock();
    const channels: Channel[] = [];
    const daemon = new DhcpDaemon({ openChannel: new FakeServer().opener(channels), clock, log: quiet, watchIntervalMs: 5000 });
    const pending = allocate(daemon);
    await new Promise((r) => setTimeout(r, 20));
    expect(await pending).toMatchObject({ ok: true, lease: { address: '10.251.0.10' } });
    clock.advance(5000);
    expect(daemon.keys).toEqual(['c1/dnet/eth0']);
    rmSync(netns);
    clock.advance(5000);
    expect(daemon.keys).toEqual([]);
    expect((channels[0] as unknown as { closed: boolean }).closed).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('opens the namespace under -hostprefix', async () => {
    const opened: string[] = [];
    const inner = new FakeServer().opener();
    const daemon = new DhcpDaemon({ openChannel: (path, ifName, h) => (opened.push(path), inner(path, ifName, h)), hostPrefix: dir, log: quiet, clock: new FakeClock() });
    const p = daemon.handle({ method: 'allocate', key: 'k', containerId: 'c1', netName: 'dnet', ifName: 'eth0', netns: '/netns', options: [] });
    await new Promise((r) => setTimeout(r, 20));
    expect(await p).toMatchObject({ ok: true });
    expect(opened).toEqual([netns]);
    await daemon.close();
    expect(daemon.keys).toEqual([]);
  });

  it('drops a lease when its socket fails or its link is gone (ENODEV)', async () => {
    const server = new FakeServer();
    const channels: Array<Channel & { handlers?: ChannelHandlers }> = [];
    const clock = new FakeClock();
    const daemon = new DhcpDaemon({ openChannel: server.opener(channels), clock, log: quiet });
    const p1 = allocate(daemon, 'k1');
    await new Promise((r) => setTimeout(r, 20));
    await p1;
    channels[0]!.handlers!.onClosed('killed');
    expect(daemon.keys).toEqual([]);

    const p2 = allocate(daemon, 'k2');
    await new Promise((r) => setTimeout(r, 20));
    await p2;
    channels[1]!.transport.send = () => Promise.reject(new ChannelSendError('ENODEV', 'sendto: ENODEV No such device'));
    clock.advance(1800_000); // T1: the renewal cannot be sent
    await new Promise((r) => setTimeout(r, 20));
    expect(daemon.keys).toEqual([]);
  });

  it('gives up a lost lease after -resendtimeout without a new one', async () => {
    const server = new FakeServer();
    server.extra = [[Opt.SubnetMask, ipOption(['255.255.255.0'])], [Opt.LeaseTime, u32Option(100)]];
    const clock = new FakeClock();
    const daemon = new DhcpDaemon({ openChannel: server.opener(), clock, log: quiet, reacquireTimeoutMs: 30_000, watchIntervalMs: 1_000_000 });
    const p = allocate(daemon);
    await new Promise((r) => setTimeout(r, 20));
    await p;
    server.silent = true;
    clock.advance(100_000); // renew and rebind unanswered: expiry
    expect(daemon.keys).toEqual(['c1/dnet/eth0']);
    expect((await daemon.handle({ method: 'lease', key: 'c1/dnet/eth0' })).ok).toBe(true);
    expect(await daemon.handle({ method: 'lease', key: 'c1/dnet/eth0' })).toEqual({ ok: true }); // no lease while re-acquiring
    clock.advance(30_000);
    expect(daemon.keys).toEqual([]);
  });
});

describe('resultFromLease', () => {
  const lease = {
    address: '192.168.5.20',
    prefix: 24,
    serverId: '192.168.5.1',
    leaseTime: 600,
    renewalTime: 300,
    rebindingTime: 525,
    expiresIn: 600,
    routers: ['192.168.5.1', '192.168.5.2'],
    dnsServers: [],
    classlessRoutes: [],
    staticRoutes: [{ dst: '10.0.0.9/32', gw: '192.168.5.3' }],
    state: 'bound',
  };
  it('option 33 routes plus a default route via the first router, empty DNS when none was given', () => {
    expect(resultFromLease(lease, 0)).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '192.168.5.20/24', gateway: '192.168.5.1' }],
      routes: [
        { dst: '10.0.0.9/32', gw: '192.168.5.3' },
        { dst: '0.0.0.0/0', gw: '192.168.5.1' },
      ],
      dns: {},
    });
  });
  it('option 121 replaces routers and option 33 for routes; on-link routes have no gw', () => {
    const classless = [
      { dst: '10.20.0.0/16', gw: '192.168.5.9' },
      { dst: '192.168.6.0/24', gw: '0.0.0.0' },
    ];
    expect(resultFromLease({ ...lease, classlessRoutes: classless }, 7).routes).toEqual([
      { dst: '10.20.0.0/16', gw: '192.168.5.9', priority: 7 },
      { dst: '192.168.6.0/24', priority: 7 },
    ]);
    expect(encodeClasslessRoutes(classless).length).toBe(3 + 4 + 4 + 4);
  });
  it('no router: no gateway and no default route', () => {
    expect(resultFromLease({ ...lease, routers: [], staticRoutes: [] }, 0)).toEqual({ cniVersion: '1.1.0', ips: [{ address: '192.168.5.20/24' }], routes: [], dns: {} });
  });
});

describe('daemon flags', () => {
  it('parses Go-style flags and durations', () => {
    expect(parseDaemonFlags(['-pidfile', '/run/p', '-hostprefix=/host', '--socketpath', '/s.sock', '-broadcast', '-timeout', '1m30s', '-resendmax=5s', '-resendtimeout', '250ms'])).toEqual({
      pidfile: '/run/p',
      hostPrefix: '/host',
      socketPath: '/s.sock',
      broadcast: true,
      timeoutMs: 90_000,
      resendMaxMs: 5000,
      resendTimeoutMs: 250,
    });
    expect(parseDaemonFlags([])).toMatchObject({ socketPath: '/run/cni/dhcp.sock', broadcast: false, timeoutMs: 10_000, resendMaxMs: 62_000, resendTimeoutMs: 208_000 });
    expect(parseDaemonFlags(['-broadcast=false']).broadcast).toBe(false);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
    expect(() => parseDaemonFlags(['-nope'])).toThrow(/not defined: -nope/);
    expect(() => parseDaemonFlags(['-timeout'])).toThrow(/needs an argument/);
    expect(() => parseDaemonFlags(['-timeout', 'soon'])).toThrow(/invalid duration/);
    expect(() => parseDaemonFlags(['extra'])).toThrow(/unexpected argument/);
  });
});
