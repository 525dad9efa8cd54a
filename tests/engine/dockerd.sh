#!/usr/bin/env bash
# tests/engine/dockerd.sh start|stop|status
#
# One real Docker engine (Debian's docker.io, dockerd 20.10) for the tests, on
# /var/run/docker.sock, with its data in /var/lib/docker (kept between runs).
#
#   start   Reuses a daemon that already answers on the socket; never starts a
#           second one. Otherwise installs docker.io/debootstrap if missing, starts
#           dockerd with overlay2 (vfs if overlay2 fails), iptables on (the
#           default: builds on the default network need NAT to reach the apt
#           mirror and PyPI), and its HTTP(S) proxy pointed at a closed local
#           port, so a pull of an image that has no local copy fails at once
#           instead of hanging on a registry that cannot be reached.
#   stop    Kills the daemon by its pidfile, unmounts /var/run/docker/netns/default
#           if mounted (and a leftover self-bind mount of /var/lib/docker), and removes
#           /var/run/docker. The engine is shared: stop refuses while containers are
#           running, unless DOCKERD_STOP_FORCE=1.
#   status  Says whether the engine answers, with its pid and storage driver.
#
# Environment: DOCKERD_LOG (default /var/log/webstack-dockerd.log),
#              DOCKERD_START_TIMEOUT seconds (default 60),
#              DOCKERD_STORAGE_DRIVERS (default "overlay2 vfs", tried in that order).
set -euo pipefail

SOCK=/var/run/docker.sock
PIDFILE=/var/run/docker.pid
LOG=${DOCKERD_LOG:-/var/log/webstack-dockerd.log}
START_TIMEOUT=${DOCKERD_START_TIMEOUT:-60}
# Tried in order; the first that comes up is kept.
DRIVERS=${DOCKERD_STORAGE_DRIVERS:-overlay2 vfs}
DOCKERD=/usr/sbin/dockerd
# The Debian CLI (20.10). The 28.x CLI in /usr/local/bin has no buildx plugin.
DOCKER=/usr/bin/docker
CLOSED_PROXY=http://127.0.0.1:9

