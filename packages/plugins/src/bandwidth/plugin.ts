// Floor 3 (plugins/bandwidth): the reference bandwidth plugin (plugins/meta/bandwidth). Traffic to the
// container is shaped by a tbf at the root of the host end of its veth; traffic from the container
// enters that veth's ingress qdisc, where a match-all u32 filter redirects it to an ifb whose root
// tbf shapes it. Beyond the reference: DEL also removes the qdiscs, GC removes ifbs of attachments
// that are gone, STATUS probes that the kernel can do all of this.
import { CURRENT_VERSION, CniError, ErrorCode, parseGcAttachments, parseResult, toCurrentResult } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import {
  INGRESS_HANDLE,
  RtNetlink,
  addFilter,
  addQdisc,
  createNetns,
  deleteNetns,
  deleteQdisc,
  findQdisc,
  isNetlinkError,
  listFilters,
  listQdiscs,
  mirredRedirect,
  netnsPath,
  tcHandle,
  u32MatchAll,
} from '@tscni/netlink';
import type { Link, NetlinkTransport, TcFilter } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { requirePrevResult } from '../shared/conf.js';
import { defaultOpener, isExists, isMissingLink, kernelError, openContainerNetns, openNetnsIfPresent, using } from '../shared/kernel.js';
import type { RtOpener } from '../shared/kernel.js';
import { isUnshaped, loadBandwidthConfig } from './config.js';
import { IFB_NAME_RE, aliasOwner, ifbAlias, ifbName } from './ifb.js';
import { TBF_HANDLE, referenceTbf, replaceReferenceTbf, tbfDifferences } from './tbf.js';

export interface BandwidthDeps {
  open?: RtOpener;
  /** STATUS's check that traffic control works; throws when it does not. */
  probe?: () => Promise<void>;
}

/** The filter's priority and flowid, as the reference sets them. */
const FILTER_PRIO = 1;
const FILTER_CLASSID = tcHandle(1, 1);

