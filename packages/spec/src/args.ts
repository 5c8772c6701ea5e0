// Layer 1 (spec): CNI_ARGS ("K=V;K2=V2"), mirroring Go types.LoadArgs and libcni's stringify.
import { CniError, ErrorCode } from './errors.js';

/**
 * Splits CNI_ARGS into pairs. Like LoadArgs, each `;`-separated item must split on `=` into
 * exactly two parts (so a value containing `=` is rejected); otherwise CniError code 4.
 * An empty string means no args.
 */
export function parseCniArgs(s: string): Array<[string, string]> {
  if (s === '') return [];
  return s.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `ARGS: invalid pair ${JSON.stringify(pair)}`);
    return [kv[0] as string, kv[1] as string];
  });
}

const TRUE_VALUES = new Set(['1', 'true']);
const FALSE_VALUES = new Set(['0', 'false']);

/**
 * Picks the `known` keys (exact, case-sensitive match as Go field names) out of CNI_ARGS. Any other
 * key is CniError code 4 `ARGS: unknown args [...]` unless `IgnoreUnknown` is 1/true (any case).
 * `IgnoreUnknown` itself is always understood; a value other than 1/true/0/false is an error.
 * Later duplicates win, as in Go.
 */
export function loadCniArgs<K extends string>(s: string, known: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  const unknown: string[] = [];
  let ignoreUnknown = false;
  const knownSet = new Set<string>(known);
  for (const [k, v] of parseCniArgs(s)) {
    if (k === 'IgnoreUnknown') {
      const lv = v.toLowerCase();
      if (TRUE_VALUES.has(lv)) ignoreUnknown = true;
      else if (FALSE_VALUES.has(lv)) ignoreUnknown = false;
      else {
        throw new CniError(
          ErrorCode.InvalidEnvironmentVariables,
          `ARGS: error parsing value of pair ${JSON.stringify(`${k}=${v}`)}: boolean unmarshal error: invalid input ${lv}`,
        );
      }
      if (knownSet.has(k)) out[k as K] = v;
      continue;
    }
    if (knownSet.has(k)) out[k as K] = v;
    else unknown.push(`${k}=${v}`);
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `ARGS: unknown args [${unknown.map((u) => JSON.stringify(u)).join(' ')}]`);
  }
  return out;
}

/** Joins pairs as libcni does: `K=V` joined by `;`, without escaping. */
export function stringifyCniArgs(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}
