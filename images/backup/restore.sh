#!/bin/sh
# restore.sh: restore a dump written by backup.sh into PGDATABASE.
#
#   restore.sh [--force] [NAME|latest]        (default: latest)
#
# Environment: the same as backup.sh (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
# BACKUP_DIR, BACKUP_S3_URI, BACKUP_S3_ENDPOINT, AWS_*). PGUSER must be a superuser: the
# q3c extension is not trusted.
#
# NAME is a file name in BACKUP_DIR; when BACKUP_S3_URI is set and the file is not there,
# it (and its .sha256) is downloaded from S3 into BACKUP_DIR first. "latest" is the newest
# <PGDATABASE>-<timestamp>.dump, locally or (when BACKUP_S3_URI is set) in S3.
#
# Before the target is touched: the file must exist, match its .sha256 (when present) and
# read back completely with pg_restore. The target database must be empty (no tables,
# views or sequences outside the system schemas) unless --force is given; with --force the
# objects in the dump are dropped and recreated (pg_restore --clean --if-exists; objects
# that are not in the dump are left alone). The restore runs in a single transaction: it
# either loads everything or changes nothing (the q3c extension, created first, stays).
set -eu
# Dumps hold every row, password hashes included: readable by their owner only.
umask 077

me=restore
log() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
    cat <<'EOF'
Usage: restore.sh [--force] [NAME|latest]

Restores a dump written by backup.sh into $PGDATABASE (default: the latest dump).
  NAME     a file name in $BACKUP_DIR (fetched from $BACKUP_S3_URI when not local)
  latest   the newest $PGDATABASE-<timestamp>.dump, locally or in S3
  --force  restore into a non-empty database, replacing the objects in the dump
EOF
}

force=0
want=
while [ $# -gt 0 ]; do
    case $1 in
        --force) force=1 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        -*) usage >&2; die "unknown option '$1'" ;;
        *) [ -z "$want" ] || die "only one NAME may be given"; want=$1 ;;
    esac
    shift
done
if [ $# -gt 0 ]; then
    if [ -n "$want" ] || [ $# -ne 1 ]; then die "only one NAME may be given"; fi
    want=$1
fi
want=${want:-latest}

: "${PGDATABASE:?restore: PGDATABASE must name the database to restore into}"
BACKUP_DIR=${BACKUP_DIR:-/backups}
BACKUP_S3_URI=${BACKUP_S3_URI:-}
BACKUP_S3_ENDPOINT=${BACKUP_S3_ENDPOINT:-}
remote=${BACKUP_S3_URI%/}
server="${PGHOST:-local socket}:${PGPORT:-5432}"
target="database '$PGDATABASE' at $server"

case $want in
    */* | .*) die "NAME must be a file name in $BACKUP_DIR (no '/', not hidden), got '$want'" ;;
esac

work=$(mktemp -d)
cleanup() { rm -rf "$work"; [ -z "${partial:-}" ] || rm -f "$partial"; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

s3() {
    if [ -n "$BACKUP_S3_ENDPOINT" ]; then
        aws --endpoint-url "$BACKUP_S3_ENDPOINT" s3 "$@"
    else
        aws s3 "$@"
    fi
}

# File names in the S3 prefix, one a line, into $work/remote. Call it in the main shell
# (not in a pipeline), so that a failure stops the script.
list_remote() {
    s3 ls "$remote/" >"$work/listing" ||
        die "could not list $remote/ (aws s3 ls failed: no backups there yet, or S3 unreachable); to restore a dump in $BACKUP_DIR, pass its NAME"
    awk 'NF >= 4 && $1 != "PRE" { print $4 }' "$work/listing" >"$work/remote"
}

# This database's dumps among the names on stdin, newest (by timestamp in the name) last.
dumps_of_database() {
    while IFS= read -r n; do
        case $n in
            "$PGDATABASE"-*.dump) printf '%s\n' "$n" ;;
        esac
    done | sort
}

local_names() {
    for f in "$BACKUP_DIR"/*.dump; do
        [ -f "$f" ] && printf '%s\n' "${f##*/}"
    done
    return 0
}

download() { # NAME: S3 object into BACKUP_DIR, via a temporary name
    mkdir -p "$BACKUP_DIR"
    partial=$(mktemp "$BACKUP_DIR/.restore-XXXXXX")
    s3 cp --only-show-errors "$remote/$1" "$partial" >&2 || die "download of $remote/$1 failed"
    mv "$partial" "$BACKUP_DIR/$1"
    partial=
}

