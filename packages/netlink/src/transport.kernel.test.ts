// Kernel tests of batch mode: that nfnetlink has queued every answer to a batch when sendto()
// returns (what requestBatch relies on), and requestBatch/NftBatch.commit on real sockets, including
// batches the kernel refuses whole at BATCH_BEGIN.
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from '@tscni/native';
import type { NativeBinding } from '@tscni/native';
import { NETLINK_NETFILTER, NLM_F, NLMSG_ERROR, NLMSG_NOOP } from './codec/netlink.js';
import { decodeMessages, decodeNlMsgErr } from './codec/message.js';
import { NlWriter } from './codec/writer.js';
import { SocketTransport } from './transport.js';
import type { BatchReply, NetlinkTransport } from './transport.js';
import { NftBatch, NftBatchError } from './nft/batch.js';
import { NFNL_MSG_BATCH_BEGIN, NFT_MSG, nftMsgType } from './nft/consts.js';
import { accept, jump } from './nft/helpers.js';
import { listRules, listTables } from './nft/list.js';
import { NetnsPool } from './test-support/kernel.js';
import type { TestNetns } from './test-support/kernel.js';

const isRoot = process.getuid?.() === 0;
const pool = new NetnsPool();
const opened: Array<{ close(): void }> = [];
afterEach(() => {
  try {
    for (const t of opened.splice(0)) t.close();
  } finally {
    pool.cleanup();
  }
});

/** A table, a chain, a rule that jumps to a chain that does not exist, another rule: message 3 fails. */
function batchWithBadRule(table: string): NftBatch {
  return new NftBatch({ family: 'ip' })
    .addTable({ name: table })
    .addChain({ table, name: 'c' })
    .addRule({ table, chain: 'c', exprs: [accept()] })
    .addRule({ table, chain: 'c', exprs: [jump('missing')] })
    .addRule({ table, chain: 'c', exprs: [accept()] });
}

/** The batch with a res_id in BATCH_BEGIN that names no nfnetlink subsystem: refused whole (EINVAL). */
function withBadResId(buf: Uint8Array): Uint8Array {
  const out = buf.slice();
  const begin = decodeMessages(out)[0];
  if (begin?.header.type !== NFNL_MSG_BATCH_BEGIN) throw new Error('not a batch');
  out[18] = 0xff; // nfgenmsg.res_id (big endian) right after the 16-byte nlmsghdr and family/version
  out[19] = 0xff;
  return out;
}

/** Give every message of a hand-sent datagram its own sequence number, from `first` on. */
function numbered(buf: Uint8Array, first: number): Uint8Array {
  const out = buf.slice();
  const dv = new DataView(out.buffer);
  let seq = first;
  for (const m of decodeMessages(out)) dv.setUint32(m.payload.byteOffset - 16 + 8, seq++, true);
  return out;
}

function noop(seq: number): Uint8Array {
  const w = new NlWriter();
  w.endMessage(w.beginMessage(NLMSG_NOOP, NLM_F.REQUEST | NLM_F.ACK, seq));
  return w.finish();
}

/**
 * The datagrams queued on fd at this moment, read without waiting: netlinkRecvAsync takes a queued
 * datagram synchronously and only otherwise waits on the event loop, which microtasks never reach.
 * The fd is left with one pending read, which nothing must answer; closing the fd ends it.
 */
async function queuedNow(b: NativeBinding, fd: number): Promise<{ got: Uint8Array[]; pending: Promise<Uint8Array | undefined> }> {
  const got: Uint8Array[] = [];
  for (;;) {
    let value: Uint8Array | undefined;
    const p = b.netlinkRecvAsync(fd).then(
      (v) => (value = v),
      () => undefined, // EBADF when the test closes the socket
    );
    await Promise.resolve();
    await Promise.resolve();
    if (value === undefined) return { got, pending: p };
    got.push(value);
  }
}

/** [seq, errno] of every NLMSG_ERROR among the datagrams, in arrival order. */
function answers(datagrams: Uint8Array[]): Array<[number, number]> {
  return datagrams
    .flatMap((d) => decodeMessages(d))
    .filter((m) => m.header.type === NLMSG_ERROR)
    .map((m) => [m.header.seq, Math.abs(decodeNlMsgErr(m).error)]);
}

function rawSocket(ns: TestNetns): { b: NativeBinding; fd: number } {
  const b = loadNative();
  const fd = b.netlinkOpen(NETLINK_NETFILTER, ns.path);
  opened.push({ close: () => b.close(fd) });
  return { b, fd };
}

function transport(ns: TestNetns): SocketTransport {
  const t = SocketTransport.open(NETLINK_NETFILTER, ns.path, loadNative());
  opened.push(t);
  return t;
}

