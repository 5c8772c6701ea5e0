// Executable entry of the sbr (source-based routing) meta plugin (bundled by tools/build-bin.mjs).
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import { sbrPlugin } from '../sbr/plugin.js';

void pluginMain(sbrPlugin(), { supportedVersions: SPEC_VERSIONS, about: 'CNI sbr plugin (tscni)' });
