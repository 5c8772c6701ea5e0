// Floor 3 (plugins/portmap): the portmap chained plugin — forwards host ports to the container
// (capability `portMappings`), as the reference's plugins/meta/portmap, with a real CHECK (that
// passes on IPv4-only sandboxes), GC of rules whose attachment is gone, and STATUS.
//
// Backend choice: `backend` when given; else the backend that backend-specific keys imply
// (markMasqBit, externalSetMarkChain, iptables-style conditions -> iptables; nft-style conditions
// -> nftables); else nftables when the kernel answers nf_tables requests, else iptables when
// iptables-save can read the nat table. The reference prefers iptables; tscni prefers nftables
// because it is written over netlink in one transaction and its cost does not grow with the number
// of containers. DEL, CHECK and GC use the same choice, so a host keeps to one backend.
import { CniError, ErrorCode, parseGcAttachments, parseResult, toCurrentResult } from '@tscni/spec';
import type { AnyResult, NetConf, Result } from '@tscni/spec';
import type { RtNetlink } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import type { CommandRunner } from '../shared/iptables-restore.js';
import { defaultOpener, kernelError } from '../shared/kernel.js';
import { containerAddrs, mappingsFor, parseConfig } from './config.js';
import type { ContainerAddrs, Owner, PortmapConfig } from './config.js';
import { deleteUdpConntrack } from './conntrack.js';
import { IptablesBackend } from './iptables.js';
import { enableLocalnet } from './localnet.js';
import { NftablesBackend } from './nftables.js';
import { defaultNftOpener, withNetfilter } from '../shared/netfilter.js';
import type { NftOpener } from '../shared/netfilter.js';

export interface PortmapDeps {
  /** NETLINK_NETFILTER in the host's namespace (nf_tables and conntrack); default: ours. */
  readonly netfilter?: NftOpener;
  /** rtnetlink in the host's namespace (the route towards the container). */
  readonly rtnl?: () => RtNetlink;
  /** The host's namespace for /proc/sys (null: this process's). */
  readonly hostNetns?: string | null;
  /** Runs iptables-save / iptables-restore (default: found in PATH or the sbin directories). */
  readonly run?: CommandRunner;
  /** Best-effort steps that failed (stale conntrack cleanup) are reported here; default: stderr. */
  readonly warn?: (message: string) => void;
}

type Backend = IptablesBackend | NftablesBackend;

function owner(a: CmdArgs): Owner {
  return { network: a.netconf.name, containerId: a.containerId, ifName: a.ifName };
}

function prevResult(netconf: NetConf): Result {
  if (netconf.prevResult === undefined || netconf.prevResult === null) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'must be called as chained plugin');
  }
  return toCurrentResult(parseResult(netconf.prevResult, netconf.cniVersion));
}

class Portmap {
  readonly #deps: PortmapDeps;
  readonly #ipt: IptablesBackend;
  readonly #nft: NftablesBackend;
  readonly #netfilter: NftOpener;

  constructor(deps: PortmapDeps) {
    this.#deps = deps;
    this.#netfilter = deps.netfilter ?? defaultNftOpener;
    this.#ipt = new IptablesBackend(deps.run);
    this.#nft = new NftablesBackend(this.#netfilter);
  }

  async backend(conf: PortmapConfig): Promise<Backend> {
    if (conf.backend === 'nftables') return this.#nft;
    if (conf.backend === 'iptables') return this.#ipt;
    if (await this.#nft.available()) return this.#nft;
    if (await this.#ipt.available()) return this.#ipt;
    throw new CniError(ErrorCode.PluginNotAvailable, 'portmap: neither nftables nor iptables is usable on this host');
  }

  async add(a: CmdArgs): Promise<AnyResult> {
    const conf = parseConfig(a.netconf);
    const result = prevResult(a.netconf);
    if (conf.mappings.length === 0) return result;
    const addrs = containerAddrs(result, a.ifName);
    const backend = await this.backend(conf);
    if (conf.snat && addrs.v4 !== undefined && mappingsFor(conf.mappings, 4).length > 0) {
      const rt = this.#rtnl();
      try {
        await enableLocalnet(rt, addrs.v4.ip, this.#deps.hostNetns ?? null);
      } finally {
        rt.close();
      }
    }
    await backend.add(owner(a), conf, addrs);
    await this.#flushUdp(conf, addrs);
    return result;
  }

  #rtnl(): RtNetlink {
    try {
      return (this.#deps.rtnl ?? (() => defaultOpener(this.#deps.hostNetns ?? null)))();
    } catch (e) {
      throw kernelError('portmap: cannot open rtnetlink', e);
    }
  }

  /** Conntrack entries of UDP flows to the new host ports predate the DNAT; remove them (best effort). */
  async #flushUdp(conf: PortmapConfig, addrs: ContainerAddrs): Promise<void> {
    const work: Array<[4 | 6, number[]]> = [];
    for (const v of [4, 6] as const) {
      if ((v === 4 ? addrs.v4 : addrs.v6) === undefined) continue;
      const ports = mappingsFor(conf.mappings, v).filter((m) => m.protocol === 'udp').map((m) => m.hostPort);
      if (ports.length > 0) work.push([v, ports]);
    }
    if (work.length === 0) return;
    try {
      await withNetfilter(this.#netfilter, 'conntrack', async (t) => {
        for (const [v, ports] of work) await deleteUdpConntrack(t, v, ports);
      });
    } catch (e) {
      (this.#deps.warn ?? ((m: string) => process.stderr.write(`${m}\n`)))(`portmap: could not delete stale UDP conntrack entries: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async del(a: CmdArgs): Promise<void> {
    const conf = parseConfig(a.netconf);
    const backend = await this.backend(conf);
    await backend.del(owner(a));
  }

  async check(a: CmdArgs): Promise<void> {
    const conf = parseConfig(a.netconf);
    const result = prevResult(a.netconf);
    if (conf.mappings.length === 0) return;
    const backend = await this.backend(conf);
    await backend.check(owner(a), conf, containerAddrs(result, a.ifName));
  }

  async gc(a: CmdArgs): Promise<void> {
    const conf = parseConfig(a.netconf);
    const valid = parseGcAttachments(a.netconf);
    const backend = await this.backend(conf);
    await backend.gc(a.netconf.name, valid);
  }

  async status(a: CmdArgs): Promise<void> {
    const conf = parseConfig(a.netconf);
    if (conf.backend === 'iptables') {
      const why = await this.#ipt.unusable();
      if (why !== undefined) throw new CniError(ErrorCode.PluginNotAvailable, `portmap: iptables backend unusable: ${why}`);
      return;
    }
    if (conf.backend === 'nftables') {
      if (!(await this.#nft.available())) {
        throw new CniError(ErrorCode.PluginNotAvailable, 'portmap: nftables backend unusable: the kernel does not answer nf_tables requests');
      }
      return;
    }
    await this.backend(conf);
  }
}

/** The plugin's verbs; `deps` point it at the host (tests aim it at a namespace). */
export function portmapPlugin(deps: PortmapDeps = {}): PluginFuncs {
  const p = new Portmap(deps);
  return {
    add: (a) => p.add(a),
    del: (a) => p.del(a),
    check: (a) => p.check(a),
    gc: (a) => p.gc(a),
    status: (a) => p.status(a),
  };
}
