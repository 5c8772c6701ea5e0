// Namespace layer: named network namespaces under /run/netns, as `ip netns add/del/list` manage them.
// Creation and deletion go through the addon (unshare + bind mount on a short-lived thread); the JS
// thread never enters a namespace. Opening a namespace file for IFLA_NET_NS_FD is a plain open().

import { closeSync, constants, openSync, readdirSync } from 'node:fs';
import { loadNative } from '@tscni/native';
import type { NativeBinding } from '@tscni/native';

export const NETNS_RUN_DIR = '/run/netns';

/** Thrown for a namespace name that would escape /run/netns or that `ip netns` would refuse. */
export class InvalidNetnsNameError extends TypeError {
  override readonly name = 'InvalidNetnsNameError';
}

/** The bind-mount path of a named namespace. Names are single path components. */
export function netnsPath(name: string): string {
  if (
    name.length === 0 ||
    name.length > 255 ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    name.includes('\0')
  ) {
    throw new InvalidNetnsNameError(`invalid network namespace name ${JSON.stringify(name)}`);
  }
  return `${NETNS_RUN_DIR}/${name}`;
}

/** Create a named namespace; returns its path. Fails with EEXIST if the name is taken. */
export function createNetns(name: string, binding: NativeBinding = loadNative()): string {
  const path = netnsPath(name);
  binding.netnsCreate(path);
  return path;
}

/** Delete a named namespace (unmount + unlink). A missing name is not an error. */
export function deleteNetns(name: string, binding: NativeBinding = loadNative()): void {
  binding.netnsDelete(netnsPath(name));
}

/** Names under /run/netns (empty when the directory does not exist). */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Inode of a namespace file; equal inodes (on nsfs) mean the same namespace. */
export function netnsInode(path = '/proc/self/ns/net', binding: NativeBinding = loadNative()): number {
  return binding.netnsInode(path);
}

/** Open a namespace file (e.g. /run/netns/x, /proc/<pid>/ns/net) read-only, for IFLA_NET_NS_FD. */
export function openNetns(path: string): number {
  // libuv opens every file O_CLOEXEC.
  return openSync(path, constants.O_RDONLY);
}

/** Run `fn` with a namespace fd open, closing it afterwards. */
export async function withNetnsFd<T>(path: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = openNetns(path);
  try {
    return await fn(fd);
  } finally {
    closeSync(fd);
  }
}
