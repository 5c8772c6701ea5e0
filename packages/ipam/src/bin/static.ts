// Executable entry of the static IPAM plugin (bundled by tools/build-bin.mjs).
import { pluginMain } from '@tscni/skel';
import { STATIC_VERSIONS, staticPlugin } from '../static/plugin.js';

void pluginMain(staticPlugin, { supportedVersions: STATIC_VERSIONS, about: 'CNI static plugin (tscni)' });
