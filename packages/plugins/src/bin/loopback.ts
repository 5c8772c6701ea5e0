// Executable entry of the loopback plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { loopbackPlugin } from '../loopback/plugin.js';

void pluginMain(loopbackPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI loopback plugin (tscni)' });
