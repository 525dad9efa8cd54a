#!/bin/sh
# backup.sh: take one verified, timestamped pg_dump of the database and, when MEDIA_DIR is
# set, one verified archive of the uploaded media.
#
# Environment:
#   PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE  libpq connection (PGDATABASE required)
#   BACKUP_DIR             where dumps are written (default /backups)
#   MEDIA_DIR              optional, e.g. /media: also archive this directory (the media volume)
#   BACKUP_RETENTION_DAYS  local dumps older than this are deleted (default 14; 0 = keep all)
#   BACKUP_S3_URI          optional, e.g. s3://bucket/prefix: upload each dump there
#   BACKUP_S3_ENDPOINT     optional, e.g. https://fra1.digitaloceanspaces.com (Spaces, MinIO)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, ...  or an instance role
#
# Writes BACKUP_DIR/<PGDATABASE>-<YYYYmmddTHHMMSSZ>.dump (pg_dump custom format) and a
# .dump.sha256 next to it (sha256sum -c format); then, with MEDIA_DIR, media-<YYYYmmddTHHMMSSZ>.tar.gz
# (numeric owners and modes, read back in full) and its .tar.gz.sha256. Both get the same
# retention and upload. Progress goes to stderr. On success stdout is the media archive's
# name (only with MEDIA_DIR), then, as the last line, the dump's name. Exits non-zero with an
# ERROR line on stderr and nothing on stdout when either part fails, leaving no partial file
# (a dump finished before the media part failed is kept).
set -eu
# Dumps hold every row, password hashes included: readable by their owner only.
umask 077

me=backup
log() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

: "${PGDATABASE:?backup: PGDATABASE must name the database to back up}"
BACKUP_DIR=${BACKUP_DIR:-/backups}
BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-14}
BACKUP_S3_URI=${BACKUP_S3_URI:-}
BACKUP_S3_ENDPOINT=${BACKUP_S3_ENDPOINT:-}
case $BACKUP_RETENTION_DAYS in
    '' | *[!0-9]*) die "BACKUP_RETENTION_DAYS must be a whole number of days, got '$BACKUP_RETENTION_DAYS'" ;;
esac
MEDIA_DIR=${MEDIA_DIR:-}
case $BACKUP_S3_URI in
    '' | s3://?*) ;;
    *) die "BACKUP_S3_URI must look like s3://bucket/prefix, got '$BACKUP_S3_URI'" ;;
esac

server="${PGHOST:-local socket}:${PGPORT:-5432}"
if [ -n "$MEDIA_DIR" ] && [ ! -d "$MEDIA_DIR" ]; then
    die "MEDIA_DIR $MEDIA_DIR is not a directory (is the media volume mounted?); no backup taken"
fi

if ! pg_isready -q -t 10; then
    die "database server not reachable at $server (pg_isready failed); no backup taken"
fi

mkdir -p "$BACKUP_DIR"

