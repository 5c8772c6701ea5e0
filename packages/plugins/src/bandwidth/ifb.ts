// Floor 3 (plugins/bandwidth): naming of the ifb device that carries an attachment's egress bucket.
// The name is the reference's (`bwp` + hex SHA-512 of network name + container ID, cut to 15
// characters) so that either implementation finds the other's device. The alias is ours: it records
// the network, which the name's hash cannot give back, so GC of one network leaves others' alone.
import { hashWithPrefix, hexDigest } from '../shared/crypto.js';

export const IFB_PREFIX = 'bwp';
/** IFNAMSIZ - 1. */
const IFNAME_MAX = 15;
/** What the reference's names look like; anything else starting with bwp is not ours to judge. */
export const IFB_NAME_RE = /^bwp[0-9a-f]{12}$/;

export function ifbName(network: string, containerId: string): string {
  return hashWithPrefix(IFNAME_MAX, IFB_PREFIX, network + containerId);
}

const ALIAS_PREFIX = 'tscni-bandwidth net=';
/** IFALIASZ - 1. */
const ALIAS_MAX = 255;

/**
 * The alias set on the ifb: the network's name, or a digest of it when the name is too long for an
 * alias (network names have no length limit).
 */
export function ifbAlias(network: string): string {
  const plain = ALIAS_PREFIX + network;
  if (plain.length <= ALIAS_MAX) return plain;
  return `${ALIAS_PREFIX}sha256:${hexDigest('sha256', network)}`;
}

/** Whether an ifb was created by us for another network (then GC of this network leaves it). */
export type AliasOwner = 'this-network' | 'other-network' | 'unknown';

export function aliasOwner(alias: string | undefined, network: string): AliasOwner {
  if (alias === undefined || !alias.startsWith(ALIAS_PREFIX)) return 'unknown';
  return alias === ifbAlias(network) ? 'this-network' : 'other-network';
}
