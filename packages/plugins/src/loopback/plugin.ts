// Floor 3 (plugins/loopback): the reference loopback plugin. ADD sets `lo` up in CNI_NETNS and
// reports it (or passes a chained prevResult through unchanged); DEL sets it down and succeeds when
// the namespace is already gone; CHECK wants it up. CNI_IFNAME is ignored: the interface is `lo`.
import { CURRENT_VERSION, CniError, ErrorCode, parseResult, toCurrentResult } from '@tscni/spec';
import type { IPConfig, Result } from '@tscni/spec';
import { AF_INET, AF_INET6 } from '@tscni/netlink';
import type { PluginFuncs } from '@tscni/skel';
import { defaultOpener, kernelError, openContainerNetns, openNetnsIfPresent, using } from '../shared/kernel.js';
import type { RtOpener } from '../shared/kernel.js';

const LO = 'lo';

export interface LoopbackDeps {
  open?: RtOpener;
}

export function loopbackPlugin(deps: LoopbackDeps = {}): PluginFuncs {
  const open = deps.open ?? defaultOpener;
  return {
    async add(a) {
      return using(openContainerNetns(a.netns, open), async (rt) => {
        try {
          await rt.setLinkUp(LO);
        } catch (e) {
          throw kernelError('failed to set lo up', e);
        }
        if (a.netconf.prevResult !== undefined && a.netconf.prevResult !== null) {
          // Chained after another plugin: its result passes through untouched.
          return toCurrentResult(parseResult(a.netconf.prevResult, a.netconf.cniVersion));
        }
        // The kernel lists lo's addresses in the order they were added; report the first of each family.
        const addrs = await rt.listAddresses({ link: LO });
        const ips: IPConfig[] = [];
        for (const family of [AF_INET, AF_INET6]) {
          const first = addrs.find((x) => x.family === family);
          if (first !== undefined) ips.push({ interface: 0, address: first.cidr });
        }
        const result: Result = {
          cniVersion: CURRENT_VERSION,
          interfaces: [{ name: LO, mac: '00:00:00:00:00:00', sandbox: a.netns }],
          ips,
        };
        return result;
      });
    },

    async del(a) {
      if (a.netns === '') return;
      const rt = openNetnsIfPresent(a.netns, open);
      if (rt === undefined) return;
      await using(rt, async () => {
        try {
          await rt.setLinkDown(LO);
        } catch (e) {
          throw kernelError('failed to set lo down', e);
        }
      });
    },

    async check(a) {
      await using(openContainerNetns(a.netns, open), async (rt) => {
        const lo = await rt.getLink(LO).catch((e: unknown) => {
          throw kernelError('failed to look up lo', e);
        });
        if (!lo.up) throw new CniError(ErrorCode.Internal, 'loopback interface is down');
      });
    },

    // loopback keeps no state outside the namespace: nothing to collect, and it is always ready.
    async gc() {},
    async status() {},
  };
}
