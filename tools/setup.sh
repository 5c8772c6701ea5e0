#!/usr/bin/env bash
# Idempotent set-up of a Debian 12 machine (as root) for building, testing and demonstrating tscni:
# system packages, pnpm, workspace dependencies, the turbo build (native addon, packages, bundled
# executables) and the Go reference runtime used by the interop tests. Each step prints one line;
# a failing step prints its log and stops the script.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

export DEBIAN_FRONTEND=noninteractive
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

step() { printf '==> %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# Runs a command with its output captured; on failure shows the end of the output and stops.
quiet() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    printf 'setup: FAILED: %s\n' "$*" >&2
    tail -n 80 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

[[ "$(id -u)" == 0 ]] || fail "must run as root (kernel tests and the demo create network namespaces)"

# --- system packages -----------------------------------------------------------------------------
# build-essential + python3 are node-gyp's needs for native/; the rest are the kernel tools the
# tests and the demo use, Go plus Debian's libcni sources for the reference runtime, and the Go
# reference plugins (installed in /usr/lib/cni).
apt_packages=(
  iproute2 iptables nftables conntrack
  golang-go golang-github-appc-cni-dev containernetworking-plugins
  dnsmasq-base iperf3 socat strace util-linux iputils-ping hyperfine
  build-essential python3
)
missing=()
for p in "${apt_packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  step "apt: installing ${missing[*]}"
  quiet apt-get update
  for p in "${missing[@]}"; do
    # A package without an installation candidate would make apt-get fail with a vaguer message.
    policy="$(apt-cache policy "$p")"
    if [[ "$policy" != *"Candidate: "* || "$policy" == *"Candidate: (none)"* ]]; then
      fail "apt package '$p' has no installation candidate on this machine"
    fi
  done
  quiet apt-get install -y --no-install-recommends "${missing[@]}"
else
  step "apt: all ${#apt_packages[@]} packages present"
fi

# --- Node.js and pnpm ----------------------------------------------------------------------------
command -v node >/dev/null || fail "node not found: Node.js >= 20 must be installed on the machine"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || fail "Node.js >= 20 required, found $(node --version)"
if ! command -v pnpm >/dev/null || [[ "$(pnpm --version 2>/dev/null)" != 9.* ]]; then
  step "npm: installing pnpm@9"
  quiet npm install -g pnpm@9
else
  step "pnpm $(pnpm --version) present"
fi

# --- workspace -----------------------------------------------------------------------------------
step "pnpm install --frozen-lockfile"
quiet pnpm install --frozen-lockfile

step "turbo build (native addon, packages, bundled executables)"
quiet pnpm turbo run build --output-logs=errors-only

step "go build tools/go-runtime (GOPATH mode, Debian libcni, no downloads)"
quiet bash tools/go-runtime/build.sh

step "setup done"
