// Floor 3 (plugins/bridge): `macspoofchk` in nftables over netlink, in the reference's layout
// (pkg/link SpoofChecker) so either implementation can tear down the other's rules: table
// `bridge nat`, base chain `PREROUTING` (filter, prerouting, priority -300), and per attachment
//   PREROUTING:                     iifname "<host veth>" jump cni-br-iface-<id>
//   cni-br-iface-<id>:              jump cni-br-iface-<id>-mac
//   cni-br-iface-<id>-mac:          ether saddr <container MAC> return; drop
// with <id> = `<containerID>-<ifname>` and every rule commented `macspoofchk-<id>`.
import { CniError, ErrorCode } from '@tscni/spec';
import { NftBatch, drop, findNftRulesByComment, jump, listNftChains, matchIifname, parseMac, ret } from '@tscni/netlink';
import type { NetlinkTransport, NftExpr } from '@tscni/netlink';
import { withNetfilter } from '../shared/netfilter.js';
import type { NftOpener } from '../shared/netfilter.js';

export const SPOOFCHK_TABLE = 'nat';
export const SPOOFCHK_BASE_CHAIN = 'PREROUTING';
/** NFT_REG_1: the first 16-byte register, where nft loads a compared value. */
const REG_1 = 1;

/** The reference's refID of an attachment. */
export function spoofCheckId(containerId: string, ifName: string): string {
  return `${containerId}-${ifName}`;
}

export function spoofCheckChains(id: string): { iface: string; mac: string } {
  const iface = `cni-br-iface-${id}`;
  return { iface, mac: `${iface}-mac` };
}

export function spoofCheckComment(id: string): string {
  return `macspoofchk-${id}`;
}

/** `ether saddr <mac>`: the 6 bytes at offset 6 of the link-layer header (no dependency in bridge tables). */
function matchEtherSaddr(mac: string): NftExpr[] {
  return [
    { kind: 'payload', base: 'll', offset: 6, len: 6, dreg: REG_1 },
    { kind: 'cmp', sreg: REG_1, op: 'eq', data: parseMac(mac) },
  ];
}

const where = { family: 'bridge', table: SPOOFCHK_TABLE } as const;

/** The attachment's PREROUTING jumps (found by comment; the host veth name is not needed). */
async function baseRules(t: NetlinkTransport, id: string) {
  return findNftRulesByComment(t, { ...where, chain: SPOOFCHK_BASE_CHAIN }, spoofCheckComment(id));
}

/**
 * Lets only `mac` out of `hostIfName` into the bridge. One transaction: table, base chain and the
 * attachment's chains made if absent, its chains rewritten, an earlier jump of the same attachment
 * (a repeated ADD) replaced.
 */
export async function setupSpoofCheck(open: NftOpener, o: { hostIfName: string; mac: string; id: string }): Promise<void> {
  await withNetfilter(open, 'failed to setup spoof-check', async (t) => {
    const { iface, mac } = spoofCheckChains(o.id);
    const comment = spoofCheckComment(o.id);
    const stale = await baseRules(t, o.id);
    const b = new NftBatch({ family: 'bridge' })
      .addTable({ name: SPOOFCHK_TABLE })
      .addChain({ table: SPOOFCHK_TABLE, name: SPOOFCHK_BASE_CHAIN, base: { type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' } })
      .addChain({ table: SPOOFCHK_TABLE, name: iface })
      .addChain({ table: SPOOFCHK_TABLE, name: mac })
      .flushChain({ table: SPOOFCHK_TABLE, name: iface })
      .flushChain({ table: SPOOFCHK_TABLE, name: mac });
    for (const r of stale) if (r.handle !== undefined) b.deleteRule({ table: SPOOFCHK_TABLE, chain: SPOOFCHK_BASE_CHAIN, handle: r.handle });
    b.addRule({ table: SPOOFCHK_TABLE, chain: SPOOFCHK_BASE_CHAIN, exprs: [matchIifname(o.hostIfName), jump(iface)], comment })
      .addRule({ table: SPOOFCHK_TABLE, chain: iface, exprs: [jump(mac)], comment })
      .addRule({ table: SPOOFCHK_TABLE, chain: mac, exprs: [...matchEtherSaddr(o.mac), ret()], comment })
      .addRule({ table: SPOOFCHK_TABLE, chain: mac, exprs: [drop()], comment });
    await b.commit(t);
  });
}

/** Removes the attachment's jump and chains; the table and base chain stay (shared). Nothing there: no-op. */
export async function teardownSpoofCheck(open: NftOpener, id: string): Promise<void> {
  await withNetfilter(open, 'failed to teardown spoof-check', async (t) => {
    const { iface, mac } = spoofCheckChains(id);
    const rules = await baseRules(t, id);
    const chains = new Set((await listNftChains(t, where)).map((c) => c.name));
    const b = new NftBatch({ family: 'bridge' });
    for (const r of rules) if (r.handle !== undefined) b.deleteRule({ table: SPOOFCHK_TABLE, chain: SPOOFCHK_BASE_CHAIN, handle: r.handle });
    // Flushed first: the iface chain's jump holds a reference to the mac chain.
    for (const c of [iface, mac]) if (chains.has(c)) b.flushChain({ table: SPOOFCHK_TABLE, name: c });
    for (const c of [iface, mac]) if (chains.has(c)) b.deleteChain({ table: SPOOFCHK_TABLE, name: c });
    if (b.length > 0) await b.commit(t);
  });
}

/** CHECK: the attachment's jump from PREROUTING and its MAC filter are in place. */
export async function checkSpoofCheck(open: NftOpener, id: string, hostIfName: string): Promise<void> {
  await withNetfilter(open, 'failed to check spoof-check', async (t) => {
    const jumps = await baseRules(t, id);
    const { mac } = spoofCheckChains(id);
    const filters = await findNftRulesByComment(t, { ...where, chain: mac }, spoofCheckComment(id));
    if (jumps.length === 0 || filters.length < 2) {
      throw new CniError(ErrorCode.Internal, `macspoofchk rules for ${hostIfName} (${spoofCheckComment(id)}) not found in table bridge ${SPOOFCHK_TABLE}`);
    }
  });
}
