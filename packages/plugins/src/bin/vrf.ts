// Executable entry of the vrf meta plugin (bundled by tools/build-bin.mjs); versions from 0.3.1 as the reference.
import { pluginMain } from '@tscni/skel';
import { VRF_VERSIONS, vrfPlugin } from '../vrf/plugin.js';

void pluginMain(vrfPlugin(), { supportedVersions: VRF_VERSIONS, about: 'CNI vrf plugin (tscni)' });
