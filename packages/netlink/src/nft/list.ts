// nftables layer: reading the ruleset back (NFT_MSG_GET* dumps of linux/netfilter/nf_tables.h),
// decoded to the same shapes the batch builder writes, so CHECK and DEL can find rules by comment
// or handle without exec'ing nft.

import { NLM_F } from '../codec/netlink.js';
import { decodeMessages } from '../codec/message.js';
import type { NlMessage } from '../codec/message.js';
import { NlWriter } from '../codec/writer.js';
import { isNetlinkError } from '../codec/errors.js';
import type { NetlinkTransport } from '../transport.js';
import { NFT_MSG, NFTA_CHAIN, NFTA_RULE, NFTA_SET, NFTA_SET_ELEM_LIST, NFTA_TABLE, nftMsgType } from './consts.js';
import type { NftFamily } from './consts.js';
import { beginNftMessage, decodeChain, decodeGen, decodeRule, decodeSet, decodeSetElems, decodeTable, familyNum } from './objects.js';
import type { NftChain, NftGen, NftRule, NftSet, NftSetElem, NftTable } from './objects.js';

function one(bytes: Uint8Array): NlMessage {
  const m = decodeMessages(bytes)[0];
  if (m === undefined) throw new TypeError('empty netlink message');
  return m;
}

async function dump(
  transport: NetlinkTransport,
  msg: number,
  family: NftFamily | undefined,
  attrs: (w: NlWriter) => void,
  operation: string,
): Promise<NlMessage[]> {
  const w = new NlWriter();
  const at = beginNftMessage(w, msg, family === undefined ? 0 : familyNum(family), NLM_F.REQUEST | NLM_F.DUMP);
  attrs(w);
  w.endMessage(at);
  const replies = await transport.request(w.finish(), { dump: true, operation });
  // Each GET is answered with the matching NEW type (GETRULE -> NEWRULE); keep only those.
  const want = nftMsgType(msg - 1);
  return replies.map(one).filter((m) => m.header.type === want);
}

/** A dump filtered by a table or chain that does not exist is an empty answer, not an error. */
async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (e) {
    if (isNetlinkError(e, 'ENOENT')) return [];
    throw e;
  }
}

export async function listTables(transport: NetlinkTransport, opts: { family?: NftFamily } = {}): Promise<NftTable[]> {
  const msgs = await dump(transport, NFT_MSG.GETTABLE, opts.family, () => {}, 'list tables');
  return msgs.map(decodeTable);
}

export async function listChains(
  transport: NetlinkTransport,
  opts: { family?: NftFamily; table?: string } = {},
): Promise<NftChain[]> {
  const msgs = await orEmpty(
    dump(transport, NFT_MSG.GETCHAIN, opts.family, (w) => {
      if (opts.table !== undefined) w.putString(NFTA_CHAIN.TABLE, opts.table);
    }, 'list chains'),
  );
  return msgs.map(decodeChain).filter((c) => opts.table === undefined || c.table === opts.table);
}

/** Rules of a family, table or chain, in chain order, each with its handle and comment. */
export async function listRules(
  transport: NetlinkTransport,
  opts: { family?: NftFamily; table?: string; chain?: string } = {},
): Promise<NftRule[]> {
  const msgs = await orEmpty(
    dump(transport, NFT_MSG.GETRULE, opts.family, (w) => {
      if (opts.table !== undefined) w.putString(NFTA_RULE.TABLE, opts.table);
      if (opts.chain !== undefined) w.putString(NFTA_RULE.CHAIN, opts.chain);
    }, 'list rules'),
  );
  return msgs
    .map(decodeRule)
    .filter((r) => (opts.table === undefined || r.table === opts.table) && (opts.chain === undefined || r.chain === opts.chain));
}

export async function listSets(
  transport: NetlinkTransport,
  opts: { family?: NftFamily; table?: string } = {},
): Promise<NftSet[]> {
  const msgs = await orEmpty(
    dump(transport, NFT_MSG.GETSET, opts.family, (w) => {
      if (opts.table !== undefined) w.putString(NFTA_SET.TABLE, opts.table);
    }, 'list sets'),
  );
  return msgs.map(decodeSet).filter((s) => opts.table === undefined || s.table === opts.table);
}

export async function listElements(
  transport: NetlinkTransport,
  opts: { family: NftFamily; table: string; set: string },
): Promise<NftSetElem[]> {
  const msgs = await orEmpty(
    dump(transport, NFT_MSG.GETSETELEM, opts.family, (w) => {
      w.putString(NFTA_SET_ELEM_LIST.TABLE, opts.table);
      w.putString(NFTA_SET_ELEM_LIST.SET, opts.set);
    }, `list elements of ${opts.table} ${opts.set}`),
  );
  return msgs.flatMap((m) => decodeSetElems(m).elements);
}

/** Rules of a chain whose comment equals `comment` (or satisfies the predicate). */
export async function findRulesByComment(
  transport: NetlinkTransport,
  where: { family: NftFamily; table: string; chain: string },
  comment: string | ((c: string) => boolean),
): Promise<NftRule[]> {
  const match = typeof comment === 'string' ? (c: string) => c === comment : comment;
  const rules = await listRules(transport, where);
  return rules.filter((r) => r.comment !== undefined && match(r.comment));
}

/** Does the table exist? (A GETTABLE for one name answers ENOENT when it does not.) */
export async function tableExists(transport: NetlinkTransport, t: { family: NftFamily; name: string }): Promise<boolean> {
  const w = new NlWriter();
  const at = beginNftMessage(w, NFT_MSG.GETTABLE, familyNum(t.family), NLM_F.REQUEST | NLM_F.ACK);
  w.putString(NFTA_TABLE.NAME, t.name);
  w.endMessage(at);
  try {
    await transport.request(w.finish(), { operation: `get table ${t.family} ${t.name}` });
    return true;
  } catch (e) {
    if (isNetlinkError(e, 'ENOENT')) return false;
    throw e;
  }
}

/** The ruleset generation (NFT_MSG_GETGEN); every committed batch increments it. */
export async function getGeneration(transport: NetlinkTransport): Promise<NftGen> {
  const w = new NlWriter();
  const at = beginNftMessage(w, NFT_MSG.GETGEN, 0, NLM_F.REQUEST | NLM_F.ACK);
  w.endMessage(at);
  const replies = await transport.request(w.finish(), { operation: 'get nftables generation' });
  const gen = replies.map(one).find((m) => m.header.type === nftMsgType(NFT_MSG.NEWGEN));
  if (gen === undefined) throw new TypeError('the kernel answered GETGEN without NEWGEN');
  return decodeGen(gen);
}
