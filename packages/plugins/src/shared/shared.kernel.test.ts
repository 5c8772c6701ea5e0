// Kernel tests for the shared plugin logic in real namespaces: veth creation straight into a
// namespace, interface configuration from an IPAM result (addresses, sysctls, routes with the
// gateway fallback), and CHECK's validators passing and then failing once something is broken.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { RtNetlink } from '@tscni/netlink';
import { NetnsPool, addrs, globalCidrs, ip, link, routes, sysctl, uniq } from '../test-support/kernel.js';
import type { TestNetns } from '../test-support/kernel.js';
import { configureIface } from './iface.js';
import { checkInterfaceIPs, checkLink, checkRoutes } from './validate.js';
import { createVeth } from './veth.js';

const pool = new NetnsPool();
let host: RtNetlink;
let ns: TestNetns;
let cont: RtNetlink;
const hostLinks: string[] = [];

beforeEach(() => {
  host = RtNetlink.open(null);
  ns = pool.create();
  cont = RtNetlink.open(ns.path);
});
afterEach(async () => {
  cont.close();
  for (const name of hostLinks.splice(0)) await host.deleteLink(name).catch(() => undefined);
  host.close();
  pool.cleanup();
});

describe('createVeth', () => {
  it('creates the container end inside the namespace with the requested name, MTU and MAC, both ends up', async () => {
    const pair = await createVeth(host, cont, { netnsPath: ns.path, containerIfName: 'eth0', mtu: 1400, containerMac: '0a:58:0a:00:00:05' });
    hostLinks.push(pair.host.name);
    expect(pair.host.name).toMatch(/^veth[0-9a-f]{8}$/);
    const h = link(null, pair.host.name);
    const c = link(ns, 'eth0');
    expect(h?.mtu).toBe(1400);
    expect(c?.mtu).toBe(1400);
    expect(c?.address).toBe('0a:58:0a:00:00:05');
    expect(pair.container.mac).toBe('0a:58:0a:00:00:05');
    expect(h?.flags).toContain('UP');
    expect(c?.flags).toContain('UP');
    // Each end names the other as its peer.
    expect(pair.host.link).toBe(pair.container.index);
    expect(pair.container.link).toBe(pair.host.index);
    // The container name never appears in the host namespace.
    expect(link(null, 'eth0')?.linkinfo?.info_kind).not.toBe('veth');
  });

  it('leaves the container end down when asked, and refuses an existing container name', async () => {
    const pair = await createVeth(host, cont, { netnsPath: ns.path, containerIfName: 'net1', containerUp: false });
    hostLinks.push(pair.host.name);
    expect(link(ns, 'net1')?.flags).not.toContain('UP');
    await expect(createVeth(host, cont, { netnsPath: ns.path, containerIfName: 'net1' })).rejects.toThrow(
      'container veth name provided (net1) already exists',
    );
  });

  it('refuses a taken host name it was given', async () => {
    const hostName = uniq('tv');
    const pair = await createVeth(host, cont, { netnsPath: ns.path, containerIfName: 'a0', hostIfName: hostName });
    hostLinks.push(pair.host.name);
    expect(pair.host.name).toBe(hostName);
    await expect(createVeth(host, cont, { netnsPath: ns.path, containerIfName: 'a1', hostIfName: hostName })).rejects.toThrow(
      `host veth name provided (${hostName}) already exists`,
    );
  });
});

describe('configureIface and the CHECK validators', () => {
  async function setup(): Promise<Result> {
    const pair = await createVeth(host, cont, { netnsPath: ns.path, containerIfName: 'eth0' });
    hostLinks.push(pair.host.name);
    return {
      cniVersion: '1.1.0',
      interfaces: [{ name: pair.host.name }, { name: 'eth0', sandbox: ns.path }],
      ips: [
        { interface: 1, address: '10.77.0.5/24', gateway: '10.77.0.1' },
        { interface: 1, address: 'fd77::5/64', gateway: 'fd77::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.0.2.0/24', gw: '10.77.0.9', priority: 50 }, { dst: '::/0' }],
    };
  }

  it('adds addresses (with broadcast), enables IPv6, brings the link up and adds routes via the family gateway', async () => {
    const result = await setup();
    await configureIface(cont, ns.path, 'eth0', result);
    expect(globalCidrs(ns, 'eth0')).toEqual(['10.77.0.5/24', 'fd77::5/64']);
    expect(addrs(ns, 'eth0').find((a) => a.local === '10.77.0.5')?.broadcast).toBe('10.77.0.255');
    // DAD was awaited before the IPv6 gateway route went in.
    expect(addrs(ns, 'eth0').find((a) => a.local === 'fd77::5')?.tentative).toBeUndefined();
    expect(link(ns, 'eth0')?.flags).toContain('UP');
    expect(sysctl(ns, 'net.ipv6.conf.eth0.disable_ipv6')).toBe('0');
    expect(sysctl(ns, 'net.ipv6.conf.lo.disable_ipv6')).toBe('0');
    expect(sysctl(ns, 'net.ipv6.conf.eth0.keep_addr_on_down')).toBe('1');
    const v4 = routes(ns, '-4');
    expect(v4).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.77.0.1', dev: 'eth0' }));
    expect(v4).toContainEqual(expect.objectContaining({ dst: '192.0.2.0/24', gateway: '10.77.0.9', metric: 50 }));
    expect(routes(ns, '-6')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: 'fd77::1', dev: 'eth0' }));

    // The validators accept what was configured...
    await checkLink(cont, { name: 'eth0', sandbox: ns.path }, 'container', { kind: 'veth', up: true });
    await checkInterfaceIPs(cont, 'eth0', result.ips ?? []);
    await checkRoutes(cont, result.routes ?? []);
    // ...and fail with a CNI error once it is broken.
    ip(ns, 'addr', 'del', '10.77.0.5/24', 'dev', 'eth0');
    await expect(checkInterfaceIPs(cont, 'eth0', result.ips ?? [])).rejects.toThrow('Failed to match addr 10.77.0.5/24 on interface eth0');
    await expect(checkRoutes(cont, result.routes ?? [])).rejects.toBeInstanceOf(CniError);
    ip(ns, 'link', 'set', 'eth0', 'down');
    await expect(checkLink(cont, { name: 'eth0' }, 'container', { up: true })).rejects.toThrow('container interface eth0 is down');
    await expect(checkLink(cont, { name: 'eth0', mac: '0a:00:00:00:00:01' }, 'container')).rejects.toThrow(/MAC 0a:00:00:00:00:01 doesn't match/);
    await expect(checkLink(cont, { name: 'eth0' }, 'container', { kind: 'bridge' })).rejects.toThrow('is not of type bridge');
    await expect(checkLink(cont, { name: 'nope0' }, 'container')).rejects.toThrow('container interface nope0 not found');
  });

  it('refuses an IP whose interface index names another interface', async () => {
    const result = await setup();
    result.ips = [{ interface: 0, address: '10.77.0.5/24' }];
    await expect(configureIface(cont, ns.path, 'eth0', result)).rejects.toThrow('invalid interface index');
  });
});
