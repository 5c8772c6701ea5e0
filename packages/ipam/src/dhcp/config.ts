// Floor 3 (ipam/dhcp): the dhcp plugin's `ipam` keys as the reference reads them —
// daemonSocketPath, request [{skipDefault, option}], provide [{option, value, fromArg}], priority —
// turned into the exact option list the daemon's client sends.
import { CniError, ErrorCode, parseCniArgs } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import * as z from 'zod/mini';
import { checkShape, configError, goFields } from '../conf.js';
import { Opt, textOption } from './message.js';
import { leaseKey } from './protocol.js';

export const DEFAULT_SOCKET_PATH = '/run/cni/dhcp.sock';

/** Option names the reference accepts in `request`/`provide`, plus a few common ISC names. */
export const OPTION_NAMES: Readonly<Record<string, number>> = {
  'subnet-mask': Opt.SubnetMask,
  routers: Opt.Router,
  'domain-name-servers': Opt.DomainNameServer,
  'host-name': Opt.HostName,
  'domain-name': Opt.DomainName,
  'static-routes': Opt.StaticRoute,
  'dhcp-lease-time': Opt.LeaseTime,
  'dhcp-renewal-time': Opt.RenewalTime,
  'dhcp-rebinding-time': Opt.RebindingTime,
  'vendor-class-identifier': Opt.VendorClassId,
  'dhcp-client-identifier': Opt.ClientId,
  'user-class': Opt.UserClass,
  'classless-static-routes': Opt.ClasslessStaticRoute,
};

/** Asked for unless a `request` entry says skipDefault: what the result is built from. */
export const DEFAULT_REQUEST: readonly number[] = [
  Opt.SubnetMask,
  Opt.Router,
  Opt.DomainNameServer,
  Opt.DomainName,
  Opt.StaticRoute,
  Opt.RenewalTime,
  Opt.RebindingTime,
  Opt.ClasslessStaticRoute,
];

/** Codes the client itself manages; a `provide` entry may not set them. */
const RESERVED = new Set<number>([
  Opt.Pad,
  Opt.End,
  Opt.RequestedIP,
  Opt.Overload,
  Opt.MessageType,
  Opt.ServerId,
  Opt.ParameterRequestList,
]);

export interface DhcpConfig {
  name: string;
  cniVersion: string;
  socketPath: string;
  /** Metric of the routes in the result (0 = unset). */
  priority: number;
  /** Option 55 contents, in order. */
  requestList: number[];
  /** Options sent besides 53/55/50/54, in order; always includes 61. */
  provide: Array<[number, Uint8Array]>;
}

export function parseOptionName(raw: string, path: Array<string | number>): number {
  const byName = OPTION_NAMES[raw.trim().toLowerCase()];
  if (byName !== undefined) return byName;
  if (/^\d+$/.test(raw.trim())) {
    const n = Number(raw.trim());
    if (n >= 1 && n <= 254) return n;
  }
  throw configError(path, `unknown DHCP option ${JSON.stringify(raw)} (a name such as "host-name" or a code 1-254)`);
}

const IPAM_KEYS = ['daemonSocketPath', 'request', 'provide', 'priority'];

export function loadDhcpConfig(netconf: NetConf, cniArgs: string, containerId: string, ifName: string): DhcpConfig {
  if (netconf.ipam === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
  const ipam = checkShape(
    z.object({
      daemonSocketPath: z.optional(z.string()),
      request: z.optional(z.array(z.unknown())),
      provide: z.optional(z.array(z.unknown())),
      priority: z.optional(z.number().check(z.refine((n) => Number.isSafeInteger(n) && n >= 0, 'must be a non-negative integer'))),
    }),
    goFields(netconf.ipam, IPAM_KEYS),
    ['ipam'],
  );

  let skipDefault = false;
  const requested: number[] = [];
  (ipam.request ?? []).forEach((raw, i) => {
    const path = ['ipam', 'request', i];
    const r = checkShape(z.object({ skipDefault: z.optional(z.boolean()), option: z.optional(z.string()) }), goFields(raw, ['skipDefault', 'option']), path);
    if (r.skipDefault === true) skipDefault = true;
    if (r.option !== undefined && r.option !== '') requested.push(parseOptionName(r.option, [...path, 'option']));
  });
  const requestList = [...new Set([...(skipDefault ? [] : DEFAULT_REQUEST), ...requested])];

  let env: Map<string, string> | undefined;
  const provide: Array<[number, Uint8Array]> = [];
  (ipam.provide ?? []).forEach((raw, i) => {
    const path = ['ipam', 'provide', i];
    const p = checkShape(
      z.object({ option: z.string(), value: z.optional(z.string()), fromArg: z.optional(z.string()) }),
      goFields(raw, ['option', 'value', 'fromArg']),
      path,
    );
    const code = parseOptionName(p.option, [...path, 'option']);
    if (RESERVED.has(code)) throw configError([...path, 'option'], `option ${code} is set by the DHCP client itself`);
    let value = p.value;
    if (p.fromArg !== undefined && p.fromArg !== '') {
      env ??= new Map(parseCniArgs(cniArgs));
      value = env.get(p.fromArg) ?? value;
    }
    if (value === undefined || value === '') return;
    const at = provide.findIndex(([c]) => c === code);
    if (at >= 0) provide.splice(at, 1);
    provide.push([code, textOption(value)]);
  });
  // The client identifier defaults to the lease key behind type byte 0 (RFC 2132 §9.14: not a
  // hardware address), byte for byte what the reference's daemon sends, so server-side
  // reservations keyed by client id carry over.
  if (!provide.some(([c]) => c === Opt.ClientId)) {
    provide.unshift([Opt.ClientId, Uint8Array.from([0, ...textOption(leaseKey(containerId, netconf.name, ifName))])]);
  }

  return {
    name: netconf.name,
    cniVersion: netconf.cniVersion ?? '',
    socketPath: ipam.daemonSocketPath === undefined || ipam.daemonSocketPath === '' ? DEFAULT_SOCKET_PATH : ipam.daemonSocketPath,
    priority: ipam.priority ?? 0,
    requestList,
    provide,
  };
}
