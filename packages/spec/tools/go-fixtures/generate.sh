#!/bin/sh
# Regenerates src/fixtures/go-reference.json by running main.go against the reference Go library
# as Debian packages it (golang-go + golang-github-appc-cni-dev, GOPATH mode, no downloads).
# Debian's library is cni 1.1.2, which predates spec 1.1.0: conversions to 1.1.0 then come back as
# errors, so keep the committed 1.1.0 rows (1.1.0 results have the 1.0.0 shape) when regenerating.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/src/gen"
cp "$HERE/main.go" "$WORK/src/gen/"
cd "$WORK/src/gen"
GOPATH="$WORK:/usr/share/gocode" GO111MODULE=off go run . < "$HERE/inputs.json" > "$WORK/out.json"
mv "$WORK/out.json" "$HERE/../../src/fixtures/go-reference.json"
