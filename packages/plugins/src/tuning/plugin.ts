// Floor 3 (plugins/tuning): the reference tuning plugin (plugins/meta/tuning). ADD writes sysctls
// inside the container's namespace and changes the interface's MAC, promiscuous and all-multicast
// mode, MTU and queue length, after saving the originals; DEL puts them back and always succeeds;
// CHECK compares. Beyond the reference: sysctls are restored too, and GC removes backups of
// attachments that are gone.
import { join } from 'node:path';
import { CniError, ErrorCode, parseGcAttachments } from '@tscni/spec';
import type { Result } from '@tscni/spec';
import { IFF, isNetlinkError, readSysctl, writeSysctl } from '@tscni/netlink';
import type { Link, RtNetlink, SetLinkOptions } from '@tscni/netlink';
import type { CmdArgs, PluginFuncs } from '@tscni/skel';
import { requirePrevResult } from '../shared/conf.js';
import { defaultOpener, kernelError, openContainerNetns, openNetnsIfPresent, using } from '../shared/kernel.js';
import type { RtOpener } from '../shared/kernel.js';
import { backupFile, backupName, listBackups, readBackup, removeBackup, writeBackup } from './backup.js';
import type { Backup } from './backup.js';
import { DEFAULT_ALLOWLIST, checkAllowlist, loadTuningConfig, resolveSysctlKey, tuningDataDir } from './config.js';
import type { TuningConfig } from './config.js';

export interface TuningDeps {
  open?: RtOpener;
  /** The sysctl allowlist, enforced when the file exists. */
  allowlist?: string;
}

