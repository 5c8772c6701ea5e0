import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import type { NativeBinding } from '@tscni/native';
import { DUMP_INTR_RETRIES, FakeTransport, SocketTransport, messageBody } from './transport.js';
import { buildMessage } from './codec/writer.js';
import { decodeMessages, encodeNlDone, encodeNlMsgErr, decodeNlMsgHdr } from './codec/message.js';
import { NLM_F, NLMSG_NOOP } from './codec/netlink.js';
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

describe('NetlinkError names the request it answers', () => {
  it('carries the echoed header (type, flags, seq) of the failing message', async () => {
    const batch = new Uint8Array([...ack(), ...buildMessage(RTM.NEWADDR, NLM_F.REQUEST | NLM_F.ACK, (w) => w.writeZeros(8)), ...ack()]);
    const t = new FakeTransport().reply({}, { errno: 17 }, {});
    const e = (await t.request(batch).catch((x: unknown) => x)) as NetlinkError;
    expect(e).toBeInstanceOf(NetlinkError);
    const sent = t.requests[1]!.header;
    expect(e.seq).toBe(sent.seq);
    expect(e.request).toEqual({ type: RTM.NEWADDR, flags: NLM_F.REQUEST | NLM_F.ACK, seq: sent.seq });
    expect(e.requestType).toBe(RTM.NEWADDR);
  });

  it('takes the seq of a failed dump from its request', async () => {
    const t = new FakeTransport().reply({ errno: 22 });
    const e = (await t.request(dump(), { dump: true }).catch((x: unknown) => x)) as NetlinkError;
    expect(e).toMatchObject({ code: 'EINVAL', seq: t.requests[0]!.header.seq, requestType: RTM.GETLINK });
  });
});

describe('requestBatch over the fake kernel', () => {
  const begin = (): Uint8Array => buildMessage(0x10, NLM_F.REQUEST, (w) => w.writeZeros(4));
  const end = (): Uint8Array => buildMessage(0x11, NLM_F.REQUEST, (w) => w.writeZeros(4));
  const quiet = (type = RTM.NEWLINK): Uint8Array => buildMessage(type, NLM_F.REQUEST, (w) => w.writeZeros(16));

  it('keys every answer by seq: ACK, error with its extended ack, none for messages that asked for none', async () => {
    const t = new FakeTransport().reply({}, {}, { errno: 2, extAck: { msg: 'no such chain', offset: 20 } }, {}, {});
    const reply = await t.requestBatch(new Uint8Array([...begin(), ...ack(), ...ack(), ...quiet(), ...end()]), { operation: 'b' });
    expect(reply.results.map((r) => [r.index, r.status])).toEqual([
      [0, 'none'],
      [1, 'ack'],
      [2, 'error'],
      [3, 'none'],
      [4, 'none'],
    ]);
    const seqs = t.requests.map((r) => r.header.seq);
    expect(reply.results.map((r) => r.request.seq)).toEqual(seqs);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    const failed = reply.bySeq.get(3);
    expect(failed).toBe(reply.results[2]);
    expect(reply.errors).toEqual([failed]);
    expect(failed?.error).toMatchObject({ code: 'ENOENT', seq: 3, extAck: { msg: 'no such chain', offset: 20 } });
    expect(failed?.error?.message).toBe('b: no such chain (ENOENT)');
    expect(reply.rejected).toBeUndefined();
  });

  it('sends the batch, then an NLMSG_NOOP end marker with NLM_F_ACK in a datagram of its own', async () => {
    const t = new FakeTransport();
    await t.requestBatch(new Uint8Array([...begin(), ...quiet(), ...end()]));
    expect(t.datagrams).toHaveLength(2);
    const [marker] = decodeMessages(t.datagrams[1]!);
    expect(marker?.header).toMatchObject({ type: NLMSG_NOOP, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 4, len: 16 });
    // The next exchange goes on after the marker's seq.
    await t.request(ack());
    expect(t.requests.at(-1)?.header.seq).toBe(5);
  });

  it('reports the error addressed to the first message as the rejection of the whole batch', async () => {
    // nfnetlink refusing a batch: an error for BATCH_BEGIN, silence for the rest despite NLM_F_ACK.
    const t = new FakeTransport().reply({ errno: 95 }, { silent: true }, { silent: true }, { silent: true });
    const reply = await t.requestBatch(new Uint8Array([...begin(), ...ack(), ...ack(), ...end()]));
    expect(reply.rejected).toMatchObject({ code: 'EOPNOTSUPP', seq: 1, requestType: 0x10 });
    expect(reply.results.map((r) => r.status)).toEqual(['error', 'none', 'none', 'none']);
    expect(reply.errors.map((r) => r.index)).toEqual([0]);
  });

  it('hands data messages to the message they answer and skips answers to other requests', async () => {
    class Chatty extends FakeTransport {
      protected override send(buf: Uint8Array): void {
        const [m] = decodeMessages(buf);
        // A stale answer to an abandoned request arrives before the real ones.
        if (m && m.header.type !== NLMSG_NOOP) this.stale.push(encodeNlMsgErr({ error: -17, request: { ...m.header, seq: 999 } }));
        super.send(buf);
      }
      readonly stale: Uint8Array[] = [];
      protected override recv(): Uint8Array {
        return this.stale.shift() ?? super.recv();
      }
    }
    const t = new Chatty().reply({ messages: [data('echo')] }, {});
    const reply = await t.requestBatch(new Uint8Array([...ack(), ...ack()]));
    expect(reply.results.map((r) => r.status)).toEqual(['ack', 'ack']);
    expect(reply.results[0]?.data.map((m) => decodeLinkBody(messageBody(m)).ifname)).toEqual(['echo']);
    expect(reply.results[1]?.data).toEqual([]);
  });

  it('turns a receive buffer overflow into ENOBUFS instead of waiting for answers the kernel dropped', async () => {
    class Overflowing extends FakeTransport {
      protected override recv(): Uint8Array {
        throw Object.assign(new Error('recv(fd 3): ENOBUFS (No buffer space available)'), { errno: 105, code: 'ENOBUFS', syscall: 'recv' });
      }
    }
    const e = await new Overflowing().requestBatch(ack(), { operation: 'big batch' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'ENOBUFS' });
    expect((e as NetlinkError).message).toMatch(/^big batch: answers lost to a full receive buffer/);
  });

  it('refuses an empty batch and a closed transport', async () => {
    const t = new FakeTransport();
    await expect(t.requestBatch(new Uint8Array(0))).rejects.toThrow(TypeError);
    t.close();
    await expect(t.requestBatch(ack())).rejects.toMatchObject({ code: 'EBADF' });
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
      udpOpen: unused,
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

  it('sends a batch and its end marker as two datagrams and reads up to the marker', async () => {
    const { b, sent } = binding();
    const t = SocketTransport.open(0, null, b);
    const reply = await t.requestBatch(new Uint8Array([...ack(), ...ack()]));
    expect(reply.results.map((r) => r.status)).toEqual(['ack', 'ack']);
    expect(sent.map((d) => decodeMessages(d).length)).toEqual([2, 1]);
    expect(decodeNlMsgHdr(sent[1]!).type).toBe(NLMSG_NOOP);
    // The marker's ACK was read: the next request gets its own answer.
    await expect(t.request(ack())).resolves.toEqual([]);
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
