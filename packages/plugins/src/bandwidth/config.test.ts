import { describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import type { NetConf } from '@tscni/spec';
import { isUnshaped, loadBandwidthConfig } from './config.js';

const base: NetConf = { cniVersion: '1.0.0', name: 'net', type: 'bandwidth' };

function error(conf: Record<string, unknown>): CniError {
  try {
    loadBandwidthConfig({ ...base, ...conf });
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

describe('loadBandwidthConfig', () => {
  it('reads both directions from the top level', () => {
    const c = loadBandwidthConfig({ ...base, ingressRate: 1000, ingressBurst: 2000, egressRate: 3000, egressBurst: 4000 });
    expect(c).toEqual({ ingress: { rateBits: 1000, burstBits: 2000 }, egress: { rateBits: 3000, burstBits: 4000 } });
  });

  it('matches keys case-insensitively like Go', () => {
    expect(loadBandwidthConfig({ ...base, IngressRate: 800, ingressburst: 900 }).ingress).toEqual({ rateBits: 800, burstBits: 900 });
  });

  it('uses the bandwidth capability only when no top-level key is present', () => {
    const rc = { bandwidth: { ingressRate: 8000, ingressBurst: 16000 } };
    expect(loadBandwidthConfig({ ...base, runtimeConfig: rc }).ingress).toEqual({ rateBits: 8000, burstBits: 16000 });
    const both = loadBandwidthConfig({ ...base, egressRate: 800, egressBurst: 800, runtimeConfig: rc });
    expect(both).toEqual({ ingress: undefined, egress: { rateBits: 800, burstBits: 800 } });
  });

  it('treats all zero or nothing as unshaped', () => {
    expect(isUnshaped(loadBandwidthConfig(base))).toBe(true);
    expect(isUnshaped(loadBandwidthConfig({ ...base, ingressRate: 0, ingressBurst: 0, egressRate: 0, egressBurst: 0 }))).toBe(true);
    expect(isUnshaped(loadBandwidthConfig({ ...base, runtimeConfig: { bandwidth: {} } }))).toBe(true);
  });

  it('wants rate and burst together, naming the missing key (code 7)', () => {
    const e1 = error({ ingressRate: 1000 });
    expect(e1.code).toBe(7);
    expect(e1.msg).toContain('ingressBurst');
    const e2 = error({ egressBurst: 1000 });
    expect(e2.code).toBe(7);
    expect(e2.msg).toContain('egressRate');
    const e3 = error({ runtimeConfig: { bandwidth: { egressRate: 8000 } } });
    expect(e3.msg).toContain('runtimeConfig.bandwidth.egressBurst');
  });

  it('refuses a burst of 4 GiB or more (burst/8 >= 2^32-1)', () => {
    const e = error({ ingressRate: 1000, ingressBurst: 8 * 0xffffffff });
    expect(e.code).toBe(7);
    expect(e.msg).toContain('ingressBurst');
    expect(e.msg).toContain('4GB');
    expect(loadBandwidthConfig({ ...base, ingressRate: 1000, ingressBurst: 8 * 0xffffffff - 1 }).ingress?.burstBits).toBe(8 * 0xffffffff - 1);
  });

  it.each([
    [{ ingressRate: -1, ingressBurst: 100 }, 'ingressRate'],
    [{ ingressRate: 1.5, ingressBurst: 100 }, 'ingressRate'],
    [{ ingressRate: '1000', ingressBurst: 100 }, 'ingressRate'],
    [{ egressRate: 1000, egressBurst: 2 ** 60 }, 'egressBurst'],
    [{ egressRate: 7, egressBurst: 100 }, 'egressRate'],
    [{ egressRate: 100, egressBurst: 7 }, 'egressBurst'],
    [{ runtimeConfig: { bandwidth: 'fast' } }, 'runtimeConfig.bandwidth'],
  ])('rejects %j naming %s', (conf, key) => {
    const e = error(conf);
    expect(e.code).toBe(7);
    expect(e.msg).toContain(key);
  });
});
