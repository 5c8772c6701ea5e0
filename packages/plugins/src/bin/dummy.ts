// Executable entry of the dummy plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { dummyPlugin } from '../dummy/plugin.js';

void pluginMain(dummyPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI dummy plugin (tscni)' });
