#!/usr/bin/env bash
# tests/standins/traefik/build-binary.sh
#
# Compiles traefik v3.2.3 on the host from the Go module proxy, for the TEST-ONLY
# traefik:v3.2.3 stand-in, into a cache outside the repository:
#   ${TRAEFIK_CACHE:-/var/cache/webstack-toolchain/traefik-v3.2.3}/traefik
# Skips the build when that binary already reports version 3.2.3. Needs Go (>= 1.23).
#
# `go install github.com/traefik/traefik/v3/cmd/traefik@v3.2.3` does not work: the module's
# go.mod has replace directives, and `go install pkg@version` refuses those ("The go.mod
# file for the module providing named packages contains one or more replace directives").
# So the module is downloaded (`go mod download`, checked against sum.golang.org) and built
# as the main module, with the ldflags of traefik's own Makefile (`make binary`); the web
# UI is not generated (the program runs with --api.dashboard=false).
set -euo pipefail

VERSION=v3.2.3
MODULE=github.com/traefik/traefik/v3
OUT=${TRAEFIK_CACHE:-/var/cache/webstack-toolchain/traefik-$VERSION}
BIN=$OUT/traefik

say() { printf '[traefik %4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -Eq "^Version: *v?${VERSION#v}\$"; then
    say "$BIN is traefik ${VERSION#v} already"
    exit 0
fi
command -v go >/dev/null 2>&1 || die "go not found (Go >= 1.23 is needed to build traefik $VERSION)"
mkdir -p "$OUT"

say "downloading $MODULE@$VERSION from $(go env GOPROXY)"
dir=$(cd "$OUT" && go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -f "$dir/go.mod" ]; then die "go mod download $MODULE@$VERSION failed"; fi

# The module cache is read-only: build from a copy, as the main module.
src=$OUT/src
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"

say "building ./cmd/traefik (go $(go env GOVERSION), GOFLAGS=-mod=mod)"
started=$SECONDS
(
    cd "$src"
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w \
        -X $MODULE/pkg/version.Version=$VERSION \
        -X $MODULE/pkg/version.Codename=cheddar \
        -X $MODULE/pkg/version.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        -o "$BIN.new" ./cmd/traefik
) || die "go build of traefik $VERSION failed (see the errors above)"
mv "$BIN.new" "$BIN"
rm -rf "$src"
say "built $BIN in $((SECONDS - started))s ($(du -h "$BIN" | cut -f1))"
"$BIN" version
