// CLI layer: cnitool's help texts.

export const HELP = `cnitool: run a CNI network configuration against a network namespace.

Usage:
  cnitool add    <network-name> <netns>    attach the namespace, print the result as JSON
  cnitool check  <network-name> <netns>    check an attachment (config >= 0.4.0)
  cnitool del    <network-name> <netns>    detach the namespace
  cnitool gc     <network-name> [<netns>]  delete every cached attachment of the network, then GC its plugins
  cnitool status <network-name> [<netns>]  ask the network's plugins whether they are ready (config >= 1.1.0)
  cnitool version <plugin-type>            print the CNI versions a plugin supports
  cnitool netns add <name>                 create the network namespace /run/netns/<name> (as ip netns add)
  cnitool netns del <name>                 delete it (a missing one is not an error)
  cnitool netns list [--json]              list the named network namespaces
  cnitool netns exec <name> [--] <command> [<arg>...]
                                           run a command inside the namespace (through nsenter)
  cnitool help [<command>]

Flags:
  -i, --ifname <name>      interface name in the namespace (default: $CNI_IFNAME, else eth0)
      --container-id <id>  use this container ID instead of the one derived from the netns path
  -t, --timeout <seconds>  kill a plugin that runs longer (default: $CNITOOL_TIMEOUT, else 60; 0 = never)
      --json               netns list: print a JSON array
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
(255 for codes that do not fit in 1..254, 64 for a bad command line); netns exec exits with
its command's status.
`;

const NETNS_NAME_RULE = 'A namespace name is 1-255 characters from [A-Za-z0-9_.-] starting with a letter or digit;\nanother name fails with code 8 (InvalidNetNS).\n';

const VERBS: Readonly<Record<string, string>> = {
  add: 'cnitool add <network-name> <netns>\n\nRuns ADD for every plugin of the network in order, caches the result and prints it as JSON.\n',
  check: 'cnitool check <network-name> <netns>\n\nRuns CHECK for every plugin with the cached result (needs a config version >= 0.4.0).\n',
  del: 'cnitool del <network-name> <netns>\n\nRuns DEL for every plugin in reverse order with the cached result, then removes the cache entry.\n',
  gc: 'cnitool gc <network-name> [<netns>]\n\nDeletes every cached attachment of the network (none is kept as valid), then sends GC\nto each plugin when the config version is >= 1.1.0. The netns argument is accepted and ignored.\n',
  status: 'cnitool status <network-name> [<netns>]\n\nRuns STATUS for every plugin (config version >= 1.1.0); the first failure is reported with its code.\n',
  version: 'cnitool version <plugin-type>\n\nRuns VERSION on the plugin found in CNI_PATH and prints its reply as JSON.\n',
  netns:
    'cnitool netns add <name>\ncnitool netns del <name>\ncnitool netns list [--json]\ncnitool netns exec <name> [--] <command> [<arg>...]\n\n' +
    'Named network namespaces under /run/netns, interchangeable with `ip netns`.\n' +
    NETNS_NAME_RULE,
  'netns add':
    'cnitool netns add <name>\n\nCreates a network namespace and bind-mounts it at /run/netns/<name>, as `ip netns add` does.\n' +
    'An existing name fails with code 5.\n' +
    NETNS_NAME_RULE,
  'netns del': 'cnitool netns del <name>\n\nUnmounts and removes /run/netns/<name>; a missing namespace is not an error.\n' + NETNS_NAME_RULE,
  'netns list': 'cnitool netns list [--json]\n\nPrints the names under /run/netns, one per line, or with --json as [{"name": ...}, ...]\n(the shape of `ip -j netns list`).\n',
  'netns exec':
    'cnitool netns exec <name> [--] <command> [<arg>...]\n\n' +
    'Runs the command inside the namespace through util-linux nsenter --net, with cnitool\'s stdio and\n' +
    'environment, and exits with its status (128+N when signal N killed it). Everything from <command>\n' +
    'on is passed verbatim. SIGTERM and SIGHUP are passed on to the command; SIGINT and SIGQUIT too\n' +
    'unless cnitool has a terminal, which delivers them to the command itself. Unlike `ip netns exec`,\n' +
    'the command keeps the mount namespace: /sys and /etc/netns/<name> are not remounted.\n' +
    'A missing namespace fails with code 8.\n' +
    NETNS_NAME_RULE,
};

export function verbHelp(verb: string): string | undefined {
  return Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined;
}
