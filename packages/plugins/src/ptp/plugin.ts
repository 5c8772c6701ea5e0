// Floor 3 (plugins/ptp): the reference ptp plugin. A veth pair joins the container to the host
// without a bridge: the container keeps its IPAM address but reaches its subnet only through the
// gateway (a /32 or /128 route to the gateway, the subnet via the gateway); the host end carries the
// gateway address as a host address and a host route to the container's address; forwarding is on.
import { CURRENT_VERSION, CniError, ErrorCode, parseGcAttachments } from '@tscni/spec';
import type { NetConf, Result } from '@tscni/spec';
import { RT_SCOPE, isNetlinkError } from '@tscni/netlink';
import type { RtNetlink } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { formatCIDR, formatIP, maskedNet, parseIP } from '@tscni/ip';
import { GoObject, dnsOverride, ipamType, readMtu, requirePrevResult } from '../shared/conf.js';
import { configureIface, resultNet } from '../shared/iface.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../shared/ipam.js';
import type { IpamContext } from '../shared/ipam.js';
import { defaultOpener, isExists, kernelError, openContainerNetns, openNetnsIfPresent, using } from '../shared/kernel.js';
import type { RtOpener } from '../shared/kernel.js';
import { enableForwarding } from '../shared/sysctl.js';
import { checkInterfaceIPs, checkLink, checkRoutes, containerInterface, ipsOfInterface } from '../shared/validate.js';
import { createVeth, deleteContainerLink } from '../shared/veth.js';
import { applyIpMasq, collectIpMasq, loadIpMasq, removeIpMasq } from '../shared/ipmasq.js';
import type { IpMasqDeps, IpMasqSettings, MasqOwner } from '../shared/ipmasq.js';

export interface PtpConfig {
  mtu: number | undefined;
  ipMasq: IpMasqSettings;
}

export function loadPtpConfig(netconf: NetConf): PtpConfig {
  const o = new GoObject(netconf);
  return { mtu: readMtu(o), ipMasq: loadIpMasq(o) };
}

/** Injected kernel access; the defaults reach our own (the host) namespace. */
export interface PtpDeps extends IpMasqDeps {
  open?: RtOpener;
  ipam?: IpamContext;
}

function owner(a: CmdArgs): MasqOwner {
  return { network: a.netconf.name, ifName: a.ifName, containerId: a.containerId };
}

/** The container's routes for one address: subnet route replaced by gateway host route + subnet via gateway. */
async function containerRoutes(cont: RtNetlink, index: number, address: string, gateway: string): Promise<void> {
  const net = resultNet(address);
  const bits = net.ip.family === 4 ? 32 : 128;
  const local = formatIP(net.ip);
  if (net.prefix < bits) {
    const subnet = formatCIDR(maskedNet(net));
    try {
      await cont.deleteRoute({ dst: subnet, dev: index });
    } catch (e) {
      // No kernel subnet route to replace (already gone): nothing to delete.
      if (!isNetlinkError(e, 'ESRCH')) throw kernelError(`failed to delete route ${subnet}`, e);
    }
  }
  const toGateway = `${gateway}/${bits}`;
  try {
    await cont.addRoute({ dst: toGateway, dev: index, scope: RT_SCOPE.LINK, prefsrc: local });
  } catch (e) {
    throw kernelError(`failed to add route ${toGateway}`, e);
  }
  if (net.prefix < bits) {
    const subnet = formatCIDR(maskedNet(net));
    try {
      await cont.addRoute({ dst: subnet, gateway, dev: index, scope: RT_SCOPE.UNIVERSE, prefsrc: local });
    } catch (e) {
      throw kernelError(`failed to add route ${subnet} via ${gateway}`, e);
    }
  }
}

/** The host end: the gateway as a host address, and a host route to the container's address. */
async function hostSide(host: RtNetlink, index: number, address: string, gateway: string): Promise<void> {
  const net = resultNet(address);
  const bits = net.ip.family === 4 ? 32 : 128;
  try {
    // No DAD for the gateway: the only neighbour on this veth is the container, and the container
    // must reach its gateway as soon as ADD returns (the reference leaves it tentative for ~1 s).
    await host.addAddress(index, `${gateway}/${bits}`, net.ip.family === 6 ? { nodad: true } : {});
  } catch (e) {
    throw kernelError(`failed to add IP addr ${gateway}/${bits} to veth`, e);
  }
  try {
    await host.addRoute({ dst: `${formatIP(net.ip)}/${bits}`, dev: index, scope: RT_SCOPE.HOST });
  } catch (e) {
    if (!isExists(e)) throw kernelError('failed to add route on host', e);
  }
}

