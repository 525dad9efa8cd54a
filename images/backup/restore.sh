#!/bin/sh
# restore.sh: restore a dump written by backup.sh into PGDATABASE, or (--media) a media
# archive into MEDIA_DIR.
#
#   restore.sh [--force] [NAME|latest]             (default: latest)
#   restore.sh --media [--force] [NAME|latest]
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
#
# --media: NAME is a media-<timestamp>.tar.gz ("latest": the newest, locally or in S3). It must
# match its .sha256 and read back completely (gzip -t, a full tar listing) before MEDIA_DIR
# (default /media) is touched. A non-empty MEDIA_DIR is refused unless --force. The archive is
# extracted, owners and modes as archived, into a temporary directory inside MEDIA_DIR (same
# filesystem), and only then swapped in by renames: the old top-level entries are moved aside
# and the new ones moved in, then the old ones deleted. A failed swap moves everything back.
# PGDATABASE is not needed for --media.
set -eu
# Dumps hold every row, password hashes included: readable by their owner only.
umask 077

me=restore
log() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
    cat <<'EOF'
Usage: restore.sh [--force] [NAME|latest]
       restore.sh --media [--force] [NAME|latest]

Restores a dump written by backup.sh into $PGDATABASE (default: the latest dump).
  NAME     a file name in $BACKUP_DIR (fetched from $BACKUP_S3_URI when not local)
  latest   the newest $PGDATABASE-<timestamp>.dump, locally or in S3
  --force  restore into a non-empty database, replacing the objects in the dump
  --media  restore a media-<timestamp>.tar.gz into $MEDIA_DIR instead (--force: replace
           its content; without, MEDIA_DIR must be empty)
EOF
}

force=0
media=0
want=
while [ $# -gt 0 ]; do
    case $1 in
        --force) force=1 ;;
        --media) media=1 ;;
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

if [ "$media" -eq 0 ]; then
    : "${PGDATABASE:?restore: PGDATABASE must name the database to restore into}"
    # What a backup of this kind is called, and (for messages) what it is.
    prefix=$PGDATABASE suffix=.dump kind=dump
else
    prefix=media suffix=.tar.gz kind="media archive"
fi
BACKUP_DIR=${BACKUP_DIR:-/backups}
MEDIA_DIR=${MEDIA_DIR:-/media}
BACKUP_S3_URI=${BACKUP_S3_URI:-}
BACKUP_S3_ENDPOINT=${BACKUP_S3_ENDPOINT:-}
remote=${BACKUP_S3_URI%/}
server="${PGHOST:-local socket}:${PGPORT:-5432}"
target="database '${PGDATABASE:-}' at $server"

