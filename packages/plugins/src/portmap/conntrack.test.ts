// ctnetlink for the stale-UDP cleanup: the filtered dump request, entry decoding, and deletion by
// original tuple — including entries a kernel without CTA_FILTER returns unfiltered.
import { describe, expect, it } from 'vitest';
import { AttrMap, FakeTransport, NLA_F_NESTED, NLM_F, NlWriter, messageBody } from '@tscni/netlink';
import type { NlMessage } from '@tscni/netlink';
import { decodeCtEntry, deleteUdpConntrack, encodeUdpDump } from './conntrack.js';

const CT_NEW = (1 << 8) | 0;
const CT_GET = (1 << 8) | 1;
const CT_DELETE = (1 << 8) | 2;

/** A conntrack entry as the kernel dumps it (IPCTNL_MSG_CT_NEW), IPv4. */
function entry(proto: number, sport: number, dport: number, zone?: number): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(CT_NEW, NLM_F.MULTI);
  w.writeU8(2).writeU8(0).writeBe16(0);
  w.nested(1 | NLA_F_NESTED, () => {
    w.nested(1 | NLA_F_NESTED, () => {
      w.putBytes(1, Uint8Array.of(10, 0, 0, 9));
      w.putBytes(2, Uint8Array.of(10, 0, 0, 1));
    });
    w.nested(2 | NLA_F_NESTED, () => {
      w.putU8(1, proto);
      w.putBe16(2, sport);
      w.putBe16(3, dport);
    });
  });
  if (zone !== undefined) w.putBe16(18, zone);
  w.putBe32(3, 0x8); // CTA_STATUS
  w.endMessage(at);
  return w.finish();
}

describe('conntrack (ctnetlink)', () => {
  it('asks the kernel for UDP entries to one port (CTA_FILTER on proto and destination port)', () => {
    const m = encodeUdpDump(6, 8081);
    const view = new DataView(m.buffer, m.byteOffset);
    expect(view.getUint16(4, true)).toBe(CT_GET);
    expect(view.getUint16(6, true) & NLM_F.DUMP).toBe(NLM_F.DUMP);
    const body = messageBody(m);
    expect(body[0]).toBe(10); // AF_INET6
    const attrs = AttrMap.parse(body.subarray(4));
    const proto = AttrMap.parse(attrs.get(1)!).nested(2)!;
    expect(proto.u8(1)).toBe(17);
    expect(proto.be16(3)).toBe(8081);
    const filter = attrs.nested(25)!;
    expect(filter.u32(1)).toBe((1 << 3) | (1 << 5));
    expect(filter.u32(2)).toBe(0);
  });

  it('decodes dumped entries', () => {
    expect(decodeCtEntry(entry(17, 40001, 8081, 3))).toMatchObject({ family: 2, proto: 17, dstPort: 8081, zone: 3 });
  });

  it('deletes each matching entry by its original tuple, in one datagram; an entry already gone is fine', async () => {
    const sent: NlMessage[] = [];
    const t = new FakeTransport((m) => {
      sent.push(m);
      if (m.header.type === CT_GET) {
        // An older kernel ignores the filter: the other port and TCP come back too.
        return { messages: [entry(17, 40001, 8081), entry(17, 40002, 9999), entry(6, 40003, 8081), entry(17, 40004, 8081, 7)] };
      }
      if (m.header.type === CT_DELETE && sent.filter((x) => x.header.type === CT_DELETE).length === 2) return { errno: 2 };
      return undefined;
    });
    expect(await deleteUdpConntrack(t, 4, [8081, 8081])).toBe(2);
    const deletes = sent.filter((m) => m.header.type === CT_DELETE);
    expect(deletes).toHaveLength(2);
    const tuples = deletes.map((d) => AttrMap.parse(d.payload.subarray(4)));
    expect(tuples.map((a) => AttrMap.parse(a.get(1)!).nested(2)?.be16(2))).toEqual([40001, 40004]);
    expect(tuples.map((a) => a.be16(18))).toEqual([undefined, 7]);
    // One dump for the repeated port.
    expect(sent.filter((m) => m.header.type === CT_GET)).toHaveLength(1);
  });

  it('sends nothing to delete when nothing matches', async () => {
    const t = new FakeTransport(() => undefined);
    expect(await deleteUdpConntrack(t, 6, [53])).toBe(0);
    expect(t.requests.map((m) => m.header.type)).toEqual([CT_GET]);
  });
});
