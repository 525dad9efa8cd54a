#!/usr/bin/env bash
# tests/toolchain/build-pulumi.sh - test/CI toolchain, not part of the product.
#
# Builds, from the Go module proxy only (no GitHub, no get.pulumi.com), the Pulumi CLI, the Node.js
# language host and the resource plugins the local target needs (docker, random, tls, command),
# caches each binary by version outside the repo, installs the plugins into $PULUMI_HOME for offline
# use and writes an env file for tests to source. See docs/toolchain.md.
#
# Usage:   bash tests/toolchain/build-pulumi.sh            # then: . "$PULUMI_TOOLCHAIN_CACHE/env.sh"
# Env:     PULUMI_TOOLCHAIN_CACHE  cache root            (default /var/cache/webstack-toolchain)
#          PULUMI_HOME             plugin install root   (default $HOME/.pulumi)
#          TOOLCHAIN_STEPS         subset, in order      (default "pulumi nodejs command random tls docker install")
#          PULUMI_CLI_VERSION      build/accept this CLI version instead of the lock's @pulumi/pulumi
#                                  (for experiments: the CLI may be newer than the SDK, never older)
#          TOOLCHAIN_PREFLIGHT_ONLY=1  only check tools and proxy availability, build nothing
#          TOOLCHAIN_NODEJS_HOST=legacy  build the language host from sdk/v3@v3.68.0 (the last release in
#                                  which it was part of the sdk module) instead of the CLI's own version,
#                                  which the proxy does not serve. Opt-in stopgap; see docs/toolchain.md.
#
# Versions come from package-lock.json (node_modules/@pulumi/{pulumi,docker,random,tls,command}).
# The only hard-coded facts are the kreuzwerker commits pinned by pulumi-docker releases (table below).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${PULUMI_TOOLCHAIN_CACHE:-/var/cache/webstack-toolchain}
export PULUMI_HOME=${PULUMI_HOME:-$HOME/.pulumi}   # explicit: the CLI's default uses the passwd home
STEPS=${TOOLCHAIN_STEPS:-"pulumi nodejs command random tls docker install"}
LEGACY_HOST_VERSION=3.68.0
case ${TOOLCHAIN_NODEJS_HOST:-} in ""|legacy) ;; *) echo "ERROR: TOOLCHAIN_NODEJS_HOST must be empty or 'legacy'" >&2; exit 1;; esac

# kreuzwerker/terraform-provider-docker commit pinned as the `upstream` git submodule of pulumi-docker.
# Evidence: `git ls-tree v5.1.0 upstream` in a pulumi-docker clone (see docs/toolchain.md).
docker_upstream_pin() {
  case $1 in
    5.1.0) echo 5074970c71ce6cc393c74942d5d628943834beb9 ;;   # kreuzwerker tag v4.5.0
    *) return 1 ;;
  esac
}

