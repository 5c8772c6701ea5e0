#!/usr/bin/env node
// Build tool: bundles a package's executable entries (plugins, CLIs) into single CommonJS files, so a
// plugin start reads one file and never walks node_modules (ARCHITECTURE "Cold exec").
//
// Usage: node tools/build-bin.mjs <pkgdir> [--outdir <dir>] <entry.ts>:<outname> [<entry.ts>:<outname> ...]
//   -> <pkgdir>/dist/bin/<outname> (or <dir>/<outname>), mode 755, starting with `#!/usr/bin/env node`.
// Entries are relative to <pkgdir>. Native `.node` addons stay external (loaded at run time).
import { build } from 'esbuild';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

function usage(msg) {
  console.error(`build-bin: ${msg}`);
  console.error('usage: node tools/build-bin.mjs <pkgdir> [--outdir <dir>] <entry.ts>:<outname> [...]');
  process.exit(2);
}

const [pkgArg, ...rest] = process.argv.slice(2);
let outDir;
if (rest[0] === '--outdir') {
  outDir = rest[1];
  if (outDir === undefined) usage('--outdir needs a directory');
  rest.splice(0, 2);
}
const specs = rest;
if (pkgArg === undefined || specs.length === 0) usage('missing arguments');
const pkgDir = resolve(pkgArg);
const binDir = outDir === undefined ? join(pkgDir, 'dist', 'bin') : resolve(outDir);

const entries = specs.map((spec) => {
  const i = spec.lastIndexOf(':');
  if (i <= 0 || i === spec.length - 1) usage(`bad entry "${spec}" (want <entry.ts>:<outname>)`);
  const entry = spec.slice(0, i);
  const out = spec.slice(i + 1);
  if (out.includes('/')) usage(`output name "${out}" must be a plain file name`);
  return { entry: isAbsolute(entry) ? entry : join(pkgDir, entry), out };
});

mkdirSync(binDir, { recursive: true });
// The bundles are CommonJS but have no extension; inside a "type": "module" package Node would
// read them as ES modules, so the bin directory declares itself CommonJS. Installed copies (e.g. in
// /opt/cni/bin) have no package.json above them and default to CommonJS anyway.
writeFileSync(join(binDir, 'package.json'), '{ "type": "commonjs" }\n');

for (const { entry, out } of entries) {
  const outfile = join(binDir, out);
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: false,
    legalComments: 'none',
    sourcemap: false,
    // Prefer ESM entry points of dependencies so their unused exports can be dropped.
    mainFields: ['module', 'main'],
    external: ['*.node'],
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
    metafile: true,
  });
  chmodSync(outfile, 0o755);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`build-bin: ${outfile} (${(bytes / 1024).toFixed(1)} KiB)`);
}
