// Executable entry of the portmap plugin (bundled by tools/build-bin.mjs). Like the reference, it
// accepts every spec version; GC and STATUS need a 1.1.0 configuration.
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { portmapPlugin } from '../portmap/plugin.js';

void pluginMain(portmapPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI portmap plugin (tscni)' });
