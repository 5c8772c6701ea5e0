// Unit tests for the loader, run through an esbuild CJS bundle the way plugin executables ship:
// import.meta is empty there, the addon is found beside the script, and a failure lists every path.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { isNativeError, NATIVE_ADDON_FILE, nativeAddonCandidates } from './index.js';

const built = fileURLToPath(new URL(`../build/Release/${NATIVE_ADDON_FILE}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tscni-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

buildSync({
  entryPoints: [fileURLToPath(new URL('./index.ts', import.meta.url))],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: join(dir, 'bin', 'native.cjs'),
  logLevel: 'silent',
});
writeFileSync(
  join(dir, 'bin', 'plugin.cjs'),
  `const { loadNative } = require('./native.cjs');
try { const n = loadNative(); console.log('loaded ' + (n === loadNative()) + ' ' + typeof n.netlinkOpen); }
catch (e) { console.log(e.message); }`,
);

function runPlugin(env: Record<string, string> = {}): string {
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'plugin.cjs')], { encoding: 'utf8', env: { ...process.env, ...env } });
  return r.stdout.trim();
}

describe('loadNative', () => {
  it('lists every path it tried and how to build when the addon is nowhere', () => {
    const bogus = join(dir, 'nowhere', NATIVE_ADDON_FILE);
    const message = runPlugin({ TSCNI_NATIVE_PATH: bogus });
    expect(message).toContain(`${join(dir, 'build', 'Release', NATIVE_ADDON_FILE)}: not found`);
    expect(message).toContain(`${bogus}: not found`);
    expect(message).toContain(`${join(dir, 'bin', NATIVE_ADDON_FILE)}: not found`);
    expect(message).toContain('pnpm --filter @tscni/native build');
  });

  it('says why a file that is not the addon was refused', () => {
    const impostor = join(dir, 'impostor.node');
    writeFileSync(impostor, 'not an ELF file');
    expect(runPlugin({ TSCNI_NATIVE_PATH: impostor })).toMatch(new RegExp(`${impostor}: .*(invalid ELF header|too short)`));
  });

  it.skipIf(!existsSync(built))('loads the addon shipped beside a bundled executable, once', () => {
    copyFileSync(built, join(dir, 'bin', NATIVE_ADDON_FILE));
    try {
      expect(runPlugin()).toBe('loaded true function');
    } finally {
      rmSync(join(dir, 'bin', NATIVE_ADDON_FILE));
    }
  });

  it('tries the package build first, then the environment, then beside the script', () => {
    const previous = process.env['TSCNI_NATIVE_PATH'];
    process.env['TSCNI_NATIVE_PATH'] = '/opt/x/tscni_native.node';
    try {
      const candidates = nativeAddonCandidates();
      expect(candidates[0]).toBe(built);
      expect(candidates[1]).toBe('/opt/x/tscni_native.node');
    } finally {
      if (previous === undefined) delete process.env['TSCNI_NATIVE_PATH'];
      else process.env['TSCNI_NATIVE_PATH'] = previous;
    }
  });

  it('recognises errno-carrying errors', () => {
    expect(isNativeError(Object.assign(new Error('open(x): ENOENT'), { errno: 2, code: 'ENOENT', syscall: 'open' }))).toBe(true);
    expect(isNativeError(new Error('plain'))).toBe(false);
    expect(isNativeError({ errno: 2, code: 'ENOENT', syscall: 'open' })).toBe(false);
  });
});
