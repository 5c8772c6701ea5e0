// NftBatch commit logic over the scripted FakeTransport: ACK collection, the one-time probe, and
// locating the message the kernel rejected.
import { describe, expect, it } from 'vitest';
import { FakeTransport } from '../transport.js';
import type { FakeReply } from '../transport.js';
import { decodeMessages } from '../codec/message.js';
import type { NlMessage } from '../codec/message.js';
import { NLM_F } from '../codec/netlink.js';
import { NlWriter } from '../codec/writer.js';
import { NetlinkError } from '../codec/errors.js';
import { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFT_MSG, NFTA_GEN, nftMsgType } from './consts.js';
import { NftBatch, NftBatchError, kernelAcksBatchBegin } from './batch.js';
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
  it('sends BEGIN, every operation with NLM_F_ACK, END, after a one-time GETGEN probe', async () => {
    const t = fakeKernel();
    const b = new NftBatch({ family: 'ip' }).addTable({ name: 't' }).addChain({ table: 't', name: 'c' });
    await b.commit(t, { ackBegin: false });
    await b.commit(t, { ackBegin: false });
    const types = t.requests.map((m) => m.header.type);
    const gen = nftMsgType(NFT_MSG.GETGEN);
    const once = [NFNL_MSG_BATCH_BEGIN, nftMsgType(NFT_MSG.NEWTABLE), nftMsgType(NFT_MSG.NEWCHAIN), NFNL_MSG_BATCH_END];
    expect(types).toEqual([gen, ...once, ...once]);
    const acks = t.requests.slice(1, 5).map((m) => (m.header.flags & NLM_F.ACK) !== 0);
    expect(acks).toEqual([false, true, true, false]);
    // One sendmsg per batch: the sequence numbers are consecutive within it.
    const seqs = t.requests.slice(1, 5).map((m) => m.header.seq);
    expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2, (seqs[0] ?? 0) + 3]);
  });

  it('asks for the BATCH_BEGIN ACK only where the kernel gives one (Linux 6.10+)', async () => {
    const t = fakeKernel();
    await new NftBatch({ family: 'ip' }).addTable({ name: 't' }).commit(t, { ackBegin: true });
    const begin = t.requests.find((m) => m.header.type === NFNL_MSG_BATCH_BEGIN);
    expect((begin?.header.flags ?? 0) & NLM_F.ACK).toBe(NLM_F.ACK);
    expect(kernelAcksBatchBegin('6.18.44-fc-v857')).toBe(true);
    expect(kernelAcksBatchBegin('6.10.0')).toBe(true);
    expect(kernelAcksBatchBegin('6.9.12-200.fc40.x86_64')).toBe(false);
    expect(kernelAcksBatchBegin('5.15.0-91-generic')).toBe(false);
    expect(kernelAcksBatchBegin('7.0.1')).toBe(true);
    expect(kernelAcksBatchBegin('weird')).toBe(false);
  });

  it('a failure addressed to BATCH_BEGIN (the commit itself) is reported without a message index', async () => {
    // The kernel answers a failed commit against BATCH_BEGIN and still ACKs every message.
    const t = new FakeTransport((m) => {
      if (m.header.type === nftMsgType(NFT_MSG.GETGEN)) return { messages: [newGen(1)] };
      // Only the committing batch asks for the BEGIN ACK; validation-only prefixes do not.
      if (m.header.type === NFNL_MSG_BATCH_BEGIN && (m.header.flags & NLM_F.ACK) !== 0) return { errno: 12 };
      return undefined;
    });
    const b = new NftBatch({ family: 'ip' }).addTable({ name: 't' }).addChain({ table: 't', name: 'c' });
    const e = (await b.commit(t, { ackBegin: true }).catch((x: unknown) => x)) as NftBatchError;
    expect(e).toBeInstanceOf(NftBatchError);
    expect(e.code).toBe('ENOMEM');
    expect(e.index).toBeUndefined();
  });

  it('names the message the kernel rejected, with its errno and extended ack', async () => {
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
    // Locating the failure only ever validated prefixes: none of those checks carried BATCH_END.
    const ends = t.requests.filter((m) => m.header.type === NFNL_MSG_BATCH_END);
    expect(ends).toHaveLength(1);
  });

  it('reports index 0 without extra round trips when the batch has one operation', async () => {
    const t = fakeKernel();
    const b = new NftBatch({ family: 'ip' }).addRule({ table: 't', chain: 'a', exprs: [jump('missing')] });
    const e = (await b.commit(t).catch((x: unknown) => x)) as NftBatchError;
    expect(e.index).toBe(0);
    expect(t.requests.filter((m) => m.header.type === NFNL_MSG_BATCH_BEGIN)).toHaveLength(1);
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
