#!/usr/bin/env bash
# TEST-ONLY stand-in for the official postgres image's entrypoint (written for the tests,
# same contract):
#   - `docker-entrypoint.sh postgres ...` (or only flags: `-c x=y`) as root: fixes the
#     ownership of PGDATA and /var/run/postgresql, then re-runs itself as postgres (gosu).
#   - On an empty PGDATA (no PG_VERSION): initdb with POSTGRES_USER (default postgres) and
#     POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), pg_hba
#     "host all all all <method>" (default scram-sha-256), a temporary server on the Unix
#     socket only, CREATE DATABASE POSTGRES_DB (default: the user name), then
#     /docker-entrypoint-initdb.d/* in order: *.sh run when executable, sourced otherwise;
#     *.sql and *.sql.gz fed to psql as POSTGRES_USER on POSTGRES_DB; a failure stops the
#     container. Then the temporary server stops.
#   - A PGDATA that holds a database is used as it is: the init files never run again.
#   - Finally exec's the server as PID 1, so `docker stop` (SIGINT) reaches it.
#   - Any other command, and postgres --version/--help/-V/--describe-config, is exec'd as
#     it is.
set -Eeo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*"; }

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

# Anything but the server, and the server's informational flags, run as they are.
wants_help() {
    local arg
    for arg; do
        case $arg in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
    done
    return 1
}
if [ "$1" != postgres ] || wants_help "$@"; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    find "$PGDATA" \! -user postgres -exec chown postgres: '{}' +
    mkdir -p /var/run/postgresql
    chmod 03775 /var/run/postgresql || :
    find /var/run/postgresql \! -user postgres -exec chown postgres: '{}' +
    exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
export POSTGRES_USER POSTGRES_DB POSTGRES_PASSWORD

sql() { # psql on the socket as POSTGRES_USER; extra args; database from $sql_db
    PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc \
        --dbname "${sql_db:-$POSTGRES_DB}" "$@"
}

if [ -s "$PGDATA/PG_VERSION" ]; then
    log "PostgreSQL database directory appears to contain a database; skipping initialization"
else
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (or POSTGRES_HOST_AUTH_METHOD=trust: no password, for tests only)
EOF
        exit 1
    fi
    log "initializing $PGDATA"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") ${POSTGRES_INITDB_ARGS:-}
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

    export PGPASSWORD="${PGPASSWORD:-${POSTGRES_PASSWORD:-}}"
    # The temporary server listens on the Unix socket only: clients on the network (and
    # healthchecks over TCP) see no server until initialisation is over.
    PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" \
        -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start

    if [ "$POSTGRES_DB" != postgres ]; then
        exists=$(sql_db=postgres sql -At --set db="$POSTGRES_DB" \
            <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
        if [ -z "$exists" ]; then
            sql_db=postgres sql --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
        fi
    fi

    shopt -s nullglob
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh)
                if [ -x "$f" ]; then
                    log "running $f"
                    "$f"
                else
                    log "sourcing $f"
                    # shellcheck disable=SC1090
                    . "$f"
                fi
                ;;
            *.sql) log "running $f"; sql -f "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | sql ;;
            *) log "ignoring $f" ;;
        esac
    done
    shopt -u nullglob

    PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    log "PostgreSQL init process complete; ready for start up"
fi

exec "$@"
