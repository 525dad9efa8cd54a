#!/bin/sh
# backup.sh: take one verified, timestamped pg_dump of the database.
#
# Environment:
#   PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE  libpq connection (PGDATABASE required)
#   BACKUP_DIR             where dumps are written (default /backups)
#   BACKUP_RETENTION_DAYS  local dumps older than this are deleted (default 14; 0 = keep all)
#   BACKUP_S3_URI          optional, e.g. s3://bucket/prefix: upload each dump there
#   BACKUP_S3_ENDPOINT     optional, e.g. https://fra1.digitaloceanspaces.com (Spaces, MinIO)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, ...  or an instance role
#
# Writes BACKUP_DIR/<PGDATABASE>-<YYYYmmddTHHMMSSZ>.dump (pg_dump custom format) and a
# .dump.sha256 next to it (sha256sum -c format). Progress goes to stderr; the last line on
# stdout is the dump's file name. Exits non-zero on any failure, leaving no partial .dump.
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
case $BACKUP_S3_URI in
    '' | s3://?*) ;;
    *) die "BACKUP_S3_URI must look like s3://bucket/prefix, got '$BACKUP_S3_URI'" ;;
esac

server="${PGHOST:-local socket}:${PGPORT:-5432}"

if ! pg_isready -q -t 10; then
    die "database server not reachable at $server (pg_isready failed); no backup taken"
fi

mkdir -p "$BACKUP_DIR"

# Temporary names start with a dot and do not end in .dump, so neither restore.sh nor the
# pruning below can mistake them for a finished dump.
tmp=$(mktemp "$BACKUP_DIR/.backup-XXXXXX")
cleanup() { rm -f "$tmp" "$tmp.sha256"; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

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

# One dump per second at most; the timestamp is the dump's identity.
while :; do
    name="$PGDATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump"
    [ -e "$BACKUP_DIR/$name" ] || break
    sleep 1
done

sum=$(sha256sum <"$tmp")
printf '%s  %s\n' "${sum%% *}" "$name" >"$tmp.sha256"
mv "$tmp" "$BACKUP_DIR/$name"
mv "$tmp.sha256" "$BACKUP_DIR/$name.sha256"
size=$(wc -c <"$BACKUP_DIR/$name" | tr -d ' ')
log "wrote $BACKUP_DIR/$name ($size bytes, sha256 ${sum%% *}) in $(($(date -u +%s) - started))s"

if [ -n "$BACKUP_S3_URI" ]; then
    dest=${BACKUP_S3_URI%/}
    # The checksum first: a listed .dump then always has its .sha256 beside it.
    for f in "$name.sha256" "$name"; do
        if [ -n "$BACKUP_S3_ENDPOINT" ]; then
            aws --endpoint-url "$BACKUP_S3_ENDPOINT" s3 cp --only-show-errors "$BACKUP_DIR/$f" "$dest/$f" >&2 ||
                die "upload of $f to $dest (endpoint $BACKUP_S3_ENDPOINT) failed; the local copy $BACKUP_DIR/$name is kept"
        else
            aws s3 cp --only-show-errors "$BACKUP_DIR/$f" "$dest/$f" >&2 ||
                die "upload of $f to $dest failed; the local copy $BACKUP_DIR/$name is kept"
        fi
    done
    log "uploaded $name and $name.sha256 to $dest/"
fi

# Temporary files of interrupted runs (a container stopped mid-backup).
find "$BACKUP_DIR" -maxdepth 1 -type f \( -name '.backup-*' -o -name '.restore-*' \) -mmin +1440 -exec rm -f {} + || true

if [ "$BACKUP_RETENTION_DAYS" -gt 0 ]; then
    find "$BACKUP_DIR" -maxdepth 1 -type f \( -name '*.dump' -o -name '*.dump.sha256' \) \
        ! -name "$name" ! -name "$name.sha256" \
        -mmin +$((BACKUP_RETENTION_DAYS * 1440)) -print -exec rm -f {} + |
        while IFS= read -r old; do log "pruned $old (older than $BACKUP_RETENTION_DAYS days)"; done
fi

printf '%s\n' "$name"