function failed(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/** No limits: the previous result goes through unchanged (or an empty one when there is none). */
function passThrough(netconf: NetConf): Result {
  if (netconf.prevResult === undefined || netconf.prevResult === null) return { cniVersion: CURRENT_VERSION };
  return toCurrentResult(parseResult(netconf.prevResult, netconf.cniVersion));
}

/** DEL's prevResult, if the runtime sent a usable one; without it the veth peer is taken as found. */
function cachedResult(netconf: NetConf): Result | undefined {
  if (netconf.prevResult === undefined || netconf.prevResult === null) return undefined;
  try {
    return toCurrentResult(parseResult(netconf.prevResult, netconf.cniVersion));
  } catch {
    return undefined;
  }
}

/**
 * The ifindex of the veth peer of CNI_IFNAME inside CNI_NETNS (IFLA_LINK of a veth names its
 * peer), or undefined when the namespace or the interface is gone and `lenient` is set (DEL).
 */
async function peerIndex(a: CmdArgs, open: RtOpener, lenient: boolean): Promise<number | undefined> {
  const cont = lenient ? openNetnsIfPresent(a.netns, open) : openContainerNetns(a.netns, open);
  if (cont === undefined) return undefined;
  return using(cont, async (rt) => {
    let link: Link | undefined;
    try {
      link = await rt.findLink(a.ifName);
    } catch (e) {
      throw kernelError(`failed to look up ${a.ifName} in ${a.netns}`, e);
    }
    if (link === undefined) {
      if (lenient) return undefined;
      throw failed(`container interface ${a.ifName} not found in ${a.netns}`);
    }
    if (link.kind !== 'veth' || link.link === undefined || link.link <= 0) {
      if (lenient) return undefined;
      throw failed(`container interface ${a.ifName} has no veth peer`);
    }
    return link.link;
  });
}

/**
 * The host end of the container's veth: the peer of CNI_IFNAME, which must be listed in prevResult
 * as a host interface (no sandbox). Without a prevResult (DEL) the peer is taken as found.
 */
async function hostVeth(host: RtNetlink, a: CmdArgs, prev: Result | undefined, open: RtOpener, lenient: boolean): Promise<Link | undefined> {
  if (prev !== undefined && (prev.interfaces ?? []).length === 0 && !lenient) throw failed('no interfaces provided in prevResult');
  const index = await peerIndex(a, open, lenient);
  if (index === undefined) return undefined;
  let link: Link | undefined;
  try {
    link = await host.findLink(index);
  } catch (e) {
    throw kernelError(`failed to look up the veth peer (ifindex ${index})`, e);
  }
  if (link === undefined) {
    if (lenient) return undefined;
    throw failed(`veth peer with index ${index} is not in host ns`);
  }
  if (prev !== undefined) {
    const listed = (prev.interfaces ?? []).some((i) => (i.sandbox ?? '') === '' && i.name === link.name);
    if (!listed) {
      if (lenient) return undefined;
      throw failed(`no veth peer of container interface found in host ns (${link.name} is not a host interface in prevResult)`);
    }
  }
  return link;
}

/** The ifb for the egress bucket, created up with the veth's MTU, or reused after a retried ADD. */
async function ensureIfb(host: RtNetlink, name: string, mtu: number | undefined, alias: string): Promise<Link> {
  try {
    await host.createLink({ name, kind: 'ifb', up: true, ...(mtu === undefined ? {} : { mtu }) });
  } catch (e) {
    if (!isExists(e)) throw kernelError(`failed to create ifb ${name}`, e);
    const existing = await host.getLink(name);
    if (existing.kind !== 'ifb') throw failed(`failed to create ifb ${name}: a ${existing.kind ?? 'non-ifb'} link has that name`);
  }
  try {
    // The kernel applies IFLA_IFALIAS only to existing links, so the alias is a second message.
    await host.setLink(name, { up: true, alias, ...(mtu === undefined ? {} : { mtu }) });
    return await host.getLink(name);
  } catch (e) {
    throw kernelError(`failed to set up ifb ${name}`, e);
  }
}

/** Ingress qdisc on the veth and a filter sending every packet to the ifb (a retried ADD starts over). */
async function redirectToIfb(t: NetlinkTransport, veth: number, ifb: number): Promise<void> {
  if ((await findQdisc(t, { ifindex: veth, kind: 'ingress' })) !== undefined) await deleteQdisc(t, { ifindex: veth, kind: 'ingress' });
  await addQdisc(t, { kind: 'ingress', ifindex: veth });
  await addFilter(t, {
    ifindex: veth,
    parent: INGRESS_HANDLE,
    protocol: 'all',
    prio: FILTER_PRIO,
    kind: 'u32',
    u32: { keys: u32MatchAll(), classid: FILTER_CLASSID, actions: [mirredRedirect(ifb)] },
  });
}

function redirectsTo(f: TcFilter, ifb: number): boolean {
  return (f.u32?.actions ?? []).some((x) => x.kind === 'mirred' && 'ifindex' in x && x.action === 'redirect' && x.ifindex === ifb);
}

/** The ifindexes the ingress filters of `veth` redirect to. */
async function redirectTargets(t: NetlinkTransport, veth: number): Promise<Set<number>> {
  const out = new Set<number>();
  for (const f of await listFilters(t, { ifindex: veth, parent: INGRESS_HANDLE })) {
    for (const x of f.u32?.actions ?? []) if (x.kind === 'mirred' && 'ifindex' in x && x.action === 'redirect') out.add(x.ifindex);
  }
  return out;
}

/** Deletes a qdisc that may already be gone (with its device, or by someone else). */
async function dropQdisc(t: NetlinkTransport, ifindex: number, kind: 'ingress' | 'root'): Promise<void> {
  try {
    await deleteQdisc(t, kind === 'ingress' ? { ifindex, kind: 'ingress' } : { ifindex });
  } catch (e) {
    if (!isNetlinkError(e, 'ENOENT') && !isNetlinkError(e, 'EINVAL') && !isMissingLink(e)) throw e;
  }
}

async function dropLink(host: RtNetlink, name: string): Promise<void> {
  try {
    await host.deleteLink(name);
  } catch (e) {
    if (!isMissingLink(e)) throw e;
  }
}

/**
 * Removes the attachment's shaping from a host veth: the root tbf the plugin installs (handle 1:),
 * and the ingress qdisc when its filters redirect to `ifb` (or to nothing else, when there is no ifb).
 */
async function unshapeVeth(t: NetlinkTransport, veth: number, ifb: number | undefined): Promise<void> {
  const root = await findQdisc(t, { ifindex: veth });
  if (root !== undefined && root.kind === 'tbf' && root.handle === TBF_HANDLE) await dropQdisc(t, veth, 'root');
  if (ifb === undefined) return;
  const targets = await redirectTargets(t, veth);
  if (targets.has(ifb) && targets.size === 1) await dropQdisc(t, veth, 'ingress');
}

/**
 * STATUS's probe: the whole setup (ifb, tbf, ingress qdisc, u32 filter with mirred) built in a
 * throw-away namespace, so that a missing kernel module shows up before any ADD needs it.
 */
export async function probeTrafficControl(): Promise<void> {
  const name = `tscni-bw-status-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
  createNetns(name);
  try {
    await using(RtNetlink.open(netnsPath(name)), async (rt) => {
      await rt.createLink({ name: 'probe0', kind: 'ifb', up: true });
      await rt.setLinkUp('lo');
      const ifb = await rt.linkIndex('probe0');
      const lo = await rt.linkIndex('lo');
      await replaceReferenceTbf(rt.transport, ifb, referenceTbf({ rateBits: 1_000_000, burstBits: 1_000_000 }));
      await addQdisc(rt.transport, { kind: 'ingress', ifindex: lo });
      await addFilter(rt.transport, {
        ifindex: lo,
        parent: INGRESS_HANDLE,
        protocol: 'all',
        prio: FILTER_PRIO,
        kind: 'u32',
        u32: { keys: u32MatchAll(), classid: FILTER_CLASSID, actions: [mirredRedirect(ifb)] },
      });
    });
  } finally {
    deleteNetns(name);
  }
}

export function bandwidthPlugin(deps: BandwidthDeps = {}): PluginFuncs {
  const open = deps.open ?? defaultOpener;
  const probe = deps.probe ?? probeTrafficControl;

  return {
    async add(a) {
      const conf = loadBandwidthConfig(a.netconf);
      if (isUnshaped(conf)) return passThrough(a.netconf);
      const prev = requirePrevResult(a.netconf, 'bandwidth');
      return using(open(null), async (host) => {
        const veth = await hostVeth(host, a, prev, open, false);
        if (veth === undefined) throw failed(`no veth peer of ${a.ifName} found`);
        const t = host.transport;
        if (conf.ingress !== undefined) {
          try {
            await replaceReferenceTbf(t, veth.index, referenceTbf(conf.ingress));
          } catch (e) {
            throw kernelError(`failed to create the ingress tbf on ${veth.name}`, e);
          }
        }
        if (conf.egress !== undefined) {
          const name = ifbName(a.netconf.name, a.containerId);
          const ifb = await ensureIfb(host, name, veth.mtu, ifbAlias(a.netconf.name));
          try {
            await redirectToIfb(t, veth.index, ifb.index);
            await replaceReferenceTbf(t, ifb.index, referenceTbf(conf.egress));
          } catch (e) {
            throw kernelError(`failed to shape the egress of ${veth.name} through ${name}`, e);
          }
          const interfaces = (prev.interfaces ?? []).filter((i) => !(i.name === name && (i.sandbox ?? '') === ''));
          prev.interfaces = [...interfaces, { name, ...(ifb.mac === undefined ? {} : { mac: ifb.mac }) }];
        }
        return prev;
      });
    },

    async del(a) {
      // Only the names matter here: a config whose limits no longer parse must still be cleaned up.
      const name = ifbName(a.netconf.name, a.containerId);
      const prev = cachedResult(a.netconf);
      await using(open(null), async (host) => {
        try {
          const ifb = await host.findLink(name);
          const veth = await hostVeth(host, a, prev, open, true);
          if (veth !== undefined) await unshapeVeth(host.transport, veth.index, ifb?.kind === 'ifb' ? ifb.index : undefined);
          if (ifb !== undefined && ifb.kind === 'ifb') await dropLink(host, name);
        } catch (e) {
          throw kernelError(`failed to remove the shaping of ${a.containerId}`, e);
        }
      });
    },

    async check(a) {
      const conf = loadBandwidthConfig(a.netconf);
      const prev = requirePrevResult(a.netconf, 'bandwidth');
      if (isUnshaped(conf)) return;
      await using(open(null), async (host) => {
        const veth = await hostVeth(host, a, prev, open, false);
        if (veth === undefined) throw failed(`no veth peer of ${a.ifName} found`);
        const t = host.transport;
        if (conf.ingress !== undefined) {
          const q = await findQdisc(t, { ifindex: veth.index });
          if (q?.kind !== 'tbf') throw failed(`bandwidth: no ingress tbf qdisc on ${veth.name} (root qdisc: ${q?.kind ?? 'none'})`);
          const diff = tbfDifferences(q, referenceTbf(conf.ingress));
          if (diff.length > 0) throw failed(`bandwidth: ingress qdisc on ${veth.name} doesn't match: ${diff.join(', ')}`);
        }
        if (conf.egress !== undefined) {
          const name = ifbName(a.netconf.name, a.containerId);
          const ifb = await host.findLink(name);
          if (ifb === undefined || ifb.kind !== 'ifb') throw failed(`bandwidth: ifb ${name} not found`);
          const filters = await listFilters(t, { ifindex: veth.index, parent: INGRESS_HANDLE });
          if (!filters.some((f) => redirectsTo(f, ifb.index))) throw failed(`bandwidth: no filter on ${veth.name} redirects to ${name}`);
          const q = await findQdisc(t, { ifindex: ifb.index });
          if (q?.kind !== 'tbf') throw failed(`bandwidth: no egress tbf qdisc on ${name} (root qdisc: ${q?.kind ?? 'none'})`);
          const diff = tbfDifferences(q, referenceTbf(conf.egress));
          if (diff.length > 0) throw failed(`bandwidth: egress qdisc on ${name} doesn't match: ${diff.join(', ')}`);
        }
      });
    },

    async gc(a) {
      const network = a.netconf.name;
      const keep = new Set(parseGcAttachments(a.netconf).map((v) => ifbName(network, v.containerID)));
      await using(open(null), async (host) => {
        try {
          const candidates = (await host.listLinks({ kind: 'ifb' })).filter((l) => IFB_NAME_RE.test(l.name) && !keep.has(l.name));
          if (candidates.length === 0) return;
          // Which veths redirect to which ifb: one dump of qdiscs, one of filters per ingress qdisc.
          const redirects = new Map<number, Set<number>>();
          for (const q of await listQdiscs(host.transport)) {
            if (q.kind === 'ingress') redirects.set(q.ifindex, await redirectTargets(host.transport, q.ifindex));
          }
          for (const ifb of candidates) {
            const users = [...redirects].filter(([, targets]) => targets.has(ifb.index)).map(([veth]) => veth);
            const owner = aliasOwner(ifb.alias, network);
            // Ours for this network and not valid: gone. Unmarked (the reference's): only when nothing
            // feeds it any more, since it may belong to any network. Another network's: its own GC.
            const remove = owner === 'this-network' || (owner === 'unknown' && users.length === 0);
            if (!remove) continue;
            for (const veth of users) await unshapeVeth(host.transport, veth, ifb.index);
            await dropLink(host, ifb.name);
          }
        } catch (e) {
          throw kernelError('bandwidth: garbage collection failed', e);
        }
      });
    },

    async status() {
      try {
        await probe();
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        throw new CniError(ErrorCode.PluginNotAvailable, `bandwidth: traffic control is not available: ${text}`, undefined, { cause: e });
      }
    },
  };
}
