// Floor 3 (plugins/shared): the sysctls interface plugins touch (per-interface knobs in the
// container or host namespace, IP forwarding), over @tscni/netlink's per-namespace /proc/sys access.
// Mirrors the reference's plugins/pkg/utils/sysctl uses and ip.EnableIP4Forward/EnableIP6Forward.
import { readSysctl, writeSysctl } from '@tscni/netlink';
import { kernelError } from './kernel.js';

export type Family = 4 | 6;

/** `net/ipv6/conf/<if>/<key>`: the slash form, so interface names with dots (eth0.100) work. */
export function ifaceSysctl(family: Family, ifName: string, key: string): string {
  return `net/ipv${family}/conf/${ifName}/${key}`;
}

/** Writes a sysctl (netnsPath null: our own namespace); a failure is a CNI error naming the key. */
export function setSysctl(key: string, value: string, netnsPath: string | null): void {
  try {
    writeSysctl(key, value, netnsPath);
  } catch (e) {
    throw kernelError(`failed to set sysctl ${key}=${value}`, e);
  }
}

/**
 * Writes a sysctl where the reference ignores failures (e.g. accept_ra on a bridge when IPv6 is
 * disabled: the key does not exist). Returns whether the write happened.
 */
export function trySetSysctl(key: string, value: string, netnsPath: string | null): boolean {
  try {
    writeSysctl(key, value, netnsPath);
    return true;
  } catch {
    return false;
  }
}

export function tryReadSysctl(key: string, netnsPath: string | null): string | undefined {
  try {
    return readSysctl(key, netnsPath);
  } catch {
    return undefined;
  }
}

/** Sets a sysctl only when it differs, so an already-configured host sees no write. */
export function ensureSysctl(key: string, value: string, netnsPath: string | null): void {
  if (tryReadSysctl(key, netnsPath) === value) return;
  setSysctl(key, value, netnsPath);
}

const FORWARDING: Readonly<Record<Family, string>> = {
  4: 'net/ipv4/ip_forward',
  6: 'net/ipv6/conf/all/forwarding',
};

/** Turns on routing in our (the host's) namespace for each family, as the reference's EnableForward. */
export function enableForwarding(families: Iterable<Family>): void {
  for (const f of new Set(families)) ensureSysctl(FORWARDING[f], '1', null);
}
