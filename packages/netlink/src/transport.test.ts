import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import type { NativeBinding } from '@tscni/native';
import { DUMP_INTR_RETRIES, FakeTransport, SocketTransport, messageBody } from './transport.js';
import { buildMessage } from './codec/writer.js';
import { decodeMessages, encodeNlDone, encodeNlMsgErr, decodeNlMsgHdr } from './codec/message.js';
import { NLM_F } from './codec/netlink.js';
import { NetlinkError } from './codec/errors.js';
import { RTM } from './codec/rtnetlink.js';
import { RtNetlink } from './rtnl/rtnetlink.js';
import { decodeLinkBody, encodeLinkMessage } from './rtnl/link.js';
import { AttrMap } from './codec/reader.js';

const ack = (type = RTM.NEWLINK): Uint8Array =>
  buildMessage(type, NLM_F.REQUEST | NLM_F.ACK, (w) => w.writeZeros(16));
const dump = (type = RTM.GETLINK): Uint8Array =>
  buildMessage(type, NLM_F.REQUEST | NLM_F.DUMP, (w) => w.writeZeros(16));
const data = (name: string): Uint8Array =>
  encodeLinkMessage(RTM.NEWLINK, 0, { index: 1, ifname: name });

describe('request/response over the fake kernel', () => {
  it('assigns increasing sequence numbers and resolves an ACK with no data', async () => {
    const t = new FakeTransport();
    expect(await t.request(ack())).toEqual([]);
    expect(await t.request(ack())).toEqual([]);
    expect(t.requests.map((r) => r.header.seq)).toEqual([1, 2]);
  });

  it('turns NLMSG_ERROR into NetlinkError with errno, code, extended ack and request type', async () => {
    const t = new FakeTransport().reply({ errno: 95, extAck: { msg: 'Unknown device type', offset: 36 } });
    const e = await t.request(ack(), { operation: 'link add x type foo' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ errno: 95, code: 'EOPNOTSUPP', requestType: RTM.NEWLINK });
    expect((e as NetlinkError).extAck).toEqual({ msg: 'Unknown device type', offset: 36 });
    expect((e as NetlinkError).message).toBe('link add x type foo: Unknown device type (EOPNOTSUPP)');
  });

  it('collects a multi-part dump until NLMSG_DONE', async () => {
    const t = new FakeTransport().reply({ messages: [data('a'), data('b'), data('c')] });
    const got = await t.request(dump(), { dump: true });
    expect(got.map((m) => decodeLinkBody(messageBody(m)).ifname)).toEqual(['a', 'b', 'c']);
    expect(got.every((m) => (decodeNlMsgHdr(m).flags & NLM_F.MULTI) !== 0)).toBe(true);
  });

  it('restarts a dump marked NLM_F_DUMP_INTR and returns the consistent one', async () => {
    const t = new FakeTransport().reply(
      { messages: [data('stale')], dumpInterrupted: true },
      { messages: [data('stale2')], dumpInterrupted: true },
      { messages: [data('fresh')] },
    );
    const got = await t.request(dump(), { dump: true });
    expect(got.map((m) => decodeLinkBody(messageBody(m)).ifname)).toEqual(['fresh']);
    expect(t.requests).toHaveLength(3);
    expect(new Set(t.requests.map((r) => r.header.seq)).size).toBe(3);
  });

  it(`gives up with EINTR after ${DUMP_INTR_RETRIES} restarts`, async () => {
    const t = new FakeTransport(() => ({ messages: [data('x')], dumpInterrupted: true }));
    const e = await t.request(dump(), { dump: true, operation: 'link list' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'EINTR' });
    expect(t.requests).toHaveLength(DUMP_INTR_RETRIES + 1);
  });

  it('rejects a dump whose NLMSG_DONE carries an error', async () => {
    // A hand-made kernel: the DONE of this dump says EINVAL with an extended ack.
    class DoneErr extends FakeTransport {
      protected override send(buf: Uint8Array): void {
        const [m] = decodeMessages(buf);
        this.requests.push(m!);
        this.queued.push(encodeNlDone({ error: -22, extAck: { msg: 'bad filter' } }, m!.header.seq));
      }
      readonly queued: Uint8Array[] = [];
      protected override recv(): Uint8Array {
        return this.queued.shift()!;
      }
    }
    const e = await new DoneErr().request(dump(), { dump: true }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'EINVAL', extAck: { msg: 'bad filter' } });
  });

  it('skips answers to other sequence numbers', async () => {
    class Stray extends FakeTransport {
      readonly queued: Uint8Array[] = [];
      protected override send(buf: Uint8Array): void {
        const [m] = decodeMessages(buf);
        this.requests.push(m!);
        const stale = { ...m!.header, seq: m!.header.seq + 1000 };
        this.queued.push(encodeNlMsgErr({ error: -17, request: stale }), encodeNlMsgErr({ error: 0, request: m!.header }));
      }
      protected override recv(): Uint8Array {
        return this.queued.shift()!;
      }
    }
    await expect(new Stray().request(ack())).resolves.toEqual([]);
  });

  it('waits for every acknowledged message of a batch and reports the first failure', async () => {
    const batch = new Uint8Array([...ack(), ...ack(), ...ack()]);
    const t = new FakeTransport().reply({}, { errno: 17 }, { errno: 2 });
    const e = await t.request(batch).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'EEXIST' });
    expect(t.requests.map((r) => r.header.seq)).toEqual([1, 2, 3]);
    // the transport read all three answers: the next request starts clean
    expect(await t.reply({}).request(ack())).toEqual([]);
  });

  it('refuses a request nothing would answer', async () => {
    const noAck = buildMessage(RTM.NEWLINK, NLM_F.REQUEST, (w) => w.writeZeros(16));
    await expect(new FakeTransport().request(noAck)).rejects.toThrow(TypeError);
  });

  it('rejects requests after close', async () => {
    const t = new FakeTransport();
    t.close();
    expect(t.closed).toBe(true);
    await expect(t.request(ack())).rejects.toMatchObject({ code: 'EBADF' });
  });
});

