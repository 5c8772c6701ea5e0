// Floor 3 (plugins/shared): the NETLINK_NETFILTER socket (nf_tables, conntrack) through which ipMasq,
// macspoofchk, portmap and firewall program the host's packet filter: one opener, and one
// open-use-close that turns failures into CNI errors saying what was being done.
import { CniError, ErrorCode } from '@tscni/spec';
import { NETLINK_NETFILTER, SocketTransport } from '@tscni/netlink';
import type { NetlinkTransport } from '@tscni/netlink';
import { kernelError } from './kernel.js';

/** Opens a NETLINK_NETFILTER transport in the host's namespace; tests aim it at another namespace. */
export type NftOpener = () => NetlinkTransport;

/** NETLINK_NETFILTER in this process's namespace: the host's, for a plugin a runtime executes. */
export const defaultNftOpener: NftOpener = () => SocketTransport.open(NETLINK_NETFILTER);

/**
 * Runs `fn` on a freshly opened netfilter socket and closes it afterwards. A socket that cannot be
 * opened (no nfnetlink, no permission) is code 50 (PluginNotAvailable); a failure in `fn` is a CNI
 * error whose message starts with `what`.
 */
export async function withNetfilter<T>(open: NftOpener, what: string, fn: (t: NetlinkTransport) => Promise<T>): Promise<T> {
  let t: NetlinkTransport;
  try {
    t = open();
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    throw new CniError(ErrorCode.PluginNotAvailable, `${what}: cannot open the netfilter socket: ${text}`, undefined, { cause: e });
  }
  try {
    return await fn(t);
  } catch (e) {
    throw kernelError(what, e);
  } finally {
    t.close();
  }
}
