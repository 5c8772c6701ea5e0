// CLI layer: `cnitool check <network-name> <netns>`: CHECK the attachment against the cached result.
import type { CommandContext } from '../cli.js';
import { opOptions, setupAttachment } from '../runtime.js';

export async function check(ctx: CommandContext): Promise<void> {
  const { engine, list, rt } = await setupAttachment(ctx);
  await engine.checkNetworkList(list, rt, opOptions(ctx));
}
