// CLI layer: `cnitool netns add <name>`: a namespace bind-mounted at /run/netns/<name>, exactly
// where `ip netns add` puts it (the addon creates it on its own short-lived thread).
import { createNetns } from '@tscni/netlink';
import { CniError, ErrorCode } from '@tscni/spec';
import type { CommandContext } from '../cli.js';
import { errnoCode, ioFailure, validateNetnsName } from '../netns.js';

export async function netnsAdd(ctx: CommandContext): Promise<void> {
  const name = ctx.inv.args[0] as string;
  validateNetnsName(name);
  try {
    createNetns(name);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') throw new CniError(ErrorCode.IOFailure, `network namespace ${JSON.stringify(name)} already exists`);
    throw ioFailure(`cannot create network namespace ${JSON.stringify(name)}`, e);
  }
}
