import { describe, expect, it } from 'vitest';
import {
  DhcpDecodeError,
  MessageType,
  Opt,
  decodeClasslessRoutes,
  decodeIPs,
  decodeMessage,
  decodeStaticRoutes,
  decodeText,
  decodeU32,
  encodeClasslessRoutes,
  encodeMessage,
  getOption,
  ipOption,
  maskPrefix,
  messageType,
  textOption,
  u32Option,
} from './message.js';
import type { DhcpMessage } from './message.js';

/** Concatenates hex fragments (spaces ignored) into bytes. */
function hex(...parts: string[]): Uint8Array {
  const s = parts.join('').replace(/\s+/g, '');
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}
const zeros = (n: number): string => '00'.repeat(n);
const ascii = (s: string): string => Buffer.from(s).toString('hex');

// A DHCPOFFER laid out by hand from RFC 2131 §2 / RFC 2132, independent of the encoder.
const OFFER = hex(
  '02 01 06 00', // op=BOOTREPLY htype=ethernet hlen=6 hops=0
  '3903f326', // xid
  '0000 8000', // secs, flags=broadcast
  '00000000 c0a80064 c0a80001 00000000', // ciaddr yiaddr=192.168.0.100 siaddr=192.168.0.1 giaddr
  '00053c048d59', zeros(10), // chaddr
  zeros(64), zeros(128), // sname, file
  '63825363', // magic cookie
  '3501 02', // 53 message type = OFFER
  '0104 ffffff00', // 1 subnet mask
  '0304 c0a80001', // 3 router
  '0608 c0a80001 08080808', // 6 DNS servers
  '0f07', ascii('example'), // 15 domain name
  '3304 00000e10', // 51 lease time 3600
  '3604 c0a80001', // 54 server id
  '3a04 00000708', // 58 T1 1800
  '3b04 00000c4e', // 59 T2 3150
  '790d 18 0a0b0c c0a80001 00 c0a80001', // 121: 10.11.12.0/24 via .1, default via .1
  'ff',
);

const CHADDR = hex('00053c048d59');

// The DHCPDISCOVER our client sends, byte for byte: options then END, zero-padded to 300 bytes.
const DISCOVER_OPTIONS = hex(
  '3501 01',
  '3d0c', ascii('c1/net/eth0x'),
  '3704 01 03 3a 3b',
  '0c04', ascii('pod1'),
  'ff',
);
const DISCOVER = hex(
  '01 01 06 00',
  'deadbeef',
  '0000 8000',
  zeros(16),
  '00053c048d59', zeros(10),
  zeros(64), zeros(128),
  '63825363',
  Buffer.from(DISCOVER_OPTIONS).toString('hex'),
  zeros(300 - 240 - DISCOVER_OPTIONS.length),
);

