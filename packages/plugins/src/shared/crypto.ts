// Floor 3 (plugins/shared): names made from hashes and random bytes. Hashed names are the reference's
// (pkg/utils MustFormatHashWithPrefix and FormatChainName), so either implementation finds the other's
// objects. node:crypto loads on first use: a run that names nothing (VERSION, most DELs and CHECKs)
// does not pay its start-up cost.
import type * as NodeCrypto from 'node:crypto';

let loaded: typeof NodeCrypto | undefined;

function nodeCrypto(): typeof NodeCrypto {
  loaded ??= process.getBuiltinModule('node:crypto');
  return loaded;
}

/** The hex digest of `s`. */
export function hexDigest(algorithm: 'sha512' | 'sha256', s: string): string {
  return nodeCrypto().createHash(algorithm).update(s).digest('hex');
}

/** `prefix` + the hex SHA-512 of `toHash`, `length` characters in all (MustFormatHashWithPrefix). */
export function hashWithPrefix(length: number, prefix: string, toHash: string): string {
  return (prefix + hexDigest('sha512', toHash)).slice(0, length);
}

/** An attachment's iptables chain: "CNI-" + prefix + SHA-512 of network + container ID, 28 characters (FormatChainName). */
export function chainName(network: string, containerId: string, prefix = ''): string {
  return hashWithPrefix(28, `CNI-${prefix}`, network + containerId);
}

/** `n` random bytes in hex. */
export function randomHex(n: number): string {
  return nodeCrypto().randomBytes(n).toString('hex');
}
