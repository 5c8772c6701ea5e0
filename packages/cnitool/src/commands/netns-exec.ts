// CLI layer: `cnitool netns exec <name> [--] <command> [<arg>...]`, like `ip netns exec`. The JS
// thread never enters a namespace, so util-linux `nsenter --net=<path>` enters it and execs the
// command, which inherits cnitool's stdio; its exit status becomes cnitool's.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { isatty } from 'node:tty';
import { netnsPath } from '@tscni/netlink';
import { CniError, ErrorCode } from '@tscni/spec';
import type { CommandContext } from '../cli.js';
import { errnoCode, ioFailure, validateNetnsName } from '../netns.js';

const signalNumbers: Readonly<Record<string, number>> = constants.signals;

export async function netnsExec(ctx: CommandContext): Promise<number> {
  const [name, ...command] = ctx.inv.args as [string, string, ...string[]];
  validateNetnsName(name);
  const path = netnsPath(name);
  try {
    statSync(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new CniError(ErrorCode.InvalidNetNS, `network namespace ${JSON.stringify(name)} does not exist`);
    throw ioFailure(`cannot open network namespace ${JSON.stringify(name)}`, e);
  }
  const child = spawn('nsenter', [`--net=${path}`, '--', ...command], { stdio: 'inherit', env: ctx.io.env });
  // A terminal sends keyboard signals to the whole foreground process group, the command included;
  // without one they were meant for cnitool alone and are passed on, as SIGTERM and SIGHUP always are.
  const hasTerminal = isatty(0) || isatty(1) || isatty(2);
  const unsubscribe = ctx.io.onSignal?.((sig) => {
    if (hasTerminal && (sig === 'SIGINT' || sig === 'SIGQUIT')) return;
    child.kill(sig);
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e) => {
        reject(errnoCode(e) === 'ENOENT' ? new CniError(ErrorCode.IOFailure, 'cannot run nsenter: not found in PATH (it is part of util-linux)') : ioFailure('cannot run nsenter', e));
      });
      // Like a shell: the command's exit code, or 128 + the number of the signal that killed it.
      child.once('close', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : (signalNumbers[signal] ?? 0))));
    });
  } finally {
    unsubscribe?.();
  }
}
