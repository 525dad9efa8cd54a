#!/bin/sh
# First initialisation, step 0: mark the data directory "initialisation incomplete".
#
# 99-init-complete.sh removes the mark once every initdb.d file (extensions, the app's schema
# SQL) has run. If any of them fails, the entrypoint stops with the mark still there, and
# webstack-entrypoint.sh refuses to start the server on that data directory from then on:
# without it, the container's restart would find a data directory that "appears to contain a
# database", skip initialisation and serve a database without its extensions or schema.
#
# Run by the postgres entrypoint (executable: in its own process) as the postgres user, with
# PGDATA set. Without PGDATA (run by hand, or by the test harness) the data directory is asked
# of the server (SHOW data_directory, which needs a superuser).
set -eu
me=${0##*/}
dir=${PGDATA:-}
if [ -z "$dir" ]; then
    dir=$(psql -X -A -t -q -v ON_ERROR_STOP=1 --no-password --username "${POSTGRES_USER:-${PGUSER:-postgres}}" \
        --dbname "${POSTGRES_DB:-${POSTGRES_USER:-${PGUSER:-postgres}}}" -c 'SHOW data_directory')
fi
[ -d "$dir" ] || { printf '%s: ERROR: data directory "%s" not found\n' "$me" "$dir" >&2; exit 1; }
printf 'started %s; removed by 99-init-complete.sh when every initdb.d file has run\n' \
    "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" >"$dir/webstack-init-incomplete"
printf '%s: marked %s/webstack-init-incomplete until initialisation completes\n' "$me" "$dir"
