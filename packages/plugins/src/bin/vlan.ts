// Executable entry of the vlan plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { vlanPlugin } from '../vlan/plugin.js';

void pluginMain(vlanPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI vlan plugin (tscni)' });
