// Kernel tests for the installed loopback executable, exec'd like a runtime does: ADD brings lo up
// and reports it, CHECK passes and then fails once lo is down, DEL takes it down and tolerates a
// namespace that is gone, and a chained prevResult passes through.
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetnsPool, globalCidrs, ip, link } from '../test-support/kernel.js';
import { installPlugins, runPlugin } from '../test-support/cni.js';

const pool = new NetnsPool();
let bin: string;
beforeAll(() => {
  bin = installPlugins();
});
afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
});
afterEach(() => pool.cleanup());

const conf = (cniVersion = '1.1.0', extra: Record<string, unknown> = {}) => ({ cniVersion, name: 'lo-net', type: 'loopback', ...extra });

describe('loopback', () => {
  it('ADD brings lo up and reports it; CHECK passes until lo goes down; DEL takes it down', () => {
    const ns = pool.create();
    const env = { containerId: 'ctr-lo', netns: ns.path, ifName: 'eth0', path: bin };
    expect(link(ns, 'lo')?.flags).not.toContain('UP');

    const add = runPlugin(bin, 'loopback', { ...env, command: 'ADD' }, conf());
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: ns.path }],
      ips: [
        { interface: 0, address: '127.0.0.1/8' },
        { interface: 0, address: '::1/128' },
      ],
    });
    expect(link(ns, 'lo')?.flags).toContain('UP');

    const check = runPlugin(bin, 'loopback', { ...env, command: 'CHECK' }, conf('1.1.0', { prevResult: add.json }));
    expect(check.code, check.stdout).toBe(0);

    ip(ns, 'link', 'set', 'lo', 'down');
    const broken = runPlugin(bin, 'loopback', { ...env, command: 'CHECK' }, conf('1.1.0', { prevResult: add.json }));
    expect(broken.code).toBe(1);
    expect(broken.json).toMatchObject({ code: 999, msg: 'loopback interface is down' });

    ip(ns, 'link', 'set', 'lo', 'up');
    const del = runPlugin(bin, 'loopback', { ...env, command: 'DEL' }, conf());
    expect(del.code, del.stdout).toBe(0);
    expect(link(ns, 'lo')?.flags).not.toContain('UP');
    expect(runPlugin(bin, 'loopback', { ...env, command: 'DEL' }, conf()).code).toBe(0);
  });

  it('answers in the config version (0.4.0 adds the IP version)', () => {
    const ns = pool.create();
    const add = runPlugin(bin, 'loopback', { command: 'ADD', containerId: 'c', netns: ns.path, ifName: 'lo', path: bin }, conf('0.4.0'));
    expect(add.code, add.stdout).toBe(0);
    expect(add.json?.['ips']).toEqual([
      { version: '4', interface: 0, address: '127.0.0.1/8' },
      { version: '6', interface: 0, address: '::1/128' },
    ]);
    expect(globalCidrs(ns, 'lo')).toEqual([]);
  });

  it('passes a chained prevResult through', () => {
    const ns = pool.create();
    const prevResult = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: ns.path }], ips: [{ interface: 0, address: '10.1.2.3/24' }] };
    const add = runPlugin(bin, 'loopback', { command: 'ADD', containerId: 'c', netns: ns.path, ifName: 'eth0', path: bin }, conf('1.1.0', { prevResult }));
    expect(add.code, add.stdout).toBe(0);
    expect(add.json).toEqual(prevResult);
    expect(link(ns, 'lo')?.flags).toContain('UP');
  });

  it('DEL succeeds when the namespace is gone or not given; ADD into a missing namespace is error 8', () => {
    const ns = pool.create();
    pool.remove(ns);
    const env = { containerId: 'c', netns: ns.path, ifName: 'eth0', path: bin };
    expect(runPlugin(bin, 'loopback', { ...env, command: 'DEL' }, conf()).code).toBe(0);
    expect(runPlugin(bin, 'loopback', { command: 'DEL', containerId: 'c', ifName: 'eth0', path: bin }, conf()).code).toBe(0);
    const add = runPlugin(bin, 'loopback', { ...env, command: 'ADD' }, conf());
    expect(add.code).toBe(1);
    expect(add.json).toMatchObject({ code: 8 });
    expect(String(add.json?.['msg'])).toContain(ns.path);
  });
});