T0=$(date +%s)
log()  { printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '\nERROR: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: install $2"; }
STEP_T=0
step_begin() { STEP_T=$(date +%s); log "$*"; }
step_end()   { printf '    %-40s %4ds\n' "$1" "$(( $(date +%s) - STEP_T ))" | tee -a "$TIMES" >&2; }

# ------------------------------------------------------------------ tools
need node nodejs
need curl curl
need go "Go >= 1.25 (e.g. /usr/local/go; Debian bookworm's golang-go is 1.19, too old)"
need unzip unzip
gov=$(go env GOVERSION); gov=${gov#go}
[ "$(printf '%s\n1.25\n' "$gov" | sort -V | head -n1)" = 1.25 ] || die "go $gov is too old: need go >= 1.25"
PROXY=$(go env GOPROXY | tr ',|' '\n\n' | grep -m1 '^http' || true); PROXY=${PROXY%/}
[ -n "$PROXY" ] || die "go env GOPROXY names no http(s) proxy"
export GOPROXY=$PROXY GOWORK=off CGO_ENABLED=0 GOTOOLCHAIN=local

# ------------------------------------------------------------------ versions from the lock
[ -f "$ROOT/package-lock.json" ] || die "$ROOT/package-lock.json missing"
lockver() {
  node -e 'const l=require(process.argv[1]).packages["node_modules/@pulumi/"+process.argv[2]];
           if(!l||!l.version){process.exit(1)} console.log(l.version)' "$ROOT/package-lock.json" "$1" ||
    die "package-lock.json has no node_modules/@pulumi/$1 entry"
}
# The engine asks for the plugin version in the SDK's package.json "pulumi".version (falls back to
# "version"); it must equal the lock version, or the installed plugin dir would not be found.
sdk_plugin_ver() {
  local f=$ROOT/node_modules/@pulumi/$1/package.json
  [ -f "$f" ] || { echo ""; return; }
  node -e 'const p=require(process.argv[1]);console.log((p.pulumi&&p.pulumi.version)||p.version)' "$f"
}
SDK_VERSION=$(lockver pulumi)
PULUMI_VERSION=${PULUMI_CLI_VERSION:-$SDK_VERSION}
declare -A VER
for n in docker random tls command; do
  VER[$n]=$(lockver "$n")
  pv=$(sdk_plugin_ver "$n")
  if [ -n "$pv" ] && [ "$pv" != "${VER[$n]}" ]; then
    die "@pulumi/$n: lock says ${VER[$n]} but node_modules asks the engine for plugin $pv (run npm ci)"
  fi
done
DOCKER_UPSTREAM=""
case " $STEPS " in *" docker "*) DOCKER_UPSTREAM=$(docker_upstream_pin "${VER[docker]}") ||
  die "no known kreuzwerker upstream pin for @pulumi/docker ${VER[docker]}: add one to docker_upstream_pin() (prove it with 'git ls-tree v${VER[docker]} upstream' in pulumi-docker) or pin @pulumi/docker to 5.1.0";;
esac
printf 'versions: pulumi CLI v%s (SDK %s), docker %s (upstream %s), random %s, tls %s, command %s\n' \
  "$PULUMI_VERSION" "$SDK_VERSION" "${VER[docker]}" "${DOCKER_UPSTREAM:-n/a}" "${VER[random]}" "${VER[tls]}" "${VER[command]}" >&2

mkdir -p "$CACHE" || die "cannot create $CACHE (set PULUMI_TOOLCHAIN_CACHE)"
TIMES=$CACHE/last-run-times.txt; : > "$TIMES"
SCRATCH=$(mktemp -d); trap 'rm -rf "$SCRATCH"' EXIT

# ------------------------------------------------------------------ proxy helpers
# http_status URL -> HTTP status code of a HEAD request
http_status() { curl -sS -I -L -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || echo 000; }
proxy_info() { curl -fsSL "$PROXY/$1/@v/$2.info"; }
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
  const v=process.argv[1].split(".").reduce((o,k)=>o&&o[k],j);if(v)console.log(v)})' "$1"; }
# pseudo MAJOR_PREFIX HASH TIME -> e.g. v4.0.0-20260917102437-48ee6c4732b1 (commit time in UTC)
pseudo() { printf '%s-%s-%s\n' "$1" "$(date -u -d "$3" +%Y%m%d%H%M%S)" "${2:0:12}"; }

MISSING=()
# want MOD VERSION WHY: record (do not abort yet) a module version the proxy does not serve
want() {
  local code
  code=$(http_status "$PROXY/$1/@v/$2.zip")
  [ "$code" = 200 ] || MISSING+=("$1@$2 (.zip HTTP $code) - needed for $3")
}
# tag_commit MOD VERSION -> commit hash and time from the proxy's .info ("" if not served)
tag_commit() { local j; j=$(proxy_info "$1" "$2" 2>/dev/null) || return 0; printf '%s %s\n' "$(json_field Origin.Hash <<<"$j")" "$(json_field Time <<<"$j")"; }

