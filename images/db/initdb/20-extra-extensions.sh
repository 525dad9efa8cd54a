#!/bin/sh
# Create additional PostgreSQL extensions listed in POSTGRES_EXTRA_EXTENSIONS.
#
#   POSTGRES_EXTRA_EXTENSIONS="pg_trgm, btree_gist"   (comma and/or space separated)
#
# Run by the official postgres entrypoint from /docker-entrypoint-initdb.d/
# (executed when the file is executable, otherwise sourced into the bash
# entrypoint: hence no `exit` on success, no `set -u`, prefixed variable
# names that are unset at the end, and the caller's `set -f` state restored).
#
# Can also be run by hand against a normal server; psql honours PGHOST,
# PGPORT, PGPASSWORD, etc. from the environment:
#   PGHOST=127.0.0.1 PGPORT=5432 POSTGRES_USER=postgres POSTGRES_DB=app \
#   POSTGRES_EXTRA_EXTENSIONS=pg_trgm sh 20-extra-extensions.sh
set -e

_pgx_list=$(printf '%s' "${POSTGRES_EXTRA_EXTENSIONS:-}" | tr ',' ' ')
_pgx_user=${POSTGRES_USER:-${PGUSER:-postgres}}
_pgx_db=${POSTGRES_DB:-$_pgx_user}

# Disable pathname expansion while splitting the list (restored below).
case $- in
    *f*) _pgx_noglob=1 ;;
    *) _pgx_noglob=0; set -f ;;
esac

# Validate every name before creating anything.
for _pgx_ext in $_pgx_list; do
    if ! printf '%s\n' "$_pgx_ext" | LC_ALL=C grep -Eq '^[a-z_][a-z0-9_]*$'; then
        printf '%s: invalid extension name "%s" in POSTGRES_EXTRA_EXTENSIONS (allowed: ^[a-z_][a-z0-9_]*$)\n' \
            "$0" "$_pgx_ext" >&2
        exit 1
    fi
done

if [ -z "$_pgx_list" ]; then
    printf '%s: POSTGRES_EXTRA_EXTENSIONS is empty, nothing to do\n' "$0"
fi

for _pgx_ext in $_pgx_list; do
    printf '%s: CREATE EXTENSION IF NOT EXISTS "%s" on database "%s"\n' "$0" "$_pgx_ext" "$_pgx_db"
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$_pgx_user" --dbname "$_pgx_db" \
        -c "CREATE EXTENSION IF NOT EXISTS \"$_pgx_ext\";"
done

if [ "$_pgx_noglob" = 0 ]; then
    set +f
fi
unset _pgx_list _pgx_user _pgx_db _pgx_ext _pgx_noglob