function failed(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

const hasFlag = (l: Link, flag: number): boolean => (l.flags & flag) !== 0;

/** Whitespace-insensitive, as `sysctl -w` values are: the kernel prints "4096 87380" back with a tab. */
const sameValue = (a: string, b: string): boolean => a.trim().split(/\s+/).join(' ') === b.trim().split(/\s+/).join(' ');

async function containerLink(rt: RtNetlink, a: CmdArgs): Promise<Link> {
  let link: Link | undefined;
  try {
    link = await rt.findLink(a.ifName);
  } catch (e) {
    throw kernelError(`failed to look up ${a.ifName}`, e);
  }
  if (link === undefined) throw failed(`tuning: interface ${a.ifName} not found in ${a.netns}`);
  return link;
}

/**
 * The originals of everything this ADD changes. A backup left by an earlier ADD of the same
 * attachment (a retry) wins: its values are the ones from before any tuning.
 */
function originals(cfg: TuningConfig, link: Link, a: CmdArgs, prior: Backup | undefined): Backup | undefined {
  const b: Backup = { ...(prior ?? {}) };
  let changes = false;
  if (cfg.sysctl.length > 0) {
    const saved: Record<string, string> = { ...(prior?.sysctl ?? {}) };
    for (const s of cfg.sysctl) {
      if (saved[s.path] !== undefined) continue;
      try {
        saved[s.path] = readSysctl(s.path, a.netns);
      } catch (e) {
        throw kernelError(`tuning: failed to read sysctl ${s.key} (/proc/sys/${s.path})`, e);
      }
    }
    b.sysctl = saved;
    changes = true;
  }
  if (cfg.mac !== undefined) {
    b.mac ??= link.mac ?? '';
    changes = true;
  }
  if (cfg.promisc) {
    b.promisc ??= hasFlag(link, IFF.PROMISC);
    changes = true;
  }
  if (cfg.mtu !== undefined) {
    b.mtu ??= link.mtu ?? 0;
    changes = true;
  }
  if (cfg.allmulti !== undefined) {
    b.allmulti ??= hasFlag(link, IFF.ALLMULTI);
    changes = true;
  }
  if (cfg.txQLen !== undefined) {
    b.txQLen ??= link.txQueueLen ?? 0;
    changes = true;
  }
  return changes ? { ...b, network: a.netconf.name } : undefined;
}

/** Sets the MAC; drivers that refuse a change while up (EBUSY) get it with the link briefly down. */
async function setMac(rt: RtNetlink, link: Link, mac: string): Promise<void> {
  try {
    await rt.setLink(link.index, { mac });
  } catch (e) {
    if (!isNetlinkError(e, 'EBUSY') || !link.up) throw e;
    await rt.setLink(link.index, { up: false });
    try {
      await rt.setLink(link.index, { mac });
    } finally {
      await rt.setLink(link.index, { up: true });
    }
  }
}

async function setAttr(rt: RtNetlink, link: Link, what: string, o: SetLinkOptions): Promise<void> {
  try {
    await rt.setLink(link.index, o);
  } catch (e) {
    throw kernelError(`tuning: failed to set ${what} of ${link.name}`, e);
  }
}

/** Records the new MAC for the tuned interface in the result (the container's entry, as the reference). */
function updateMac(result: Result, a: CmdArgs, mac: string): void {
  const list = result.interfaces ?? [];
  const inSandbox = list.filter((i) => i.name === a.ifName && i.sandbox === a.netns);
  for (const i of inSandbox.length > 0 ? inSandbox : list.filter((i) => i.name === a.ifName)) i.mac = mac;
}

/** Puts back what a backup recorded; returns what could not be restored. */
async function restore(rt: RtNetlink, link: Link, b: Backup, a: CmdArgs): Promise<string[]> {
  const errors: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  for (const [path, value] of Object.entries(b.sysctl ?? {})) {
    // The file is ours, but a path that would leave /proc/sys/net is never written.
    await attempt(`sysctl ${path}`, () => writeSysctl(resolveSysctlKey(path, a.ifName), value, a.netns));
  }
  if (b.mtu !== undefined) await attempt('mtu', () => rt.setLink(link.index, { mtu: b.mtu as number }));
  if (b.mac !== undefined && b.mac !== '') await attempt('mac', () => setMac(rt, link, b.mac as string));
  if (b.promisc !== undefined) await attempt('promisc', () => rt.setLink(link.index, { promisc: b.promisc as boolean }));
  if (b.allmulti !== undefined) await attempt('allmulti', () => rt.setLink(link.index, { allmulti: b.allmulti as boolean }));
  if (b.txQLen !== undefined) await attempt('txQLen', () => rt.setLink(link.index, { txQueueLen: b.txQLen as number }));
  return errors;
}

export function tuningPlugin(deps: TuningDeps = {}): PluginFuncs {
  const open = deps.open ?? defaultOpener;
  const allowlist = deps.allowlist ?? DEFAULT_ALLOWLIST;

  return {
    async add(a) {
      const cfg = loadTuningConfig(a.netconf, a.args, a.ifName);
      checkAllowlist(cfg.sysctl, allowlist);
      const result = requirePrevResult(a.netconf, 'tuning');
      await using(openContainerNetns(a.netns, open), async (rt) => {
        const link = await containerLink(rt, a);
        const file = backupFile(cfg.dataDir, a.containerId, a.ifName);
        const b = originals(cfg, link, a, readBackup(file));
        if (b !== undefined) {
          try {
            writeBackup(file, cfg.dataDir, b);
          } catch (e) {
            throw new CniError(ErrorCode.IOFailure, `tuning: failed to save the original settings to ${file}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        for (const s of cfg.sysctl) {
          try {
            writeSysctl(s.path, s.value, a.netns);
          } catch (e) {
            throw kernelError(`tuning: failed to set sysctl ${s.key}=${s.value}`, e);
          }
        }
        if (cfg.mac !== undefined) {
          try {
            await setMac(rt, link, cfg.mac);
          } catch (e) {
            throw kernelError(`tuning: failed to set the MAC of ${link.name} to ${cfg.mac}`, e);
          }
          updateMac(result, a, cfg.mac);
        }
        if (cfg.promisc) await setAttr(rt, link, 'promiscuous mode', { promisc: true });
        if (cfg.mtu !== undefined) await setAttr(rt, link, 'MTU', { mtu: cfg.mtu });
        if (cfg.allmulti !== undefined) await setAttr(rt, link, 'all-multicast mode', { allmulti: cfg.allmulti });
        if (cfg.txQLen !== undefined) await setAttr(rt, link, 'transmit queue length', { txQueueLen: cfg.txQLen });
      });
      return result;
    },

    async del(a) {
      const file = backupFile(tuningDataDir(a.netconf), a.containerId, a.ifName);
      const b = readBackup(file);
      if (b === undefined) return;
      // DEL always succeeds: what cannot be restored stays in the backup for a later DEL or GC.
      try {
        const rt = a.netns === '' ? undefined : openNetnsIfPresent(a.netns, open);
        if (rt === undefined) {
          removeBackup(file);
          return;
        }
        const errors = await using(rt, async (r) => {
          const link = await r.findLink(a.ifName);
          return link === undefined ? [] : restore(r, link, b, a);
        });
        if (errors.length === 0) removeBackup(file);
      } catch {
        // Kept for GC; nothing else to do.
      }
    },

    async check(a) {
      const cfg = loadTuningConfig(a.netconf, a.args, a.ifName);
      requirePrevResult(a.netconf, 'tuning');
      await using(openContainerNetns(a.netns, open), async (rt) => {
        for (const s of cfg.sysctl) {
          let current: string;
          try {
            current = readSysctl(s.path, a.netns);
          } catch (e) {
            throw kernelError(`tuning: failed to read sysctl ${s.key}`, e);
          }
          if (!sameValue(current, s.value)) throw failed(`tuning: sysctl ${s.key} is ${JSON.stringify(current)}, configured ${JSON.stringify(s.value)}`);
        }
        const link = await containerLink(rt, a);
        const name = link.name;
        if (cfg.mac !== undefined && (link.mac ?? '') !== cfg.mac) throw failed(`tuning: MAC of ${name} is ${link.mac ?? 'unset'}, configured ${cfg.mac}`);
        if (cfg.promisc && !hasFlag(link, IFF.PROMISC)) throw failed(`tuning: ${name} is not in promiscuous mode`);
        if (cfg.mtu !== undefined && link.mtu !== cfg.mtu) throw failed(`tuning: MTU of ${name} is ${link.mtu ?? 'unset'}, configured ${cfg.mtu}`);
        if (cfg.allmulti !== undefined && hasFlag(link, IFF.ALLMULTI) !== cfg.allmulti) {
          throw failed(`tuning: all-multicast mode of ${name} is ${hasFlag(link, IFF.ALLMULTI) ? 'on' : 'off'}, configured ${cfg.allmulti ? 'on' : 'off'}`);
        }
        if (cfg.txQLen !== undefined && link.txQueueLen !== cfg.txQLen) {
          throw failed(`tuning: transmit queue length of ${name} is ${link.txQueueLen ?? 'unset'}, configured ${cfg.txQLen}`);
        }
      });
    },

    async gc(a) {
      const dataDir = tuningDataDir(a.netconf);
      const keep = new Set(parseGcAttachments(a.netconf).map((v) => backupName(v.containerID, v.ifname)));
      for (const name of listBackups(dataDir)) {
        if (keep.has(name)) continue;
        const file = join(dataDir, name);
        // Only backups that say they are this network's: the reference's carry no network and the
        // directory is shared by every network that chains tuning.
        if (readBackup(file)?.network === a.netconf.name) removeBackup(file);
      }
    },
  };
}
