// CLI layer: `cnitool del <network-name> <netns>`: DEL the attachment (plugins in reverse order).
import type { CommandContext } from '../cli.js';
import { opOptions, setupAttachment } from '../runtime.js';

export async function del(ctx: CommandContext): Promise<void> {
  const { engine, list, rt } = await setupAttachment(ctx);
  await engine.delNetworkList(list, rt, opOptions(ctx));
}
