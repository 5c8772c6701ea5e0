// CLI layer: `cnitool status <network-name> [<netns>]`: STATUS of the network's plugins.
import type { CommandContext } from '../cli.js';
import { loadList, makeEngine, opOptions } from '../runtime.js';

export async function status(ctx: CommandContext): Promise<void> {
  const engine = makeEngine(ctx);
  await engine.statusNetworkList(await loadList(ctx), opOptions(ctx));
}
