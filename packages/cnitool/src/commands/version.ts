// CLI layer: `cnitool version <plugin-type>`: the plugin's VERSION reply as JSON.
import { formatResult } from '@tscni/spec';
import type { CommandContext } from '../cli.js';
import { makeEngine, opOptions } from '../runtime.js';

export async function version(ctx: CommandContext): Promise<void> {
  const info = await makeEngine(ctx).getVersionInfo(ctx.inv.args[0] as string, opOptions(ctx));
  ctx.io.stdout(`${formatResult(info)}\n`);
}
