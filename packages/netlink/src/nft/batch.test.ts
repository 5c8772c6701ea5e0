// NftBatch commit logic over the scripted FakeTransport: one exchange in batch mode, and the message
// the kernel rejected (or the whole batch, refused at BATCH_BEGIN) named from the keyed answers.
import { describe, expect, it } from 'vitest';
import { FakeTransport } from '../transport.js';
import type { FakeReply, NetlinkTransport } from '../transport.js';
import { decodeMessages } from '../codec/message.js';
import type { NlMessage } from '../codec/message.js';
import { NLM_F, NLMSG_NOOP } from '../codec/netlink.js';
import { NlWriter } from '../codec/writer.js';
import { NetlinkError } from '../codec/errors.js';
import { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFT_MSG, NFTA_GEN, nftMsgType } from './consts.js';
import { NftBatch, NftBatchError } from './batch.js';
import { beginNftMessage, decodeRule } from './objects.js';
import { accept, jump, matchIifname } from './helpers.js';
import { getGeneration, listRules } from './list.js';

function newGen(id: number): Uint8Array {
  const w = new NlWriter();
  const at = beginNftMessage(w, NFT_MSG.NEWGEN, 0, 0, id);
  w.putBe32(NFTA_GEN.ID, id);
  w.endMessage(at);
  return w.finish();
}

/** A fake nf_tables: answers GETGEN, rejects rules that jump to `missing`. */
function fakeKernel(): FakeTransport {
  return new FakeTransport((m: NlMessage): FakeReply | undefined => {
    if (m.header.type === nftMsgType(NFT_MSG.GETGEN)) return { messages: [newGen(7)] };
    if (m.header.type === nftMsgType(NFT_MSG.NEWRULE)) {
      const r = decodeRule(m);
      const jumpsToMissing = r.exprs.some((e) => e.kind === 'verdict' && 'chain' in e.verdict && e.verdict.chain === 'missing');
      if (jumpsToMissing) return { errno: 2, extAck: { msg: 'chain not found' } };
    }
    return undefined;
  });
}

function batch(): NftBatch {
  return new NftBatch({ family: 'inet' })
    .addTable({ name: 't' })
    .addChain({ table: 't', name: 'a' })
    .addRule({ table: 't', chain: 'a', exprs: [matchIifname('eth0'), accept()], comment: 'one' })
    .addRule({ table: 't', chain: 'a', exprs: [jump('missing')], comment: 'two' })
    .addRule({ table: 't', chain: 'a', exprs: [accept()], comment: 'three' });
}

