// Test support (not built, not exported): the CNI error code a synchronous call fails with, for
// table tests of configuration loaders (anything but a CniError is rethrown).
import { CniError } from '@tscni/spec';

export function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e.code;
    throw e;
  }
  return undefined;
}
