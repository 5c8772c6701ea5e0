// Test tool (reference side): a minimal CNI runtime built on Debian's Go libcni, so interop tests can
// drive Go's real plugin exec, result decoding and result cache against tscni plugins and caches.
//
// Usage:
//
//	go-cni-runtime add|check|del|cached <conflist-file> <netns> [flags]
//	go-cni-runtime version <conflist-file>
//
// Flags: --ifname (default eth0), --container-id (default derived from the netns path),
// --cache-dir (default libcni's /var/lib/cni), --args 'K=V;K2=V2', --cap-args '<JSON object>'.
// CNI_PATH (colon-separated) comes from the environment. Results go to stdout as JSON; errors go to
// stderr and the exit status is 1 (2 for usage errors). A plugin's CNI error is printed as its JSON
// object on the last stderr line so callers can read the code.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

type options struct {
	verb        string
	confFile    string
	netns       string
	ifName      string
	containerID string
	cacheDir    string
	cniArgs     string
	capArgs     string
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: go-cni-runtime add|check|del|cached <conflist-file> <netns> [--ifname eth0] [--container-id ID] [--cache-dir DIR] [--args 'K=V;..'] [--cap-args JSON]
       go-cni-runtime version <conflist-file>
environment: CNI_PATH (plugin search path, colon-separated)`

// parseOptions accepts flags before, between or after the positional arguments (the flag package
// alone stops at the first positional one).
func parseOptions(argv []string) (*options, error) {
	if len(argv) < 1 {
		return nil, usageError{"missing command"}
	}
	o := &options{verb: argv[0]}
	fs := flag.NewFlagSet("go-cni-runtime", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.ifName, "ifname", "eth0", "interface name inside the namespace")
	fs.StringVar(&o.containerID, "container-id", "", "container ID")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "libcni cache directory")
	fs.StringVar(&o.cniArgs, "args", "", "CNI_ARGS as K=V;K2=V2")
	fs.StringVar(&o.capArgs, "cap-args", "", "capability args as a JSON object")

	var positional []string
	rest := argv[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, usageError{err.Error()}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}

	want := 2
	if o.verb == "version" {
		want = 1
	}
	switch o.verb {
	case "add", "check", "del", "cached", "version":
	default:
		return nil, usageError{fmt.Sprintf("unknown command %q", o.verb)}
	}
	if len(positional) != want {
		return nil, usageError{fmt.Sprintf("%s takes %d positional argument(s), got %d", o.verb, want, len(positional))}
	}
	o.confFile = positional[0]
	if want == 2 {
		o.netns = positional[1]
	}
	return o, nil
}

// parseCniArgs splits 'K=V;K2=V2' strictly: an empty key or value is an error, as in cnitool.
func parseCniArgs(s string) ([][2]string, error) {
	if s == "" {
		return nil, nil
	}
	var out [][2]string
	for _, pair := range strings.Split(s, ";") {
		kv := strings.SplitN(pair, "=", 2)
		if len(kv) != 2 || kv[0] == "" || kv[1] == "" {
			return nil, usageError{fmt.Sprintf("invalid --args pair %q", pair)}
		}
		out = append(out, [2]string{kv[0], kv[1]})
	}
	return out, nil
}

// defaultContainerID derives a stable ID from the namespace path so that add and del agree
// without the caller passing one.
func defaultContainerID(netns string) string {
	abs, err := filepath.Abs(netns)
	if err != nil {
		abs = netns
	}
	sum := sha256.Sum256([]byte(abs))
	return "gocni-" + hex.EncodeToString(sum[:10])
}

func cniPath() []string {
	var out []string
	for _, p := range filepath.SplitList(os.Getenv("CNI_PATH")) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func printJSON(w io.Writer, v interface{}) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func run(o *options, stdout io.Writer) error {
	list, err := libcni.ConfListFromFile(o.confFile)
	if err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir(cniPath(), o.cacheDir, nil)
	ctx := context.Background()

	if o.verb == "version" {
		// One VERSION probe per plugin type, keyed by type, in list order of first appearance.
		infos := map[string]interface{}{}
		for _, p := range list.Plugins {
			if _, seen := infos[p.Network.Type]; seen {
				continue
			}
			info, err := cni.GetVersionInfo(ctx, p.Network.Type)
			if err != nil {
				return fmt.Errorf("plugin %q: %w", p.Network.Type, err)
			}
			infos[p.Network.Type] = map[string]interface{}{"supportedVersions": info.SupportedVersions()}
		}
		return printJSON(stdout, infos)
	}

	args, err := parseCniArgs(o.cniArgs)
	if err != nil {
		return err
	}
	var capArgs map[string]interface{}
	if o.capArgs != "" {
		if err := json.Unmarshal([]byte(o.capArgs), &capArgs); err != nil {
			return usageError{fmt.Sprintf("--cap-args is not a JSON object: %v", err)}
		}
	}
	id := o.containerID
	if id == "" {
		id = defaultContainerID(o.netns)
	}
	rt := &libcni.RuntimeConf{
		ContainerID:    id,
		NetNS:          o.netns,
		IfName:         o.ifName,
		Args:           args,
		CapabilityArgs: capArgs,
	}

	switch o.verb {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		return printJSON(stdout, res)
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	case "del":
		return cni.DelNetworkList(ctx, list, rt)
	case "cached":
		res, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			return err
		}
		// A missing cache entry prints JSON null, which callers can tell from a result.
		return printJSON(stdout, res)
	}
	return usageError{fmt.Sprintf("unknown command %q", o.verb)}
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-cni-runtime: %v\n%s\n", err, usage)
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "go-cni-runtime: %v\n%s\n", err, usage)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "go-cni-runtime: %s: %v\n", o.verb, err)
		var cniErr *types.Error
		if errors.As(err, &cniErr) {
			if b, jerr := json.Marshal(cniErr); jerr == nil {
				fmt.Fprintf(os.Stderr, "%s\n", b)
			}
		}
		os.Exit(1)
	}
}
