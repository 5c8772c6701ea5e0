// Executable entry of the ipvlan plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { ipvlanPlugin } from '../ipvlan/plugin.js';

void pluginMain(ipvlanPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI ipvlan plugin (tscni)' });
