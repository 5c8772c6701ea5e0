#!/usr/bin/env node
// Package-boundary lint: enforces the layering in ARCHITECTURE (imports point down or sideways,
// never up), that workspace imports are declared dependencies, and that no file reaches into
// another package's internals (relative paths out of the package, or undeclared subpaths).
// Usage: node tools/lint.mjs [PACKAGE_DIR ...]   (no argument: every package; turbo runs it per package)
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, relative, dirname } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

// Which workspace packages each package may import (the architecture's floors).
const allowed = {
  '@tscni/ip': [],
  '@tscni/spec': ['@tscni/ip'],
  '@tscni/native': [],
  '@tscni/skel': ['@tscni/spec', '@tscni/ip'],
  '@tscni/engine': ['@tscni/spec', '@tscni/ip'],
  '@tscni/netlink': ['@tscni/native', '@tscni/ip'],
  '@tscni/ipam': ['@tscni/spec', '@tscni/skel', '@tscni/netlink', '@tscni/ip'],
  '@tscni/plugins': ['@tscni/spec', '@tscni/skel', '@tscni/netlink', '@tscni/ipam', '@tscni/ip'],
  '@tscni/cnitool': ['@tscni/spec', '@tscni/engine', '@tscni/netlink', '@tscni/ip'],
  '@tscni/testing': ['@tscni/spec', '@tscni/skel', '@tscni/engine', '@tscni/ip'],
};
// Test files may also use the private test helpers and what they exercise.
const testExtra = ['@tscni/testing', '@tscni/spec', '@tscni/skel', '@tscni/engine', '@tscni/netlink', '@tscni/native', '@tscni/ipam', '@tscni/ip'];

function packageDirs() {
  const dirs = readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d));
  return [...dirs, join(root, 'native')].filter((d) => existsSync(join(d, 'package.json')));
}

function* tsFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry === 'fixtures') continue;
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
const exportsByName = new Map(
  packageDirs().map((d) => {
    const p = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
    return [p.name, Object.keys(p.exports ?? {})];
  }),
);

const only = process.argv.slice(2).map((d) => resolve(d));
for (const dir of only.length > 0 ? only : packageDirs()) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const rules = allowed[pkg.name];
  const src = join(dir, 'src');
  if (!existsSync(src)) continue;
  for (const file of tsFiles(src)) {
    const isTest = /\.test\.ts$/.test(file) || file.includes('/test/') || file.includes('/test-support/');
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      const where = relative(root, file);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(dir + '/')) problems.push(`${where}: relative import leaves the package: ${spec}`);
        continue;
      }
      if (!spec.startsWith('@tscni/')) continue;
      const [scope, name, ...sub] = spec.split('/');
      const target = `${scope}/${name}`;
      if (target === pkg.name) { problems.push(`${where}: imports its own package by name: ${spec}`); continue; }
      if (sub.length > 0 && !(exportsByName.get(target) ?? []).includes(`./${sub.join('/')}`)) {
        problems.push(`${where}: imports a subpath ${target} does not export: ${spec}`);
      }
      if (rules === undefined) continue; // private test-only packages (interop) may use anything public
      const ok = rules.includes(target) || (isTest && testExtra.includes(target));
      if (!ok) problems.push(`${where}: ${pkg.name} may not import ${target} (layering)`);
      if (!isTest && !declared.has(target)) problems.push(`${where}: ${target} is not a dependency in ${relative(root, dir)}/package.json`);
    }
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`lint: ${problems.length} boundary problem(s)`);
  process.exit(1);
}
console.log('lint: package boundaries ok');
