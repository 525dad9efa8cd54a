#!/bin/sh
# schedule.sh: the backup container's main process (its CMD). Runs backup.sh (from the same
# directory) once a day at BACKUP_TIME, UTC. A failed backup is logged and the loop carries
# on; the status file tells a healthcheck whether the last backup worked:
#
#   healthcheck:  find /tmp/last-backup-ok -mmin -1560 | grep -q .
#                 (the file exists and is younger than 26 hours)
#
# The status file is touched after each successful backup and removed after a failed one.
# At start it is touched too (a grace period until the first scheduled run), unless
# BACKUP_ON_START=true, in which case a backup runs at once and decides it.
#
# Environment (besides everything backup.sh reads):
#   BACKUP_TIME         HH:MM, UTC, 24-hour clock (default 03:00)
#   BACKUP_ON_START     true: also take a backup when the container starts (default false)
#   BACKUP_STATUS_FILE  the status file (default /tmp/last-backup-ok; keep the default, the
#                       healthcheck above names it)
#   ALERT_WEBHOOK_URL   optional: a failed backup is also sent there at once, with its ERROR
#                       line (notify.py, from the same directory; ALERT_FORMAT, ALERT_SOURCE)
#
#   schedule.sh --next-in   prints the seconds until the next scheduled backup and exits.
set -eu

me=schedule
log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$me" "$*" >&2; }

BACKUP_TIME=${BACKUP_TIME:-03:00}
BACKUP_ON_START=${BACKUP_ON_START:-false}
status=${BACKUP_STATUS_FILE:-/tmp/last-backup-ok}
here=$(cd "$(dirname "$0")" && pwd)

case $BACKUP_TIME in
    [01][0-9]:[0-5][0-9] | 2[0-3]:[0-5][0-9]) ;;
    *)
        log "ERROR: BACKUP_TIME must be HH:MM (UTC, 00:00 to 23:59), got '$BACKUP_TIME'"
        exit 1
        ;;
esac
case $BACKUP_ON_START in
    true | false) ;;
    *) log "ERROR: BACKUP_ON_START must be true or false, got '$BACKUP_ON_START'"; exit 1 ;;
esac

# "08" is not an octal number here: drop one leading zero (values have two digits).
decimal() { d=${1#0}; echo "${d:-0}"; }

seconds_until_next() {
    now=$(date -u +%H:%M:%S)
    h=${now%%:*} rest=${now#*:}
    m=${rest%%:*} s=${rest#*:}
    now_s=$(($(decimal "$h") * 3600 + $(decimal "$m") * 60 + $(decimal "$s")))
    at_s=$(($(decimal "${BACKUP_TIME%:*}") * 3600 + $(decimal "${BACKUP_TIME#*:}") * 60))
    wait_s=$(((at_s - now_s + 86400) % 86400))
    # Exactly on time (or a backup that took under a second): the next run is tomorrow's.
    [ "$wait_s" -gt 0 ] || wait_s=86400
    echo "$wait_s"
}

if [ "${1:-}" = --next-in ]; then
    seconds_until_next
    exit 0
fi

# backup.sh's stderr goes to the log as it comes and into $errors, for the alert.
errors=$(mktemp)
run_backup() {
    log "starting backup"
    rm -f "$errors.rc"
    {
        if "$here/backup.sh" 2>&4 >&3 3>&- 4>&-; then echo 0; else echo $?; fi >"$errors.rc"
    } 4>&1 3>&2 | tee "$errors" >&2
    code=$(cat "$errors.rc" 2>/dev/null || echo 1)
    if [ "$code" -eq 0 ]; then
        touch "$status"
        log "backup succeeded"
    else
        rm -f "$status"
        log "ERROR: backup failed (exit $code); will try again at $BACKUP_TIME UTC"
        alert "$code"
    fi
}

alert() {
    [ -n "${ALERT_WEBHOOK_URL:-}" ] || return 0
    reason=$(grep 'ERROR' "$errors" | tail -n 1)
    [ -n "$reason" ] || reason=$(tail -n 1 "$errors")
    "$here/notify.py" --title "Backup failed" --tags warning,floppy_disk \
        "The scheduled backup of '${PGDATABASE:-?}'${MEDIA_DIR:+ and $MEDIA_DIR} failed (exit $1) at $(date -u +%Y-%m-%dT%H:%M:%SZ); the next try is at $BACKUP_TIME UTC. ${reason:-No error line was logged.}" ||
        log "ERROR: the alert about the failed backup could not be sent"
}

# As PID 1 the shell ignores signals it does not trap; sleeping in the background and
# waiting lets `docker stop` end the container at once.
sleeper=
stop() {
    log "stopping"
    rm -f "$errors" "$errors.rc"
    [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
    exit 0
}
trap stop INT TERM

log "daily backups at $BACKUP_TIME UTC of '${PGDATABASE:-?}' at ${PGHOST:-local socket}:${PGPORT:-5432} into ${BACKUP_DIR:-/backups}${BACKUP_S3_URI:+ and $BACKUP_S3_URI}"
if [ "$BACKUP_ON_START" = true ]; then
    run_backup
else
    touch "$status"
fi

while :; do
    wait_s=$(seconds_until_next)
    log "next backup in ${wait_s}s"
    sleep "$wait_s" &
    sleeper=$!
    wait "$sleeper" || true
    sleeper=
    run_backup
done
