// Layer 1 (spec): the attachments a GC request asks a plugin to keep (SPEC 1.1 "GC"), read from
// `cni.dev/valid-attachments` or, as libcni 1.2.0 named it, `cni.dev/attachments` (libcni sends both).
// Strict on purpose: a plugin that read a missing or malformed list as "keep nothing" would delete
// every attachment's state, so those are configuration errors (code 7) naming the key.
import { CniError, ErrorCode } from './errors.js';
import type { GCAttachment } from './capabilities.js';

const KEY = 'cni.dev/valid-attachments';
const LEGACY_KEY = 'cni.dev/attachments';

/** The attachments a GC must keep; CniError code 7 when the list is missing or an entry is malformed. */
export function parseGcAttachments(netconf: Readonly<Record<string, unknown>>): GCAttachment[] {
  const key = netconf[KEY] !== undefined && netconf[KEY] !== null ? KEY : LEGACY_KEY;
  const raw = netconf[key];
  if (raw === undefined || raw === null) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `GC needs "${KEY}" (the attachments to keep)`);
  }
  if (!Array.isArray(raw)) throw new CniError(ErrorCode.InvalidNetworkConfig, `"${key}": must be an array`);
  return raw.map((entry: unknown, i) => {
    const o = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
    const containerID = o['containerID'];
    const ifname = o['ifname'];
    if (typeof containerID !== 'string' || typeof ifname !== 'string') {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `"${key}"[${i}]: needs string "containerID" and "ifname"`);
    }
    return { containerID, ifname };
  });
}
