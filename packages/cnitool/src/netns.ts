// CLI layer: what the `cnitool netns` commands share: the name rule and how a failed namespace
// syscall becomes a CNI error (exit status) with the kernel's reason as details.
import { CniError, ErrorCode } from '@tscni/spec';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A namespace name: the network-name characters, one path component (so never `.`, `..` or with `/`),
 * at most NAME_MAX. CniError(8, InvalidNetNS) otherwise. */
export function validateNetnsName(name: string): void {
  if (name.length > 255 || !NAME_RE.test(name)) {
    throw new CniError(
      ErrorCode.InvalidNetNS,
      `invalid network namespace name ${JSON.stringify(name)}`,
      'want 1-255 characters from [A-Za-z0-9_.-] starting with a letter or digit',
    );
  }
}

/** The errno name a failed syscall carries (the addon's errors and Node's both have one). */
export function errnoCode(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A syscall failure as CniError(5, IOFailure) `<what>; <reason>`; anything else (e.g. the addon
 * failing to load, whose message lists what was tried) is passed through unchanged. */
export function ioFailure(what: string, e: unknown): unknown {
  if (errnoCode(e) === undefined) return e;
  return new CniError(ErrorCode.IOFailure, what, (e as Error).message, { cause: e });
}
