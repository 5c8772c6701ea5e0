// Floor 3 (plugins/bridge): the reference bridge plugin. ADD ensures the bridge (created if absent),
// plugs a veth pair into it (host end a port, container end CNI_IFNAME in CNI_NETNS), configures the
// container from IPAM and, as gateway, puts the gateway addresses on the bridge. The result lists
// [bridge, host veth, container veth] with the IPs on interface 2. DEL removes the container end (the
// host end goes with it) and releases IPAM even when the namespace is gone. The bridge itself stays:
// other containers share it.
import { setTimeout as sleep } from 'node:timers/promises';
import { CURRENT_VERSION, CniError, ErrorCode, parseGcAttachments } from '@tscni/spec';
import type { Interface, Result } from '@tscni/spec';
import { AF_INET, AF_INET6, IFF } from '@tscni/netlink';
import type { Link, RtNetlink } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { cidrOverlaps, ipEqual, parseCIDR } from '@tscni/ip';
import { dnsOverride, requirePrevResult } from '../shared/conf.js';
import { configureIface } from '../shared/iface.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../shared/ipam.js';
import type { IpamContext } from '../shared/ipam.js';
import { applyIpMasq, collectIpMasq, removeIpMasq } from '../shared/ipmasq.js';
import { defaultNftOpener } from '../shared/netfilter.js';
import type { IpMasqDeps, MasqOwner } from '../shared/ipmasq.js';
import { defaultOpener, isExists, kernelError, openContainerNetns, openNetnsIfPresent, using } from '../shared/kernel.js';
import type { RtOpener } from '../shared/kernel.js';
import { enableForwarding, ifaceSysctl, trySetSysctl } from '../shared/sysctl.js';
import type { Family } from '../shared/sysctl.js';
import { checkInterfaceIPs, checkLink, checkRoutes, containerInterface, ipsOfInterface } from '../shared/validate.js';
import { createVeth, deleteContainerLink } from '../shared/veth.js';
import { loadBridgeConfig } from './config.js';
import type { BridgeConfig } from './config.js';
import { calcGateways } from './gateway.js';
import { ensureVlanGateway, setupPort } from './port.js';
import { checkSpoofCheck, setupSpoofCheck, spoofCheckId, teardownSpoofCheck } from './spoofchk.js';

/** Injected kernel access; `nft` also serves macspoofchk. Defaults reach our own (the host) namespace. */
export interface BridgeDeps extends IpMasqDeps {
  open?: RtOpener;
  ipam?: IpamContext;
  /** Delays of the wait for the host veth to be operationally up (reference: 0, 50, 500, 1000, 1000 ms). */
  portUpRetriesMs?: readonly number[];
}

const PORT_UP_RETRIES_MS = [0, 50, 500, 1000, 1000];

