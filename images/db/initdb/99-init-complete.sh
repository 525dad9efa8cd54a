#!/bin/sh
# First initialisation, last step: every initdb.d file ran; remove the mark that
# 00-init-started.sh set (see there, and webstack-entrypoint.sh).
set -eu
me=${0##*/}
dir=${PGDATA:-}
if [ -z "$dir" ]; then
    dir=$(psql -X -A -t -q -v ON_ERROR_STOP=1 --no-password --username "${POSTGRES_USER:-${PGUSER:-postgres}}" \
        --dbname "${POSTGRES_DB:-${POSTGRES_USER:-${PGUSER:-postgres}}}" -c 'SHOW data_directory')
fi
rm -f "$dir/webstack-init-incomplete"
printf '%s: initialisation complete (extensions and schema SQL applied)\n' "$me"
