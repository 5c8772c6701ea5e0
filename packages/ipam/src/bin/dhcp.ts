// Executable entry of the dhcp IPAM plugin and, as `dhcp daemon [flags]`, of its daemon (bundled by
// tools/build-bin.mjs). The daemon's modules load only for the daemon.
import { pluginMain } from '@tscni/skel';
import { DHCP_VERSIONS, dhcpPlugin } from '../dhcp/plugin.js';

if (process.argv[2] === 'daemon') {
  void import('../dhcp/daemon-main.js')
    .then((m) => m.daemonMain(process.argv.slice(3)))
    .then((code) => process.exit(code));
} else {
  void pluginMain(dhcpPlugin(), { supportedVersions: DHCP_VERSIONS, about: 'CNI dhcp plugin (tscni)' });
}