if [ "$want" = latest ]; then
    : >"$work/remote"
    if [ -n "$remote" ]; then list_remote; fi
    { local_names; cat "$work/remote"; } | dumps_of_database >"$work/candidates"
    name=$(tail -n 1 "$work/candidates")
    [ -n "$name" ] || die "no $PGDATABASE-*.dump found in $BACKUP_DIR${remote:+ or $remote/}; nothing to restore"
    log "latest dump is $name"
else
    name=$want
fi

file=$BACKUP_DIR/$name
if [ ! -f "$file" ] && [ -n "$remote" ]; then
    [ -f "$work/remote" ] || list_remote
    if grep -Fqx "$name" "$work/remote"; then
        log "fetching $name from $remote/"
        download "$name"
        if grep -Fqx "$name.sha256" "$work/remote"; then download "$name.sha256"; fi
    fi
fi
if [ ! -f "$file" ]; then
    log "available dumps of '$PGDATABASE' in $BACKUP_DIR:"
    local_names | dumps_of_database | tail -n 5 | sed 's/^/  /' >&2
    die "no such backup: $name (not in $BACKUP_DIR${remote:+ nor in $remote/}); the target was not touched"
fi

# ---- Checks on the file, before the target is touched.
if [ -f "$file.sha256" ]; then
    expected=$(awk 'NR == 1 { print $1 }' "$file.sha256")
    actual=$(sha256sum <"$file")
    actual=${actual%% *}
    [ "$expected" = "$actual" ] ||
        die "checksum mismatch for $name: expected $expected (from $name.sha256), got $actual; the file is corrupt, refusing to restore. The target was not touched"
    log "checksum of $name verified"
else
    log "no $name.sha256 beside the dump; checking the archive's structure only"
fi
pg_restore --list "$file" >"$work/toc" ||
    die "$name is not a readable pg_dump custom-format archive; refusing to restore. The target was not touched"
# --list reads only the table of contents; reading every data block catches truncation.
pg_restore --file=/dev/null "$file" ||
    die "$name is truncated or corrupt (its data cannot be read back); refusing to restore. The target was not touched"
created=$(sed -n 's/^; *Archive created at //p' "$work/toc")

# ---- Checks on the target.
pg_isready -q -t 10 || die "database server not reachable at $server (pg_isready failed)"
psql_value() { psql -X -A -t -q --no-password -v ON_ERROR_STOP=1 -c "$1"; }
user_relations="SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')"
existing=$(psql_value "$user_relations") || die "could not inspect $target"
if [ "$existing" -gt 0 ]; then
    if [ "$force" -eq 0 ]; then
        die "$target is not empty ($existing tables, views or sequences); refusing to restore over it. To replace the objects in the dump, re-run with --force (restore.sh --force $name). The target was not touched"
    fi
    log "$target holds $existing relations; --force: the objects in the dump will be dropped and recreated"
fi

# ---- Restore.
# q3c is created first (pg_dump's entry for it is taken out of the restore list): restoring
# that entry with --clean would DROP EXTENSION q3c, which fails while anything outside the
# dump depends on it; without --clean it would be a no-op (CREATE EXTENSION IF NOT EXISTS).
psql -X -q --no-password -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS q3c WITH SCHEMA public' ||
    die "could not create the q3c extension in $target (is PGUSER a superuser, is postgresql-15-q3c installed?)"
grep -Ev ' (EXTENSION - q3c|COMMENT - EXTENSION q3c) *$' "$work/toc" >"$work/use-list" || true
set -- --exit-on-error --no-owner --no-privileges --single-transaction --no-password \
    --use-list="$work/use-list" --dbname="$PGDATABASE"
if [ "$force" -eq 1 ]; then set -- "$@" --clean --if-exists; fi
started=$(date -u +%s)
log "restoring $name into $target"
pg_restore "$@" "$file" ||
    die "pg_restore of $name into $target failed; its transaction was rolled back: the database is as it was, save for the q3c extension"

tables=$(psql_value "SELECT count(*) FROM pg_tables WHERE schemaname <> 'information_schema' AND schemaname !~ '^pg_'")
indexes=$(psql_value "SELECT count(*) FROM pg_indexes WHERE schemaname <> 'information_schema' AND schemaname !~ '^pg_'")
q3c=$(psql_value "SELECT extversion FROM pg_extension WHERE extname = 'q3c'")
size=$(wc -c <"$file" | tr -d ' ')
echo "restored $name ($size bytes, dumped at ${created:-unknown}) into $target in $(($(date -u +%s) - started))s: $tables tables, $indexes indexes, q3c $q3c$([ "$force" -eq 0 ] || echo ' (--force)')"
