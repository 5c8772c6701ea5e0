#!/bin/sh
# Regenerates src/fixtures/go-reference.json from the reference Go library.
# Usage: generate.sh <path to a containernetworking/cni checkout>   (needs `go` on PATH)
set -eu
CNI_SRC=${1:?path to a containernetworking/cni checkout}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/src/github.com/containernetworking" "$WORK/src/gen"
cp -r "$CNI_SRC" "$WORK/src/github.com/containernetworking/cni"
cp "$HERE/main.go" "$WORK/src/gen/"
cd "$WORK/src/gen"
GOPATH="$WORK" GO111MODULE=off go run . < "$HERE/inputs.json" > "$HERE/../../src/fixtures/go-reference.json"