describe('NftBatch.commit', () => {
  it('sends BEGIN, the operations without NLM_F_ACK and END in one datagram, then the end marker', async () => {
    const t = fakeKernel();
    const b = new NftBatch({ family: 'ip' }).addTable({ name: 't' }).addChain({ table: 't', name: 'c' });
    await b.commit(t);
    await b.commit(t);
    const types = t.requests.map((m) => m.header.type);
    const once = [NFNL_MSG_BATCH_BEGIN, nftMsgType(NFT_MSG.NEWTABLE), nftMsgType(NFT_MSG.NEWCHAIN), NFNL_MSG_BATCH_END];
    // No GETGEN probe: a batch refused at BATCH_BEGIN no longer hangs the commit.
    expect(types).toEqual([...once, ...once]);
    expect(t.requests.map((m) => m.header.flags & NLM_F.ACK)).toEqual(new Array(8).fill(0));
    // Per commit: the batch, then the NLMSG_NOOP whose ACK says the kernel is done with it.
    expect(t.datagrams.map((d) => decodeMessages(d).map((m) => m.header.type))).toEqual([once, [NLMSG_NOOP], once, [NLMSG_NOOP]]);
    const seqs = t.requests.slice(0, 4).map((m) => m.header.seq);
    const first = seqs[0] ?? 0;
    expect(seqs).toEqual([first, first + 1, first + 2, first + 3]);
  });

  it('asks for the BATCH_BEGIN ACK only when told to', async () => {
    const t = fakeKernel();
    await new NftBatch({ family: 'ip' }).addTable({ name: 't' }).commit(t, { ackBegin: true });
    await new NftBatch({ family: 'ip' }).addTable({ name: 't' }).commit(t);
    const begins = t.requests.filter((m) => m.header.type === NFNL_MSG_BATCH_BEGIN);
    expect(begins.map((m) => m.header.flags & NLM_F.ACK)).toEqual([NLM_F.ACK, 0]);
  });

  it('a failure addressed to BATCH_BEGIN (the commit itself) is reported without a message index', async () => {
    const t = new FakeTransport((m) => (m.header.type === NFNL_MSG_BATCH_BEGIN ? { errno: 12 } : undefined));
    const b = new NftBatch({ family: 'ip' }).addTable({ name: 't' }).addChain({ table: 't', name: 'c' });
    const e = (await b.commit(t).catch((x: unknown) => x)) as NftBatchError;
    expect(e).toBeInstanceOf(NftBatchError);
    expect(e.code).toBe('ENOMEM');
    expect(e.index).toBeUndefined();
    expect(e.requestType).toBe(NFNL_MSG_BATCH_BEGIN);
    expect(e.seq).toBe(t.requests[0]?.header.seq);
    expect(e.message).toBe('nftables batch: not enough memory (ENOMEM)');
  });

  it('fails at once when the kernel refuses the batch at BATCH_BEGIN and answers nothing else', async () => {
    // As nfnetlink does for an unknown res_id or a missing subsystem: one EINVAL/EOPNOTSUPP for
    // BATCH_BEGIN, silence for the rest even where an ACK was asked for. The fake throws if the
    // commit waits for an answer that nothing sends, so passing proves it does not wait.
    const t = new FakeTransport((m) => (m.header.type === NFNL_MSG_BATCH_BEGIN ? { errno: 22, extAck: { msg: 'bad res_id' } } : { silent: true }));
    const e = (await batch().commit(t).catch((x: unknown) => x)) as NftBatchError;
    expect(e).toBeInstanceOf(NftBatchError);
    expect(e).toMatchObject({ code: 'EINVAL', index: undefined, operation: undefined, extAck: { msg: 'bad res_id' } });
    expect(e.failures).toHaveLength(1);
  });

  it('names the message the kernel rejected, with its errno and extended ack, in one exchange', async () => {
    const t = fakeKernel();
    const err = await batch()
      .commit(t)
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NftBatchError);
    expect(err).toBeInstanceOf(NetlinkError);
    const e = err as NftBatchError;
    expect(e.index).toBe(3);
    expect(e.operation).toBe('add rule inet t a');
    expect(e.code).toBe('ENOENT');
    expect(e.extAck?.msg).toBe('chain not found');
    expect(e.message).toContain('nftables batch message 3: add rule inet t a');
    // The error answers the fifth message of the datagram (BEGIN + index 3).
    expect(e.seq).toBe(t.requests[4]?.header.seq);
    expect(e.request).toEqual({ type: nftMsgType(NFT_MSG.NEWRULE), flags: t.requests[4]?.header.flags, seq: e.seq });
    // One batch went out, nothing was re-sent to find the failing message.
    expect(t.datagrams).toHaveLength(2);
    expect(t.requests.filter((m) => m.header.type === NFNL_MSG_BATCH_BEGIN)).toHaveLength(1);
  });

  it('lists every message the kernel rejected, the first one as the error', async () => {
    const t = fakeKernel();
    const b = batch().addRule({ table: 't', chain: 'a', exprs: [jump('missing')], comment: 'four' });
    const e = (await b.commit(t).catch((x: unknown) => x)) as NftBatchError;
    expect(e.index).toBe(3);
    expect(e.failures.map((f) => [f.index, f.operation, f.error.code])).toEqual([
      [3, 'add rule inet t a', 'ENOENT'],
      [5, 'add rule inet t a', 'ENOENT'],
    ]);
  });

  it('prefers a message of its own over an error addressed to BATCH_BEGIN', async () => {
    const t = new FakeTransport((m) => {
      if (m.header.type === NFNL_MSG_BATCH_BEGIN) return { errno: 12 };
      if (m.header.type === nftMsgType(NFT_MSG.NEWCHAIN)) return { errno: 22 };
      return undefined;
    });
    const b = new NftBatch({ family: 'ip' }).addTable({ name: 't' }).addChain({ table: 't', name: 'c' });
    const e = (await b.commit(t).catch((x: unknown) => x)) as NftBatchError;
    expect(e).toMatchObject({ code: 'EINVAL', index: 1 });
    expect(e.failures.map((f) => f.index)).toEqual([undefined, 1]);
  });

  it('reports index 0 when the batch has one operation', async () => {
    const t = fakeKernel();
    const b = new NftBatch({ family: 'ip' }).addRule({ table: 't', chain: 'a', exprs: [jump('missing')] });
    const e = (await b.commit(t).catch((x: unknown) => x)) as NftBatchError;
    expect(e.index).toBe(0);
    expect(t.requests.filter((m) => m.header.type === NFNL_MSG_BATCH_BEGIN)).toHaveLength(1);
  });

  it('refuses a transport without batch mode before sending anything', async () => {
    const t = fakeKernel();
    const plain: NetlinkTransport = { request: (m, o) => t.request(m, o), close: () => t.close() };
    await expect(batch().commit(plain)).rejects.toThrow(/requestBatch/);
    expect(t.requests).toHaveLength(0);
  });

  it('sends nothing for an empty batch', async () => {
    const t = fakeKernel();
    await new NftBatch().commit(t);
    expect(t.requests).toHaveLength(0);
  });

  it('needs a family from the operation, the table added in the batch, or the batch default', () => {
    expect(() => new NftBatch().addChain({ table: 'x', name: 'c' })).toThrow(/no family/);
    const b = new NftBatch().addTable({ family: 'ip6', name: 'x' }).addChain({ table: 'x', name: 'c' });
    expect(b.operations).toEqual(['add table ip6 x', 'add chain ip6 x c']);
  });

  it('gives lookups of sets created in the same batch their NFTA_SET_ID', () => {
    const b = new NftBatch({ family: 'ip' })
      .addSet({ table: 't', name: 's', key: ['ipv4_addr'] })
      .addRule({ table: 't', chain: 'c', exprs: [{ kind: 'lookup', set: 's', sreg: 1 }] })
      .addRule({ table: 't', chain: 'c', exprs: [{ kind: 'lookup', set: 'other', sreg: 1 }] });
    const rules = b.encode();
    const decoded = decodeMessages(rules).filter((m) => m.header.type === nftMsgType(NFT_MSG.NEWRULE)).map(decodeRule);
    expect(decoded[0]?.exprs[0]).toMatchObject({ kind: 'lookup', set: 's', setId: 1 });
    expect(decoded[1]?.exprs[0]).not.toHaveProperty('setId');
  });
});

