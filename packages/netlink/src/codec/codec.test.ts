import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NlWriter, buildMessage } from './writer.js';
import { AttrMap, iterAttrs, NetlinkDecodeError } from './reader.js';
import {
  decodeMessages,
  decodeNlDone,
  decodeNlMsgErr,
  decodeNlMsgHdr,
  encodeMessages,
  encodeNlDone,
  encodeNlMsgErr,
  encodeNlMsgHdr,
} from './message.js';
import { NLA_F_NESTED, NLM_F, NLMSG_ERROR } from './netlink.js';
import { NetlinkError, describeErrno } from './errors.js';
import { formatIp, parseCidr, parseIp, parseMac, formatMac, tryParseIp } from './ip.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('nlmsghdr', () => {
  it('encodes and decodes in pairs', () => {
    const h = { len: 32, type: 16, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 7, pid: 0 };
    const b = encodeNlMsgHdr(h);
    expect(hex(b)).toBe('20000000' + '1000' + '0500' + '07000000' + '00000000');
    expect(decodeNlMsgHdr(b)).toEqual(h);
  });
});

describe('attribute writer', () => {
  it('aligns to 4 bytes and counts padding inside messages and nests like iproute2', () => {
    const msg = buildMessage(16, NLM_F.REQUEST, (w) => {
      w.writeZeros(16);
      w.putString(3, 'ab'); // len 7, padded to 8
      w.nested(18, (n) => {
        n.putStringRaw(1, 'veth'); // len 8
        n.putU8(2, 1); // len 5 + 3 pad
      });
    });
    expect(msg.length).toBe(16 + 16 + 8 + 4 + 8 + 8);
    expect(decodeNlMsgHdr(msg).len).toBe(msg.length);
    const [m] = decodeMessages(msg);
    const attrs = AttrMap.parse(m!.payload.subarray(16));
    expect(attrs.str(3)).toBe('ab');
    const info = attrs.nested(18)!;
    expect(info.str(1)).toBe('veth');
    expect(info.u8(2)).toBe(1);
    // nested length covers the inner padding
    expect(hex(msg.subarray(40, 44))).toBe('14001200');
  });

  it('writes every typed helper and reads it back', () => {
    const w = new NlWriter(8); // small start forces growth
    w.putU8(1, 0xab)
      .putU16(2, 0xbeef)
      .putU32(3, 0xdeadbeef)
      .putS32(4, -5)
      .putU64(5, 0x1122334455667788n)
      .putBe16(6, 4789)
      .putBe32(7, 0x0a000001)
      .putIp(8, '10.1.2.3')
      .putIp(9, 'fe80::1')
      .putFlag(10)
      .putBytes(11, Uint8Array.of(1, 2, 3));
    const nest = w.beginNested(12 | NLA_F_NESTED);
    w.putU32(1, 42);
    w.endNested(nest);
    const a = AttrMap.parse(w.finish());
    expect(a.u8(1)).toBe(0xab);
    expect(a.u16(2)).toBe(0xbeef);
    expect(a.u32(3)).toBe(0xdeadbeef);
    expect(a.s32(4)).toBe(-5);
    expect(a.u64(5)).toBe(0x1122334455667788n);
    expect(a.be16(6)).toBe(4789);
    expect(a.get(6)).toEqual(Uint8Array.of(0x12, 0xb5));
    expect(a.be32(7)).toBe(0x0a000001);
    expect(a.ip(8)).toBe('10.1.2.3');
    expect(a.ip(9)).toBe('fe80::1');
    expect(a.flag(10)).toBe(true);
    expect(a.flag(99)).toBe(false);
    expect(a.get(11)).toEqual(Uint8Array.of(1, 2, 3));
    const nested = [...a].find((x) => x.type === 12)!;
    expect(nested.nestedFlag).toBe(true);
    expect(a.nested(12)!.u32(1)).toBe(42);
    expect(a.u32(404)).toBeUndefined();
  });

  it('keeps repeated attributes in order', () => {
    const w = new NlWriter();
    w.putU16(1, 1).putU16(1, 2).putU16(1, 3);
    const a = AttrMap.parse(w.finish());
    expect(a.all(1).map((d) => d[0])).toEqual([1, 2, 3]);
    expect(a.u16(1)).toBe(3);
  });

  it('rejects truncated attributes', () => {
    const w = new NlWriter();
    w.putU32(1, 5);
    const b = w.finish();
    expect(() => [...iterAttrs(b.subarray(0, 6))]).toThrow(NetlinkDecodeError);
    const bad = b.slice();
    bad[0] = 2; // nla_len below the header size
    expect(() => [...iterAttrs(bad)]).toThrow(NetlinkDecodeError);
  });

  it('round-trips arbitrary attribute sets (decode -> encode reproduces bytes)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 0x3fff }), fc.uint8Array({ maxLength: 40 })), { maxLength: 12 }),
        (attrs) => {
          const w = new NlWriter();
          for (const [t, d] of attrs) w.putBytes(t, d);
          const bytes = w.finish();
          const again = new NlWriter();
          for (const a of iterAttrs(bytes)) again.putBytes(a.type, a.data);
          expect(hex(again.finish())).toBe(hex(bytes));
        },
      ),
    );
  });
});