function failed(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/** The bridge, created if absent; an existing link of another kind is an error. Brought up. */
async function ensureBridge(host: RtNetlink, c: BridgeConfig): Promise<Link> {
  const vlanFiltering = c.vlan !== 0 || c.vlanTrunk !== undefined;
  try {
    await host.createLink({
      name: c.bridge,
      kind: 'bridge',
      ...(c.mtu === undefined ? {} : { mtu: c.mtu }),
      ...(vlanFiltering ? { vlanFiltering: true } : {}),
    });
  } catch (e) {
    if (!isExists(e)) throw kernelError(`failed to create bridge "${c.bridge}"`, e);
  }
  let br: Link;
  try {
    if (c.promiscMode) await host.setLink(c.bridge, { promisc: true });
    br = await host.getLink(c.bridge);
  } catch (e) {
    throw kernelError(`failed to set up bridge "${c.bridge}"`, e);
  }
  if (br.kind !== 'bridge') throw failed(`"${c.bridge}" already exists but is not a bridge`);
  // The plugin owns the bridge's routes; router advertisements must not add any (fails without IPv6).
  trySetSysctl(ifaceSysctl(6, c.bridge, 'accept_ra'), '0', null);
  try {
    await host.setLinkUp(br.index);
  } catch (e) {
    throw kernelError(`failed to set "${c.bridge}" up`, e);
  }
  return br;
}

/**
 * Puts a gateway address on the bridge. The same address is fine; another IPv4 address, or an
 * overlapping IPv6 one, is replaced with forceAddress and an error otherwise (reference ensureAddr).
 */
async function ensureBridgeAddr(host: RtNetlink, br: Link, family: Family, cidr: string, force: boolean): Promise<void> {
  const want = parseCIDR(cidr);
  if (want === undefined) throw failed(`invalid gateway address ${cidr}`);
  const present = await host.listAddresses({ link: br.index, family: family === 4 ? AF_INET : AF_INET6 });
  for (const a of present) {
    const have = parseCIDR(a.cidr);
    if (have === undefined) continue;
    if (have.prefix === want.prefix && ipEqual(have.ip, want.ip)) return;
    if (family === 4 || cidrOverlaps(have, want)) {
      if (!force) throw failed(`"${br.name}" already has an IP address different from ${cidr}`);
      try {
        await host.deleteAddress(br.index, a.cidr);
      } catch (e) {
        throw kernelError(`could not remove IP address from "${br.name}"`, e);
      }
    }
  }
  try {
    await host.addAddress(br.index, cidr, family === 4 && want.prefix < 31 ? { broadcast: 'auto' } : {});
  } catch (e) {
    if (!isExists(e)) throw kernelError(`could not add IP address to "${br.name}"`, e);
  }
  // Pin the bridge's MAC: otherwise it follows the lowest port MAC and changes as ports come and go.
  const mac = (await host.getLink(br.index)).mac;
  if (mac !== undefined) await host.setLink(br.index, { mac });
}

/** The reference waits for the new port to be operationally up before answering. */
async function waitPortUp(host: RtNetlink, name: string, delays: readonly number[]): Promise<Link> {
  let link: Link | undefined;
  for (const ms of delays) {
    if (ms > 0) await sleep(ms);
    link = await host.getLink(name);
    if (link.operState === 'up') return link;
  }
  throw failed(`bridge port in error state: ${link?.operState ?? 'unknown'}`);
}

function owner(a: CmdArgs): MasqOwner {
  return { network: a.netconf.name, ifName: a.ifName, containerId: a.containerId };
}

function iface(link: Link, sandbox?: string): Interface {
  return { name: link.name, ...(link.mac === undefined ? {} : { mac: link.mac }), ...(sandbox === undefined ? {} : { sandbox }) };
}

async function add(a: CmdArgs, deps: BridgeDeps): Promise<Result> {
  const c = loadBridgeConfig(a.netconf, a.args);
  const vlanGateway = c.isGateway && c.vlan !== 0 && c.layer3 ? `${c.bridge}.${c.vlan}` : undefined;
  if (vlanGateway !== undefined && vlanGateway.length > 15) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `bridge: the VLAN gateway interface name ${JSON.stringify(vlanGateway)} is longer than 15 characters`);
  }
  const open = deps.open ?? defaultOpener;
  const nft = deps.nft ?? defaultNftOpener;
  const spoofId = spoofCheckId(a.containerId, a.ifName);

  return using(open(null), async (host) => {
    const br = await ensureBridge(host, c);
    return using(openContainerNetns(a.netns, open), async (cont) => {
      const pair = await createVeth(host, cont, {
        netnsPath: a.netns,
        containerIfName: a.ifName,
        ...(c.mtu === undefined ? {} : { mtu: c.mtu }),
        ...(c.mac === undefined ? {} : { containerMac: c.mac }),
        // An L3 attachment comes up in configureIface, after its DAD sysctls are set (so that its
        // link-local address follows them too); an L2 one now, unless it is to stay down.
        containerUp: !c.layer3 && !c.disableContainerInterface,
      });
      let ipamDone = false;
      let spoofDone = false;
      let vlanIf: Link | undefined;
      try {
        await setupPort(host, pair.host, br, c);
        const result: Result = { cniVersion: CURRENT_VERSION, interfaces: [iface(br), iface(pair.host), iface(pair.container, a.netns)] };
        if (c.macspoofchk) {
          if (pair.container.mac === undefined) throw failed(`container interface ${a.ifName} has no MAC address`);
          spoofDone = true;
          await setupSpoofCheck(nft, { hostIfName: pair.host.name, mac: pair.container.mac, id: spoofId });
        }

        if (c.layer3) {
          const ipamResult = await ipamAdd(a, deps.ipam);
          ipamDone = true;
          result.ips = ipamResult.ips ?? [];
          if (ipamResult.routes !== undefined) result.routes = ipamResult.routes;
          if (ipamResult.dns !== undefined) result.dns = ipamResult.dns;
          if (result.ips.length === 0) throw failed('IPAM plugin returned missing IP config');
          const gws = calcGateways(result, c);

          // DAD on: enhanced DAD (a nonce, so hairpin echoes are not taken for a duplicate). Off: none.
          if (c.enabledad) {
            trySetSysctl(ifaceSysctl(6, a.ifName, 'enhanced_dad'), '1', a.netns);
            trySetSysctl(ifaceSysctl(6, a.ifName, 'accept_dad'), '1', a.netns);
          } else {
            trySetSysctl(ifaceSysctl(6, a.ifName, 'accept_dad'), '0', a.netns);
          }
          trySetSysctl(ifaceSysctl(4, a.ifName, 'arp_notify'), '1', a.netns);
          await configureIface(cont, a.netns, a.ifName, result);

          if (c.isGateway) {
            for (const [family, list] of gws.byFamily) {
              for (const gw of list) {
                // On an access VLAN the gateway sits on `<bridge>.<vlan>`, a veth whose peer is a port in that VLAN.
                if (vlanGateway !== undefined) vlanIf ??= await ensureVlanGateway(host, br, c);
                await ensureBridgeAddr(host, vlanIf ?? br, family, gw, c.forceAddress);
              }
              if (list.length > 0) enableForwarding([family]);
            }
          }
          if (c.ipMasq.enabled) {
            await applyIpMasq(c.ipMasq, deps, result.ips.map((ip) => ip.address), owner(a));
          }
        }

        // The host end's MAC can change when it joins the bridge, the bridge's when its first port
        // joins or it gets an address: report both as they are now.
        const hostNow = c.disableContainerInterface ? await host.getLink(pair.host.index) : await waitPortUp(host, pair.host.name, deps.portUpRetriesMs ?? PORT_UP_RETRIES_MS);
        const brNow = await host.getLink(br.index);
        result.interfaces = [iface(brNow), iface(hostNow), iface(pair.container, a.netns)];
        if (vlanIf !== undefined) result.interfaces.push(iface(await host.getLink(vlanIf.index)));
        const dns = dnsOverride(a.netconf);
        if (dns !== undefined) result.dns = dns;
        return result;
      } catch (e) {
        // Undo this attachment: the veth pair (both ends), its MAC filter, the address reservation.
        // A VLAN gateway interface stays: like the bridge, it is shared by the VLAN's attachments.
        await host.deleteLink(pair.host.index).catch(() => undefined);
        if (spoofDone) await teardownSpoofCheck(nft, spoofId).catch(() => undefined);
        if (ipamDone) await ipamDel(a, deps.ipam).catch(() => undefined);
        throw e;
      }
    });
  });
}