case $want in
    */* | .*) die "NAME must be a file name in $BACKUP_DIR (no '/', not hidden), got '$want'" ;;
esac

work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    [ -z "${partial:-}" ] || rm -f "$partial"
    if [ -n "${swapping:-}" ]; then
        log "ERROR: interrupted while swapping $MEDIA_DIR: the old content is in $old, the rest of the new in $new"
    else
        [ -z "${new:-}" ] || rm -rf "$new"
        [ -z "${old:-}" ] || rmdir "$old" 2>/dev/null || true
    fi
}
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

# Backups of this kind (this database's dumps, or media archives) among the names on stdin,
# newest (by timestamp in the name) last.
backups_of_kind() {
    while IFS= read -r n; do
        case $n in
            "$prefix"-*"$suffix") printf '%s\n' "$n" ;;
        esac
    done | sort
}

local_names() {
    for f in "$BACKUP_DIR"/*"$suffix"; do
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

# Top-level entries of MEDIA_DIR other than restore_media's own temporary directories.
media_entries() {
    find "$MEDIA_DIR" -mindepth 1 -maxdepth 1 ! -name '.restore-media-*' ! -name '.restore-old-*' "$@"
}

# ---- Media: the archive is read in full, then MEDIA_DIR checked, then extract and swap.
restore_media() {
    gzip -t "$file" 2>"$work/gzip-errors" ||
        die "$name is truncated or corrupt (gzip -t: $(head -n 1 "$work/gzip-errors")); refusing to restore. $MEDIA_DIR was not touched"
    tar --list --gzip --file="$file" >"$work/list" ||
        die "$name is truncated or corrupt (tar cannot list it completely); refusing to restore. $MEDIA_DIR was not touched"
    entries=$(wc -l <"$work/list" | tr -d ' ')
    [ "$entries" -gt 0 ] || die "$name holds no entries; refusing to restore. $MEDIA_DIR was not touched"
    [ -d "$MEDIA_DIR" ] || die "MEDIA_DIR $MEDIA_DIR is not a directory (is the media volume mounted?)"
    existing=$(media_entries -printf x | wc -c | tr -d ' ')
    if [ "$existing" -gt 0 ]; then
        if [ "$force" -eq 0 ]; then
            die "$MEDIA_DIR is not empty ($existing entries at its top level); refusing to restore over it. To replace its content, re-run with --force (restore.sh --media --force $name). $MEDIA_DIR was not touched"
        fi
        log "$MEDIA_DIR holds $existing top-level entries; --force: its content will be replaced"
    fi
    find "$MEDIA_DIR" -mindepth 1 -maxdepth 1 \( -name '.restore-media-*' -o -name '.restore-old-*' \) |
        while IFS= read -r left; do log "warning: $left is left from an interrupted restore; remove it once you do not need it"; done

    started=$(date -u +%s)
    # Inside the volume, so that the swap below is renames on one filesystem.
    new=$(mktemp -d "$MEDIA_DIR/.restore-media-XXXXXX")
    old=$(mktemp -d "$MEDIA_DIR/.restore-old-XXXXXX")
    log "extracting $name into $new"
    tar --extract --gzip --file="$file" --directory="$new" --numeric-owner --same-owner --same-permissions ||
        die "extracting $name failed; $MEDIA_DIR was not touched"
    extracted=$(find "$new" -printf x | wc -c | tr -d ' ')
    [ "$extracted" -eq "$entries" ] ||
        die "$name lists $entries entries but $extracted were extracted; $MEDIA_DIR was not touched"

    swapping=1
    if ! media_entries -exec mv -t "$old" -- {} +; then
        find "$old" -mindepth 1 -maxdepth 1 -exec mv -t "$MEDIA_DIR" -- {} + || die "moving the old content aside failed, and so did moving it back: it is in $old"
        swapping=
        die "moving the old content of $MEDIA_DIR aside failed; it was moved back, nothing changed"
    fi
    if ! find "$new" -mindepth 1 -maxdepth 1 -exec mv -t "$MEDIA_DIR" -- {} +; then
        if ! { media_entries -exec mv -t "$new" -- {} + && find "$old" -mindepth 1 -maxdepth 1 -exec mv -t "$MEDIA_DIR" -- {} +; }; then
            die "moving the restored content in failed, and so did moving the old back: the old content is in $old, the new in $new"
        fi
        swapping=
        die "moving the restored content into $MEDIA_DIR failed; the old content was moved back"
    fi
    # The archive's "./" carries the volume root's own owner and mode.
    if [ "$(head -n 1 "$work/list")" = ./ ]; then
        if ! { chown --reference="$new" "$MEDIA_DIR" && chmod --reference="$new" "$MEDIA_DIR"; }; then
            log "warning: could not give $MEDIA_DIR the archived owner and mode"
        fi
    fi
    swapping=
    rm -rf "$old" "$new"
    old='' new=''
    size=$(wc -c <"$file" | tr -d ' ')
    echo "restored $name ($size bytes, $entries entries) into $MEDIA_DIR in $(($(date -u +%s) - started))s$([ "$existing" -eq 0 ] || echo ", replacing $existing top-level entries")$([ "$force" -eq 0 ] || echo ' (--force)')"
}

if [ "$want" = latest ]; then
    : >"$work/remote"
    if [ -n "$remote" ]; then list_remote; fi
    { local_names; cat "$work/remote"; } | backups_of_kind >"$work/candidates"
    name=$(tail -n 1 "$work/candidates")
    [ -n "$name" ] || die "no $prefix-*$suffix found in $BACKUP_DIR${remote:+ or $remote/}; nothing to restore"
    log "latest $kind is $name"
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
    log "available backups ($prefix-*$suffix) in $BACKUP_DIR:"
    local_names | backups_of_kind | tail -n 5 | sed 's/^/  /' >&2
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
    log "no $name.sha256 beside the $kind; checking the archive's structure only"
fi
if [ "$media" -eq 1 ]; then
    restore_media
    exit 0
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
