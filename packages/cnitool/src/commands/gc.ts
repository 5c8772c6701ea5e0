// CLI layer: `cnitool gc <network-name> [<netns>]`: like the reference, GC without valid attachments,
// so every cached attachment of the network is deleted before the plugins get GC.
import type { CommandContext } from '../cli.js';
import { loadList, makeEngine, opOptions } from '../runtime.js';

export async function gc(ctx: CommandContext): Promise<void> {
  const engine = makeEngine(ctx);
  await engine.gcNetworkList(await loadList(ctx), opOptions(ctx));
}
