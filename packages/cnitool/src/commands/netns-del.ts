// CLI layer: `cnitool netns del <name>`: unmount and remove /run/netns/<name>, like
// `ip netns del`, except that a missing namespace is success (deletes are idempotent, as CNI DEL).
import { deleteNetns } from '@tscni/netlink';
import type { CommandContext } from '../cli.js';
import { ioFailure, validateNetnsName } from '../netns.js';

export async function netnsDel(ctx: CommandContext): Promise<void> {
  const name = ctx.inv.args[0] as string;
  validateNetnsName(name);
  try {
    deleteNetns(name);
  } catch (e) {
    throw ioFailure(`cannot delete network namespace ${JSON.stringify(name)}`, e);
  }
}