async function del(a: CmdArgs, deps: BridgeDeps): Promise<void> {
  const c = loadBridgeConfig(a.netconf, a.args);
  if (a.netns !== '') {
    const cont = openNetnsIfPresent(a.netns, deps.open ?? defaultOpener);
    if (cont !== undefined) await using(cont, (rt) => deleteContainerLink(rt, a.ifName));
  }
  // After the link is gone (reference order since plugins#702), also when the namespace is gone.
  if (c.layer3) await ipamDel(a, deps.ipam);
  if (c.macspoofchk) await teardownSpoofCheck(deps.nft ?? defaultNftOpener, spoofCheckId(a.containerId, a.ifName));
  if (c.layer3 && c.ipMasq.enabled) await removeIpMasq(c.ipMasq, deps, owner(a));
}

async function check(a: CmdArgs, deps: BridgeDeps): Promise<void> {
  const c = loadBridgeConfig(a.netconf, a.args);
  const open = deps.open ?? defaultOpener;
  await using(openContainerNetns(a.netns, open), async (cont) => {
    if (c.layer3) await ipamCheck(a, deps.ipam);
    const prev = requirePrevResult(a.netconf, 'bridge');
    const brIntf = (prev.interfaces ?? []).find((i) => i.name === c.bridge && (i.sandbox ?? '') === '');
    if (brIntf === undefined) throw failed(`CNI created bridge ${c.bridge} in host namespace was not found`);
    const { index, intf } = containerInterface(prev, a.ifName, a.netns);
    const contLink = await checkLink(cont, intf, 'container', { kind: 'veth', up: !c.disableContainerInterface });

    await using(open(null), async (host) => {
      const brLink = await checkLink(host, brIntf, 'bridge', { kind: 'bridge' });
      const promisc = (brLink.flags & IFF.PROMISC) !== 0;
      if (promisc !== c.promiscMode) {
        throw failed(`Bridge interface ${c.bridge} configured Promisc Mode ${c.promiscMode} doesn't match current state: ${promisc}`);
      }
      // The host end: a port of the bridge whose veth peer is the container interface.
      let found = false;
      for (const candidate of prev.interfaces ?? []) {
        if (candidate === brIntf || candidate === intf || (candidate.sandbox ?? '') !== '') continue;
        const l = await host.findLink(candidate.name);
        if (l === undefined || l.kind !== 'veth' || l.link !== contLink.index || contLink.link !== l.index || l.master !== brLink.index) continue;
        await checkLink(host, candidate, 'host', { up: true });
        if (c.macspoofchk) await checkSpoofCheck(deps.nft ?? defaultNftOpener, spoofCheckId(a.containerId, a.ifName), candidate.name);
        found = true;
        break;
      }
      if (!found) throw failed(`CNI veth created for bridge ${c.bridge} was not found`);
    });

    await checkInterfaceIPs(cont, a.ifName, ipsOfInterface(prev, index));
    await checkRoutes(cont, prev.routes ?? []);
  });
}

export function bridgePlugin(deps: BridgeDeps = {}): PluginFuncs {
  return {
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    async gc(a) {
      const c = loadBridgeConfig(a.netconf, a.args);
      if (c.layer3) await ipamGc(a, deps.ipam);
      if (c.layer3 && c.ipMasq.enabled) await collectIpMasq(c.ipMasq, deps, a.netconf.name, parseGcAttachments(a.netconf));
    },
    async status(a) {
      const c = loadBridgeConfig(a.netconf, a.args);
      if (c.layer3) await ipamStatus(a, deps.ipam);
    },
  };
}
