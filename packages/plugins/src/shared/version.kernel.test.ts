// The installed interface-plugin executables answer VERSION with every spec version, 0.1.0 to
// 1.1.0, as the reference's version.All (exec'd like a runtime: only CNI variables).
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPlugins, runPlugin } from '../test-support/cni.js';

const ALL = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const TYPES = ['bridge', 'ptp', 'loopback', 'macvlan', 'ipvlan', 'vlan', 'host-device', 'dummy', 'tap'];
let bin: string;
beforeAll(() => {
  bin = installPlugins();
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

describe('VERSION', () => {
  it.each(TYPES)('%s supports 0.1.0 to 1.1.0', (type) => {
    const r = runPlugin(bin, type, { command: 'VERSION', path: bin }, { cniVersion: '1.1.0' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: ALL });
  });
});
