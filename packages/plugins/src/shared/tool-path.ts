// Floor 3 (plugins/shared): finding the system tools some plugins still exec (iptables-save and
// iptables-restore) when the runtime started the plugin with a minimal environment. Runtimes may
// exec plugins without PATH, where execvp's default (/bin:/usr/bin) misses sbin, where they live.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnRunner } from './iptables-restore.js';
import type { CommandRunner } from './iptables-restore.js';

/** Searched after PATH. */
export const SBIN_DIRS: readonly string[] = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin'];

/** The absolute path of a tool: PATH first, then the sbin directories; undefined when absent. */
export function findTool(name: string, path: string = process.env['PATH'] ?? ''): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of [...path.split(delimiter).filter((d) => d !== ''), ...SBIN_DIRS]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** A runner that resolves the command with findTool first (an unknown name is passed on as is, to fail as "not found"). */
export function toolRunner(run: CommandRunner = spawnRunner, path?: string): CommandRunner {
  return (cmd, args, input) => run(findTool(cmd, path) ?? cmd, args, input);
}
