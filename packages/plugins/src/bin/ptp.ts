// Executable entry of the ptp plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { ptpPlugin } from '../ptp/plugin.js';

void pluginMain(ptpPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI ptp plugin (tscni)' });
