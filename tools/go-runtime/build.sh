#!/usr/bin/env bash
# Builds tools/go-runtime/bin/go-cni-runtime against Debian's packaged libcni sources
# (golang-github-appc-cni-dev) in GOPATH mode: no module proxy, no downloads.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
gopath=/usr/share/gocode

if [[ ! -d "$gopath/src/github.com/containernetworking/cni/libcni" ]]; then
  echo "go-runtime: libcni sources missing under $gopath; install golang-github-appc-cni-dev" >&2
  exit 1
fi
command -v go >/dev/null || { echo "go-runtime: 'go' not found; install golang-go" >&2; exit 1; }

mkdir -p "$here/bin" "$repo/.cache/go-build"
cd "$here"
# GO111MODULE=off resolves imports from GOPATH only; GOPROXY=off and GOFLAGS= make sure nothing
# is fetched and no user setting turns module mode back on.
env GOPATH="$gopath" GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE="$repo/.cache/go-build" CGO_ENABLED=0 \
  go build -trimpath -o "$here/bin/go-cni-runtime" .
