// withNetfilter: the socket is closed whatever happens, and failures become CNI errors that say
// what was being done (open failure: code 50, the packet filter is not available here).
import { describe, expect, it } from 'vitest';
import { CniError } from '@tscni/spec';
import { FakeTransport } from '@tscni/netlink';
import { withNetfilter } from './netfilter.js';

describe('withNetfilter', () => {
  it('hands the socket to the callback and closes it, also when the callback fails', async () => {
    const t = new FakeTransport();
    await expect(withNetfilter(() => t, 'probe', async (s) => s === t)).resolves.toBe(true);
    expect(t.closed).toBe(true);
    const u = new FakeTransport();
    const err = await withNetfilter(() => u, 'failed to set up ipMasq', async () => {
      throw Object.assign(new Error('Operation not permitted'), { code: 'EPERM' });
    }).catch((e: unknown) => e);
    expect(u.closed).toBe(true);
    expect(err).toMatchObject({ code: 999, msg: 'failed to set up ipMasq: Operation not permitted' });
  });

  it('passes CNI errors through and makes a socket that cannot be opened code 50', async () => {
    const own = new CniError(7, 'bad');
    await expect(withNetfilter(() => new FakeTransport(), 'x', async () => Promise.reject(own))).rejects.toBe(own);
    const open = () => {
      throw Object.assign(new Error('Protocol not supported'), { code: 'EPROTONOSUPPORT' });
    };
    await expect(withNetfilter(open, 'nftables', async () => 1)).rejects.toMatchObject({
      code: 50,
      msg: 'nftables: cannot open the netfilter socket: Protocol not supported',
    });
  });
});
