// Floor 3 (plugins/shared): the veth pair of bridge and ptp (reference ip.SetupVeth). The pair is
// created from the host namespace in one RTM_NEWLINK: the host end gets a random `veth<8 hex>` name,
// the container end is created directly inside CNI_NETNS under CNI_IFNAME, so no rename or namespace
// move is ever needed and the container name never appears in the host namespace.
import { CniError, ErrorCode } from '@tscni/spec';
import { RT_SCOPE } from '@tscni/netlink';
import type { Link, RtNetlink } from '@tscni/netlink';
import { isExists, isMissingLink, kernelError } from './kernel.js';
import { randomHex } from './crypto.js';

export interface VethOptions {
  /** Path of the container's network namespace (CNI_NETNS). */
  netnsPath: string;
  /** Name of the container end (CNI_IFNAME). */
  containerIfName: string;
  /** MTU of both ends; kernel default when absent. */
  mtu?: number;
  /** MAC of the container end; kernel-chosen when absent. */
  containerMac?: string;
  /** Bring the container end up (default true). */
  containerUp?: boolean;
  /** Name of the host end; a fresh random name when absent. */
  hostIfName?: string;
}

export interface VethPair {
  /** The host end, read back from the host namespace. */
  host: Link;
  /** The container end, read back from the container namespace. */
  container: Link;
}

/** `veth` + 8 random hex digits, the reference's host-side naming. */
export function randomVethName(): string {
  return `veth${randomHex(4)}`;
}

/** Random names collide rarely; the reference gives up after this many attempts too. */
const NAME_ATTEMPTS = 10;

/**
 * Creates the pair and brings the host end up (and the container end, unless told not to).
 * `host` is rtnetlink in the host namespace, `container` in CNI_NETNS. An existing CNI_IFNAME in
 * the container is an error; a taken random host name is retried with another.
 */
export async function createVeth(host: RtNetlink, container: RtNetlink, o: VethOptions): Promise<VethPair> {
  if ((await container.findLink(o.containerIfName)) !== undefined) {
    throw new CniError(ErrorCode.Internal, `container veth name provided (${o.containerIfName}) already exists`);
  }
  let hostName = '';
  for (let attempt = 0; ; attempt++) {
    hostName = o.hostIfName ?? randomVethName();
    try {
      await host.createLink({
        name: hostName,
        kind: 'veth',
        ...(o.mtu === undefined ? {} : { mtu: o.mtu }),
        up: true,
        peer: {
          name: o.containerIfName,
          netns: o.netnsPath,
          ...(o.mtu === undefined ? {} : { mtu: o.mtu }),
          ...(o.containerMac === undefined ? {} : { mac: o.containerMac }),
        },
      });
      break;
    } catch (e) {
      if (!isExists(e)) throw kernelError(`failed to create veth pair ${hostName}/${o.containerIfName}`, e);
      // EEXIST names neither end: find out which one is taken.
      if ((await container.findLink(o.containerIfName)) !== undefined) {
        throw new CniError(ErrorCode.Internal, `container veth name provided (${o.containerIfName}) already exists`);
      }
      if (o.hostIfName !== undefined) {
        throw new CniError(ErrorCode.Internal, `host veth name provided (${o.hostIfName}) already exists`);
      }
      if (attempt + 1 >= NAME_ATTEMPTS) {
        throw new CniError(ErrorCode.Internal, `failed to find a free veth name after ${NAME_ATTEMPTS} attempts`);
      }
    }
  }
  try {
    if (o.containerUp ?? true) await container.setLinkUp(o.containerIfName);
    return { host: await host.getLink(hostName), container: await container.getLink(o.containerIfName) };
  } catch (e) {
    // Deleting one end removes both; nothing half-made stays behind.
    await host.deleteLink(hostName).catch(() => undefined);
    throw kernelError(`failed to set up veth pair ${hostName}/${o.containerIfName}`, e);
  }
}

/**
 * Deletes CNI_IFNAME in the container (its veth peer goes with it) and returns the global
 * addresses it had, as the reference's DelLinkByNameAddr. A missing link is not an error.
 */
export async function deleteContainerLink(container: RtNetlink, ifName: string): Promise<string[]> {
  let link: Link | undefined;
  try {
    link = await container.findLink(ifName);
  } catch (e) {
    throw kernelError(`failed to look up ${ifName}`, e);
  }
  if (link === undefined) return [];
  const cidrs = (await container.listAddresses({ link: link.index }))
    .filter((a) => a.scope === RT_SCOPE.UNIVERSE)
    .map((a) => a.cidr);
  try {
    await container.deleteLink(link.index);
  } catch (e) {
    if (!isMissingLink(e)) throw kernelError(`failed to delete ${ifName}`, e);
  }
  return cidrs;
}