describe('listing over a transport', () => {
  it('dumps rules with the table/chain filter and decodes the replies', async () => {
    const t = new FakeTransport();
    const reply = new NftBatch({ family: 'ip' }).addRule({ table: 't', chain: 'c', exprs: [accept()], comment: 'cid' }).encode();
    const ruleMsg = decodeMessages(reply).find((m) => m.header.type === nftMsgType(NFT_MSG.NEWRULE));
    if (!ruleMsg) throw new Error('no rule in the encoded batch');
    const start = ruleMsg.payload.byteOffset - reply.byteOffset - 16;
    t.reply({ messages: [reply.slice(start, start + ruleMsg.header.len)] });
    const rules = await listRules(t, { family: 'ip', table: 't', chain: 'c' });
    expect(rules).toEqual([{ family: 'ip', table: 't', chain: 'c', exprs: [accept()], comment: 'cid' }]);
    const req = t.requests[0];
    expect(req?.header.type).toBe(nftMsgType(NFT_MSG.GETRULE));
    expect((req?.header.flags ?? 0) & NLM_F.DUMP).toBe(NLM_F.DUMP);
  });

  it('reads the generation id', async () => {
    const t = fakeKernel();
    expect(await getGeneration(t)).toEqual({ id: 7 });
  });
});
