// Executable entry of the macvlan plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { macvlanPlugin } from '../macvlan/plugin.js';

void pluginMain(macvlanPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI macvlan plugin (tscni)' });