describe('SocketTransport over a stand-in binding', () => {
  function binding(): { b: NativeBinding; sent: Uint8Array[]; closed: number[] } {
    const sent: Uint8Array[] = [];
    const closed: number[] = [];
    const inbox: Uint8Array[] = [];
    const unused = (): never => {
      throw new Error('not used by the transport');
    };
    const b: NativeBinding = {
      netlinkOpen: () => 42,
      netlinkSend: (_fd, buf) => {
        sent.push(buf.slice());
        for (const m of decodeMessages(buf)) inbox.push(encodeNlMsgErr({ error: 0, request: m.header }));
        return buf.length;
      },
      netlinkRecv: () => inbox.shift()!,
      netlinkRecvAsync: unused,
      close: (fd) => void closed.push(fd),
      netnsCreate: unused,
      netnsDelete: unused,
      netnsInode: unused,
      openInNetns: unused,
      flock: unused,
      funlock: unused,
      tunCreate: unused,
    };
    return { b, sent, closed };
  }

  it('sends with a fresh seq, reads the ACK, closes the fd once', async () => {
    const { b, sent, closed } = binding();
    const t = SocketTransport.open(0, null, b);
    await t.request(ack());
    await t.request(ack());
    const seqs = sent.map((s) => decodeNlMsgHdr(s).seq);
    expect(seqs[1]).toBe(seqs[0]! + 1);
    t.close();
    t.close();
    expect(closed).toEqual([42]);
  });
});

describe('RtNetlink request building', () => {
  it('opens a namespace path for IFLA_NET_NS_FD only for the duration of the request', async () => {
    const before = readdirSync('/proc/self/fd').length;
    let fdDuring: number | undefined;
    let openDuring = 0;
    const fake = new FakeTransport((req) => {
      fdDuring = decodeLinkBody(req.payload).netnsFd;
      openDuring = readdirSync('/proc/self/fd').length;
      return {};
    });
    await new RtNetlink(fake).createLink({ name: 'x', kind: 'ifb', netns: '/proc/self/ns/net' });
    expect(fdDuring).toBeGreaterThan(2);
    expect(openDuring).toBe(before + 1);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('validates specs before sending anything', async () => {
    const fake = new FakeTransport();
    const rt = new RtNetlink(fake);
    await expect(rt.createLink({ name: 'v', kind: 'vxlan', vni: 1, group: '239.0.0.1', remote: '10.0.0.1' })).rejects.toThrow(
      TypeError,
    );
    await expect(rt.createLink({ name: 't', kind: 'tap' })).rejects.toThrow(/native binding/);
    await expect(rt.addBridgeVlan(1, { vid: 4095 })).rejects.toThrow(RangeError);
    await expect(rt.addRoute({ dst: '10.0.0.0/8', gateway: 'fd00::1' })).rejects.toThrow(TypeError);
    await expect(rt.addAddress(1, '10.0.0.1/33')).rejects.toThrow(TypeError);
    expect(fake.requests).toHaveLength(0);
  });

  it('resolves names with one RTM_GETLINK and reports ENODEV for unknown links', async () => {
    const fake = new FakeTransport((req) =>
      req.header.type === RTM.GETLINK ? { errno: 19, extAck: { msg: 'Link not found' } } : {},
    );
    const e = await new RtNetlink(fake).setLinkUp('nope').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ENODEV', extAck: { msg: 'Link not found' } });
    expect(fake.requests.map((r) => r.header.type)).toEqual([RTM.GETLINK]);
    expect(await new RtNetlink(fake).findLink('nope')).toBeUndefined();
  });

  it('strips host bits from route and rule prefixes and keeps the main table by default', async () => {
    const fake = new FakeTransport();
    const rt = new RtNetlink(fake);
    await rt.addRoute({ dst: '10.1.2.3/16', dev: 5 });
    await rt.addRule({ src: '192.168.7.9/24', table: 7 });
    const route = AttrMap.parse(fake.requests[0]!.payload.subarray(12));
    expect(route.ip(1)).toBe('10.1.0.0');
    expect(fake.requests[0]!.payload[4]).toBe(254);
    const rule = AttrMap.parse(fake.requests[1]!.payload.subarray(12));
    expect(rule.ip(2)).toBe('192.168.7.0');
    await rt.addRoute({ dst: 'fd00:1:2:3::9/52', src: 'fd00:9::1/48', dev: 5 });
    const v6 = fake.requests[2]!.payload;
    expect([v6[1], v6[2]]).toEqual([52, 48]);
    const v6attrs = AttrMap.parse(v6.subarray(12));
    expect(v6attrs.ip(1)).toBe('fd00:1:2::');
    expect(v6attrs.ip(2)).toBe('fd00:9::');
  });
});
