// Floor 3 (plugins/shared): the GC request's list of attachments to keep (`cni.dev/valid-attachments`,
// SPEC 1.1 "GC"). Strict on purpose: a GC that misread a missing or malformed list as "keep nothing"
// would delete every attachment's state, so those are configuration errors (code 7) instead.
import { CniError, ErrorCode } from '@tscni/spec';
import type { GCAttachment, NetConf } from '@tscni/spec';

const KEY = 'cni.dev/valid-attachments';
/** libcni 1.2.0 sent the list under this name. */
const LEGACY_KEY = 'cni.dev/attachments';

/** The attachments a GC must keep; code 7 when the list is missing or an entry is malformed. */
export function gcValidAttachments(netconf: NetConf): GCAttachment[] {
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
