// Namespace layer: /proc/sys reads and writes (like Go's plugins/pkg/utils/sysctl), per namespace.
// /proc/sys/net shows the namespace of the thread that opened the file, so a file in another
// namespace is opened by the addon on a short-lived thread inside it; reading/writing the fd is JS.

import { closeSync, constants, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { loadNative } from '@tscni/native';
import type { NativeBinding } from '@tscni/native';

export const SYSCTL_ROOT = '/proc/sys';

export class InvalidSysctlKeyError extends TypeError {
  override readonly name = 'InvalidSysctlKeyError';
}

/**
 * 'net.ipv4.ip_forward' or 'net/ipv4/ip_forward' (or '/proc/sys/net/...') -> '/proc/sys/net/ipv4/ip_forward'.
 * A key containing '/' is taken as a path, so interface names with dots ('eth0.100') can be addressed.
 */
export function sysctlPath(key: string): string {
  let rel = key.startsWith(`${SYSCTL_ROOT}/`) ? key.slice(SYSCTL_ROOT.length + 1) : key;
  if (!rel.includes('/')) rel = rel.replaceAll('.', '/');
  const parts = rel.split('/');
  if (rel.length === 0 || rel.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new InvalidSysctlKeyError(`invalid sysctl key ${JSON.stringify(key)}`);
  }
  return `${SYSCTL_ROOT}/${parts.join('/')}`;
}

function readFd(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The value with its trailing newline removed. netnsPath null/undefined: our own namespace. */
export function readSysctl(key: string, netnsPath?: string | null, binding?: NativeBinding): string {
  const path = sysctlPath(key);
  if (netnsPath == null) return readFileSync(path, 'utf8').replace(/\n$/, '');
  const b = binding ?? loadNative();
  const fd = b.openInNetns(netnsPath, path, constants.O_RDONLY);
  try {
    return readFd(fd).replace(/\n$/, '');
  } finally {
    closeSync(fd);
  }
}

export function writeSysctl(key: string, value: string, netnsPath?: string | null, binding?: NativeBinding): void {
  const path = sysctlPath(key);
  if (netnsPath == null) {
    writeFileSync(path, value);
    return;
  }
  const b = binding ?? loadNative();
  const fd = b.openInNetns(netnsPath, path, constants.O_WRONLY);
  try {
    // One write(2): a sysctl handler parses exactly what one write gives it.
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}
