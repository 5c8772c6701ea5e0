// Executable entry of the firewall meta plugin (bundled by tools/build-bin.mjs); versions from 0.4.0 as the reference.
import { pluginMain } from '@tscni/skel';
import { FIREWALL_VERSIONS, firewallPlugin } from '../firewall/plugin.js';

void pluginMain(firewallPlugin(), { supportedVersions: FIREWALL_VERSIONS, about: 'CNI firewall plugin (tscni)' });
