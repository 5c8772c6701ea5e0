// Build step for the addon: configure once with node-gyp, then only `node-gyp build`, so repeated
// builds (turbo, CI) recompile what changed instead of everything.
// Headers: when npm has not chosen a nodedir, use the running Node's own installed headers
// (<prefix>/include/node) if their version matches, so no header download is attempted.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

function localHeadersDir() {
  const prefix = dirname(dirname(process.execPath));
  const header = join(prefix, 'include', 'node', 'node_version.h');
  if (!existsSync(header)) return undefined;
  const text = readFileSync(header, 'utf8');
  const part = (name) => text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`))?.[1];
  const version = `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  return version === process.version ? prefix : undefined;
}

const nodedir = process.env.npm_config_nodedir || localHeadersDir();
const config = join(pkgDir, 'build', 'config.gypi');
const makefile = join(pkgDir, 'build', 'Makefile');
const configured =
  existsSync(config) &&
  existsSync(makefile) &&
  statSync(join(pkgDir, 'binding.gyp')).mtimeMs <= statSync(makefile).mtimeMs &&
  (nodedir === undefined || readFileSync(config, 'utf8').includes(`"nodedir": ${JSON.stringify(nodedir)}`));

const args = [require.resolve('node-gyp/bin/node-gyp.js'), configured ? 'build' : 'rebuild'];
if (!configured && nodedir !== undefined) args.push(`--nodedir=${nodedir}`);
const run = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
process.exit(run.status ?? 1);
