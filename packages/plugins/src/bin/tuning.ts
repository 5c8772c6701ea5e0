// Executable entry of the tuning plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { tuningPlugin } from '../tuning/plugin.js';

void pluginMain(tuningPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI tuning plugin (tscni)' });
