#!/bin/sh
# Create the PostgreSQL extensions listed in POSTGRES_EXTRA_EXTENSIONS (the dbExtensions setting).
#
#   POSTGRES_EXTRA_EXTENSIONS="pg_trgm, uuid-ossp"   (comma and/or space separated)
#
# Any extension the image's PostgreSQL ships can be named, hyphenated ones included: each is
# created as CREATE EXTENSION IF NOT EXISTS "name" CASCADE (quoted; CASCADE also creates the
# extensions it requires, e.g. cube for earthdistance). Before anything is created:
#   1. every name must have the form PostgreSQL accepts (lower-case letters, digits, _ and -,
#      1-63 characters, not starting or ending with -, no --);
#   2. every name must be in pg_available_extensions of this server;
# otherwise the script stops with one line naming the problem, and the first initialisation
# fails (the entrypoint stops; images/db/webstack-entrypoint.sh then refuses the half-initialised
# data directory on every later start, so the failure cannot go unnoticed).
#
# Run by the official postgres entrypoint from /docker-entrypoint-initdb.d/, once, on an empty
# data directory, as POSTGRES_USER (a superuser) on POSTGRES_DB. It is executable, so it runs in
# its own process; it still avoids `exit` on success and unsets its variables, in case it is
# ever sourced.
#
#   --build-check   at image build (images/db/Dockerfile): check the names in
#                   POSTGRES_EXTRA_EXTENSIONS against the extension control files that the
#                   image's PostgreSQL $PG_MAJOR ships, without a server. Same messages.
#
# Can also be run by hand against a normal server; psql honours PGHOST, PGPORT, PGPASSWORD, etc.:
#   PGHOST=127.0.0.1 PGPORT=5432 POSTGRES_USER=postgres POSTGRES_DB=app \
#   POSTGRES_EXTRA_EXTENSIONS=pg_trgm sh 20-extra-extensions.sh
set -e

_pgx_me=${0##*/}
_pgx_list=$(printf '%s' "${POSTGRES_EXTRA_EXTENSIONS:-}" | tr ',' ' ')
_pgx_user=${POSTGRES_USER:-${PGUSER:-postgres}}
_pgx_db=${POSTGRES_DB:-$_pgx_user}

_pgx_fail() {
    printf '%s: ERROR: %s\n' "$_pgx_me" "$*" >&2
    exit 1
}

# Disable pathname expansion while splitting the list (restored below).
case $- in
    *f*) _pgx_noglob=1 ;;
    *) _pgx_noglob=0; set -f ;;
esac

# 1. The form, before anything is looked up or created.
_pgx_names=
for _pgx_ext in $_pgx_list; do
    if ! printf '%s\n' "$_pgx_ext" | LC_ALL=C grep -Eqx '[a-z0-9_-]{1,63}' ||
        printf '%s\n' "$_pgx_ext" | grep -Eq -e '^-|-$|--'; then
        _pgx_fail "invalid extension name \"$_pgx_ext\" in POSTGRES_EXTRA_EXTENSIONS (dbExtensions): expected lower-case letters, digits, _ and - (1-63 characters, not starting or ending with -, no --), such as pg_trgm or uuid-ossp; nothing was created"
    fi
    case " $_pgx_names " in
        *" $_pgx_ext "*) ;;
        *) _pgx_names="${_pgx_names:+$_pgx_names }$_pgx_ext" ;;
    esac
done

# The one line that says what is missing and what to do.
_pgx_missing() { # MAJOR "name, name"
    _pgx_fail "extension(s) not shipped by this image's PostgreSQL $1: $2. Each name in dbExtensions (POSTGRES_EXTRA_EXTENSIONS) must be in pg_available_extensions: install the package that ships it in images/db/Dockerfile (usually postgresql-$1-<name>, see apt-cache search postgresql-$1), or remove it from dbExtensions; none of the dbExtensions was created"
}

if [ "${1:-}" = --build-check ]; then
    _pgx_major=${PG_MAJOR:?PG_MAJOR is not set: --build-check runs in the postgres image}
    _pgx_dir=/usr/share/postgresql/$_pgx_major/extension
    [ -d "$_pgx_dir" ] || _pgx_fail "$_pgx_dir does not exist: is PostgreSQL $_pgx_major installed in this image?"
    _pgx_absent=
    for _pgx_ext in $_pgx_names; do
        [ -f "$_pgx_dir/$_pgx_ext.control" ] || _pgx_absent="${_pgx_absent:+$_pgx_absent, }$_pgx_ext"
    done
    [ -z "$_pgx_absent" ] || _pgx_missing "$_pgx_major" "$_pgx_absent"
    printf '%s: PostgreSQL %s ships every extension asked for: %s\n' "$_pgx_me" "$_pgx_major" "${_pgx_names:-(none)}"
elif [ -z "$_pgx_names" ]; then
    printf '%s: POSTGRES_EXTRA_EXTENSIONS is empty, nothing to do\n' "$_pgx_me"
else
    _pgx_psql() {
        psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$_pgx_user" --dbname "$_pgx_db" "$@"
    }
    # 2. Availability, all names at once: "major|missing, missing" (missing empty when all are there).
    _pgx_csv=$(printf '%s' "$_pgx_names" | tr ' ' ',')
    _pgx_found=$(_pgx_psql -X -A -t -q -v list="$_pgx_csv" <<'SQL'
SELECT current_setting('server_version_num')::int / 10000 || '|' || coalesce(string_agg(n, ', ' ORDER BY i), '')
FROM unnest(string_to_array(:'list', ',')) WITH ORDINALITY AS t(n, i)
WHERE n NOT IN (SELECT name FROM pg_available_extensions);
SQL
    ) || _pgx_fail "could not list the available extensions on database \"$_pgx_db\" (psql failed, see above)"
    [ -z "${_pgx_found#*|}" ] || _pgx_missing "${_pgx_found%%|*}" "${_pgx_found#*|}"

    # 3. Create them, in the given order, in one transaction. The names are checked above, so
    #    double quotes are all the quoting they need.
    _pgx_sql=
    for _pgx_ext in $_pgx_names; do
        printf '%s: CREATE EXTENSION IF NOT EXISTS "%s" on database "%s"\n' "$_pgx_me" "$_pgx_ext" "$_pgx_db"
        _pgx_sql="${_pgx_sql}CREATE EXTENSION IF NOT EXISTS \"$_pgx_ext\" CASCADE;
"
    done
    printf '%s' "$_pgx_sql" | _pgx_psql --single-transaction -q ||
        _pgx_fail "CREATE EXTENSION failed on database \"$_pgx_db\" (see the psql error above); no extension was created"
fi

if [ "$_pgx_noglob" = 0 ]; then
    set +f
fi
unset _pgx_me _pgx_list _pgx_user _pgx_db _pgx_ext _pgx_noglob _pgx_names _pgx_major _pgx_dir \
    _pgx_absent _pgx_csv _pgx_found _pgx_sql
unset -f _pgx_fail _pgx_missing _pgx_psql 2>/dev/null || true
