// CLI layer: cnitool's help texts.

export const HELP = `cnitool: run a CNI network configuration against a network namespace.

Usage:
  cnitool add    <network-name> <netns>    attach the namespace, print the result as JSON
  cnitool check  <network-name> <netns>    check an attachment (config >= 0.4.0)
  cnitool del    <network-name> <netns>    detach the namespace
  cnitool gc     <network-name> [<netns>]  delete every cached attachment of the network, then GC its plugins
  cnitool status <network-name> [<netns>]  ask the network's plugins whether they are ready (config >= 1.1.0)
  cnitool version <plugin-type>            print the CNI versions a plugin supports
  cnitool help [<command>]

Flags:
  -i, --ifname <name>      interface name in the namespace (default: $CNI_IFNAME, else eth0)
      --container-id <id>  use this container ID instead of the one derived from the netns path
  -t, --timeout <seconds>  kill a plugin that runs longer (default: $CNITOOL_TIMEOUT, else 60; 0 = never)
  -h, --help               show help

Environment:
  NETCONFPATH    directory of network configurations (default /etc/cni/net.d)
  CNI_PATH       colon-separated plugin directories
  CNI_IFNAME     interface name (overridden by --ifname)
  CNI_ARGS       plugin arguments 'K1=V1;K2=V2' (every key and value non-empty)
  CAP_ARGS       capability arguments as a JSON object, e.g. '{"portMappings":[...]}'
  CNI_CACHE_DIR  result cache directory (default /var/lib/cni)

The container ID is 'cnitool-' + the first 20 hex digits of sha512(absolute netns path).
On failure the error goes to stderr as 'Error: ...' and the exit status is the CNI error code
(255 for codes that do not fit in 1..254, 64 for a bad command line).
`;

const VERBS: Readonly<Record<string, string>> = {
  add: 'cnitool add <network-name> <netns>\n\nRuns ADD for every plugin of the network in order, caches the result and prints it as JSON.\n',
  check: 'cnitool check <network-name> <netns>\n\nRuns CHECK for every plugin with the cached result (needs a config version >= 0.4.0).\n',
  del: 'cnitool del <network-name> <netns>\n\nRuns DEL for every plugin in reverse order with the cached result, then removes the cache entry.\n',
  gc: 'cnitool gc <network-name> [<netns>]\n\nDeletes every cached attachment of the network (none is kept as valid), then sends GC\nto each plugin when the config version is >= 1.1.0. The netns argument is accepted and ignored.\n',
  status: 'cnitool status <network-name> [<netns>]\n\nRuns STATUS for every plugin (config version >= 1.1.0); the first failure is reported with its code.\n',
  version: 'cnitool version <plugin-type>\n\nRuns VERSION on the plugin found in CNI_PATH and prints its reply as JSON.\n',
};

export function verbHelp(verb: string): string | undefined {
  return Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined;
}
