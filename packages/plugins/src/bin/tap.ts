// Executable entry of the tap plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { tapPlugin } from '../tap/plugin.js';

void pluginMain(tapPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI tap plugin (tscni)' });