# Temporary names start with a dot and do not end in .dump, so neither restore.sh nor the
# pruning below can mistake them for a finished dump.
tmp=$(mktemp "$BACKUP_DIR/.backup-XXXXXX")
mtmp=
cleanup() { rm -f "$tmp" "$tmp.sha256"; [ -z "$mtmp" ] || rm -f "$mtmp" "$mtmp.sha256" "$mtmp.index" "$mtmp.list"; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# upload NAME: NAME.sha256, then NAME, to the bucket (the checksum first: a listed file then
# always has its .sha256 beside it).
upload() {
    [ -n "$BACKUP_S3_URI" ] || return 0
    dest=${BACKUP_S3_URI%/}
    for f in "$1.sha256" "$1"; do
        if [ -n "$BACKUP_S3_ENDPOINT" ]; then
            aws --endpoint-url "$BACKUP_S3_ENDPOINT" s3 cp --only-show-errors "$BACKUP_DIR/$f" "$dest/$f" >&2 ||
                die "upload of $f to $dest (endpoint $BACKUP_S3_ENDPOINT) failed; the local copy $BACKUP_DIR/$1 is kept"
        else
            aws s3 cp --only-show-errors "$BACKUP_DIR/$f" "$dest/$f" >&2 ||
                die "upload of $f to $dest failed; the local copy $BACKUP_DIR/$1 is kept"
        fi
    done
    log "uploaded $1 and $1.sha256 to $dest/"
}

# keep TMP NAME: TMP (verified) becomes BACKUP_DIR/NAME, with NAME.sha256 beside it.
keep() {
    sum=$(sha256sum <"$1")
    printf '%s  %s\n' "${sum%% *}" "$2" >"$1.sha256"
    mv "$1" "$BACKUP_DIR/$2"
    mv "$1.sha256" "$BACKUP_DIR/$2.sha256"
    size=$(wc -c <"$BACKUP_DIR/$2" | tr -d ' ')
}

# A free name PREFIX-<UTC timestamp>SUFFIX: one per second at most, the timestamp is its identity.
timestamped() {
    while :; do
        n="$1-$(date -u +%Y%m%dT%H%M%SZ)$2"
        [ -e "$BACKUP_DIR/$n" ] || break
        sleep 1
    done
    printf '%s\n' "$n"
}

# prune PATTERN KEPT: files matching PATTERN (and their .sha256) older than the retention,
# except KEPT, the one just written.
prune() {
    [ "$BACKUP_RETENTION_DAYS" -gt 0 ] || return 0
    find "$BACKUP_DIR" -maxdepth 1 -type f \( -name "$1" -o -name "$1.sha256" \) \
        ! -name "$2" ! -name "$2.sha256" \
        -mmin +$((BACKUP_RETENTION_DAYS * 1440)) -print -exec rm -f {} + |
        while IFS= read -r old; do log "pruned $old (older than $BACKUP_RETENTION_DAYS days)"; done
}

started=$(date -u +%s)
log "dumping database '$PGDATABASE' from $server"
pg_dump --format=custom --no-password --file="$tmp" ||
    die "pg_dump of '$PGDATABASE' at $server failed"

# Verify: the table of contents must be readable, and every data block must decompress
# (pg_restore --list alone reads only the TOC, so it accepts a file truncated mid-data).
pg_restore --list "$tmp" | grep -q '^; *Format: CUSTOM' ||
    die "the dump has no readable table of contents (pg_restore --list failed)"
pg_restore --file=/dev/null "$tmp" ||
    die "the dump could not be read back completely (pg_restore failed)"

name=$(timestamped "$PGDATABASE" .dump)
keep "$tmp" "$name"
log "wrote $BACKUP_DIR/$name ($size bytes, sha256 ${sum%% *}) in $(($(date -u +%s) - started))s"
upload "$name"
prune '*.dump' "$name"

media=
if [ -n "$MEDIA_DIR" ]; then
    mtmp=$(mktemp "$BACKUP_DIR/.backup-XXXXXX")
    started=$(date -u +%s)
    log "archiving $MEDIA_DIR"
    # Numeric owners (the app's uid 10001 has no name here) and modes; restore.sh's own
    # temporary directories in the volume are left out. tar's exit 1 means a file changed
    # or vanished while it was read (uploads go on): the archive holds what was read.
    rc=0
    tar --create --gzip --file="$mtmp" --numeric-owner --directory="$MEDIA_DIR" \
        --exclude='./.restore-media-*' --exclude='./.restore-old-*' \
        --verbose --index-file="$mtmp.index" . || rc=$?
    case $rc in
        0) ;;
        1) log "some files changed or vanished while $MEDIA_DIR was archived (tar exit 1); the archive holds them as they were read" ;;
        *) die "tar of $MEDIA_DIR failed (exit $rc); the dump $name is kept, but there is no media backup" ;;
    esac
    archived=$(wc -l <"$mtmp.index" | tr -d ' ')
    # Verify by a full read: the gzip stream's checksums, and every member's header.
    gzip -t "$mtmp" ||
        die "the media archive fails gzip -t (corrupt compressed data); the dump $name is kept, but there is no media backup"
    tar --list --gzip --file="$mtmp" >"$mtmp.list" ||
        die "the media archive cannot be listed completely (tar --list failed); the dump $name is kept, but there is no media backup"
    listed=$(wc -l <"$mtmp.list" | tr -d ' ')
    if [ "$listed" -ne "$archived" ] || [ "$listed" -eq 0 ]; then
        die "the media archive lists $listed entries, $archived were archived; the dump $name is kept, but there is no media backup"
    fi
    rm -f "$mtmp.index" "$mtmp.list"
    media=$(timestamped media .tar.gz)
    keep "$mtmp" "$media"
    mtmp=
    log "wrote $BACKUP_DIR/$media ($size bytes, $listed entries, sha256 ${sum%% *}) in $(($(date -u +%s) - started))s"
    upload "$media"
    prune 'media-*.tar.gz' "$media"
fi

# Temporary files of interrupted runs (a container stopped mid-backup).
find "$BACKUP_DIR" -maxdepth 1 -type f \( -name '.backup-*' -o -name '.restore-*' \) -mmin +1440 -exec rm -f {} + || true

[ -z "$media" ] || printf '%s\n' "$media"
printf '%s\n' "$name"
