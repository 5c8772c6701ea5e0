// Executable entry of the bandwidth plugin (bundled by tools/build-bin.mjs). Like the reference, it
// accepts configurations from 0.3.0 on (the result must be able to list interfaces).
import { versionsFrom } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { bandwidthPlugin } from '../bandwidth/plugin.js';

void pluginMain(bandwidthPlugin(), { supportedVersions: versionsFrom('0.3.0'), about: 'CNI bandwidth plugin (tscni)' });