describe('messages', () => {
  it('splits a multi-message datagram and joins it back', () => {
    const a = buildMessage(16, NLM_F.MULTI, (w) => w.putString(3, 'x'));
    const b = buildMessage(3, NLM_F.MULTI, (w) => w.writeS32(0));
    const both = new Uint8Array([...a, ...b]);
    const msgs = decodeMessages(both);
    expect(msgs.map((m) => m.header.type)).toEqual([16, 3]);
    expect(hex(encodeMessages(msgs))).toBe(hex(both));
  });

  it('rejects a length that overruns the datagram', () => {
    const a = buildMessage(16, 0, (w) => w.writeZeros(16));
    expect(() => decodeMessages(a.subarray(0, 20))).toThrow(NetlinkDecodeError);
  });

  it('decodes NLMSG_ERROR with extended ack (capped and uncapped) and encodes it back', () => {
    const request = { len: 40, type: 16, flags: 0x605, seq: 9, pid: 0 };
    const extAck = { msg: 'Unknown device type', offset: 36 };
    const capped = encodeNlMsgErr({ error: -95, request, extAck });
    const [m] = decodeMessages(capped);
    expect(m!.header.type).toBe(NLMSG_ERROR);
    expect(m!.header.flags).toBe(NLM_F.CAPPED | NLM_F.ACK_TLVS);
    expect(decodeNlMsgErr(m!)).toEqual({ error: -95, request, extAck });

    const echo = buildMessage(16, 0x605, (w) => w.writeZeros(16).putString(3, 'eth0'));
    const req2 = decodeNlMsgHdr(echo);
    const full = encodeNlMsgErr({ error: -17, request: req2, extAck: { msg: 'exists' } }, { echo });
    const d = decodeNlMsgErr(decodeMessages(full)[0]!);
    expect(d.error).toBe(-17);
    expect(d.extAck?.msg).toBe('exists');
    expect(hex(encodeNlMsgErr(d, { echo }))).toBe(hex(full));
  });

  it('decodes NLMSG_DONE with and without an error', () => {
    expect(decodeNlDone(decodeMessages(encodeNlDone({ error: 0 }, 5))[0]!)).toEqual({ error: 0 });
    const e = { error: -22, extAck: { msg: 'bad filter' } };
    expect(decodeNlDone(decodeMessages(encodeNlDone(e, 5))[0]!)).toEqual(e);
  });
});

describe('NetlinkError', () => {
  it('keeps errno, code and the extended ack message', () => {
    const e = new NetlinkError(-17, { extAck: { msg: 'File exists' }, operation: 'link add' });
    expect(e).toBeInstanceOf(Error);
    expect(e.errno).toBe(17);
    expect(e.code).toBe('EEXIST');
    expect(e.extAck?.msg).toBe('File exists');
    expect(e.message).toBe('link add: File exists (EEXIST)');
    expect(new NetlinkError(95).code).toBe('EOPNOTSUPP');
    expect(describeErrno(19).code).toBe('ENODEV');
  });
});

// Text rules are @tscni/ip's (tested there against Go); here what netlink adds on top.
describe('ip text', () => {
  it.each([
    ['10.0.0.1', '0a000001'],
    ['fe80::1', 'fe800000000000000000000000000001'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
  ])('%s keeps its byte length through text', (text, bytes) => {
    expect(hex(parseIp(text))).toBe(bytes);
    expect(formatIp(parseIp(text))).toBe(text);
  });
  it('rejects malformed addresses', () => {
    expect(tryParseIp('01.2.3.4')).toBeUndefined();
    expect(() => parseIp('1::2::3')).toThrow(TypeError);
  });
  it('round-trips random addresses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(hex(parseIp(formatIp(b)))).toBe(hex(b));
      }),
    );
  });
  it('parses CIDRs (a bare address is its full-length prefix) and MACs', () => {
    expect(parseCidr('10.1.2.3/24')).toEqual({ address: '10.1.2.3', prefixLen: 24, family: 2 });
    expect(parseCidr('fd00::1')).toEqual({ address: 'fd00::1', prefixLen: 128, family: 10 });
    expect(parseCidr('::ffff:10.1.2.3/120')).toEqual({ address: '::ffff:10.1.2.3', prefixLen: 120, family: 10 });
    expect(() => parseCidr('10.0.0.1/33')).toThrow(/invalid prefix length/);
    expect(() => parseCidr('10.0.0.256/24')).toThrow(/invalid IP address "10.0.0.256"/);
    expect(formatMac(parseMac('AA:bb:0c:dd:ee:0F'))).toBe('aa:bb:0c:dd:ee:0f');
    expect(() => parseMac('aa:bb')).toThrow(TypeError);
  });
});
