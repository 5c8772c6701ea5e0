// Executable entry of the host-local IPAM plugin (bundled by tools/build-bin.mjs).
import { pluginMain } from '@tscni/skel';
import { HOST_LOCAL_VERSIONS, hostLocalPlugin } from '../host-local/plugin.js';

void pluginMain(hostLocalPlugin(), { supportedVersions: HOST_LOCAL_VERSIONS, about: 'CNI host-local plugin (tscni)' });
