// CLI layer: `cnitool add <network-name> <netns>`: ADD the network, print the result as JSON.
import { formatResult } from '@tscni/spec';
import type { CommandContext } from '../cli.js';
import { opOptions, setupAttachment } from '../runtime.js';

export async function add(ctx: CommandContext): Promise<void> {
  const { engine, list, rt } = await setupAttachment(ctx);
  const result = await engine.addNetworkList(list, rt, opOptions(ctx));
  ctx.io.stdout(`${formatResult(result)}\n`);
}
