// Unit tests of the macvlan configuration (modes, MAC precedence, bcqueuelen) and of the exact
// RTM_NEWLINK it sends, byte for byte against an independently walked attribute tree.
import { describe, expect, it } from 'vitest';
import { parseNetConf } from '@tscni/spec';
import { IFLA, IFLA_INFO, IFLA_MACVLAN, MACVLAN_MODE, NLM_F, RTM, decodeNlMsgHdr, iterAttrs, parseMac } from '@tscni/netlink';
import { encodeMacvlanCreate, loadMacvlanConfig } from './plugin.js';

const conf = (extra: Record<string, unknown> = {}) => parseNetConf({ cniVersion: '1.1.0', name: 'n', type: 'macvlan', ...extra });

describe('macvlan config', () => {
  it('defaults: bridge mode, no master (default route), L2 without an IPAM type', () => {
    expect(loadMacvlanConfig(conf(), '')).toEqual({ master: undefined, mode: 'bridge', mtu: undefined, mac: undefined, linkInContainer: false, bcQueueLen: undefined, layer3: false });
    expect(loadMacvlanConfig(conf({ master: 'eth1', mode: 'passthru', mtu: 1400, bcqueuelen: 0, linkInContainer: true, ipam: { type: 'x' } }), '')).toEqual({
      master: 'eth1',
      mode: 'passthru',
      mtu: 1400,
      mac: undefined,
      linkInContainer: true,
      bcQueueLen: 0,
      layer3: true,
    });
  });

  it('takes the MAC from `mac`, then CNI_ARGS MAC, then runtimeConfig.mac', () => {
    expect(loadMacvlanConfig(conf({ mac: '0A:58:00:00:00:01' }), '').mac).toBe('0a:58:00:00:00:01');
    expect(loadMacvlanConfig(conf({ mac: '0a:58:00:00:00:01' }), 'MAC=0a:58:00:00:00:02').mac).toBe('0a:58:00:00:00:02');
    expect(loadMacvlanConfig(conf({ mac: '0a:58:00:00:00:01', runtimeConfig: { mac: '0a:58:00:00:00:03' } }), 'MAC=0a:58:00:00:00:02').mac).toBe('0a:58:00:00:00:03');
    expect(() => loadMacvlanConfig(conf(), 'MAC=0a:58:00:00:00:02;FOO=1')).toThrow(expect.objectContaining({ code: 4 }));
    expect(() => loadMacvlanConfig(conf({ runtimeConfig: { mac: 'nope' } }), '')).toThrow(expect.objectContaining({ code: 7, msg: 'runtimeConfig.mac: invalid MAC address "nope"' }));
  });

  it('refuses unknown modes and out-of-range bcqueuelen (code 7)', () => {
    expect(() => loadMacvlanConfig(conf({ mode: 'source' }), '')).toThrow(expect.objectContaining({ code: 7, msg: 'mode: unknown macvlan mode: "source"' }));
    expect(() => loadMacvlanConfig(conf({ bcqueuelen: 2 ** 32 }), '')).toThrow(expect.objectContaining({ code: 7 }));
    expect(() => loadMacvlanConfig(conf({ bcqueuelen: 'x' }), '')).toThrow(expect.objectContaining({ code: 7, msg: 'bcqueuelen: must be a number, got string' }));
  });
});

describe('macvlan RTM_NEWLINK', () => {
  it('carries name, parent, MTU, MAC, target namespace, mode and broadcast queue length', () => {
    const msg = encodeMacvlanCreate({ name: 'eth0', parent: 7, mode: 'private', mtu: 1400, mac: '0a:58:00:00:00:01', bcQueueLen: 77, netnsFd: 42 });
    const hdr = decodeNlMsgHdr(msg);
    expect(hdr.type).toBe(RTM.NEWLINK);
    expect(hdr.flags).toBe(NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
    expect(hdr.len).toBe(msg.length);
    // struct ifinfomsg (16 bytes) after the 16-byte header: all zero for a create.
    expect([...msg.subarray(16, 32)]).toEqual(new Array(16).fill(0));
    const attrs = [...iterAttrs(msg.subarray(32))];
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const byType = new Map(attrs.map((a) => [a.type, a.data]));
    expect(new TextDecoder().decode(byType.get(IFLA.IFNAME))).toBe('eth0\0');
    expect(dv(byType.get(IFLA.LINK) ?? new Uint8Array(4)).getUint32(0, true)).toBe(7);
    expect(dv(byType.get(IFLA.MTU) ?? new Uint8Array(4)).getUint32(0, true)).toBe(1400);
    expect([...(byType.get(IFLA.ADDRESS) ?? [])]).toEqual([...parseMac('0a:58:00:00:00:01')]);
    expect(dv(byType.get(IFLA.NET_NS_FD) ?? new Uint8Array(4)).getUint32(0, true)).toBe(42);
    const info = new Map([...iterAttrs(byType.get(IFLA.LINKINFO) ?? new Uint8Array())].map((a) => [a.type, a.data]));
    expect(new TextDecoder().decode(info.get(IFLA_INFO.KIND))).toBe('macvlan');
    const data = [...iterAttrs(info.get(IFLA_INFO.DATA) ?? new Uint8Array())].map((a) => [a.type, dv(a.data).getUint32(0, true)]);
    expect(data).toEqual([
      [IFLA_MACVLAN.MODE, MACVLAN_MODE.PRIVATE],
      [IFLA_MACVLAN.BC_QUEUE_LEN, 77],
    ]);
  });

  it('leaves out what was not asked for', () => {
    const msg = encodeMacvlanCreate({ name: 'eth0', parent: 3, mode: 'bridge' });
    expect([...iterAttrs(msg.subarray(32))].map((a) => a.type).sort((x, y) => x - y)).toEqual([IFLA.IFNAME, IFLA.LINK, IFLA.LINKINFO].sort((x, y) => x - y));
  });
});
