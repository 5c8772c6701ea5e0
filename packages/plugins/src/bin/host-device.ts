// Executable entry of the host-device plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { hostDevicePlugin } from '../host-device/plugin.js';

void pluginMain(hostDevicePlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI host-device plugin (tscni)' });
