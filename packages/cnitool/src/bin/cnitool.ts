// CLI entry (bundled to dist/bin/cnitool): runs one command line against the real process.
import { runCli } from '../cli.js';

// Plugins run in their own process group (so a timeout can kill all of them), which also means a
// terminal's Ctrl-C does not reach them: forward SIGINT/SIGTERM as an abort, which kills the plugin.
const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => abort.abort(new Error(`received ${sig}`)));

// Signals `netns exec` passes on to its command; while it listens, they do not end cnitool itself.
const PASSED_ON = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

void runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  signal: abort.signal,
  onSignal: (listener) => {
    for (const sig of PASSED_ON) process.on(sig, listener);
    return () => {
      for (const sig of PASSED_ON) process.off(sig, listener);
    };
  },
}).then((code) => {
  process.exitCode = code;
});