describe('DHCP message codec', () => {
  it('decodes an OFFER fixture', () => {
    const m = decodeMessage(OFFER);
    expect(m).toMatchObject({
      op: 2,
      htype: 1,
      hlen: 6,
      xid: 0x3903f326,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '192.168.0.100',
      siaddr: '192.168.0.1',
      giaddr: '0.0.0.0',
      sname: '',
      file: '',
    });
    expect([...m.chaddr]).toEqual([...CHADDR]);
    expect(messageType(m)).toBe(MessageType.Offer);
    expect(decodeIPs(getOption(m, Opt.SubnetMask))).toEqual(['255.255.255.0']);
    expect(decodeIPs(getOption(m, Opt.Router))).toEqual(['192.168.0.1']);
    expect(decodeIPs(getOption(m, Opt.DomainNameServer))).toEqual(['192.168.0.1', '8.8.8.8']);
    expect(decodeText(getOption(m, Opt.DomainName))).toBe('example');
    expect(decodeU32(getOption(m, Opt.LeaseTime))).toBe(3600);
    expect(decodeU32(getOption(m, Opt.RenewalTime))).toBe(1800);
    expect(decodeU32(getOption(m, Opt.RebindingTime))).toBe(3150);
    expect(decodeIPs(getOption(m, Opt.ServerId))).toEqual(['192.168.0.1']);
    expect(decodeClasslessRoutes(getOption(m, Opt.ClasslessStaticRoute))).toEqual([
      { dst: '10.11.12.0/24', gw: '192.168.0.1' },
      { dst: '0.0.0.0/0', gw: '192.168.0.1' },
    ]);
    expect(m.options.map(([c]) => c)).toEqual([53, 1, 3, 6, 15, 51, 54, 58, 59, 121]);
  });

  it('re-encodes the OFFER byte for byte', () => {
    expect(Buffer.from(encodeMessage(decodeMessage(OFFER))).toString('hex')).toBe(Buffer.from(OFFER).toString('hex'));
  });

  it('encodes a DISCOVER byte for byte, padded to the 300-byte BOOTP minimum', () => {
    const m: DhcpMessage = {
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0xdeadbeef,
      secs: 0,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: CHADDR,
      sname: '',
      file: '',
      options: [
        [Opt.MessageType, Uint8Array.of(MessageType.Discover)],
        [Opt.ClientId, textOption('c1/net/eth0x')],
        [Opt.ParameterRequestList, Uint8Array.of(1, 3, 58, 59)],
        [Opt.HostName, textOption('pod1')],
      ],
    };
    const bytes = encodeMessage(m);
    expect(bytes.length).toBe(300);
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(DISCOVER).toString('hex'));
  });

  it('splits options over 255 bytes and concatenates them again (RFC 3396)', () => {
    const long = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    const base = decodeMessage(DISCOVER);
    const bytes = encodeMessage({ ...base, options: [[Opt.UserClass, long]] });
    // 3 chunks: 255 + 255 + 90, each with its own code and length.
    expect([bytes[240], bytes[241]]).toEqual([77, 255]);
    expect([bytes[240 + 257], bytes[240 + 258]]).toEqual([77, 255]);
    expect([bytes[240 + 514], bytes[240 + 515]]).toEqual([77, 90]);
    expect([...getOption(decodeMessage(bytes), Opt.UserClass)!]).toEqual([...long]);
  });

  it('reads options moved into file and sname by option 52', () => {
    const bytes = encodeMessage(decodeMessage(DISCOVER));
    bytes.fill(0, 240); // drop the main option area
    bytes.set(hex('3401 03 3501 05 ff'), 240); // overload both, message type ACK
    bytes.set(hex('3304 0000003c ff'), 108); // file: lease time 60
    bytes.set(hex('0c03', ascii('abc'), 'ff'), 44); // sname: host name
    const m = decodeMessage(bytes);
    expect(messageType(m)).toBe(MessageType.Ack);
    expect(decodeU32(getOption(m, Opt.LeaseTime))).toBe(60);
    expect(decodeText(getOption(m, Opt.HostName))).toBe('abc');
    expect(m.file).toBe('');
    expect(m.sname).toBe('');
  });

  it('rejects short messages, missing cookies and options running past the end', () => {
    expect(() => decodeMessage(OFFER.subarray(0, 200))).toThrow(DhcpDecodeError);
    const noCookie = OFFER.slice();
    noCookie[236] = 0;
    expect(() => decodeMessage(noCookie)).toThrow(/magic cookie/);
    const truncated = OFFER.slice(0, 240 + 3 + 2); // subnet mask option cut after its length byte
    expect(() => decodeMessage(truncated)).toThrow(/option 1 runs past/);
  });

  it('encodes and decodes option values', () => {
    expect([...ipOption(['10.0.0.1', '10.0.0.2'])]).toEqual([10, 0, 0, 1, 10, 0, 0, 2]);
    expect([...u32Option(0xfffffffe)]).toEqual([255, 255, 255, 254]);
    expect(decodeU32(u32Option(86400))).toBe(86400);
    expect(decodeIPs(Uint8Array.of(1, 2, 3))).toBeUndefined();
    expect(decodeStaticRoutes(ipOption(['10.9.0.0', '192.168.0.254']))).toEqual([{ dst: '10.9.0.0/32', gw: '192.168.0.254' }]);
    const routes = [
      { dst: '0.0.0.0/0', gw: '10.0.0.1' },
      { dst: '10.0.0.0/8', gw: '10.0.0.2' },
      { dst: '172.16.128.0/17', gw: '10.0.0.3' },
      { dst: '192.0.2.1/32', gw: '0.0.0.0' },
    ];
    const enc = encodeClasslessRoutes(routes);
    expect(Buffer.from(enc).toString('hex')).toBe('000a000001' + '080a0a000002' + '11ac1080' + '0a000003' + '20c0000201' + '00000000');
    expect(decodeClasslessRoutes(enc)).toEqual(routes);
    expect(() => decodeClasslessRoutes(Uint8Array.of(33, 0, 0, 0, 0))).toThrow(/over 32/);
    expect(() => decodeClasslessRoutes(Uint8Array.of(24, 10, 0))).toThrow(/truncated/);
  });

  it('turns netmasks into prefix lengths', () => {
    expect(maskPrefix('255.255.255.0')).toBe(24);
    expect(maskPrefix('255.255.255.255')).toBe(32);
    expect(maskPrefix('0.0.0.0')).toBe(0);
    expect(maskPrefix('255.255.128.0')).toBe(17);
    expect(maskPrefix('255.0.255.0')).toBeUndefined();
  });
});
