// Kernel tests for the addon's tunCreate: persistent TUN/TAP devices made inside a namespace with
// the asked flags and ownership, as `ip -d link` reports them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from './index.js';
import { canRun, run, skipReason, uniqueName } from './test-support.js';

const hasTun = existsSync('/dev/net/tun');

interface TunInfo {
  ifname: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

function linkDetails(netns: string, ifname: string): TunInfo {
  const links = JSON.parse(run('ip', ['-n', netns, '-j', '-d', 'link', 'show', ifname])) as TunInfo[];
  const link = links[0];
  if (link === undefined) throw new Error(`ip shows no ${ifname} in ${netns}`);
  return link;
}

describe.skipIf(!canRun || !hasTun)(`native tunCreate (${skipReason} and /dev/net/tun)`, () => {
  const namespaces: string[] = [];

  function newNetns(): { name: string; path: string } {
    const name = uniqueName();
    run('ip', ['netns', 'add', name]);
    namespaces.push(name);
    return { name, path: `/run/netns/${name}` };
  }

  afterEach(() => {
    for (const name of namespaces.splice(0)) spawnSync('ip', ['netns', 'delete', name]);
  });

  it('creates a persistent multi-queue vnet-header tap owned by the given user and group', () => {
    const n = loadNative();
    const { name, path } = newNetns();
    const nobodyUser = run('getent', ['passwd', '65534']).split(':')[0];
    const nobodyGroup = run('getent', ['group', '65534']).split(':')[0];
    const tap = uniqueName('tsct');
    expect(n.tunCreate(tap, { tap: true, multiQueue: true, vnetHdr: true, owner: 65534, group: 65534 }, path)).toBe(tap);
    const link = linkDetails(name, tap);
    expect(link.linkinfo?.info_kind).toBe('tun');
    expect(link.linkinfo?.info_data).toMatchObject({
      type: 'tap',
      pi: false,
      vnet_hdr: true,
      multi_queue: true,
      persist: true,
      user: nobodyUser,
      group: nobodyGroup,
    });
    // made inside the namespace, not in ours
    expect(spawnSync('ip', ['link', 'show', tap]).status).not.toBe(0);
  });

  it('lets the kernel name a plain tun device', () => {
    const n = loadNative();
    const { name, path } = newNetns();
    const ifname = n.tunCreate('', { tap: false }, path);
    expect(ifname).toMatch(/^tun\d+$/);
    expect(linkDetails(name, ifname).linkinfo?.info_data).toMatchObject({ type: 'tun', pi: false, multi_queue: false, persist: true });
  });

  it('reports kernel refusals and bad names with errno data', () => {
    const n = loadNative();
    const { path } = newNetns();
    // lo exists and is not a tun device
    expect(() => n.tunCreate('lo', { tap: true }, path)).toThrow(
      expect.objectContaining({ syscall: 'ioctl', code: 'EINVAL', message: expect.stringContaining('ioctl(TUNSETIFF lo)') }),
    );
    expect(() => n.tunCreate('x'.repeat(16), { tap: true }, path)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => n.tunCreate('tscx', { tap: true }, `${path}-missing`)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
  });
});
