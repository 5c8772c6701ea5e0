// Layer 1 (spec): validators for names the runtime passes, mirroring Go pkg/utils
// (ValidateContainerID, ValidateNetworkName, ValidateInterfaceName) and invoke.FindInPath's type check.
import { CniError, ErrorCode } from './errors.js';

/** Container IDs and network names (Go utils.cniReg); also the pattern of the schemas' `name`. */
export const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_IFNAME = 15;
// '/', ':' and Go's unicode.IsSpace set (JS \s differs: it has U+FEFF and lacks U+0085).
const IFNAME_FORBIDDEN = /[/:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Empty is CniError code 3 ("missing containerID"); bad characters are code 4. */
export function validateContainerId(id: string): void {
  if (id === '') throw new CniError(ErrorCode.UnknownContainer, 'missing containerID');
  if (!VALID_NAME.test(id)) throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'invalid characters in containerID', id);
}

/** CniError code 7: `missing network name` or `invalid characters found in network name`. */
export function validateNetworkName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  if (!VALID_NAME.test(name)) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
}

/** CniError code 4 when the kernel could not take the name: empty, over 15 bytes, `.`/`..`, `/`, `:` or whitespace. */
export function validateInterfaceName(name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'interface name is empty');
  if (bytes > MAX_IFNAME) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'interface name is too long', `interface name should be less than ${MAX_IFNAME + 1} characters`);
  }
  if (name === '.' || name === '..') throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'interface name is . or ..');
  if (IFNAME_FORBIDDEN.test(name)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'interface name contains / or : or whitespace characters');
  }
}

/** CniError code 7: a plugin type is the executable's base name, so it is non-empty and has no path separator. */
export function validatePluginType(type: string): void {
  if (type === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing plugin type');
  if (type.includes('/') || type.includes('\\')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid plugin type: must not contain a path separator', type);
  }
  if (type === '.' || type === '..' || type.includes('\0')) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid plugin type', type);
}
