// Floor 3 (plugins/shared): awaiting one kernel request and turning its failure into a CNI error
// that says what was being done (shared/kernel.ts kernelError), for plugins that make many requests.
import { kernelError } from './kernel.js';

export async function orKernelError<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw kernelError(what, e);
  }
}
