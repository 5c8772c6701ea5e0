#!/usr/bin/env node
// Build step: puts the native addon (tscni_native.node) beside the cnitool bundle, where
// @tscni/native's loader looks when it runs from a bundle (`netns add|del` need it).
//
// Usage: node scripts/copy-addon.mjs [<bindir>]   (default: dist/bin of this package)
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ADDON = 'tscni_native.node';
const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = resolve(process.argv[2] ?? join(pkgDir, 'dist', 'bin'));

// cnitool reaches the addon only through @tscni/netlink, so find @tscni/native from there.
const netlinkPkg = createRequire(join(pkgDir, 'package.json')).resolve('@tscni/netlink/package.json');
const nativePkg = createRequire(netlinkPkg).resolve('@tscni/native/package.json');
const addon = join(dirname(nativePkg), 'build', 'Release', ADDON);
if (!existsSync(addon)) {
  console.error(`copy-addon: ${addon} is missing; build it first with \`pnpm --filter @tscni/native build\``);
  process.exit(1);
}
mkdirSync(binDir, { recursive: true });
// Copy, then rename over the old file: a running cnitool may have the old one mapped.
const target = join(binDir, ADDON);
const tmp = `${target}.${process.pid}.tmp`;
copyFileSync(addon, tmp);
renameSync(tmp, target);
console.log(`copy-addon: ${target}`);
