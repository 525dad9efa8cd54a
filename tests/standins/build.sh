#!/usr/bin/env bash
# tests/standins/build.sh [NAME...]
#
# Builds TEST-ONLY stand-ins for the Docker Hub images the program uses, on the local
# engine (start it first: tests/engine/dockerd.sh start), and tags them with exactly the
# pinned names, so that docker.RemoteImage finds them locally and `FROM postgres:15-bookworm`
# / `FROM python:3.12-slim-bookworm` in the project's Dockerfiles resolve to them:
#
#   base      webstack-standin/debian:bookworm   debootstrap --variant=minbase + docker import
#   postgres  postgres:15-bookworm
#   python    python:3.12-slim-bookworm
#   nginx     nginx:1.27.3-alpine
#   autoheal  willfarrell/autoheal:1.2.0
#   certbot   certbot/certbot:v2.11.0
#   redis     redis:7.4.1          the accessory the Celery e2e stack uses
#   traefik   traefik:v3.2.3   only when the traefik binary has been built on the host
#                              (tests/standins/traefik/build-binary.sh), else skipped
#
# NAMEs limit the run to those stand-ins (the base is always checked). Every image carries
# the labels webstack.standin=true, webstack.standin.hash=<hash of its build inputs> and an
# org.opencontainers.image.description saying it is a test stand-in. An image whose tag
# exists with the same hash is not rebuilt, so a second run takes seconds; a changed build
# directory (or a rebuilt base) rebuilds it. The images persist in the engine's
# /var/lib/docker; a fresh machine builds them again.
#
# Environment:
#   DOCKER            docker CLI (default /usr/bin/docker, Debian's 20.10: the 28.x CLI in
#                     /usr/local/bin has no buildx and this script uses the classic builder)
#   STANDIN_WORKDIR   scratch directory (default /var/tmp/webstack-standins)
#   STANDIN_FORCE=1   rebuild even when the hashes match
#   STANDIN_JOBS      stand-ins built at once (default 3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
WORK=${STANDIN_WORKDIR:-/var/tmp/webstack-standins}
FORCE=${STANDIN_FORCE:-0}
JOBS=${STANDIN_JOBS:-3}
export DOCKER_BUILDKIT=0

SUITE=bookworm
BASE_TAG=webstack-standin/debian:$SUITE
TRAEFIK_BINARY=${TRAEFIK_BINARY:-/var/cache/webstack-toolchain/traefik-v3.2.3/traefik}

ORDER=(postgres python nginx autoheal certbot redis traefik)
declare -A TAG=(
    [postgres]=postgres:15-bookworm
    [python]=python:3.12-slim-bookworm
    [nginx]=nginx:1.27.3-alpine
    [autoheal]=willfarrell/autoheal:1.2.0
    [certbot]=certbot/certbot:v2.11.0
    [redis]=redis:7.4.1
    [traefik]=traefik:v3.2.3
)
LABEL_HASH=webstack.standin.hash

t_start=$SECONDS
say() { printf '[build.sh %4ds] %s\n' "$((SECONDS - t_start))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# timed STEP CMD...: runs CMD, prints how long the step took.
timed() {
    local step=$1 started=$SECONDS
    shift
    "$@"
    say "step '$step' took $((SECONDS - started))s"
}

label_of() { # IMAGE LABEL
    "$DOCKER" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
preflight() {
    [ -x "$DOCKER" ] || die "docker CLI $DOCKER not found: install the Debian package docker.io (tests/engine/dockerd.sh start does)"
    timeout 20 "$DOCKER" info >/dev/null 2>&1 ||
        die "no Docker engine answers on /var/run/docker.sock: run tests/engine/dockerd.sh start"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found: install the Debian package debootstrap (apt-get install -y debootstrap)"
    [ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"

    # The tags must be the names the program pins, or the stand-ins are not used.
    local images_ts=$project/components/images.ts key pinned
    if [ -f "$images_ts" ]; then
        for key in nginx traefik autoheal certbot; do
            pinned=$(sed -n "s/^ *$key: *\"\([^\"]*\)\",\$/\1/p" "$images_ts" | head -n 1)
            [ -z "$pinned" ] || [ "$pinned" = "${TAG[$key]}" ] ||
                die "components/images.ts pins $key to $pinned but this script builds ${TAG[$key]}: update TAG[$key] here (and the stand-in) to match"
        done
    fi
    local pg
    pg=$(awk '/^  postgresVersion:/ { f = 1 } f && /default:/ { print $2; exit }' "$project/Pulumi.yaml" 2>/dev/null || true)
    [ -z "$pg" ] || [ "postgres:$pg-$SUITE" = "${TAG[postgres]}" ] ||
        die "Pulumi.yaml defaults postgresVersion to $pg but the stand-in is ${TAG[postgres]} (Debian $SUITE ships only postgresql-15)"
}

# ---------------------------------------------------------------------------------------
# The host's apt sources for this suite: prints "URI<TAB>SIGNED-BY" of the first deb entry.
host_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uri != "") {
                    split(uri, u, " "); print u[1] "\t" signed; found = 1; exit
                }
                types = suites = uri = signed = ""; enabled = "yes"
            }
            BEGIN { enabled = "yes" }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { key = tolower($1); sub(/^[^:]*:[ \t]*/, "") }
            key == "types:" { types = $0 } key == "uris:" { uri = $0 } key == "suites:" { suites = $0 }
            key == "signed-by:" { signed = $0 } key == "enabled:" { enabled = tolower($0) }
            END { if (!found) flush() }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v suite="$SUITE" '$1 == "deb" {
            i = 2; signed = ""
            if ($2 ~ /^\[/) { for (; i <= NF; i++) { if ($i ~ /signed-by=/) { signed = $i; sub(/.*signed-by=/, "", signed); sub(/\]$/, "", signed) } if ($i ~ /\]$/) { i++; break } } }
            if ($(i + 1) == suite) { print $i "\t" signed; exit }
        }' || true
}

