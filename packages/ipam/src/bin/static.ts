// Executable entry of the static IPAM plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { staticPlugin } from '../static/plugin.js';

void pluginMain(staticPlugin, { supportedVersions: SPEC_VERSIONS, about: 'CNI static plugin (tscni)' });
