// Floor 3 (plugins/shared): opening rtnetlink in the container's namespace and turning kernel
// failures into CNI errors, as the reference plugins' ns.GetNS / netns.Do error paths do. A missing
// namespace is an error for ADD and CHECK and "nothing left to clean" for DEL.
import { CniError, ErrorCode, isCniError } from '@tscni/spec';
import { RtNetlink, isNetlinkError } from '@tscni/netlink';

/** The errno code an error from netlink or the native addon carries, if any. */
export function errnoCode(e: unknown): string | undefined {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A kernel (or other) failure as a CNI error whose message says what was being done. */
export function kernelError(what: string, e: unknown): CniError {
  if (isCniError(e)) return e;
  const text = e instanceof Error ? e.message : String(e);
  return new CniError(ErrorCode.Internal, `${what}: ${text}`, undefined, { cause: e });
}

/** The link does not exist (RTM_GETLINK/DELLINK answered ENODEV). */
export function isMissingLink(e: unknown): boolean {
  return isNetlinkError(e, 'ENODEV');
}

/** The object (route, address, link name) already exists. */
export function isExists(e: unknown): boolean {
  return isNetlinkError(e, 'EEXIST');
}

/**
 * The namespace at a path is gone: the file is missing (ENOENT), or it is no longer a namespace
 * (EINVAL from setns: the bind mount was undone but the file remains).
 */
export function isNetnsGone(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'ENOENT' || code === 'EINVAL';
}

export type RtOpener = (netnsPath: string | null) => RtNetlink;

export const defaultOpener: RtOpener = (netnsPath) => RtNetlink.open(netnsPath);

/** rtnetlink inside CNI_NETNS; a namespace that cannot be opened is code 8 (InvalidNetNS). */
export function openContainerNetns(netnsPath: string, open: RtOpener = defaultOpener): RtNetlink {
  try {
    return open(netnsPath);
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    throw new CniError(ErrorCode.InvalidNetNS, `failed to open netns "${netnsPath}": ${text}`, undefined, { cause: e });
  }
}

/** Like openContainerNetns, but undefined when the namespace no longer exists (DEL). */
export function openNetnsIfPresent(netnsPath: string, open: RtOpener = defaultOpener): RtNetlink | undefined {
  try {
    return open(netnsPath);
  } catch (e) {
    if (isNetnsGone(e)) return undefined;
    throw new CniError(ErrorCode.InvalidNetNS, `failed to open netns "${netnsPath}": ${e instanceof Error ? e.message : String(e)}`, undefined, {
      cause: e,
    });
  }
}

/** Runs `fn` with a handle and closes it afterwards. */
export async function using<T>(rt: RtNetlink, fn: (rt: RtNetlink) => Promise<T>): Promise<T> {
  try {
    return await fn(rt);
  } finally {
    rt.close();
  }
}
