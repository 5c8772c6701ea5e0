import { describe, expect, it } from 'vitest';
import { DhcpClient, leaseFromAck } from './client.js';
import type { ClientEvent, Destination, DhcpTransport } from './client.js';
import { FakeClock } from './clock.js';
import {
  MessageType,
  Opt,
  decodeIPs,
  decodeMessage,
  encodeMessage,
  getOption,
  ipOption,
  messageType,
  textOption,
  u32Option,
} from './message.js';
import type { DhcpMessage } from './message.js';

const MAC = Uint8Array.of(0x02, 0x42, 0xac, 0x11, 0x00, 0x02);
const SERVER = '10.250.0.1';

interface Sent {
  at: number;
  to: Destination;
  m: DhcpMessage;
}

class FakeTransport implements DhcpTransport {
  readonly sent: Sent[] = [];
  failTo = new Set<string>();
  closed = false;
  constructor(private readonly clock: FakeClock) {}
  send(payload: Uint8Array, to: Destination): Promise<void> {
    if (this.failTo.has(to.address)) return Promise.reject(Object.assign(new Error('sendto: ENETUNREACH'), { code: 'ENETUNREACH' }));
    this.sent.push({ at: this.clock.now(), to, m: decodeMessage(payload) });
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
  last(): Sent {
    const s = this.sent.at(-1);
    if (s === undefined) throw new Error('nothing sent');
    return s;
  }
}

function reply(req: DhcpMessage, type: number, address: string, extra: Array<[number, Uint8Array]> = []): Uint8Array {
  return encodeMessage({
    ...req,
    op: 2,
    yiaddr: type === MessageType.Nak ? '0.0.0.0' : address,
    ciaddr: '0.0.0.0',
    options: [
      [Opt.MessageType, Uint8Array.of(type)],
      [Opt.ServerId, ipOption([SERVER])],
      ...(type === MessageType.Nak
        ? []
        : ([
            [Opt.SubnetMask, ipOption(['255.255.255.0'])],
            [Opt.Router, ipOption([SERVER])],
          ] as Array<[number, Uint8Array]>)),
      ...extra,
    ],
  });
}

const lease100: Array<[number, Uint8Array]> = [[Opt.LeaseTime, u32Option(100)]];

function setup(opts: { random?: () => number; broadcast?: boolean } = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  let xids = 0x1000;
  const client = new DhcpClient(
    {
      chaddr: MAC,
      options: [
        [Opt.ParameterRequestList, Uint8Array.of(1, 3, 58, 59)],
        [Opt.ClientId, textOption('c1/net/eth0')],
        [Opt.HostName, textOption('pod1')],
      ],
      random: opts.random ?? (() => 0.5),
      xid: () => ++xids,
      ...(opts.broadcast === undefined ? {} : { broadcast: opts.broadcast }),
    },
    clock,
    transport,
  );
  const events: ClientEvent[] = [];
  client.on((e) => events.push(e));
  return { clock, transport, client, events };
}

/** Runs DISCOVER/OFFER/REQUEST/ACK at time 0 with the given ACK options. */
function bind(s: ReturnType<typeof setup>, ack: Array<[number, Uint8Array]> = lease100): void {
  s.client.start();
  s.client.receive(reply(s.transport.last().m, MessageType.Offer, '10.250.0.7'));
  s.client.receive(reply(s.transport.last().m, MessageType.Ack, '10.250.0.7', ack));
}

const flush = () => new Promise((r) => setImmediate(r));

describe('DhcpClient acquisition', () => {
  it('DISCOVER, OFFER, REQUEST, ACK binds with the offered address', async () => {
    const { clock, transport, client } = setup();
    const p = client.acquire(10_000);
    const discover = transport.last();
    expect(discover.to).toEqual({ address: '255.255.255.255', port: 67 });
    expect(messageType(discover.m)).toBe(MessageType.Discover);
    expect(discover.m.flags).toBe(0x8000); // no address yet: ask for broadcast replies
    expect([...discover.m.chaddr]).toEqual([...MAC]);
    expect(discover.m.options.map(([c]) => c)).toEqual([53, 55, 61, 12]);

    client.receive(reply(discover.m, MessageType.Offer, '10.250.0.7'));
    const request = transport.last();
    expect(messageType(request.m)).toBe(MessageType.Request);
    expect(request.to.address).toBe('255.255.255.255');
    expect(request.m.xid).toBe(discover.m.xid);
    expect(request.m.ciaddr).toBe('0.0.0.0');
    expect(decodeIPs(getOption(request.m, Opt.RequestedIP))).toEqual(['10.250.0.7']);
    expect(decodeIPs(getOption(request.m, Opt.ServerId))).toEqual([SERVER]);

    clock.advance(1500);
    client.receive(reply(request.m, MessageType.Ack, '10.250.0.7', lease100));
    const lease = await p;
    expect(client.state).toBe('bound');
    expect(lease).toMatchObject({ address: '10.250.0.7', prefix: 24, serverId: SERVER, leaseTime: 100, renewalTime: 50, rebindingTime: 87, routers: [SERVER], boundAt: 0 });
  });

  it('ignores replies for other transactions or hardware addresses and OFFERs without a server id', () => {
    const { transport, client } = setup();
    client.start();
    const d = transport.last().m;
    client.receive(reply({ ...d, xid: d.xid + 1 }, MessageType.Offer, '10.250.0.7'));
    client.receive(reply({ ...d, chaddr: Uint8Array.of(1, 2, 3, 4, 5, 6) }, MessageType.Offer, '10.250.0.7'));
    client.receive(encodeMessage({ ...d, op: 2, yiaddr: '10.250.0.7', options: [[Opt.MessageType, Uint8Array.of(MessageType.Offer)]] }));
    client.receive(Uint8Array.of(1, 2, 3));
    expect(client.state).toBe('selecting');
    expect(transport.sent).toHaveLength(1);
  });

  it('retransmits DISCOVER at 4, 8, 16 … s capped by resendMax, with ±1 s jitter', () => {
    const { clock, transport, client } = setup();
    client.start();
    clock.advance(200_000);
    const gaps = transport.sent.slice(1).map((s, i) => s.at - transport.sent[i]!.at);
    expect(gaps.slice(0, 6)).toEqual([4000, 8000, 16000, 32000, 64000, 64000]);
    const jittered = setup({ random: () => 0 });
    jittered.client.start();
    jittered.clock.advance(3000);
    expect(jittered.transport.sent).toHaveLength(2); // 4 s - 1 s
  });

  it('acquire() gives up after its timeout and stops sending', async () => {
    const { clock, transport, client } = setup();
    const p = client.acquire(10_000);
    clock.advance(10_000);
    await expect(p).rejects.toThrow(/no DHCP lease within 10s/);
    const n = transport.sent.length;
    clock.advance(100_000);
    expect(transport.sent).toHaveLength(n);
    expect(client.state).toBe('stopped');
  });

  it('starts over with DISCOVER after unanswered REQUESTs and after a NAK', () => {
    const { clock, transport, client, events } = setup();
    client.start();
    client.receive(reply(transport.last().m, MessageType.Offer, '10.250.0.7'));
    clock.advance(4000 + 8000 + 16000 + 32000);
    const types = transport.sent.map((s) => messageType(s.m));
    expect(types).toEqual([1, 3, 3, 3, 3, 1]);
    client.receive(reply(transport.last().m, MessageType.Offer, '10.250.0.8'));
    client.receive(reply(transport.last().m, MessageType.Nak, ''));
    expect(events.at(-1)).toMatchObject({ type: 'lost' });
    expect(messageType(transport.last().m)).toBe(MessageType.Discover);
    expect(client.state).toBe('selecting');
  });
});

describe('DhcpClient timers (RFC 2131 §4.4.5)', () => {
  it('renews by unicast at T1 and rebinds by broadcast at T2 using options 58/59', () => {
    const s = setup();
    bind(s, [
      [Opt.LeaseTime, u32Option(120)],
      [Opt.RenewalTime, u32Option(10)],
      [Opt.RebindingTime, u32Option(20)],
    ]);
    const n = s.transport.sent.length;
    s.clock.advance(9_999);
    expect(s.transport.sent).toHaveLength(n);
    s.clock.advance(1);
    expect(s.client.state).toBe('renewing');
    const renew = s.transport.last();
    expect(renew.at).toBe(10_000);
    expect(renew.to).toEqual({ address: SERVER, port: 67 });
    expect(messageType(renew.m)).toBe(MessageType.Request);
    expect(renew.m.ciaddr).toBe('10.250.0.7');
    expect(renew.m.flags).toBe(0);
    expect(getOption(renew.m, Opt.RequestedIP)).toBeUndefined();
    expect(getOption(renew.m, Opt.ServerId)).toBeUndefined();
    expect(renew.m.secs).toBe(0);

    s.clock.advance(10_000); // T2: the 60 s floor means no retransmit before it
    expect(s.client.state).toBe('rebinding');
    const rebind = s.transport.last();
    expect(rebind.at).toBe(20_000);
    expect(rebind.to.address).toBe('255.255.255.255');
    expect(rebind.m.ciaddr).toBe('10.250.0.7');
    expect(rebind.m.xid).not.toBe(renew.m.xid);

    s.clock.advance(5_000);
    s.client.receive(reply(rebind.m, MessageType.Ack, '10.250.0.7', [[Opt.LeaseTime, u32Option(120)], [Opt.RenewalTime, u32Option(10)], [Opt.RebindingTime, u32Option(20)]]));
    expect(s.client.state).toBe('bound');
    expect(s.client.lease?.boundAt).toBe(20_000); // runs from when the REQUEST was sent
    s.clock.advance(4_999);
    expect(s.client.state).toBe('bound');
    s.clock.advance(1);
    expect(s.client.state).toBe('renewing');
  });

  it('retransmits renewals after half the time left, at least 60 s apart, then expires into INIT', () => {
    const s = setup();
    bind(s, [[Opt.LeaseTime, u32Option(3600)]]); // T1 1800 s, T2 3150 s
    s.clock.advance(3_600_000);
    const after = s.transport.sent.filter((x) => messageType(x.m) === MessageType.Request && x.m.ciaddr !== '0.0.0.0');
    const renewing = after.filter((x) => x.to.address === SERVER).map((x) => x.at / 1000);
    const rebinding = after.filter((x) => x.to.address !== SERVER).map((x) => x.at / 1000);
    expect(renewing).toEqual([1800, 2475, 2812.5, 2981.25, 3065.625, 3125.625]);
    expect(rebinding).toEqual([3150, 3375, 3487.5, 3547.5]);
    expect(s.events.find((e) => e.type === 'lost')).toMatchObject({ reason: expect.stringMatching(/expired/) });
    expect(s.client.lease).toBeUndefined();
    const discovers = s.transport.sent.filter((x) => messageType(x.m) === MessageType.Discover);
    expect(discovers.at(-1)!.at).toBe(3_600_000);
  });

  it('a renewal ACK moves the timers; a NAK while renewing drops the lease and starts over', () => {
    const s = setup();
    bind(s);
    s.clock.advance(50_000);
    s.client.receive(reply(s.transport.last().m, MessageType.Ack, '10.250.0.7', lease100));
    expect(s.events.filter((e) => e.type === 'bound').map((e) => (e.type === 'bound' ? e.previous : ''))).toEqual(['requesting', 'renewing']);
    s.clock.advance(49_999);
    expect(s.client.state).toBe('bound');
    s.clock.advance(1);
    expect(s.client.state).toBe('renewing');
    s.client.receive(reply(s.transport.last().m, MessageType.Nak, ''));
    expect(s.events.at(-1)).toMatchObject({ type: 'lost', reason: expect.stringMatching(/DHCPNAK/) });
    expect(messageType(s.transport.last().m)).toBe(MessageType.Discover);
  });

  it('sets the broadcast flag in renewals when asked to (-broadcast)', () => {
    const s = setup({ broadcast: true });
    bind(s);
    s.clock.advance(50_000);
    expect(s.transport.last().m.flags).toBe(0x8000);
  });

  it('reports failed sends without stopping', async () => {
    const s = setup();
    bind(s);
    s.transport.failTo.add(SERVER);
    s.clock.advance(50_000);
    await flush();
    expect(s.events.at(-1)).toMatchObject({ type: 'send-failed', state: 'renewing' });
    expect(s.client.state).toBe('renewing');
  });
});

describe('DhcpClient release', () => {
  it('sends DHCPRELEASE by unicast with ciaddr, server id and client id only, then stops', async () => {
    const s = setup();
    bind(s);
    await s.client.release();
    const rel = s.transport.last();
    expect(messageType(rel.m)).toBe(MessageType.Release);
    expect(rel.to).toEqual({ address: SERVER, port: 67 });
    expect(rel.m.ciaddr).toBe('10.250.0.7');
    expect(rel.m.options.map(([c]) => c)).toEqual([53, 54, 61]);
    expect(s.client.state).toBe('stopped');
    const n = s.transport.sent.length;
    s.clock.advance(1_000_000);
    expect(s.transport.sent).toHaveLength(n);
  });

  it('falls back to broadcast when the server is unreachable, and sends nothing without a lease', async () => {
    const s = setup();
    bind(s);
    s.transport.failTo.add(SERVER);
    await s.client.release();
    expect(s.transport.last().to.address).toBe('255.255.255.255');
    const fresh = setup();
    await fresh.client.release();
    expect(fresh.transport.sent).toHaveLength(0);
  });
});

describe('leaseFromAck', () => {
  const base = decodeMessage(reply(decodeMessage(encodeMessage({ op: 1, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: MAC, sname: '', file: '', options: [] })), MessageType.Ack, '192.168.1.9'));
  it('defaults T1/T2 and repairs inconsistent ones', () => {
    const withOpts = (o: Array<[number, Uint8Array]>) => ({ ...base, options: [...base.options, ...o] });
    expect(leaseFromAck(withOpts([[Opt.LeaseTime, u32Option(1000)]]), 0)).toMatchObject({ renewalTime: 500, rebindingTime: 875 });
    expect(leaseFromAck(withOpts([[Opt.LeaseTime, u32Option(1000)], [Opt.RenewalTime, u32Option(900)], [Opt.RebindingTime, u32Option(800)]]), 0)).toMatchObject({ renewalTime: 500, rebindingTime: 800 });
    expect(leaseFromAck(withOpts([[Opt.LeaseTime, u32Option(1000)], [Opt.RebindingTime, u32Option(5000)]]), 0)).toMatchObject({ rebindingTime: 875 });
  });
  it('rejects ACKs that cannot configure anything', () => {
    expect(leaseFromAck({ ...base, yiaddr: '0.0.0.0' }, 0)).toMatch(/yiaddr/);
    expect(leaseFromAck({ ...base, options: base.options.filter(([c]) => c !== Opt.ServerId) }, 0)).toMatch(/server identifier/);
    expect(leaseFromAck({ ...base, options: [...base.options.filter(([c]) => c !== Opt.SubnetMask), [Opt.SubnetMask, ipOption(['255.0.255.0'])]] }, 0)).toMatch(/non-contiguous/);
    expect(leaseFromAck({ ...base, options: base.options.filter(([c]) => c !== Opt.SubnetMask) }, 0)).toMatchObject({ prefix: 24 });
  });
});