describe.skipIf(!isRoot)('nfnetlink answers a batch inside sendto()', () => {
  it('has every answer queued when send returns, the errors of bad messages included, and nothing comes later', async () => {
    const ns = pool.create('tscbq');
    const { b, fd } = rawSocket(ns);
    // BEGIN, 5 operations with NLM_F_ACK, END: seq 100..106.
    b.netlinkSend(fd, numbered(batchWithBadRule('t').encode(), 100));
    const { got, pending } = await queuedNow(b, fd);
    // Every operation answered (an ACK each, ENOENT for the jump to a missing chain), BEGIN/END not.
    expect(answers(got)).toEqual([
      [101, 0],
      [102, 0],
      [103, 0],
      [104, 2],
      [105, 0],
    ]);
    const late = await Promise.race([pending, new Promise((r) => setTimeout(() => r('nothing'), 200))]);
    expect(late).toBe('nothing');
  });

  it('refuses a batch with a bad res_id with one EINVAL addressed to BATCH_BEGIN and answers nothing else', async () => {
    const ns = pool.create('tscbq');
    const { b, fd } = rawSocket(ns);
    b.netlinkSend(fd, numbered(withBadResId(batchWithBadRule('t').encode()), 200));
    const { got, pending } = await queuedNow(b, fd);
    expect(answers(got)).toEqual([[200, 22]]);
    const late = await Promise.race([pending, new Promise((r) => setTimeout(() => r('nothing'), 200))]);
    expect(late).toBe('nothing');
  });

  it('answers a NOOP sent next after everything it said about the batch', async () => {
    const ns = pool.create('tscbq');
    const { b, fd } = rawSocket(ns);
    // Without per-message ACKs (as nft sends) only the failing message is answered.
    b.netlinkSend(fd, numbered(batchWithBadRule('t').encode({ ack: false }), 300));
    b.netlinkSend(fd, noop(400));
    const { got } = await queuedNow(b, fd);
    expect(answers(got)).toEqual([
      [304, 2],
      [400, 0],
    ]);
  });
});

describe.skipIf(!isRoot)('requestBatch over a NETLINK_NETFILTER socket', () => {
  it('keys every answer by sequence number and names the failing message; nothing is applied', async () => {
    const ns = pool.create('tscbr');
    const t = transport(ns);
    const reply: BatchReply = await t.requestBatch(batchWithBadRule('t').encode(), { operation: 'test batch' });
    expect(reply.results.map((r) => r.status)).toEqual(['none', 'ack', 'ack', 'ack', 'error', 'ack', 'none']);
    expect(reply.rejected).toBeUndefined();
    expect(reply.errors).toHaveLength(1);
    const bad = reply.errors[0];
    expect(bad?.index).toBe(4);
    expect(bad?.error).toMatchObject({ code: 'ENOENT', seq: bad?.request.seq, requestType: nftMsgType(NFT_MSG.NEWRULE) });
    expect(bad?.error?.request).toEqual(bad?.request);
    expect(reply.bySeq.get(bad?.request.seq ?? -1)).toBe(bad);
    expect(await listTables(t, { family: 'ip' })).toEqual([]);
  });

  it('returns promptly with the BATCH_BEGIN error when the batch is refused whole, and the socket stays usable', async () => {
    const ns = pool.create('tscbr');
    const t = transport(ns);
    const started = performance.now();
    const reply = await t.requestBatch(withBadResId(batchWithBadRule('t').encode()));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(reply.rejected).toMatchObject({ code: 'EINVAL', requestType: NFNL_MSG_BATCH_BEGIN, seq: reply.results[0]?.request.seq });
    expect(reply.results.slice(1).every((r) => r.status === 'none')).toBe(true);
    // Nothing left over on the socket confuses the next exchanges.
    const ok = await t.requestBatch(new NftBatch({ family: 'ip' }).addTable({ name: 'after' }).encode());
    expect(ok.errors).toEqual([]);
    expect((await listTables(t, { family: 'ip' })).map((x) => x.name)).toEqual(['after']);
  });

  it('needs no ACK request at all: a batch sent as nft sends it completes and applies', async () => {
    const ns = pool.create('tscbr');
    const t = transport(ns);
    const b = new NftBatch({ family: 'inet' }).addTable({ name: 'quiet' }).addChain({ table: 'quiet', name: 'c' });
    const reply = await t.requestBatch(b.encode({ ack: false }));
    expect(reply.results.every((r) => r.status === 'none')).toBe(true);
    expect((await listTables(t, { family: 'inet' })).map((x) => x.name)).toEqual(['quiet']);
  });
});

describe.skipIf(!isRoot)('NftBatch.commit against the kernel', () => {
  it('fails promptly, without a message index, when the kernel refuses the batch at BATCH_BEGIN', async () => {
    const ns = pool.create('tscbc');
    const t = transport(ns);
    // The same socket, with BATCH_BEGIN's res_id spoiled on the way out.
    const spoiled: NetlinkTransport = {
      request: (msg, opts) => t.request(msg, opts),
      requestBatch: (msg, opts) => t.requestBatch(withBadResId(msg), opts),
      close: () => t.close(),
    };
    const started = performance.now();
    const e = await batchWithBadRule('t')
      .commit(spoiled)
      .then(() => undefined, (x: unknown) => x);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(e).toBeInstanceOf(NftBatchError);
    expect(e).toMatchObject({ code: 'EINVAL', index: undefined, requestType: NFNL_MSG_BATCH_BEGIN });
    expect(await listTables(t)).toEqual([]);
  });

  it('names the failing message with one exchange and applies nothing', async () => {
    const ns = pool.create('tscbc');
    const t = transport(ns);
    const e = await batchWithBadRule('t')
      .commit(t)
      .then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(NftBatchError);
    expect(e).toMatchObject({ code: 'ENOENT', index: 3, operation: 'add rule ip t c' });
    expect(await listTables(t)).toEqual([]);
  });

  it('commits a batch of 5,000 rules, which would overflow the receive buffer with an ACK each', async () => {
    const ns = pool.create('tscbc');
    const t = transport(ns);
    const b = new NftBatch({ family: 'ip' }).addTable({ name: 'big' }).addChain({ table: 'big', name: 'c' });
    for (let i = 0; i < 5000; i++) b.addRule({ table: 'big', chain: 'c', exprs: [accept()] });
    await b.commit(t);
    expect(await listRules(t, { family: 'ip', table: 'big' })).toHaveLength(5000);
    // With an ACK per message the same batch loses answers: requestBatch says so rather than wait.
    const ns2 = pool.create('tscbc');
    const t2 = transport(ns2);
    const e = await t2.requestBatch(b.encode()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ENOBUFS' });
  });
});