# ------------------------------------------------------------------ preflight: everything we will fetch
preflight() {
  local s h t info
  step_begin "preflight: is every module version this run needs served by $PROXY?"
  for s in $STEPS; do case $s in
    pulumi)
      done_dir "pulumi-v$PULUMI_VERSION" || have_path_pulumi ||
        { want github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION" "pulumi CLI"
          want github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION" "pulumi CLI"; } ;;
    nodejs)
      if [ "${TOOLCHAIN_NODEJS_HOST:-}" = legacy ]; then
        done_dir "pulumi-language-nodejs-v$LEGACY_HOST_VERSION" ||
          want github.com/pulumi/pulumi/sdk/v3 "v$LEGACY_HOST_VERSION" "legacy pulumi-language-nodejs"
        continue
      fi
      done_dir "pulumi-language-nodejs-v$PULUMI_VERSION" || have_path_langhost ||
        { info=$(curl -sS -w ' HTTP %{http_code}' "$PROXY/github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3/@latest" 2>&1 || true)
          # untagged module: needs the release commit's pseudo-version, and the proxy's sdk/v3 .info
          # carries no Origin.Hash to derive it from. Reported even if @latest answers.
          MISSING+=("github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 at the v$PULUMI_VERSION release commit (@latest: ${info//$'\n'/ }) - needed for pulumi-language-nodejs; TOOLCHAIN_NODEJS_HOST=legacy is the stopgap"); } ;;
    command|random|tls|docker)
      done_dir "resource-$s-v${VER[$s]}" && continue
      local root=github.com/pulumi/pulumi-$s rv=v${VER[$s]} mod
      [ "$s" = command ] || rv=$rv+incompatible          # repo root has no go.mod
      h=""; t=""
      read -r h t < <(tag_commit "$root" "$rv") || true
      if [ -z "${h:-}" ]; then MISSING+=("$root@$rv (.info not served or no Origin.Hash) - tag commit of plugin $s"); continue; fi
      case $s in
        command) mod=github.com/pulumi/pulumi-command/provider; want "$mod" "$(pseudo v0.0.0 "$h" "$t")" "plugin command" ;;
        random)  mod=github.com/pulumi/pulumi-random/provider/v4; want "$mod" "$(pseudo v4.0.0 "$h" "$t")" "plugin random" ;;
        tls)     mod=github.com/pulumi/pulumi-tls/provider/v5;    want "$mod" "$(pseudo v5.0.0 "$h" "$t")" "plugin tls" ;;
        docker)  mod=github.com/pulumi/pulumi-docker/provider/v5; want "$mod" "$(pseudo v5.0.0 "$h" "$t")" "plugin docker"
                 want "$root" "$rv" "plugin docker (patches/)"
                 # kreuzwerker by commit: the proxy resolves a hash query to the pseudo-version
                 info=$(proxy_info github.com/kreuzwerker/terraform-provider-docker "$DOCKER_UPSTREAM" 2>/dev/null || true)
                 [ -n "$info" ] || MISSING+=("github.com/kreuzwerker/terraform-provider-docker@$DOCKER_UPSTREAM (.info not served) - upstream of plugin docker") ;;
      esac ;;
  esac; done
  step_end preflight
  if [ ${#MISSING[@]} -gt 0 ]; then
    printf '\nThe Go module proxy (%s) does not serve:\n' "$PROXY" >&2
    printf '  - %s\n' "${MISSING[@]}" >&2
    die "cannot build the toolchain from the module proxy (see docs/toolchain.md, 'What the proxy serves')"
  fi
}

# ------------------------------------------------------------------ cache + PATH reuse
done_dir() { [ -f "$CACHE/$1/.complete" ]; }
SYS_PULUMI_DIR=""
have_path_pulumi() {
  local p v
  p=$(command -v pulumi 2>/dev/null) || return 1
  case $p in "$CACHE"/*) return 1;; esac
  v=$(PULUMI_SKIP_UPDATE_CHECK=true pulumi version 2>/dev/null) || return 1
  [ "$v" = "v$PULUMI_VERSION" ] || return 1
  SYS_PULUMI_DIR=$(dirname "$p")
}
have_path_langhost() {
  have_path_pulumi || return 1
  [ -x "$SYS_PULUMI_DIR/pulumi-language-nodejs" ] || command -v pulumi-language-nodejs >/dev/null 2>&1
}
# finish DIR: mark a cache dir complete (only after its binary is in place)
finish() { date -u +%FT%TZ > "$CACHE/$1/.complete"; }

# fetch_mod MOD VERSION DEST: writable copy of a module's source from the proxy (checksum-verified)
fetch_mod() {
  local dir
  dir=$(cd "$SCRATCH" && go mod download -json "$1@$2" | json_field Dir) || die "go mod download $1@$2 failed"
  [ -n "$dir" ] || die "go mod download $1@$2 gave no Dir"
  rm -rf "$3"; mkdir -p "$3"; cp -R "$dir/." "$3/"; chmod -R u+w "$3"
}
mkscratchmod() { [ -f "$SCRATCH/go.mod" ] || (cd "$SCRATCH" && go mod init scratch >/dev/null 2>&1); }

# ------------------------------------------------------------------ pulumi CLI
build_pulumi() {
  local d=pulumi-v$PULUMI_VERSION
  if done_dir "$d" || have_path_pulumi; then echo "    pulumi v$PULUMI_VERSION: cached/on PATH" >&2; return; fi
  step_begin "build pulumi v$PULUMI_VERSION (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"
  # A wrapper module requiring pkg/v3 at its tag. As a dependency, pkg's own replace directives are
  # ignored: sdk/v3 comes at the version pkg's go.mod requires and atotto/clipboard is used as-is (the
  # tgummerer/clipboard fork that pkg replaces it with is refused by the proxy: "module path not permitted").
  local w=$CACHE/$d/src
  rm -rf "$CACHE/$d"; mkdir -p "$w" "$CACHE/$d/bin"
  (cd "$w" && go mod init pulumi-toolchain-wrapper >/dev/null 2>&1 &&
    GOFLAGS=-mod=mod go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION") ||
    die "step pulumi: go get github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION failed"
  local sdkv; sdkv=$(cd "$w" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)
  [ "$sdkv" = "v$PULUMI_VERSION" ] || echo "WARN: pkg v$PULUMI_VERSION resolved sdk/v3 $sdkv" >&2
  (cd "$w" && go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$CACHE/$d/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) || die "step pulumi: go build failed"
  # shell shim used for Node.js dynamic providers, shipped next to `pulumi` in releases
  local sdkdir; sdkdir=$(cd "$w" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
  install -m 0755 "$sdkdir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$CACHE/$d/bin/"
  [ "$("$CACHE/$d/bin/pulumi" version)" = "v$PULUMI_VERSION" ] || die "step pulumi: built binary reports $("$CACHE/$d/bin/pulumi" version)"
  printf 'pulumi v%s from github.com/pulumi/pulumi/pkg/v3@v%s sdk/v3@%s go %s\n' "$PULUMI_VERSION" "$PULUMI_VERSION" "$sdkv" "$gov" > "$CACHE/$d/BUILDINFO"
  finish "$d"; step_end "pulumi v$PULUMI_VERSION"
}

# ------------------------------------------------------------------ language host
build_nodejs() {
  local d=pulumi-language-nodejs-v$PULUMI_VERSION
  [ "${TOOLCHAIN_NODEJS_HOST:-}" = legacy ] && { build_nodejs_legacy; return; }
  if done_dir "$d" || have_path_langhost; then echo "    pulumi-language-nodejs: cached/on PATH" >&2; return; fi
  # Own module since v3.69, untagged: it can only be fetched by the release commit's pseudo-version.
  die "step nodejs: no way to build pulumi-language-nodejs v$PULUMI_VERSION from the proxy (set TOOLCHAIN_NODEJS_HOST=legacy)"
}

# Opt-in stopgap: up to v3.68.0 the host was a package of the (tagged, served) sdk/v3 module.
build_nodejs_legacy() {
  local v=$LEGACY_HOST_VERSION d=pulumi-language-nodejs-v$LEGACY_HOST_VERSION
  local pkg=github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  if done_dir "$d"; then echo "    pulumi-language-nodejs v$v (legacy): cached" >&2; return; fi
  step_begin "build pulumi-language-nodejs v$v (legacy, from sdk/v3@v$v)"
  local w=$CACHE/$d/src
  rm -rf "$CACHE/$d"; mkdir -p "$w" "$CACHE/$d/bin"
  (cd "$w" && go mod init pulumi-toolchain-wrapper >/dev/null 2>&1 && GOFLAGS=-mod=mod go get "$pkg@v$v") ||
    die "step nodejs: go get $pkg@v$v failed"
  (cd "$w" && go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" \
      -o "$CACHE/$d/bin/pulumi-language-nodejs" "$pkg") || die "step nodejs: go build failed"
  printf 'pulumi-language-nodejs v%s from github.com/pulumi/pulumi/sdk/v3@v%s go %s\n' "$v" "$v" "$gov" > "$CACHE/$d/BUILDINFO"
  finish "$d"; step_end "pulumi-language-nodejs v$v (legacy)"
}

# ------------------------------------------------------------------ resource plugins
# UNTESTED beyond preflight: on the proxy this was written against, none of the provider modules was
# served (see docs/toolchain.md). The steps follow the shared recipe, corrected where it was checked.
plugin_src() { # NAME -> sets H (commit) and PMOD/PVER (provider module + pseudo-version)
  local root=github.com/pulumi/pulumi-$1 rv=v${VER[$1]} t
  [ "$1" = command ] || rv=$rv+incompatible
  read -r H t < <(tag_commit "$root" "$rv")
  [ -n "${H:-}" ] || die "step $1: no Origin.Hash for $root@$rv"
  case $1 in
    command) PMOD=$root/provider;    PVER=$(pseudo v0.0.0 "$H" "$t") ;;
    random)  PMOD=$root/provider/v4; PVER=$(pseudo v4.0.0 "$H" "$t") ;;
    tls)     PMOD=$root/provider/v5; PVER=$(pseudo v5.0.0 "$H" "$t") ;;
    docker)  PMOD=$root/provider/v5; PVER=$(pseudo v5.0.0 "$H" "$t") ;;
  esac
}
build_plugin() {
  local n=$1 v=${VER[$1]} d=resource-$1-v${VER[$1]} src
  if done_dir "$d"; then echo "    pulumi-resource-$n $v: cached" >&2; return; fi
  step_begin "build pulumi-resource-$n $v"
  plugin_src "$n"; src=$CACHE/$d/src
  rm -rf "$CACHE/$d"; mkdir -p "$CACHE/$d"
  fetch_mod "$PMOD" "$PVER" "$src/provider"
  local tags="" ld="-s -w -X $PMOD/pkg/version.Version=$v"
  case $n in
    command) ld="-s -w -X $PMOD/pkg/version.Version=v$v" ;;            # main trims the "v"
    random|tls)                                                        # nested shim module, not in the zip
      fetch_mod "github.com/pulumi/pulumi-$n/provider/shim" "$PVER" "$src/provider/shim" ;;
    docker)
      fetch_mod "github.com/pulumi/pulumi-docker" "v$v+incompatible" "$src/root"
      fetch_mod github.com/kreuzwerker/terraform-provider-docker "$DOCKER_UPSTREAM" "$src/upstream"
      for p in "$src"/root/patches/*.patch; do
        [ -e "$p" ] || continue
        patch -d "$src/upstream" -p1 --forward --batch < "$p" || die "step docker: $(basename "$p") does not apply"
      done
      [ -f "$src/upstream/shim/shim.go" ] || die "step docker: upstream/shim/shim.go missing after patching"
      grep -q -- '-tags no_compose' "$src/root/Makefile" || die "step docker: Makefile no longer uses -tags no_compose"
      tags=no_compose ;;
  esac
  if [ "$n" != command ]; then   # schema-embed.json is gitignored: generate.go stamps the version in
    (cd "$src/provider/cmd/pulumi-resource-$n" && GOFLAGS=-mod=mod VERSION=$v go run generate.go) ||
      die "step $n: go run generate.go failed"
  fi
  (cd "$src/provider" && GOFLAGS=-mod=mod go build -trimpath ${tags:+-tags $tags} -ldflags "$ld" \
      -o "$CACHE/$d/pulumi-resource-$n" "./cmd/pulumi-resource-$n") || die "step $n: go build failed"
  printf '%s %s provider %s@%s upstream %s\n' "$n" "$v" "$PMOD" "$PVER" "${DOCKER_UPSTREAM:-}" > "$CACHE/$d/BUILDINFO"
  rm -rf "$src"; finish "$d"; step_end "pulumi-resource-$n $v"
}

# ------------------------------------------------------------------ install + env file
install_all() {
  step_begin "install plugins into $PULUMI_HOME and write $CACHE/env.sh"
  local pdir ldir n
  if done_dir "pulumi-v$PULUMI_VERSION"; then pdir=$CACHE/pulumi-v$PULUMI_VERSION/bin
  elif have_path_pulumi; then pdir=$SYS_PULUMI_DIR
  else die "step install: no pulumi v$PULUMI_VERSION (run step pulumi)"; fi
  if [ "${TOOLCHAIN_NODEJS_HOST:-}" = legacy ] && done_dir "pulumi-language-nodejs-v$LEGACY_HOST_VERSION"; then
    ldir=$CACHE/pulumi-language-nodejs-v$LEGACY_HOST_VERSION/bin
  elif done_dir "pulumi-language-nodejs-v$PULUMI_VERSION"; then ldir=$CACHE/pulumi-language-nodejs-v$PULUMI_VERSION/bin
  elif have_path_langhost; then ldir=$pdir
  else die "step install: no pulumi-language-nodejs (run step nodejs)"; fi
  export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  for n in docker random tls command; do
    case " $STEPS " in *" $n "*) ;; *) echo "    plugin $n not in TOOLCHAIN_STEPS: not installed" >&2; continue;; esac
    done_dir "resource-$n-v${VER[$n]}" || die "step install: plugin $n ${VER[$n]} not built (run step $n)"
    if [ -x "$PULUMI_HOME/plugins/resource-$n-v${VER[$n]}/pulumi-resource-$n" ] &&
       cmp -s "$PULUMI_HOME/plugins/resource-$n-v${VER[$n]}/pulumi-resource-$n" "$CACHE/resource-$n-v${VER[$n]}/pulumi-resource-$n"; then
      continue
    fi
    "$pdir/pulumi" plugin install resource "$n" "${VER[$n]}" \
      --file "$CACHE/resource-$n-v${VER[$n]}/pulumi-resource-$n" --reinstall || die "step install: plugin install $n failed"
  done
  cat > "$CACHE/env.sh.tmp" <<EOF
# generated by tests/toolchain/build-pulumi.sh on $(date -u +%FT%TZ); source it: . $CACHE/env.sh
export PATH="$pdir:$ldir:\$PATH"
export PULUMI_HOME="$PULUMI_HOME"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
EOF
  mv "$CACHE/env.sh.tmp" "$CACHE/env.sh"
  "$pdir/pulumi" plugin ls >&2
  step_end install
}

# ------------------------------------------------------------------ main
preflight
[ "${TOOLCHAIN_PREFLIGHT_ONLY:-0}" = 1 ] && { log "preflight ok"; exit 0; }
mkscratchmod
for s in $STEPS; do   # one binary at a time: the machine has 2 cores
  case $s in
    pulumi) build_pulumi ;;
    nodejs) build_nodejs ;;
    command|random|tls|docker) build_plugin "$s" ;;
    install) install_all ;;
    *) die "unknown step '$s' in TOOLCHAIN_STEPS" ;;
  esac
done
printf '    %-40s %4ds\n' total "$(( $(date +%s) - T0 ))" | tee -a "$TIMES" >&2
log "done; source $CACHE/env.sh"
