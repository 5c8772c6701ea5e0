// @tscni/cnitool: the cnitool command as a library (the bin is src/bin/cnitool.ts).
export { runCli, parseArgv, exitCodeFor, UsageError, USAGE_EXIT_CODE } from './cli.js';
export type { CliIO, Command, CommandContext, Invocation } from './cli.js';
export { containerIdFor, parseCapArgs, parseCliCniArgs, DEFAULT_IFNAME, DEFAULT_NETCONFPATH } from './runtime.js';
