// Test support for the native kernel tests (not part of the package build): unique names, shell
// helpers, and a hand-built RTM_GETLINK request with a minimal reply parser (linux/rtnetlink.h).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';

export const isRoot = process.getuid?.() === 0;
export const hasIp = spawnSync('ip', ['-V']).status === 0;
export const canRun = isRoot && hasIp;
export const skipReason = 'needs root and iproute2 (ip)';

/** 'tsc' + 8 hex characters: unique per run, short enough for an interface name. */
export function uniqueName(prefix = 'tsc'): string {
  return prefix + randomBytes(4).toString('hex');
}

export function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function ipNetnsList(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** Interface names as iproute2 sees them, in the root namespace or in a named one. */
export function ipLinkNames(netnsName?: string): string[] {
  const args = netnsName === undefined ? ['-j', 'link', 'show'] : ['-n', netnsName, '-j', 'link', 'show'];
  const links = JSON.parse(run('ip', args)) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).sort();
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

export function removeNetnsQuietly(path: string): void {
  if (existsSync(path)) spawnSync('ip', ['netns', 'delete', path.slice(path.lastIndexOf('/') + 1)]);
}

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const IFLA_IFNAME = 3;
const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;

/** nlmsghdr + a zeroed ifinfomsg (full size, as NETLINK_GET_STRICT_CHK requires). With an index,
 * a single-link GET; without, a dump of all links. */
export function getLinkRequest(seq: number, ifindex?: number): Uint8Array {
  const buf = new Uint8Array(NLMSG_HDRLEN + IFINFOMSG_LEN);
  const view = new DataView(buf.buffer);
  view.setUint32(0, buf.length, true);
  view.setUint16(4, RTM_GETLINK, true);
  view.setUint16(6, NLM_F_REQUEST | (ifindex === undefined ? NLM_F_DUMP : 0), true);
  view.setUint32(8, seq, true);
  view.setUint32(12, 0, true);
  if (ifindex !== undefined) view.setInt32(NLMSG_HDRLEN + 4, ifindex, true);
  return buf;
}

export interface ParsedDatagram {
  seqs: number[];
  links: string[];
  done: boolean;
  /** Bytes covered by whole messages: equals the datagram length when nothing was cut. */
  parsedBytes: number;
}

/** Walks the messages of one datagram; a netlink error message throws with the kernel's errno. */
export function parseLinkDatagram(datagram: Uint8Array): ParsedDatagram {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const out: ParsedDatagram = { seqs: [], links: [], done: false, parsedBytes: 0 };
  let off = 0;
  while (off + NLMSG_HDRLEN <= datagram.length) {
    const len = view.getUint32(off, true);
    const type = view.getUint16(off + 4, true);
    if (len < NLMSG_HDRLEN || off + len > datagram.length) break;
    out.seqs.push(view.getUint32(off + 8, true));
    if (type === NLMSG_DONE) out.done = true;
    if (type === NLMSG_ERROR) {
      const errno = -view.getInt32(off + NLMSG_HDRLEN, true);
      if (errno !== 0) throw new Error(`netlink error ${errno}`);
    }
    if (type === RTM_NEWLINK) {
      let attr = off + NLMSG_HDRLEN + IFINFOMSG_LEN;
      while (attr + 4 <= off + len) {
        const alen = view.getUint16(attr, true);
        const atype = view.getUint16(attr + 2, true);
        if (alen < 4) break;
        if (atype === IFLA_IFNAME) {
          const raw = datagram.subarray(attr + 4, attr + alen);
          const nul = raw.indexOf(0);
          out.links.push(new TextDecoder().decode(nul >= 0 ? raw.subarray(0, nul) : raw));
        }
        attr += (alen + 3) & ~3;
      }
    }
    off += (len + 3) & ~3;
  }
  out.parsedBytes = Math.min(off, datagram.length);
  return out;
}
