// Executable entry of the host-local IPAM plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { hostLocalPlugin } from '../host-local/plugin.js';

void pluginMain(hostLocalPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI host-local plugin (tscni)' });
