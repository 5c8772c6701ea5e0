// Floor 3 (plugins/shared): ipMasq with `ipMasqBackend: "iptables"`, in the reference's iptables
// layout (pkg/ip SetupIPMasq): per attachment a nat chain `CNI-<sha512(network+containerID)[:24]>`
// holding `-d <subnet> -j ACCEPT` and `! -d <multicast> -j MASQUERADE`, entered from POSTROUTING by
// `-s <address> -j CNI-…`, every rule commented `name: "<network>" id: "<containerID>"`. Each
// operation reads the nat table once (iptables-save) and writes all its changes in ONE
// `iptables-restore --noflush` per IP version, where the reference execs iptables per rule.
import type { GCAttachment } from '@tscni/spec';
import { formatCIDR, formatIP, maskedNet } from '@tscni/ip';
import { chainName } from './crypto.js';
import { resultNet } from './iface.js';
import { formatRuleLine, ruleOption, ruleTarget, sameSpec, transactTable } from './iptables-restore.js';
import type { CommandRunner, IptVersion, SavedTable } from './iptables-restore.js';
import type { MasqOwner } from './ipmasq.js';

const TABLE = 'nat';
const POSTROUTING = 'POSTROUTING';
const MULTICAST: Readonly<Record<IptVersion, string>> = { 4: '224.0.0.0/4', 6: 'ff00::/8' };

/** The reference's utils.FormatComment: `name: "<network>" id: "<containerID>"`. */
export function ipMasqComment(network: string, containerId: string): string {
  return `name: ${JSON.stringify(network)} id: ${JSON.stringify(containerId)}`;
}

interface Rule {
  chain: string;
  spec: string[];
}

/** The rules of one address, as iptables-save prints them (so they compare with what is there). */
function addressRules(address: string, chain: string, comment: string): { version: IptVersion; rules: Rule[] } {
  const net = resultNet(address);
  const version: IptVersion = net.ip.family;
  const host = `${formatIP(net.ip)}/${version === 4 ? 32 : 128}`;
  const c = ['-m', 'comment', '--comment', comment];
  return {
    version,
    rules: [
      { chain, spec: ['-d', formatCIDR(maskedNet(net)), ...c, '-j', 'ACCEPT'] },
      { chain, spec: ['!', '-d', MULTICAST[version], ...c, '-j', 'MASQUERADE'] },
      { chain: POSTROUTING, spec: ['-s', host, ...c, '-j', chain] },
    ],
  };
}

function hasRule(t: SavedTable, r: Rule): boolean {
  return t.rules.some((s) => s.chain === r.chain && sameSpec(s.spec, r.spec));
}

/** Adds the attachment's chain and rules; rules already there (a repeated ADD) are not added twice. */
export async function setupIpMasqIptables(run: CommandRunner, addresses: readonly string[], owner: MasqOwner): Promise<void> {
  const chain = chainName(owner.network, owner.containerId);
  const comment = ipMasqComment(owner.network, owner.containerId);
  const byVersion = new Map<IptVersion, Rule[]>();
  for (const a of addresses) {
    const { version, rules } = addressRules(a, chain, comment);
    byVersion.set(version, [...(byVersion.get(version) ?? []), ...rules]);
  }
  for (const [v, rules] of byVersion) {
    await transactTable(run, v, TABLE, (t) => {
      // Declaring an existing chain in --noflush mode would flush it: only a missing one is declared.
      const lines = t.chains.has(chain) ? [] : [`:${chain} - [0:0]`];
      const added: Rule[] = [];
      for (const r of rules) {
        if (hasRule(t, r) || added.some((x) => x.chain === r.chain && sameSpec(x.spec, r.spec))) continue;
        added.push(r);
        lines.push(formatRuleLine('-A', r.chain, r.spec));
      }
      return lines;
    });
  }
}

/** Restore lines removing chains and the POSTROUTING jumps into them. */
function removal(t: SavedTable, chains: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  for (const r of t.rules) {
    const target = ruleTarget(r.spec);
    if (r.chain === POSTROUTING && target !== undefined && chains.has(target)) lines.push(formatRuleLine('-D', r.chain, r.spec));
  }
  for (const c of chains) {
    if (t.chains.has(c)) lines.push(`-F ${c}`, `-X ${c}`);
  }
  return lines;
}

/**
 * Removes the attachment's chain and its POSTROUTING jumps in both IP versions. Found by name, so
 * no address (and no namespace) is needed; an IP version whose tools are missing has nothing to remove.
 */
export async function teardownIpMasqIptables(run: CommandRunner, owner: MasqOwner): Promise<void> {
  const chain = chainName(owner.network, owner.containerId);
  for (const v of [4, 6] as const) await transactTable(run, v, TABLE, (t) => removal(t, new Set([chain])), { absentOk: true });
}

/** GC: removes the network's chains whose container is not among `valid` (the chains ignore ifname). */
export async function gcIpMasqIptables(run: CommandRunner, network: string, valid: readonly GCAttachment[]): Promise<void> {
  const keep = new Set(valid.map((a) => ipMasqComment(network, a.containerID)));
  const prefix = `name: ${JSON.stringify(network)} id: `;
  for (const v of [4, 6] as const) {
    await transactTable(
      run,
      v,
      TABLE,
      (t) => {
        const stale = new Set<string>();
        for (const r of t.rules) {
          const comment = ruleOption(r.spec, '--comment');
          const target = ruleTarget(r.spec);
          if (r.chain !== POSTROUTING || comment === undefined || target === undefined || !target.startsWith('CNI-')) continue;
          if (comment.startsWith(prefix) && !keep.has(comment)) stale.add(target);
        }
        return removal(t, stale);
      },
      { absentOk: true },
    );
  }
}
