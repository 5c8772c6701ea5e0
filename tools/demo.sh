#!/usr/bin/env bash
# Demo: tscni's cnitool (the TypeScript engine) drives tscni's own plugins (bridge + host-local,
# installed the way /opt/cni/bin is populated) to attach two fresh network namespaces, made with
# `cnitool netns`, to one bridge network; checks that they ping each other and the gateway, then
# detaches them.
# Everything it creates has a per-run name and is removed by the EXIT trap, even on failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash tools/setup.sh

step() { printf '==> %s\n' "$*"; }

cnitool="$repo/packages/cnitool/dist/bin/cnitool"
[[ -x "$cnitool" ]] || { echo "demo: $cnitool missing (setup did not build it)" >&2; exit 1; }

id="$(od -An -tx1 -N3 /dev/urandom | tr -d ' \n')"
net="tscdemo-$id"
bridge="tscdbr$id"          # 12 chars, within IFNAMSIZ
ns_a="tscdemo-a-$id"
ns_b="tscdemo-b-$id"
work="$(mktemp -d /tmp/tscni-demo.XXXXXX)"
plugin_dir="$work/bin"
added=()

# A /24 under 10.200.0.0/13 that no host route covers.
subnet=""
for _ in $(seq 1 50); do
  candidate="10.$((200 + RANDOM % 8)).$((RANDOM % 256)).0/24"
  covering="$(ip -4 route show table all to match "${candidate%.0/24}.1" | grep -v '^default' || true)"
  if [[ -z "$covering" ]]; then
    subnet="$candidate"
    break
  fi
done
[[ -n "$subnet" ]] || { echo "demo: no free /24 found under 10.200.0.0/13" >&2; exit 1; }

export NETCONFPATH="$work/net.d" CNI_PATH="$plugin_dir" CNI_CACHE_DIR="$work/cache"

cnitool_run() { "$cnitool" "$@"; }

cleanup() {
  local status=$?
  set +e
  for ns in "${added[@]}"; do
    cnitool_run del "$net" "/run/netns/$ns" >/dev/null 2>&1
  done
  for ns in "$ns_a" "$ns_b"; do
    "$cnitool" netns del "$ns" 2>/dev/null
  done
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work"
  if ((status == 0)); then step "demo passed"; else echo "demo: FAILED (exit $status); everything it created was removed" >&2; fi
}
trap cleanup EXIT

step "install tscni plugins into $plugin_dir"
node tools/install-plugins --no-build "$plugin_dir"
ls "$plugin_dir" | tr '\n' ' '; echo

step "network $net: bridge $bridge, subnet $subnet, config in $NETCONFPATH"
mkdir -p "$NETCONFPATH"
cat >"$NETCONFPATH/10-$net.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$net",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$subnet" }]], "dataDir": "$work/ipam" }
    }
  ]
}
EOF

gw_of() { # <result JSON on stdin> -> the gateway of its first IP
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).ips?.[0]?.gateway ?? ""));'
}

ip_of() { # <result JSON on stdin> -> its first IP address without the prefix length
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const a = JSON.parse(s).ips?.[0]?.address;
      if (typeof a !== "string") { console.error("demo: the ADD result has no ips[0].address:\n" + s); process.exit(1); }
      console.log(a.split("/")[0]);
    });'
}

step "cnitool netns add $ns_a $ns_b"
"$cnitool" netns add "$ns_a"
"$cnitool" netns add "$ns_b"

step "cnitool add $net /run/netns/$ns_a"
added+=("$ns_a")   # before ADD: a failed ADD still gets its DEL (spec), and DEL is idempotent
result="$(cnitool_run add "$net" "/run/netns/$ns_a")"
ip_a="$(ip_of <<<"$result")"
gw="$(gw_of <<<"$result")"
step "  $ns_a got $ip_a (gateway $gw)"
step "cnitool check $net /run/netns/$ns_a"
cnitool_run check "$net" "/run/netns/$ns_a"
step "cnitool add $net /run/netns/$ns_b"
added+=("$ns_b")   # before ADD: a failed ADD still gets its DEL (spec), and DEL is idempotent
result="$(cnitool_run add "$net" "/run/netns/$ns_b")"
ip_b="$(ip_of <<<"$result")"
step "  $ns_b got $ip_b"
step "cnitool check $net /run/netns/$ns_b"
cnitool_run check "$net" "/run/netns/$ns_b"

step "ping $ns_a -> $ip_b"
"$cnitool" netns exec "$ns_a" -- ping -c 3 -i 0.2 -W 2 "$ip_b" | tail -n 2
step "ping $ns_b -> $ip_a"
"$cnitool" netns exec "$ns_b" -- ping -c 3 -i 0.2 -W 2 "$ip_a" | tail -n 2
step "ping $ns_a -> gateway $gw"
"$cnitool" netns exec "$ns_a" -- ping -c 3 -i 0.2 -W 2 "$gw" | tail -n 2

for ns in "$ns_a" "$ns_b"; do
  step "cnitool del $net /run/netns/$ns"
  cnitool_run del "$net" "/run/netns/$ns"
done
added=()

step "cnitool netns del $ns_a $ns_b; remove the bridge"
"$cnitool" netns del "$ns_a"
"$cnitool" netns del "$ns_b"
ip link del "$bridge"
