// CLI entry (bundled to dist/bin/cnitool): runs one command line against the real process.
import { runCli } from '../cli.js';

void runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
}).then((code) => {
  process.exitCode = code;
});
