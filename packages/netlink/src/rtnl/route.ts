// rtnetlink layer: RTM_NEWROUTE/DELROUTE/GETROUTE (struct rtmsg + RTA_* and RTA_METRICS/RTAX_* of
// linux/rtnetlink.h). encodeRouteMessage/decodeRouteMessage are a pair; attribute order matches iproute2.

import { NlWriter } from '../codec/writer.js';
import { AttrMap, NetlinkDecodeError, StructReader } from '../codec/reader.js';
import { decodeMessages } from '../codec/message.js';
import { RTA, RTAX, RT_TABLE } from '../codec/rtnetlink.js';
import type { IpFamily } from '../codec/ip.js';

export const RTMSG_LEN = 12;

/** RTA_METRICS entries this library knows (RTAX_*), all u32. */
export interface RouteMetrics {
  lock?: number;
  mtu?: number;
  window?: number;
  rtt?: number;
  advmss?: number;
  hoplimit?: number;
  initcwnd?: number;
  initrwnd?: number;
}

const METRIC_KEYS: ReadonlyArray<[keyof RouteMetrics, number]> = [
  ['lock', RTAX.LOCK],
  ['mtu', RTAX.MTU],
  ['window', RTAX.WINDOW],
  ['rtt', RTAX.RTT],
  ['advmss', RTAX.ADVMSS],
  ['hoplimit', RTAX.HOPLIMIT],
  ['initcwnd', RTAX.INITCWND],
  ['initrwnd', RTAX.INITRWND],
];

export interface RouteMessage {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** The full table id: written to rtm_table when < 256, else as RTA_TABLE with rtm_table 0. */
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  dst?: string;
  src?: string;
  iif?: number;
  prefsrc?: string;
  gateway?: string;
  priority?: number;
  metrics?: RouteMetrics;
  oif?: number;
  pref?: number;
}

export function encodeRouteMessage(type: number, flags: number, m: RouteMessage): Uint8Array {
  const w = new NlWriter();
  const at = w.beginMessage(type, flags);
  const bigTable = m.table > 0xff;
  w.writeU8(m.family).writeU8(m.dstLen).writeU8(m.srcLen).writeU8(m.tos);
  w.writeU8(bigTable ? RT_TABLE.UNSPEC : m.table).writeU8(m.protocol).writeU8(m.scope).writeU8(m.type);
  w.writeU32(m.flags);
  if (m.dst !== undefined) w.putIp(RTA.DST, m.dst);
  if (m.src !== undefined) w.putIp(RTA.SRC, m.src);
  if (m.iif !== undefined) w.putU32(RTA.IIF, m.iif);
  if (m.prefsrc !== undefined) w.putIp(RTA.PREFSRC, m.prefsrc);
  if (m.gateway !== undefined) w.putIp(RTA.GATEWAY, m.gateway);
  if (bigTable) w.putU32(RTA.TABLE, m.table);
  if (m.priority !== undefined) w.putU32(RTA.PRIORITY, m.priority);
  const metrics = m.metrics;
  if (metrics && METRIC_KEYS.some(([k]) => metrics[k] !== undefined)) {
    w.nested(RTA.METRICS, () => {
      for (const [k, t] of METRIC_KEYS) {
        const v = metrics[k];
        if (v !== undefined) w.putU32(t, v);
      }
    });
  }
  if (m.oif !== undefined) w.putU32(RTA.OIF, m.oif);
  if (m.pref !== undefined) w.putU8(RTA.PREF, m.pref);
  return w.endMessage(at).finish();
}

export function decodeRouteBody(body: Uint8Array): RouteMessage {
  const r = new StructReader(body, RTMSG_LEN, 'rtmsg');
  const a = AttrMap.parse(body.subarray(RTMSG_LEN));
  const m: RouteMessage = {
    family: r.u8(0),
    dstLen: r.u8(1),
    srcLen: r.u8(2),
    tos: r.u8(3),
    table: a.u32(RTA.TABLE) ?? r.u8(4),
    protocol: r.u8(5),
    scope: r.u8(6),
    type: r.u8(7),
    flags: r.u32(8),
  };
  const dst = a.ip(RTA.DST);
  if (dst !== undefined) m.dst = dst;
  const src = a.ip(RTA.SRC);
  if (src !== undefined) m.src = src;
  const iif = a.u32(RTA.IIF);
  if (iif !== undefined) m.iif = iif;
  const prefsrc = a.ip(RTA.PREFSRC);
  if (prefsrc !== undefined) m.prefsrc = prefsrc;
  const gw = a.ip(RTA.GATEWAY);
  if (gw !== undefined) m.gateway = gw;
  const prio = a.u32(RTA.PRIORITY);
  if (prio !== undefined) m.priority = prio;
  const mx = a.nested(RTA.METRICS);
  if (mx) {
    const metrics: RouteMetrics = {};
    for (const [k, t] of METRIC_KEYS) {
      const v = mx.u32(t);
      if (v !== undefined) metrics[k] = v;
    }
    m.metrics = metrics;
  }
  const oif = a.u32(RTA.OIF);
  if (oif !== undefined) m.oif = oif;
  const pref = a.u8(RTA.PREF);
  if (pref !== undefined) m.pref = pref;
  return m;
}

export function decodeRouteMessage(msg: Uint8Array): { type: number; flags: number; route: RouteMessage } {
  const [m] = decodeMessages(msg);
  if (!m) throw new NetlinkDecodeError('empty route message', 0);
  return { type: m.header.type, flags: m.header.flags, route: decodeRouteBody(m.payload) };
}

/** The typed view of a route. */
export interface RouteInfo {
  family: IpFamily;
  /** "a.b.c.d/n", or "0.0.0.0/0" / "::/0" for a default route. */
  dst: string;
  gateway?: string;
  oif?: number;
  table: number;
  /** Metric (RTA_PRIORITY). */
  priority?: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  prefsrc?: string;
  src?: string;
  mtu?: number;
  advmss?: number;
  metrics?: RouteMetrics;
}

export function toRouteInfo(m: RouteMessage): RouteInfo {
  const zero = m.family === 10 ? '::' : '0.0.0.0';
  const out: RouteInfo = {
    family: m.family as IpFamily,
    dst: `${m.dst ?? zero}/${m.dstLen}`,
    table: m.table,
    protocol: m.protocol,
    scope: m.scope,
    type: m.type,
    flags: m.flags,
  };
  if (m.gateway !== undefined) out.gateway = m.gateway;
  if (m.oif !== undefined) out.oif = m.oif;
  if (m.priority !== undefined) out.priority = m.priority;
  if (m.prefsrc !== undefined) out.prefsrc = m.prefsrc;
  if (m.src !== undefined) out.src = `${m.src}/${m.srcLen}`;
  if (m.metrics) {
    out.metrics = m.metrics;
    if (m.metrics.mtu !== undefined) out.mtu = m.metrics.mtu;
    if (m.metrics.advmss !== undefined) out.advmss = m.metrics.advmss;
  }
  return out;
}