log() { printf 'dockerd.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

answers() {
    [ -S "$SOCK" ] && timeout 10 "$DOCKER" -H "unix://$SOCK" info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

pid_alive() {
    local pid
    [ -s "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]
}

ensure_packages() {
    local missing=()
    [ -x "$DOCKERD" ] && [ -x "$DOCKER" ] || missing+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian package(s): ${missing[*]}; run as root, or: apt-get install -y ${missing[*]}"
    log "installing ${missing[*]} (apt-get update first)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed (needed to install ${missing[*]})"
    apt-get install -y -qq "${missing[@]}" >/dev/null ||
        die "apt-get install -y ${missing[*]} failed: the package(s) ${missing[*]} could not be installed"
    [ -x "$DOCKERD" ] || die "package docker.io is installed but $DOCKERD is missing"
}

wait_until_answers() { # PID: waits until the engine answers, or the process dies, or the timeout
    local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        if answers; then return 0; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.5
    done
    return 1
}

launch() { # DRIVER: starts dockerd in the background, prints its pid
    local driver=$1
    mkdir -p "$(dirname "$LOG")"
    printf '\n==== %s: starting dockerd --storage-driver=%s\n' "$(date -u +%FT%TZ)" "$driver" >>"$LOG"
    # setsid: the daemon outlives this script and the shell that ran it. 8>&-: it must not inherit
    # the lock's descriptor, or it holds the lock for as long as it runs and every later
    # start/stop waits for it in vain.
    HTTP_PROXY=$CLOSED_PROXY HTTPS_PROXY=$CLOSED_PROXY http_proxy=$CLOSED_PROXY https_proxy=$CLOSED_PROXY \
    NO_PROXY='' no_proxy='' \
        setsid "$DOCKERD" \
            --host "unix://$SOCK" \
            --pidfile "$PIDFILE" \
            --storage-driver "$driver" \
            --data-root /var/lib/docker \
            >>"$LOG" 2>&1 </dev/null 8>&- &
    echo $!
}

kill_pid() { # PID: TERM, then KILL after 30 s
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    log "dockerd $pid did not stop within 30s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
}

cleanup_runtime() {
    if mountpoint -q /var/run/docker/netns/default 2>/dev/null; then
        umount /var/run/docker/netns/default || umount -l /var/run/docker/netns/default || true
    fi
    # dockerd bind-mounts its data root onto itself (to set its mount propagation) and
    # undoes that on a clean shutdown, but not when it fails to start. Only such a
    # self-bind mount is removed, never a real file system mounted there.
    if mountpoint -q /var/lib/docker 2>/dev/null &&
        [ "$(findmnt -n -o FSROOT -M /var/lib/docker 2>/dev/null)" = /var/lib/docker ]; then
        umount /var/lib/docker || true
    fi
    rm -rf /var/run/docker
    rm -f "$PIDFILE" "$SOCK"
}

cmd_start() {
    if answers; then
        log "an engine already answers on $SOCK; reusing it ($(status_line))"
        return 0
    fi
    if pid_alive; then
        log "dockerd $(cat "$PIDFILE") is running but does not answer yet; waiting for it (not starting a second one)"
        wait_until_answers "$(cat "$PIDFILE")" && { log "ready: $(status_line)"; return 0; }
        die "dockerd $(cat "$PIDFILE") does not answer on $SOCK after ${START_TIMEOUT}s; see $LOG (stop it with: $0 stop)"
    fi
    local other
    other=$(pgrep -x dockerd || true)
    [ -z "$other" ] || die "a dockerd (pid $other) runs without answering on $SOCK and without $PIDFILE; refusing to start a second daemon"
    [ "$(id -u)" -eq 0 ] || die "dockerd must be started as root"
    ensure_packages
    cleanup_runtime

    local driver pid
    for driver in $DRIVERS; do
        pid=$(launch "$driver")
        if wait_until_answers "$pid"; then
            log "ready: $(status_line) (log: $LOG)"
            return 0
        fi
        log "dockerd with storage driver $driver exited or did not answer within ${START_TIMEOUT}s; last log lines:"
        tail -n 5 "$LOG" >&2 || true
        kill_pid "$pid"
        cleanup_runtime
        [ "$driver" = vfs ] || log "falling back to the next storage driver (vfs: images about 4x larger, builds about 3x slower)"
    done
    die "dockerd did not start with any of the storage drivers: $DRIVERS; see $LOG"
}

status_line() {
    "$DOCKER" -H "unix://$SOCK" info --format 'engine {{.ServerVersion}}, storage driver {{.Driver}}, root {{.DockerRootDir}}, {{.Images}} images, {{.ContainersRunning}} running containers' 2>/dev/null |
        sed "s|^|pid $(cat "$PIDFILE" 2>/dev/null || echo '?'), |"
}

cmd_stop() {
    if pid_alive; then
        local pid running
        pid=$(cat "$PIDFILE")
        # The engine is shared: do not pull it from under running containers by accident.
        running=$(timeout 10 "$DOCKER" -H "unix://$SOCK" ps -q 2>/dev/null | wc -l)
        if [ "$running" -gt 0 ] && [ "${DOCKERD_STOP_FORCE:-0}" != 1 ]; then
            die "$running container(s) still running on this engine (docker ps); stop them first, or DOCKERD_STOP_FORCE=1 $0 stop"
        fi
        log "stopping dockerd $pid"
        kill_pid "$pid"
    elif answers; then
        die "an engine answers on $SOCK but $PIDFILE names no running dockerd; not stopping a daemon this script did not start"
    else
        log "no dockerd running (pidfile $PIDFILE)"
    fi
    cleanup_runtime
    log "stopped"
}

cmd_status() {
    if answers; then
        echo "running: $(status_line)"
    elif pid_alive; then
        echo "starting or stuck: dockerd $(cat "$PIDFILE") does not answer on $SOCK"
        return 1
    else
        echo "stopped"
        return 3
    fi
}

# start and stop never run at the same time (two starts would race to two daemons).
with_lock() {
    exec 8>/var/run/webstack-dockerd.lock
    flock -w "$((START_TIMEOUT * 3))" 8 || die "another dockerd.sh start/stop holds /var/run/webstack-dockerd.lock"
    "$@"
}

case ${1:-} in
    start) with_lock cmd_start ;;
    stop) with_lock cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
