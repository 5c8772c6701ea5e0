// Floor 3 (plugins/portmap): removing stale UDP conntrack entries for newly mapped host ports, as the
// reference's portmap does after ADD (a UDP "connection" to the port made before the mapping existed
// would otherwise keep bypassing the DNAT). Spoken directly in ctnetlink (NFNL_SUBSYS_CTNETLINK of
// linux/netfilter/nfnetlink_conntrack.h) over the same NETLINK_NETFILTER socket as nf_tables: one
// dump filtered in the kernel by protocol and original destination port (CTA_FILTER, Linux 5.8+;
// older kernels ignore the filter and the entries are filtered here), then one IPCTNL_MSG_CT_DELETE
// per entry by its original tuple, all in a single datagram.
import { AttrMap, NLA_F_NESTED, NLM_F, NlWriter, isNetlinkError, messageBody } from '@tscni/netlink';
import type { NetlinkTransport } from '@tscni/netlink';

const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG = { NEW: 0, GET: 1, DELETE: 2 } as const;
const CTA = { TUPLE_ORIG: 1, ZONE: 18, FILTER: 25 } as const;
const CTA_TUPLE = { IP: 1, PROTO: 2 } as const;
const CTA_PROTO = { NUM: 1, SRC_PORT: 2, DST_PORT: 3 } as const;
const CTA_FILTER_ATTR = { ORIG_FLAGS: 1, REPLY_FLAGS: 2 } as const;
/** CTA_FILTER_F_CTA_PROTO_NUM | CTA_FILTER_F_CTA_PROTO_DST_PORT. */
const FILTER_PROTO_NUM_DST_PORT = (1 << 3) | (1 << 5);
const NFGENMSG_LEN = 4;
const AF = { 4: 2, 6: 10 } as const;
const IPPROTO_UDP = 17;

function msgType(msg: number): number {
  return (NFNL_SUBSYS_CTNETLINK << 8) | msg;
}

function begin(w: NlWriter, msg: number, flags: number, family: number): ReturnType<NlWriter['beginMessage']> {
  const at = w.beginMessage(msgType(msg), flags);
  w.writeU8(family).writeU8(0).writeBe16(0); // struct nfgenmsg: family, NFNETLINK_V0, res_id
  return at;
}

/** The dump request: UDP entries whose original destination port is `port`. */
export function encodeUdpDump(version: 4 | 6, port: number): Uint8Array {
  const w = new NlWriter();
  const at = begin(w, IPCTNL_MSG.GET, NLM_F.REQUEST | NLM_F.DUMP, AF[version]);
  w.nested(CTA.TUPLE_ORIG | NLA_F_NESTED, () => {
    w.nested(CTA_TUPLE.PROTO | NLA_F_NESTED, () => {
      w.putU8(CTA_PROTO.NUM, IPPROTO_UDP);
      w.putBe16(CTA_PROTO.DST_PORT, port);
    });
  });
  w.nested(CTA.FILTER | NLA_F_NESTED, () => {
    w.putU32(CTA_FILTER_ATTR.ORIG_FLAGS, FILTER_PROTO_NUM_DST_PORT);
    w.putU32(CTA_FILTER_ATTR.REPLY_FLAGS, 0);
  });
  w.endMessage(at);
  return w.finish();
}

/** One dumped entry: enough to delete it again. */
export interface CtEntry {
  readonly family: number;
  readonly proto: number | undefined;
  readonly dstPort: number | undefined;
  /** The CTA_TUPLE_ORIG payload, sent back verbatim to delete the entry. */
  readonly tupleOrig: Uint8Array;
  readonly zone: number | undefined;
}

export function decodeCtEntry(msg: Uint8Array): CtEntry | undefined {
  const body = messageBody(msg);
  if (body.length < NFGENMSG_LEN) return undefined;
  const attrs = AttrMap.parse(body.subarray(NFGENMSG_LEN));
  const tupleOrig = attrs.get(CTA.TUPLE_ORIG);
  if (tupleOrig === undefined) return undefined;
  const proto = AttrMap.parse(tupleOrig).nested(CTA_TUPLE.PROTO);
  return {
    family: body[0] ?? 0,
    proto: proto?.u8(CTA_PROTO.NUM),
    dstPort: proto?.be16(CTA_PROTO.DST_PORT),
    tupleOrig: tupleOrig.slice(),
    zone: attrs.be16(CTA.ZONE),
  };
}

export function encodeDelete(e: CtEntry): Uint8Array {
  const w = new NlWriter();
  const at = begin(w, IPCTNL_MSG.DELETE, NLM_F.REQUEST | NLM_F.ACK, e.family);
  w.putBytes(CTA.TUPLE_ORIG | NLA_F_NESTED, e.tupleOrig);
  if (e.zone !== undefined) w.putBe16(CTA.ZONE, e.zone);
  w.endMessage(at);
  return w.finish();
}

/**
 * Deletes the conntrack entries of UDP flows to any of `ports` (original direction) for one IP
 * version. Returns how many were deleted. Entries that vanish meanwhile are not an error.
 */
export async function deleteUdpConntrack(t: NetlinkTransport, version: 4 | 6, ports: readonly number[]): Promise<number> {
  const victims: CtEntry[] = [];
  for (const port of new Set(ports)) {
    const replies = await t.request(encodeUdpDump(version, port), { dump: true, operation: `conntrack dump udp dport ${port}` });
    for (const r of replies) {
      const e = decodeCtEntry(r);
      if (e !== undefined && e.proto === IPPROTO_UDP && e.dstPort === port && e.family === AF[version]) victims.push(e);
    }
  }
  if (victims.length === 0) return 0;
  const parts = victims.map(encodeDelete);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  try {
    await t.request(all, { operation: 'conntrack delete' });
  } catch (e) {
    if (!isNetlinkError(e, 'ENOENT')) throw e;
  }
  return victims.length;
}
