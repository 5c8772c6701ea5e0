// Executable entry of the bridge plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { bridgePlugin } from '../bridge/plugin.js';

void pluginMain(bridgePlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI bridge plugin (tscni)' });
