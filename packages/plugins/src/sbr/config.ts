// Floor 3 (plugins/sbr): the sbr plugin's keys as the reference's PluginConf reads them (`table`,
// `gateways`, `addSourceHints`), checked up front so a bad value is code 7 naming the field.
import { CniError, ErrorCode } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { canonicalIP, formatIP, parseIP } from '@tscni/ip';
import { GoObject } from '../shared/conf.js';

export interface SbrConfig {
  /** A fixed routing table: only `from <ip> lookup <table>` rules are added. Absent: pick one per IP. */
  table?: number;
  /** Static gateways overriding prevResult's, at most one per family. */
  gatewayV4?: string;
  gatewayV6?: string;
  /** Keep the subnet routes in main (with the address as source hint) instead of moving them all. */
  addSourceHints: boolean;
}

function invalid(field: string, text: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${text}`);
}

/** The highest table id rtnetlink accepts (FRA_TABLE / RTA_TABLE are u32); 0 means "unspecified". */
const MAX_TABLE = 0xffff_ffff;

export function loadSbrConfig(netconf: NetConf): SbrConfig {
  const o = new GoObject(netconf);
  const conf: SbrConfig = { addSourceHints: o.bool('addSourceHints') };

  const table = o.int('table');
  if (table !== undefined) {
    if (table < 1 || table > MAX_TABLE) throw invalid('table', `must be a routing table id between 1 and ${MAX_TABLE}, got ${table}`);
    conf.table = table;
  }

  const gateways = o.array('gateways') ?? [];
  if (gateways.length > 2) throw invalid('gateways', 'at most two entries (one IPv4, one IPv6)');
  gateways.forEach((g, i) => {
    const field = `gateways[${i}]`;
    if (typeof g !== 'string') throw invalid(field, 'must be a string');
    const ip = parseIP(g);
    if (ip === undefined) throw invalid(field, `invalid gateway IP address ${JSON.stringify(g)}`);
    // A v4-mapped IPv6 address is an IPv4 gateway, as Go's To4 sees it.
    const canonical = canonicalIP(ip);
    const text = formatIP(canonical);
    if (canonical.family === 4) {
      if (conf.gatewayV4 !== undefined) throw invalid('gateways', `more than one IPv4 gateway (${conf.gatewayV4} and ${g})`);
      conf.gatewayV4 = text;
    } else {
      if (conf.gatewayV6 !== undefined) throw invalid('gateways', `more than one IPv6 gateway (${conf.gatewayV6} and ${g})`);
      conf.gatewayV6 = text;
    }
  });
  return conf;
}
