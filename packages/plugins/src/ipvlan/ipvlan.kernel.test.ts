// Kernel test of the installed ipvlan executable (the shared single-interface acceptance flow in
// test-support/link-flow.ts: ADD checked with `ip -j` and against the result, CHECK passing then
// failing, DEL twice and with the namespace gone). Skipped, with the kernel's answer as the reason,
// where the kernel cannot make ipvlan links; ipvlan.test.ts covers the logic against the fake rtnetlink.
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetnsPool } from '../test-support/kernel.js';
import { installPlugins } from '../test-support/cni.js';
import { linkPluginFlow, missingKind } from '../test-support/link-flow.js';

const pool = new NetnsPool();
let bin: string;
beforeAll(() => {
  bin = installPlugins();
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));
afterEach(() => pool.cleanup());

describe('ipvlan (kernel)', () => {
  it('ADD makes a ipvlan (l2) on the master in the container; CHECK; DEL', (ctx) => {
    const missing = missingKind(pool, 'ipvlan', 'link', 'pr0');
    if (missing !== undefined) ctx.skip(missing);
    linkPluginFlow({
      bin,
      pool,
      type: 'ipvlan',
      conf: { master: 'mst0', mode: 'l2' },
      expectLink: (l) => {
        expect(l?.linkinfo?.info_kind).toBe('ipvlan');
        expect(l?.linkinfo?.info_data).toMatchObject({ mode: 'l2' });
      },
    });
  });
});
