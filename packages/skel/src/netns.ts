// Plugin side (skel): the "CNI_NETNS is my own netns" guard (Go skel's error 8, via ns.CheckNetNS),
// done with two stat calls instead of native code: namespace files share dev/inode when they
// refer to the same namespace (a bind mount under /run/netns included).
import { statSync } from 'node:fs';

export const OWN_NETNS_PATH = '/proc/self/ns/net';

/**
 * True when `netnsPath` is the network namespace this process runs in. A path that cannot be
 * stat'ed is "not ours" (so DEL still works after the namespace is gone), as in Go.
 */
export function isOwnNetns(netnsPath: string, ownPath: string = OWN_NETNS_PATH): boolean {
  try {
    const target = statSync(netnsPath);
    const own = statSync(ownPath);
    return target.ino === own.ino && target.dev === own.dev;
  } catch {
    return false;
  }
}
