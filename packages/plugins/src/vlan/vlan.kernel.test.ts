// Kernel test of the installed vlan executable (the shared single-interface acceptance flow in
// test-support/link-flow.ts: ADD checked with `ip -j` and against the result, CHECK passing then
// failing, DEL twice and with the namespace gone). Skipped, with the kernel's answer as the reason,
// where the kernel cannot make vlan links; vlan.test.ts covers the logic against the fake rtnetlink.
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

describe('vlan (kernel)', () => {
  it('ADD makes a 802.1Q link with vlanId on the master in the container; CHECK; DEL', (ctx) => {
    const missing = missingKind(pool, 'vlan', 'link', 'pr0', 'id', '5');
    if (missing !== undefined) ctx.skip(missing);
    linkPluginFlow({
      bin,
      pool,
      type: 'vlan',
      conf: { master: 'mst0', vlanId: 42 },
      expectLink: (l) => {
        expect(l?.linkinfo?.info_kind).toBe('vlan');
        expect(l?.linkinfo?.info_data).toMatchObject({ protocol: '802.1Q', id: 42 });
      },
    });
  });
});
