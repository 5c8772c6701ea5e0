// CLI layer: `cnitool netns list [--json]`: the names under /run/netns, like `ip netns list`;
// --json prints the shape of `ip -j netns list` (without the optional nsid).
import { listNetns } from '@tscni/netlink';
import type { CommandContext } from '../cli.js';
import { ioFailure } from '../netns.js';

export async function netnsList(ctx: CommandContext): Promise<void> {
  let names: string[];
  try {
    names = listNetns();
  } catch (e) {
    throw ioFailure('cannot list network namespaces', e);
  }
  if (ctx.inv.json) ctx.io.stdout(`${JSON.stringify(names.map((name) => ({ name })))}\n`);
  else ctx.io.stdout(names.map((n) => `${n}\n`).join(''));
}