# Copies the host's apt sources for this suite and its site-wide apt settings (the
# apt.conf.d files no package owns: Acquire options, the docker-* image settings, ...)
# into ROOTFS.
stage_apt_settings() { # ROOTFS
    local rootfs=$1 f key
    rm -f "$rootfs/etc/apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        if grep -Eq "^[^#]*\b$SUITE\b" "$f"; then
            cp "$f" "$rootfs$f"
            # Keyrings the entries name must exist in the image too.
            # shellcheck disable=SC2013 # keyring paths have no spaces
            for key in $(grep -Eoi 'signed-by[:=][[:space:]]*[^] [:space:]]+' "$f" | sed -E 's/^[^:=]*[:=][[:space:]]*//'); do
                [ -e "$rootfs$key" ] || { mkdir -p "$(dirname "$rootfs$key")"; cp "$key" "$rootfs$key"; }
            done
        else
            say "apt: not copying $f (no $SUITE entry)"
        fi
    done
    for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
        [ -f "$f" ] || continue
        # Not a package's own file, nor one a package's script generated ("DO NOT EDIT").
        if dpkg -S "$f" >/dev/null 2>&1 || grep -q 'DO NOT EDIT' "$f"; then continue; fi
        cp "$f" "$rootfs$f"
        say "apt: copied $f"
    done
}

apt_settings_digest() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/* /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
        [ -f "$f" ] && printf '%s\n' "$f" && cat "$f"
    done | sha256sum | cut -c1-64
}

build_base() {
    local mirror keyring line hash
    line=$(host_mirror | sed -n 1p || true)
    mirror=${line%%$'\t'*}
    keyring=${line#*$'\t'}
    [ -n "$mirror" ] || die "no '$SUITE' deb entry in /etc/apt/sources.list(.d): cannot tell debootstrap which mirror to use"
    # The recipe (this script's base functions), the suite, the mirror and the host's apt files.
    hash=$({
        declare -f build_base host_mirror stage_apt_settings
        printf 'suite=%s mirror=%s apt=%s\n' "$SUITE" "$mirror" "$(apt_settings_digest)"
    } | sha256sum | cut -c1-16)
    if [ "$FORCE" != 1 ] && [ "$(label_of "$BASE_TAG" "$LABEL_HASH")" = "$hash" ]; then
        say "base $BASE_TAG is up to date (hash $hash)"
        return 0
    fi
    say "building base $BASE_TAG: debootstrap --variant=minbase $SUITE from $mirror"
    local rootfs=$WORK/rootfs
    rm -rf "$rootfs"
    mkdir -p "$WORK/logs"
    local args=(--variant=minbase --components=main)
    [ -z "$keyring" ] || [ ! -f "$keyring" ] || args+=("--keyring=$keyring")
    local started=$SECONDS
    if ! debootstrap "${args[@]}" "$SUITE" "$rootfs" "$mirror" >"$WORK/logs/debootstrap.log" 2>&1; then
        tail -n 20 "$WORK/logs/debootstrap.log" >&2
        die "step debootstrap failed (log: $WORK/logs/debootstrap.log)"
    fi
    say "step 'debootstrap' took $((SECONDS - started))s"
    stage_apt_settings "$rootfs"
    # No service starts inside image builds (nginx's postinst would try).
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/var/log/bootstrap.log "$rootfs"/debootstrap
    local old
    old=$("$DOCKER" image inspect --format '{{.Id}}' "$BASE_TAG" 2>/dev/null || true)
    # shellcheck disable=SC2016 # expanded by the inner bash
    if ! timed "docker import" bash -c 'set -o pipefail; tar --numeric-owner -C "$1" -c . | "$2" import \
            -c "CMD [\"bash\"]" \
            -c "LABEL webstack.standin=true" \
            -c "LABEL $3=$4" \
            -c "LABEL org.opencontainers.image.description=\"TEST-ONLY Debian $5 base of the webstack stand-ins (debootstrap minbase); never use outside tests\"" \
            - "$6" >/dev/null' _ "$rootfs" "$DOCKER" "$LABEL_HASH" "$hash" "$SUITE" "$BASE_TAG"; then
        die "step 'docker import' of the base failed"
    fi
    rm -rf "$rootfs"
    remove_if_untagged "$old"
    say "base $BASE_TAG built ($("$DOCKER" image inspect --format '{{.Size}}' "$BASE_TAG" | numfmt --to=si)B)"
}

remove_if_untagged() { # IMAGE-ID: an image replaced by a rebuild, unless something still uses it
    local id=$1
    [ -n "$id" ] || return 0
    if [ "$("$DOCKER" image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null || echo 1)" = 0 ]; then
        "$DOCKER" rmi "$id" >/dev/null 2>&1 || true
    fi
}

# ---------------------------------------------------------------------------------------
# python: the host's pip settings (`pip config list`) and the local files they name go into
# the build context as host-pip/, copied to / in the image, so that pip inside behaves as it
# does on this machine (its CA bundle, find-links directory, constraints, ...).
stage_pip_settings() { # CONTEXT
    local out=$1/host-pip pip=() line name value section key token path
    mkdir -p "$out/etc"
    if python3 -m pip --version >/dev/null 2>&1; then pip=(python3 -m pip)
    elif command -v pip3 >/dev/null 2>&1; then pip=(pip3)
    elif command -v pip >/dev/null 2>&1; then pip=(pip)
    fi
    declare -A conf=()
    if [ ${#pip[@]} -eq 0 ]; then
        say "WARNING: no pip on this machine, so its pip settings cannot be read: the python stand-in gets pip's defaults"
    else
        while IFS= read -r line; do
            name=${line%%=*}
            value=${line#*=}
            value=${value#\'}
            value=${value%\'}
            section=${name%.*}
            key=${name##*.}
            # Settings from PIP_* variables (":env:") become [global] settings in the image;
            # they take precedence over the files, as they do on this machine.
            if [ "$section" = ":env:" ]; then section=global; fi
            if [ "${conf[$section.$key]+set}" = set ] && [ "${name%.*}" != ":env:" ]; then continue; fi
            conf[$section.$key]=$value
        done < <("${pip[@]}" config list 2>/dev/null)
    fi
    {
        echo "# The pip settings of the machine that built this stand-in (tests/standins/build.sh)."
        local s
        for s in $(printf '%s\n' "${!conf[@]}" | sed 's/\.[^.]*$//' | sort -u); do
            printf '[%s]\n' "$s"
            for name in $(printf '%s\n' "${!conf[@]}" | grep "^$s\.[^.]*\$" | sort); do
                printf '%s = %s\n' "${name##*.}" "${conf[$name]}"
            done
        done
    } >"$out/etc/pip.conf"
    # Local files and directories the settings name.
    for name in "${!conf[@]}"; do
        case ${name##*.} in
            cert | client-cert | constraint | constraints | requirement | requirements | find-links | \
                index-url | extra-index-url | build-constraint) ;;
            *) continue ;;
        esac
        for token in ${conf[$name]}; do
            path=${token#file://}
            case $path in /*) ;; *) continue ;; esac
            if [ -e "$path" ]; then
                mkdir -p "$out$(dirname "$path")"
                cp -rL "$path" "$out$path"
            else
                say "WARNING: pip setting ${name##*.} names $path, which does not exist on this machine"
            fi
        done
    done
    say "python: pip settings staged: $(grep -c ' = ' "$out/etc/pip.conf") setting(s), $(find "$out" -type f | wc -l) file(s)"
}

stage_context() { # NAME: prints the staged context directory
    local name=$1 ctx=$WORK/context/$1
    rm -rf "$ctx"
    mkdir -p "$WORK/context"
    cp -a "$here/$name" "$ctx"
    case $name in
        python) stage_pip_settings "$ctx" ;;
        # A hard link when possible: the binary is 170 MB.
        traefik) ln "$TRAEFIK_BINARY" "$ctx/traefik" 2>/dev/null || cp "$TRAEFIK_BINARY" "$ctx/traefik" ;;
    esac
    printf '%s\n' "$ctx"
}

context_hash() { # CONTEXT: hash of every file's path, mode and content, and of the base image
    local ctx=$1
    {
        "$DOCKER" image inspect --format '{{.Id}}' "$BASE_TAG"
        (cd "$ctx" && find . \( -type f -o -type l \) -printf '%p %m\n' | LC_ALL=C sort)
        (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    } | sha256sum | cut -c1-16
}

build_standin() { # NAME
    local name=$1 tag=${TAG[$1]} ctx hash old
    if [ "$name" = traefik ] && [ ! -x "$TRAEFIK_BINARY" ]; then
        say "traefik: skipped ($TRAEFIK_BINARY not built; see tests/standins/README.md)"
        return 0
    fi
    ctx=$(stage_context "$name")
    hash=$(context_hash "$ctx")
    if [ "$FORCE" != 1 ] && [ "$(label_of "$tag" "$LABEL_HASH")" = "$hash" ] &&
        [ "$(label_of "$tag" webstack.standin)" = true ]; then
        say "$name: $tag is up to date (hash $hash)"
        return 0
    fi
    say "$name: building $tag"
    old=$("$DOCKER" image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
    if [ -n "$old" ] && [ "$(label_of "$tag" webstack.standin)" != true ]; then
        die "$tag exists on this engine and is not a stand-in (no webstack.standin=true label): refusing to replace it"
    fi
    local log=$WORK/logs/$name.log
    mkdir -p "$WORK/logs"
    if ! timed "build $name" "$DOCKER" build \
        --build-arg "BASE=$BASE_TAG" \
        --label webstack.standin=true \
        --label "$LABEL_HASH=$hash" \
        --label "org.opencontainers.image.description=TEST-ONLY stand-in for $tag, built by tests/standins/build.sh from Debian $SUITE; never use outside tests" \
        -t "$tag" "$ctx" >"$log" 2>&1; then
        tail -n 25 "$log" >&2
        local step pkg
        step=$(grep -E '^Step [0-9]+/[0-9]+ :' "$log" | tail -n 1)
        pkg=$(grep -Eo "(Unable to locate package|Package '?)[^ ]+[ ']*(has no installation candidate)?" "$log" | head -n 1 || true)
        die "building the $name stand-in ($tag) failed at: ${step:-?}${pkg:+ ($pkg)} (log: $log)"
    fi
    remove_if_untagged "$old"
    say "$name: $tag built ($("$DOCKER" image inspect --format '{{.Size}}' "$tag" | numfmt --to=si)B)"
}

# ---------------------------------------------------------------------------------------
main() {
    local names=("$@") n
    if [ ${#names[@]} -eq 0 ]; then names=("${ORDER[@]}"); fi
    for n in "${names[@]}"; do
        [ "${TAG[$n]+set}" = set ] || die "unknown stand-in '$n' (known: ${ORDER[*]})"
    done
    preflight
    mkdir -p "$WORK"
    # One build.sh at a time per machine: runs share $WORK and the tags.
    exec 9>"$WORK/.lock"
    if ! flock -n 9; then
        say "another build.sh is running; waiting for it (at most 30 min)"
        flock -w 1800 9 || die "another build.sh still holds $WORK/.lock after 30 min"
    fi
    timed base build_base
    # The stand-ins are independent: up to JOBS builds at once (mostly apt downloads).
    declare -A running=()
    local failures=() pid
    for n in "${names[@]}"; do
        while [ ${#running[@]} -ge "$JOBS" ]; do
            if ! wait -n -p pid; then failures+=("${running[$pid]}"); fi
            unset "running[$pid]"
        done
        timed "$n" build_standin "$n" &
        running[$!]=$n
    done
    while [ ${#running[@]} -gt 0 ]; do
        if ! wait -n -p pid; then failures+=("${running[$pid]}"); fi
        unset "running[$pid]"
    done
    [ ${#failures[@]} -eq 0 ] || die "stand-in build(s) failed: ${failures[*]} (see the messages above)"
    rm -rf "$WORK/context"
    say "done in $((SECONDS - t_start))s"
    for n in "$BASE_TAG" "${TAG[@]}"; do
        "$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}' "$n" >&2
    done
}

main "$@"