async function add(a: CmdArgs, deps: PtpDeps): Promise<Result> {
  const conf = loadPtpConfig(a.netconf);
  if (ipamType(a.netconf) === '') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'ipam.type: ptp needs an IPAM plugin');
  }
  const open = deps.open ?? defaultOpener;
  const ipamResult = await ipamAdd(a, deps.ipam);
  let hostVeth: string | undefined;
  let host: RtNetlink | undefined;
  try {
    host = open(null);
    const ips = ipamResult.ips ?? [];
    if (ips.length === 0) throw new CniError(ErrorCode.Internal, 'IPAM plugin returned missing IP config');
    for (const ip of ips) {
      if (ip.gateway === undefined || parseIP(ip.gateway) === undefined) {
        throw new CniError(ErrorCode.Internal, `IPAM result for ${ip.address} has no gateway; ptp routes through it`);
      }
    }
    enableForwarding(ips.map((ip) => resultNet(ip.address).ip.family));

    const hostRt = host;
    const result: Result = await using(openContainerNetns(a.netns, open), async (cont) => {
      const pair = await createVeth(hostRt, cont, { netnsPath: a.netns, containerIfName: a.ifName, ...(conf.mtu === undefined ? {} : { mtu: conf.mtu }) });
      hostVeth = pair.host.name;
      const r: Result = {
        cniVersion: CURRENT_VERSION,
        interfaces: [
          { name: pair.host.name, ...(pair.host.mac === undefined ? {} : { mac: pair.host.mac }) },
          { name: a.ifName, ...(pair.container.mac === undefined ? {} : { mac: pair.container.mac }), sandbox: a.netns },
        ],
        // Every address belongs to the container end.
        ips: ips.map((ip) => ({ ...ip, interface: 1 })),
      };
      if (ipamResult.routes !== undefined) r.routes = ipamResult.routes;
      if (ipamResult.dns !== undefined) r.dns = ipamResult.dns;
      await configureIface(cont, a.netns, a.ifName, r);
      for (const ip of ips) await containerRoutes(cont, pair.container.index, ip.address, ip.gateway as string);
      for (const ip of ips) await hostSide(hostRt, pair.host.index, ip.address, ip.gateway as string);
      return r;
    });

    if (conf.ipMasq.enabled) await applyIpMasq(conf.ipMasq, deps, ips.map((ip) => ip.address), owner(a));
    const dns = dnsOverride(a.netconf);
    if (dns !== undefined) result.dns = dns;
    return result;
  } catch (e) {
    // Undo what this ADD made: the veth pair (both ends), then the address reservation.
    if (hostVeth !== undefined) await host?.deleteLink(hostVeth).catch(() => undefined);
    await ipamDel(a, deps.ipam).catch(() => undefined);
    throw e;
  } finally {
    host?.close();
  }
}

async function del(a: CmdArgs, deps: PtpDeps): Promise<void> {
  const conf = loadPtpConfig(a.netconf);
  // The reference releases the address first, so a later failure never leaks it.
  if (ipamType(a.netconf) !== '') await ipamDel(a, deps.ipam);
  if (a.netns !== '') {
    const cont = openNetnsIfPresent(a.netns, deps.open ?? defaultOpener);
    if (cont !== undefined) await using(cont, (rt) => deleteContainerLink(rt, a.ifName));
  }
  // Masquerade rules are found by their owner, so they go even when the namespace is gone.
  if (conf.ipMasq.enabled) await removeIpMasq(conf.ipMasq, deps, owner(a));
}

async function check(a: CmdArgs, deps: PtpDeps): Promise<void> {
  loadPtpConfig(a.netconf);
  const open = deps.open ?? defaultOpener;
  await using(openContainerNetns(a.netns, open), async (cont) => {
    if (ipamType(a.netconf) !== '') await ipamCheck(a, deps.ipam);
    const prev = requirePrevResult(a.netconf, 'ptp');
    const { index, intf } = containerInterface(prev, a.ifName, a.netns);
    const contLink = await checkLink(cont, intf, 'container', { kind: 'veth', up: true });
    // The host end is the result's interface outside any sandbox, and must be the container end's peer.
    const hostIntf = (prev.interfaces ?? []).find((i) => i.sandbox === undefined || i.sandbox === '');
    if (hostIntf !== undefined) {
      await using(open(null), async (host) => {
        const hostLink = await checkLink(host, hostIntf, 'host', { kind: 'veth', up: true });
        if (contLink.link !== hostLink.index) {
          throw new CniError(ErrorCode.Internal, `host interface ${hostIntf.name} is not the peer of container interface ${a.ifName}`);
        }
      });
    }
    await checkInterfaceIPs(cont, a.ifName, ipsOfInterface(prev, index));
    await checkRoutes(cont, prev.routes ?? []);
  });
}

export function ptpPlugin(deps: PtpDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    async gc(a) {
      const conf = loadPtpConfig(a.netconf);
      if (ipamType(a.netconf) !== '') await ipamGc(a, deps.ipam);
      if (conf.ipMasq.enabled) await collectIpMasq(conf.ipMasq, deps, a.netconf.name, parseGcAttachments(a.netconf));
    },
    async status(a) {
      if (ipamType(a.netconf) !== '') await ipamStatus(a, deps.ipam);
    },
  };
}
