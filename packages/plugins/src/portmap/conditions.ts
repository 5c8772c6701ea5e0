// Floor 3 (plugins/portmap): `conditionsV4` / `conditionsV6` in nftables syntax (the reference's
// nftables backend pastes them into its rules as text for nft to parse). tscni writes rules over
// netlink, so it understands the phrases such conditions are made of and refuses anything else with
// code 7 naming the key and the phrase.
import { CniError, ErrorCode } from '@tscni/spec';
import { formatIPBytes } from '@tscni/ip';
import { matchDaddr, matchIifname, matchMark, matchOifname, matchSaddr } from '@tscni/netlink';
import type { NftExprGroup } from '@tscni/netlink';
import { canonicalAddr } from './config.js';
import type { IpVersion } from './config.js';

const SUPPORTED = 'ip/ip6 saddr|daddr [!=] ADDR[/LEN], [meta] iifname|oifname [!=] NAME, [meta] mark [!=] VALUE';

/** Splits on whitespace, keeping "double quoted" words together (quotes removed). */
function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

/**
 * Parses nft match phrases into rule items for a table of the given IP version. The list's tokens
 * are joined with spaces first, so `["ip saddr", "10.0.0.0/8"]` and `["ip", "saddr", "10.0.0.0/8"]`
 * mean the same.
 */
export function parseNftConditions(conditions: readonly string[], version: IpVersion, field: string): NftExprGroup[] {
  const tokens = tokenize(conditions.join(' '));
  const groups: NftExprGroup[] = [];
  const fail = (text: string): never => {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${text} (supported: ${SUPPORTED})`);
  };
  let i = 0;
  const next = (what: string): string => {
    const t = tokens[i++];
    if (t === undefined) fail(`expected ${what} at the end of ${JSON.stringify(tokens.join(' '))}`);
    return t as string;
  };
  const op = (): 'eq' | 'neq' => {
    const t = tokens[i];
    if (t === '==' || t === 'eq') {
      i++;
      return 'eq';
    }
    if (t === '!=' || t === 'ne') {
      i++;
      return 'neq';
    }
    return 'eq';
  };
  while (i < tokens.length) {
    const start = i;
    let word = next('a match');
    if (word === 'meta') word = next('a meta key');
    if (word === 'ip' || word === 'ip6') {
      const want = word === 'ip' ? 4 : 6;
      if (want !== version) fail(`an ${word} match cannot apply to IPv${version} traffic`);
      const which = next('saddr or daddr');
      if (which !== 'saddr' && which !== 'daddr') fail(`unsupported match "${word} ${which}"`);
      const o = op();
      const addr = next('an address');
      const slash = addr.indexOf('/');
      const bytes = canonicalAddr(slash < 0 ? addr : addr.slice(0, slash));
      const len = slash < 0 ? 0 : Number(addr.slice(slash + 1));
      const family = bytes === undefined ? undefined : bytes.length === 4 ? 4 : 6;
      const lenOk = slash < 0 || (/^[0-9]+$/.test(addr.slice(slash + 1)) && len <= (family === 4 ? 32 : 128));
      if (family !== version || !lenOk) fail(`"${addr}" is not an IPv${version} address or prefix`);
      const text = `${formatIPBytes(bytes as Uint8Array)}${slash < 0 ? '' : `/${len}`}`;
      groups.push(which === 'saddr' ? matchSaddr(text, o) : matchDaddr(text, o));
    } else if (word === 'iifname' || word === 'oifname') {
      const o = op();
      const name = next('an interface name');
      if (name.length === 0 || name.length > 15) fail(`invalid interface name ${JSON.stringify(name)}`);
      groups.push(word === 'iifname' ? matchIifname(name, o) : matchOifname(name, o));
    } else if (word === 'mark') {
      const o = op();
      const raw = next('a mark value');
      const value = /^(0x[0-9a-f]+|[0-9]+)$/i.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) fail(`invalid mark ${JSON.stringify(raw)}`);
      groups.push(matchMark(value, { op: o }));
    } else {
      fail(`unsupported match starting at ${JSON.stringify(tokens.slice(start).join(' '))}`);
    }
  }
  return groups;
}
