// tc layer: qdisc and filter operations over a NETLINK_ROUTE transport, the `tc qdisc add|replace|
// del|show` and `tc filter add|del|show` that the bandwidth plugin needs, without exec'ing tc.

import { NLM_F } from '../codec/netlink.js';
import { RTM } from '../codec/rtnetlink.js';
import { decodeMessages } from '../codec/message.js';
import type { NlMessage } from '../codec/message.js';
import { isNetlinkError } from '../codec/errors.js';
import type { NetlinkTransport } from '../transport.js';
import { TC_H_INGRESS, TC_H_ROOT, tcHandle } from './consts.js';
import type { FilterProtocol } from './consts.js';
import {
  decodeFilter,
  decodeQdisc,
  encodeFilter,
  encodeFilterDelete,
  encodeQdisc,
  encodeQdiscDelete,
  encodeTcDump,
} from './messages.js';
import type { Filter, FilterSpec, MirredAction, Qdisc, QdiscSpec, U32Key } from './messages.js';

const REQ_ACK = NLM_F.REQUEST | NLM_F.ACK;

function one(bytes: Uint8Array): NlMessage {
  const m = decodeMessages(bytes)[0];
  if (m === undefined) throw new TypeError('empty netlink message');
  return m;
}

function describe(spec: QdiscSpec): string {
  return `${spec.kind} on ifindex ${spec.ifindex}`;
}

/** `tc qdisc add`: fails with EEXIST if a qdisc already sits there. */
export async function addQdisc(t: NetlinkTransport, spec: QdiscSpec): Promise<void> {
  await t.request(encodeQdisc(RTM.NEWQDISC, REQ_ACK | NLM_F.EXCL | NLM_F.CREATE, spec), {
    operation: `qdisc add ${describe(spec)}`,
  });
}

/** `tc qdisc replace`: create, or replace whatever qdisc sits at that parent. */
export async function replaceQdisc(t: NetlinkTransport, spec: QdiscSpec): Promise<void> {
  await t.request(encodeQdisc(RTM.NEWQDISC, REQ_ACK | NLM_F.CREATE | NLM_F.REPLACE, spec), {
    operation: `qdisc replace ${describe(spec)}`,
  });
}

export interface QdiscRef {
  readonly ifindex: number;
  /** Default: the root. Use TC_H_INGRESS (or `kind: 'ingress'`) for the ingress qdisc. */
  readonly parent?: number;
  readonly handle?: number;
  readonly kind?: string;
}

/** `tc qdisc del`: ENOENT (as a NetlinkError) when there is nothing to delete. */
export async function deleteQdisc(t: NetlinkTransport, q: QdiscRef): Promise<void> {
  const ingress = q.kind === 'ingress' || q.kind === 'clsact';
  const parent = q.parent ?? (ingress ? TC_H_INGRESS : TC_H_ROOT);
  const handle = q.handle ?? (ingress ? tcHandle(0xffff, 0) : 0);
  await t.request(
    encodeQdiscDelete(RTM.DELQDISC, REQ_ACK, {
      ifindex: q.ifindex,
      parent,
      ...(ingress ? { handle, kind: q.kind } : q.handle === undefined ? {} : { handle }),
    }),
    { operation: `qdisc del ${q.kind ?? 'root'} on ifindex ${q.ifindex}` },
  );
}

/** `tc qdisc show [dev]`: every qdisc, or those of one device. */
export async function listQdiscs(t: NetlinkTransport, opts: { ifindex?: number } = {}): Promise<Qdisc[]> {
  const replies = await t.request(
    encodeTcDump(RTM.GETQDISC, NLM_F.REQUEST | NLM_F.DUMP, opts.ifindex === undefined ? {} : { ifindex: opts.ifindex }),
    { dump: true, operation: 'qdisc show' },
  );
  return replies
    .map(one)
    .filter((m) => m.header.type === RTM.NEWQDISC)
    .map(decodeQdisc)
    .filter((q) => opts.ifindex === undefined || q.ifindex === opts.ifindex);
}

/** The qdisc at the root (or at `parent`) of a device, if any. */
export async function findQdisc(
  t: NetlinkTransport,
  q: { ifindex: number; parent?: number; kind?: string },
): Promise<Qdisc | undefined> {
  const parent = q.parent ?? (q.kind === 'ingress' || q.kind === 'clsact' ? TC_H_INGRESS : TC_H_ROOT);
  const all = await listQdiscs(t, { ifindex: q.ifindex });
  return all.find((x) => x.parent === parent && (q.kind === undefined || x.kind === q.kind));
}

/** `tc filter add`: EEXIST if the priority/handle is taken. */
export async function addFilter(t: NetlinkTransport, f: FilterSpec): Promise<void> {
  await t.request(encodeFilter(RTM.NEWTFILTER, REQ_ACK | NLM_F.EXCL | NLM_F.CREATE, f), {
    operation: `filter add ${f.kind} on ifindex ${f.ifindex}`,
  });
}

export interface FilterRef {
  readonly ifindex: number;
  readonly parent: number;
  readonly prio: number;
  readonly protocol?: FilterProtocol;
  readonly handle?: number;
  readonly kind?: string;
}

/** `tc filter del ... pref P [handle H] KIND`. */
export async function deleteFilter(t: NetlinkTransport, f: FilterRef): Promise<void> {
  await t.request(encodeFilterDelete(RTM.DELTFILTER, REQ_ACK, f), {
    operation: `filter del prio ${f.prio} on ifindex ${f.ifindex}`,
  });
}

/**
 * `tc filter show dev D parent P`. The kernel also lists each priority's head and u32 hash
 * tables; those come back too (u32.divisor set, no keys), so callers filter on what they need.
 */
export async function listFilters(t: NetlinkTransport, where: { ifindex: number; parent: number }): Promise<Filter[]> {
  try {
    const replies = await t.request(encodeTcDump(RTM.GETTFILTER, NLM_F.REQUEST | NLM_F.DUMP, where), {
      dump: true,
      operation: `filter show on ifindex ${where.ifindex}`,
    });
    return replies.map(one).filter((m) => m.header.type === RTM.NEWTFILTER).map(decodeFilter);
  } catch (e) {
    // No such qdisc to hang filters off: nothing to list.
    if (isNetlinkError(e, 'EINVAL') || isNetlinkError(e, 'ENOENT')) return [];
    throw e;
  }
}

/** tc's `match u32 0 0`: one key that every packet satisfies. */
export function u32MatchAll(): U32Key[] {
  return [{ value: 0, mask: 0, off: 0 }];
}

/** `action mirred egress redirect dev <ifindex>`. */
export function mirredRedirect(ifindex: number, direction: 'egress' | 'ingress' = 'egress'): MirredAction {
  return { kind: 'mirred', action: 'redirect', direction, ifindex };
}

/** The ingress qdisc's handle, ffff: — the parent for ingress filters. */
export const INGRESS_HANDLE = tcHandle(0xffff, 0);

