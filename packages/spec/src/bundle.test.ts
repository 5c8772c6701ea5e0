// The plugin path stays free of zod: bundling the package index the way plugin executables are
// bundled must not pull in any zod module, while the ./schemas entry does.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

async function bundledInputs(entry: string): Promise<string[]> {
  const r = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    // Input paths in the metafile are relative to this: pin it so the test passes from any cwd.
    absWorkingDir: fileURLToPath(new URL('../../..', import.meta.url)),
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(r.metafile.inputs);
}

const isZod = (path: string): boolean => /(^|\/)node_modules\/(\.pnpm\/zod@[^/]+\/node_modules\/)?zod\//.test(path);

describe('bundles', () => {
  it('the package index (what plugins import) contains no zod', async () => {
    const inputs = await bundledInputs('./index.ts');
    expect(inputs.some((p) => p.endsWith('spec/src/shape.ts'))).toBe(true);
    expect(inputs.filter(isZod)).toEqual([]);
  });

  it('the ./schemas entry is where zod comes in', async () => {
    const inputs = await bundledInputs('./schemas.ts');
    expect(inputs.filter(isZod).length).toBeGreaterThan(0);
    expect(inputs.some((p) => p.includes('zod/v4/classic'))).toBe(false); // zod/mini only
  });
});
