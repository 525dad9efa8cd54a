#!/usr/bin/env bash
# tests/standins/verify.sh [SECTION...]
#
# Checks the stand-ins built by build.sh on the real engine, against the contract the
# program uses, and builds the project's own images on them:
#
#   labels    every stand-in is labelled as one
#   db        images/db builds unchanged; POSTGRES_* env, initdb.d on an empty PGDATA
#             only (a restart keeps the data and runs nothing again), q3c_version(),
#             POSTGRES_EXTRA_EXTENSIONS, TCP on all addresses, uid 999, SIGINT stop
#   initdb    the stand-in itself: *.sql.gz, sourced *.sh, a refused empty password
#   backup    images/backup builds unchanged; backup.sh and restore.sh against the db
#   app       app/ builds unchanged; manage.py check, migrate (q3c index), collectstatic,
#             gunicorn answering its python3 healthcheck
#   nginx     the program's rendered site config, its certificate watcher run from
#             /docker-entrypoint.d/, the wget healthcheck, the stock nginx.conf
#   autoheal  restarts only unhealthy containers carrying <label>=true, with the
#             autoheal.stop.timeout label
#   certbot   entrypoint certbot, and the program's sh -c loop and python3 probe
#   traefik   (only when the traefik stand-in exists) version, ping healthcheck
#
# Everything it creates is named webstack-standin-verify-* and labelled
# webstack.standin.verify=true, and is removed at the end. Traffic goes only to ports
# published on 127.0.0.1. Exit status: the number of failed checks (0 = all passed).

# Functions run through check/wait_for look unreachable to shellcheck; single-quoted
# $VARS are meant for the shell inside the container.
# shellcheck disable=SC2317,SC2016
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
export DOCKER_BUILDKIT=0
P=webstack-standin-verify
VL=webstack.standin.verify=true
NET=$P-net
tmp=$(mktemp -d)
t0=$SECONDS
failed=0
passed=0

say() { printf '[verify %4ds] %s\n' "$((SECONDS - t0))" "$*"; }
ok() { passed=$((passed + 1)); say "PASS  $*"; }
bad() { failed=$((failed + 1)); say "FAIL  $*"; }
check() { # DESCRIPTION CMD...: passes when CMD succeeds
    local what=$1
    shift
    if "$@" >"$tmp/check.out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/        /' "$tmp/check.out" | tail -n 15; fi
}
d() { "$DOCKER" "$@"; }

cleanup() {
    d ps -aq --filter "label=$VL" | xargs -r "$DOCKER" rm -fv >/dev/null 2>&1
    d volume ls -q --filter "label=$VL" | xargs -r "$DOCKER" volume rm -f >/dev/null 2>&1
    d network ls -q --filter "label=$VL" | xargs -r "$DOCKER" network rm >/dev/null 2>&1
    d image ls -q --filter "reference=$P/*" | sort -u | xargs -r "$DOCKER" rmi -f >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for SECONDS CMD...: retries CMD every second until it succeeds (bounded).
wait_for() {
    local end=$((SECONDS + $1))
    shift
    while [ "$SECONDS" -lt "$end" ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    return 1
}
health() { d inspect --format '{{.State.Health.Status}}' "$1" 2>/dev/null; }
is_healthy() { [ "$(health "$1")" = healthy ]; }
started_at() { d inspect --format '{{.State.StartedAt}}' "$1"; }
host_port() { d port "$1" "$2" | sed -n 's/^127\.0\.0\.1://p' | head -n 1; }

# Small predicates for check/wait_for.
not() { ! "$@"; }
equals() { # WANT CMD...: CMD's output (trimmed) is WANT
    local want=$1 got
    shift
    got=$("$@" 2>&1) || { echo "$got"; return 1; }
    got=$(printf '%s' "$got" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
    echo "got: $got"
    [ "$got" = "$want" ]
}
says() { # REGEX CMD...: CMD succeeds and its output matches
    local re=$1 out
    shift
    out=$("$@" 2>&1) || { echo "$out"; return 1; }
    echo "$out" | grep -E -- "$re" >/dev/null || { echo "$out"; return 1; }
}
fails_saying() { # TEXT CMD...: CMD fails and says TEXT
    local text=$1 out
    shift
    if out=$("$@" 2>&1); then echo "$out"; return 1; fi
    echo "$out" | grep -F -- "$text" >/dev/null || { echo "$out"; return 1; }
}
# grep without -q in pipelines: with pipefail, an early exit would fail the writer (SIGPIPE).
logs_say() { d logs "$1" 2>&1 | grep -E -- "$2" >/dev/null; }
cmp_image_file() { d run --rm --label "$VL" "$1" cat "$2" | cmp - "$3"; }
worker_uids() { d top "$1" -eo pid,uid,args | awk '/worker process/ { print $2 }' | sort -u; }
served_cn_is() { # PORT CN
    echo | openssl s_client -connect "127.0.0.1:$1" -servername localhost 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null | grep -E "CN *= *$2\$" >/dev/null
}

# program EXPR: evaluates a JavaScript expression over the program's own modules (pure
# ones: healthchecks, certificates, nginxConfig, autoheal) and prints the result.
program() {
    (cd "$tmp" && "$project/node_modules/.bin/ts-node" --transpile-only --project "$project/tsconfig.json" \
        -e "const m = (n) => require('$project/components/' + n); const v = ($1); process.stdout.write(typeof v === 'string' ? v : JSON.stringify(v));")
}
have_program() { [ -x "$project/node_modules/.bin/ts-node" ]; }

timed_build() { # TAG CONTEXT [ARGS...]: docker build, prints the seconds it took
    local tag=$1 ctx=$2 start=$SECONDS
    shift 2
    if d build -q --label "$VL" "$@" -t "$tag" "$ctx" >"$tmp/build.log" 2>&1; then
        # fd 3: the terminal, also from inside check's redirection.
        say "built $tag from ${ctx#"$project"/} in $((SECONDS - start))s ($(d image inspect --format '{{.Size}}' "$tag" | numfmt --to=si)B)" >&3
        return 0
    fi
    tail -n 20 "$tmp/build.log"
    return 1
}

label() { d image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1"; }
is_standin() {
    [ "$(label "$1" webstack.standin)" = true ] && label "$1" org.opencontainers.image.description | grep TEST-ONLY >/dev/null
}

# ---------------------------------------------------------------------------------------
section_labels() {
    local tag
    for tag in postgres:15-bookworm python:3.12-slim-bookworm nginx:1.27.3-alpine \
        willfarrell/autoheal:1.2.0 certbot/certbot:v2.11.0; do
        check "$tag is a labelled stand-in" is_standin "$tag"
    done
}

db_started=0
start_db() {
    [ "$db_started" = 1 ] && return 0
    if ! d image inspect "$P/db:pg15" >/dev/null 2>&1; then
        timed_build "$P/db:pg15" "$project/images/db" --build-arg PG_MAJOR=15 || return 1
    fi
    d network create --label "$VL" "$NET" >/dev/null 2>&1 || true
    d volume create --label "$VL" "$P-pgdata" >/dev/null
    local hc
    # The program's own healthcheck command.
    hc='pg_isready -h 127.0.0.1 -U app -d app'
    if have_program; then hc=$(program "m('healthchecks').databaseHealthcheck('app', 'app').tests.slice(1).join(' ')"); fi
    d run -d --name "$P-db" --label "$VL" --label autoheal=false \
        --network "$NET" --network-alias db \
        -e POSTGRES_DB=app -e POSTGRES_USER=app -e POSTGRES_PASSWORD='s3cret pass' \
        -e POSTGRES_EXTRA_EXTENSIONS=pg_trgm,btree_gist \
        -v "$P-pgdata:/var/lib/postgresql/data" \
        --stop-signal SIGINT --stop-timeout 90 --shm-size 256m \
        --health-cmd "$hc" --health-interval 1s --health-retries 120 \
        -p 127.0.0.1::5432 "$P/db:pg15" >/dev/null || return 1
    db_started=1
}
psql_db() { d exec "$P-db" psql -X -A -t -q -U app -d app -v ON_ERROR_STOP=1 -c "$1"; }

section_db() {
    check "images/db builds unchanged on postgres:15-bookworm (PG_MAJOR=15)" \
        timed_build "$P/db:pg15" "$project/images/db" --build-arg PG_MAJOR=15 || return
    local start=$SECONDS
    start_db || { bad "db: could not start the db container"; return; }
    check "db healthy (program's pg_isready -h 127.0.0.1 healthcheck)" wait_for 120 is_healthy "$P-db"
    say "db healthy $((SECONDS - start))s after start"
    local q3c
    q3c=$(psql_db 'SELECT q3c_version()' 2>&1)
    check "q3c_version() answers ($q3c)" test -n "$q3c"
    check "POSTGRES_EXTRA_EXTENSIONS created pg_trgm and btree_gist" equals btree_gist,pg_trgm,q3c \
        psql_db "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('pg_trgm','btree_gist','q3c')"
    check "server runs as uid 999 (postgres), PGDATA owned by 999" equals 999 \
        d exec "$P-db" sh -c '{ id -u postgres; stat -c %u "$PGDATA"; awk "/^Uid:/ {print \$2}" /proc/1/status; } | sort -u'
    local port
    port=$(host_port "$P-db" 5432)
    check "listens on all addresses: password login over TCP from the host (127.0.0.1:$port)" equals 1 \
        env PGPASSWORD='s3cret pass' psql -X -At -h 127.0.0.1 -p "$port" -U app -d app -c 'SELECT 1'
    check "wrong password refused over TCP" \
        not env PGPASSWORD=wrong psql -X -At -h 127.0.0.1 -p "$port" -U app -d app -c 'SELECT 1'
    psql_db "CREATE TABLE standin_marker (id int); INSERT INTO standin_marker VALUES (42);" >/dev/null
    start=$SECONDS
    d restart "$P-db" >/dev/null
    say "db restarted (SIGINT stop + start) in $((SECONDS - start))s"
    check "db healthy again after restart" wait_for 60 is_healthy "$P-db"
    check "restart keeps the data" equals 42 psql_db 'SELECT id FROM standin_marker'
    d logs "$P-db" >"$tmp/db.log" 2>&1
    check "initdb.d ran exactly once (10-q3c.sql, 20-extra-extensions.sh)" equals "1 1" \
        echo "$(grep -c 'running /docker-entrypoint-initdb.d/10-q3c.sql' "$tmp/db.log")" \
        "$(grep -c 'running /docker-entrypoint-initdb.d/20-extra-extensions.sh' "$tmp/db.log")"
    check "second start skipped initialization" grep -q 'skipping initialization' "$tmp/db.log"
    check "stop signal SIGINT gives a fast shutdown" grep -q 'received fast shutdown request' "$tmp/db.log"
}

section_initdb() {
    mkdir -p "$tmp/initdb"
    printf 'CREATE TABLE from_gz (v text); INSERT INTO from_gz VALUES (%s);\n' "'gz'" | gzip >"$tmp/initdb/10-a.sql.gz"
    # Sourced (not executable): sees the entrypoint's functions and variables.
    printf 'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "CREATE TABLE sourced_sh (v text)"\n' >"$tmp/initdb/20-b.sh"
    printf '#!/bin/sh\nset -e\npsql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "CREATE TABLE executed_sh (v text)"\n' >"$tmp/initdb/30-c.sh"
    chmod 0644 "$tmp/initdb/10-a.sql.gz" "$tmp/initdb/20-b.sh"
    chmod 0755 "$tmp/initdb/30-c.sh" "$tmp/initdb"
    d create --name "$P-pg" --label "$VL" -e POSTGRES_PASSWORD=x -e POSTGRES_USER=u -e POSTGRES_DB=dbx \
        --health-cmd 'pg_isready -h 127.0.0.1 -U u -d dbx' --health-interval 1s --health-retries 120 \
        postgres:15-bookworm >/dev/null
    d cp "$tmp/initdb/." "$P-pg:/docker-entrypoint-initdb.d/"
    d start "$P-pg" >/dev/null
    check "stand-in postgres healthy with *.sql.gz, sourced *.sh and executed *.sh init files" wait_for 90 is_healthy "$P-pg"
    check "all three init files took effect" equals executed_sh,from_gz,sourced_sh \
        d exec "$P-pg" psql -X -At -U u -d dbx -c "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
    check "an empty PGDATA without POSTGRES_PASSWORD is refused" \
        fails_saying 'superuser password is not specified' timeout 60 "$DOCKER" run --rm --label "$VL" postgres:15-bookworm
    check "a non-postgres command is exec'd as it is" equals 0 d run --rm --label "$VL" postgres:15-bookworm id -u
    check "postgres --version runs as it is" says '^postgres \(PostgreSQL\) 15\.' d run --rm --label "$VL" postgres:15-bookworm postgres --version
    d rm -fv "$P-pg" >/dev/null
}

section_backup() {
    check "images/backup builds unchanged on postgres:15-bookworm (PG_MAJOR=15)" \
        timed_build "$P/backup:pg15" "$project/images/backup" --build-arg PG_MAJOR=15 || return
    if ! { start_db && wait_for 120 is_healthy "$P-db"; }; then bad "backup: db not healthy"; return; fi
    d volume create --label "$VL" "$P-backups" >/dev/null
    local env=(-e PGHOST=db -e PGPORT=5432 -e PGDATABASE=app -e PGUSER=app -e 'PGPASSWORD=s3cret pass' -e BACKUP_DIR=/backups)
    check "backup.sh writes a verified dump" \
        d run --rm --label "$VL" --network "$NET" "${env[@]}" -v "$P-backups:/backups" "$P/backup:pg15" /usr/local/bin/backup.sh
    check "restore.sh --force latest restores it (q3c, single transaction)" \
        d run --rm --label "$VL" --network "$NET" "${env[@]}" -v "$P-backups:/backups" "$P/backup:pg15" /usr/local/bin/restore.sh --force latest
    d run -d --name "$P-backup" --label "$VL" --network "$NET" "${env[@]}" -v "$P-backups:/backups" "$P/backup:pg15" >/dev/null
    check "the backup image's CMD (schedule.sh) runs and writes its status file" \
        wait_for 20 d exec "$P-backup" test -f /tmp/last-backup-ok
    local start=$SECONDS
    d stop -t 20 "$P-backup" >/dev/null
    check "schedule.sh stops on docker stop at once ($((SECONDS - start))s)" test $((SECONDS - start)) -lt 5
}

section_app() {
    check "app/ builds unchanged on python:3.12-slim-bookworm (pip installs app/requirements.txt from PyPI)" \
        timed_build "$P/app:test" "$project/app" || return
    check "python manage.py check" \
        d run --rm --label "$VL" -e DJANGO_SECRET_KEY=standin-verify "$P/app:test" python manage.py check
    d run --rm --label "$VL" "$P/app:test" sh -c 'python --version; pip --version; pip list 2>/dev/null | grep -Ei "^(django|gunicorn|psycopg2-binary|whitenoise) "' |
        sed 's/^/        /'
    if ! { start_db && wait_for 120 is_healthy "$P-db"; }; then bad "app: db not healthy"; return; fi
    d volume create --label "$VL" "$P-static" >/dev/null
    # shellcheck disable=SC2054 # commas inside a value
    local env=(-e DJANGO_SECRET_KEY=standin-verify -e POSTGRES_HOST=db -e POSTGRES_DB=app -e POSTGRES_USER=app
        -e 'POSTGRES_PASSWORD=s3cret pass' -e DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1)
    local release='python3 manage.py migrate --noinput && python3 manage.py collectstatic --noinput'
    if have_program; then release=$(program "m('release').DJANGO_RELEASE_SCRIPT"); fi
    check "release step (migrate with the q3c index, collectstatic) against the stand-in db" \
        d run --rm --label "$VL" --network "$NET" "${env[@]}" -v "$P-static:/app/staticfiles" "$P/app:test" sh -c "$release"
    d run -d --name "$P-app" --label "$VL" --network "$NET" --network-alias app "${env[@]}" \
        -v "$P-static:/app/staticfiles" "$P/app:test" >/dev/null
    local hc=(python3 /app/healthcheck.py)
    if have_program; then mapfile -t hc < <(program "m('healthchecks').httpHealthcheck(8000, '/accounts/login/').tests.slice(1).join('\n')"); fi
    check "gunicorn answers the program's python3 healthcheck" wait_for 60 d exec "$P-app" "${hc[@]}"
}

section_nginx() {
    have_program || { bad "nginx: node_modules missing (npm ci), cannot render the program's config"; return; }
    # The program's site config (no TLS, and the Let's Encrypt variant with its watcher).
    program "m('nginxConfig').renderNginxSite({ serverNames: ['localhost'], upstream: 'app:8000', resolver: '127.0.0.11',
        listenPort: 80, staticUrl: '/static/', staticRoot: '/srv/static/', mediaUrl: '/media/', mediaRoot: '/srv/media/',
        healthPort: 8081, clientMaxBodySize: '20m' })" >"$tmp/site.conf"
    program "m('nginxConfig').renderNginxSite({ serverNames: ['localhost'], upstream: 'app:8000', resolver: '127.0.0.11',
        listenPort: 80, staticUrl: '/static/', staticRoot: '/srv/static/', mediaUrl: '/media/', mediaRoot: '/srv/media/',
        healthPort: 8081, clientMaxBodySize: '20m', tls: { certificate: '/etc/nginx/tls/fullchain.pem',
        key: '/etc/nginx/tls/privkey.pem', hsts: true, acmeWebroot: '/var/www/certbot' } })" >"$tmp/site-tls.conf"
    program "m('certificates').renderCertificateWatcher({ intervalSeconds: 2 })" >"$tmp/90-webstack-certificates.sh"
    program "m('healthchecks').commandHealthcheck(['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8081/healthz']).tests.slice(1).join(' ')" >"$tmp/nginx-hc"
    chmod 0755 "$tmp/90-webstack-certificates.sh"

    check "the official image's nginx.conf (pkg-oss 1.27.3-1), byte for byte" \
        cmp_image_file nginx:1.27.3-alpine /etc/nginx/nginx.conf "$here/nginx/nginx.conf"
    d run --rm --label "$VL" nginx:1.27.3-alpine nginx -T 2>/dev/null | tr -s ' ' >"$tmp/nginx-T"
    check "main config: user, worker_processes auto, pid; in http: sendfile on, keepalive_timeout 65, mime.types, default_type, access_log, conf.d include" \
        equals 9 grep -c -e '^user nginx;' -e '^worker_processes auto;' -e '^pid /var/run/nginx.pid;' -e '^ sendfile on;' \
            -e '^ keepalive_timeout 65;' -e '^ include /etc/nginx/mime.types;' -e '^ default_type application/octet-stream;' \
            -e '^ access_log /var/log/nginx/access.log main;' -e '^ include /etc/nginx/conf.d/\*.conf;' "$tmp/nginx-T"
    printf 'sendfile on;\n' >"$tmp/dup.conf"
    check "like the official image, a conf.d file repeating sendfile is refused (directive is duplicate)" \
        fails_saying 'directive is duplicate' "$DOCKER" run --rm --label "$VL" -v "$tmp/dup.conf:/etc/nginx/conf.d/dup.conf:ro" nginx:1.27.3-alpine nginx -t

    # The app from section_app serves behind it when it ran; start a stub otherwise.
    d network create --label "$VL" "$NET" >/dev/null 2>&1 || true
    if ! d inspect "$P-app" >/dev/null 2>&1; then
        d run -d --name "$P-app" --label "$VL" --network "$NET" --network-alias app python:3.12-slim-bookworm \
            python3 -m http.server 8000 >/dev/null
    fi
    d volume create --label "$VL" "$P-static" >/dev/null 2>&1 || true
    d volume create --label "$VL" "$P-le" >/dev/null
    d create --name "$P-nginx" --label "$VL" --network "$NET" -p 127.0.0.1::80 \
        -v "$P-static:/srv/static:ro" -v "$P-le:/etc/letsencrypt:ro" \
        --health-cmd "$(cat "$tmp/nginx-hc")" --health-interval 1s --health-retries 30 \
        nginx:1.27.3-alpine >/dev/null
    # As the docker provider's `uploads` do: files placed before the container starts.
    d cp "$tmp/site.conf" "$P-nginx:/etc/nginx/conf.d/default.conf"
    d cp "$tmp/90-webstack-certificates.sh" "$P-nginx:/docker-entrypoint.d/90-webstack-certificates.sh"
    d start "$P-nginx" >/dev/null
    check "nginx with the program's site config becomes healthy (wget healthcheck)" wait_for 30 is_healthy "$P-nginx"
    local port
    port=$(host_port "$P-nginx" 80)
    check "the entrypoint launched the program's /docker-entrypoint.d/ script" \
        logs_say "$P-nginx" 'Launching /docker-entrypoint.d/90-webstack-certificates.sh'
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Host: localhost' "http://127.0.0.1:$port/accounts/login/")
    check "proxies to the app (127.0.0.1:$port, Host: localhost: HTTP $code)" test "$code" -ge 200 -a "$code" -lt 500
    check "unknown Host gets no answer (444)" not curl -s --max-time 5 -H 'Host: other.example' -o /dev/null "http://127.0.0.1:$port/"
    check "workers run as the nginx user (uid 101)" equals 101 worker_uids "$P-nginx"
    local start=$SECONDS
    d stop "$P-nginx" >/dev/null
    check "stops on SIGQUIT at once ($((SECONDS - start))s)" test $((SECONDS - start)) -lt 5
    d rm -fv "$P-nginx" >/dev/null

    # TLS variant: placeholder certificate, then the watcher installs the "issued" one and reloads.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=placeholder \
        -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" >/dev/null 2>&1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 -subj /CN=localhost \
        -keyout "$tmp/le-privkey.pem" -out "$tmp/le-fullchain.pem" >/dev/null 2>&1
    d create --name "$P-nginx" --label "$VL" --network "$NET" -p 127.0.0.1::443 \
        -v "$P-static:/srv/static:ro" -v "$P-le:/etc/letsencrypt:ro" \
        --health-cmd "$(cat "$tmp/nginx-hc")" --health-interval 1s --health-retries 30 \
        nginx:1.27.3-alpine >/dev/null
    d cp "$tmp/site-tls.conf" "$P-nginx:/etc/nginx/conf.d/default.conf"
    mkdir -p "$tmp/tls" && cp "$tmp/fullchain.pem" "$tmp/privkey.pem" "$tmp/tls/"
    d cp "$tmp/tls" "$P-nginx:/etc/nginx/tls"
    d cp "$tmp/90-webstack-certificates.sh" "$P-nginx:/docker-entrypoint.d/90-webstack-certificates.sh"
    d start "$P-nginx" >/dev/null
    check "nginx with the program's TLS config becomes healthy" wait_for 30 is_healthy "$P-nginx"
    port=$(host_port "$P-nginx" 443)
    check "serves the placeholder certificate first" served_cn_is "$port" placeholder
    d run --rm --label "$VL" -v "$P-le:/le" -v "$tmp:/src:ro" nginx:1.27.3-alpine \
        sh -c 'mkdir -p /le/live/site && cp /src/le-fullchain.pem /le/live/site/fullchain.pem && cp /src/le-privkey.pem /le/live/site/privkey.pem' >/dev/null
    check "the watcher installs the issued certificate and reloads nginx" wait_for 20 served_cn_is "$port" localhost
    d rm -fv "$P-nginx" >/dev/null
}

section_autoheal() {
    # A label of our own, so that the check cannot touch anybody else's containers on this
    # engine; the program's other settings as they are, with a short interval.
    local label=$P-autoheal env=() e
    if have_program; then mapfile -t env < <(program "m('autoheal').AUTOHEAL_ENVIRONMENT.join('\n')"); fi
    local args=()
    for e in "${env[@]}"; do
        case $e in AUTOHEAL_CONTAINER_LABEL=* | AUTOHEAL_INTERVAL=*) ;; *) args+=(-e "$e") ;; esac
    done
    local target=(--label "$VL" --init --health-interval 1s --health-retries 1 --health-timeout 2s webstack-standin/debian:bookworm sleep 600)
    d run -d --name "$P-sick-true" --label "$label=true" --label autoheal.stop.timeout=3 --health-cmd false "${target[@]}" >/dev/null
    d run -d --name "$P-sick-false" --label "$label=false" --health-cmd false "${target[@]}" >/dev/null
    d run -d --name "$P-sick-nolabel" --health-cmd false "${target[@]}" >/dev/null
    d run -d --name "$P-well-true" --label "$label=true" --health-cmd true "${target[@]}" >/dev/null
    local c before=()
    for c in sick-true sick-false sick-nolabel well-true; do before+=("$(started_at "$P-$c")"); done
    wait_for 20 equals unhealthy health "$P-sick-true"
    d run -d --name "$P-autoheal" --label "$VL" "${args[@]}" -e "AUTOHEAL_CONTAINER_LABEL=$label" -e AUTOHEAL_INTERVAL=2 \
        -v /var/run/docker.sock:/var/run/docker.sock --network none willfarrell/autoheal:1.2.0 >/dev/null
    check "restarts the unhealthy container labelled $label=true" wait_for 40 not equals "${before[0]}" started_at "$P-sick-true"
    sleep 4
    check "leaves the unhealthy container labelled =false alone" test "$(started_at "$P-sick-false")" = "${before[1]}"
    check "leaves the unhealthy unlabelled container alone" test "$(started_at "$P-sick-nolabel")" = "${before[2]}"
    check "leaves the healthy labelled container alone" test "$(started_at "$P-well-true")" = "${before[3]}"
    check "uses the autoheal.stop.timeout label (3s)" logs_say "$P-autoheal" "$P-sick-true .* with 3s timeout"
    check "autoheal's own healthcheck passes" wait_for 20 is_healthy "$P-autoheal"
    local start=$SECONDS
    d stop "$P-autoheal" >/dev/null
    check "autoheal stops on SIGTERM at once ($((SECONDS - start))s)" test $((SECONDS - start)) -lt 5
    d rm -fv "$P-sick-true" "$P-sick-false" "$P-sick-nolabel" "$P-well-true" "$P-autoheal" >/dev/null
}

section_certbot() {
    check "entrypoint is certbot (certbot --version)" says '^certbot [0-9]' d run --rm --label "$VL" certbot/certbot:v2.11.0 --version
    have_program || { bad "certbot: node_modules missing (npm ci), cannot render the program's probe"; return; }
    local probe loop
    probe=$(program "m('certificates').CERTIFICATE_HEALTH_PROBE")
    loop=$(program "m('certificates').renderCertbotLoop({ domains: ['example.invalid'], email: 'ops@example.invalid', staging: true })")
    d volume create --label "$VL" "$P-le2" >/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 60 -subj /CN=x -keyout /dev/null -out "$tmp/long.pem" >/dev/null 2>&1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 5 -subj /CN=x -keyout /dev/null -out "$tmp/short.pem" >/dev/null 2>&1
    local mount=(-v "$P-le2:/etc/letsencrypt" -v "$tmp:/src:ro")
    d run --rm --label "$VL" "${mount[@]}" --entrypoint sh certbot/certbot:v2.11.0 -c 'mkdir -p /etc/letsencrypt/live/site && cp /src/long.pem /etc/letsencrypt/live/site/fullchain.pem' >/dev/null
    check "the program's python3 probe: healthy with 60 days left" \
        d run --rm --label "$VL" "${mount[@]}" --entrypoint python3 certbot/certbot:v2.11.0 -c "$probe"
    d run --rm --label "$VL" "${mount[@]}" --entrypoint sh certbot/certbot:v2.11.0 -c 'cp /src/short.pem /etc/letsencrypt/live/site/fullchain.pem' >/dev/null
    check "the program's python3 probe: unhealthy with 5 days left" \
        not d run --rm --label "$VL" "${mount[@]}" --entrypoint python3 certbot/certbot:v2.11.0 -c "$probe"
    # The loop with entrypoint ["sh", "-c"]; no ACME server is reachable, so certbot fails
    # and the loop must carry on (and stop at once on docker stop).
    d run -d --name "$P-certbot" --label "$VL" --network none -v "$P-le2:/etc/letsencrypt" \
        --entrypoint sh certbot/certbot:v2.11.0 -c "$loop" >/dev/null
    check "the program's certbot loop runs certbot and keeps going after a failure" \
        wait_for 60 logs_say "$P-certbot" 'trying again in an hour' 
    local start=$SECONDS
    d stop "$P-certbot" >/dev/null
    check "the loop stops on docker stop at once ($((SECONDS - start))s)" test $((SECONDS - start)) -lt 5
    d rm -fv "$P-certbot" >/dev/null
}

section_traefik() {
    if ! d image inspect traefik:v3.2.3 >/dev/null 2>&1; then
        say "SKIP  traefik: no traefik:v3.2.3 stand-in (see tests/standins/README.md)"
        return
    fi
    check "traefik:v3.2.3 is a labelled stand-in" is_standin traefik:v3.2.3
    check "traefik version is 3.2.3" says 'Version: *v?3\.2\.3$' d run --rm --label "$VL" traefik:v3.2.3 version
    local args=(--providers.docker=true --providers.docker.exposedbydefault=false --entrypoints.web.address=:80 --ping=true)
    if have_program; then
        mapfile -t args < <(program "require('$project/components/traefikConfig').traefikArguments({ network: '$NET' }).join('\n')")
    fi
    d network create --label "$VL" "$NET" >/dev/null 2>&1 || true
    d run -d --name "$P-traefik" --label "$VL" --network "$NET" -p 127.0.0.1::80 \
        -v /var/run/docker.sock:/var/run/docker.sock:ro \
        --health-cmd 'traefik healthcheck --ping' --health-interval 1s --health-retries 30 \
        traefik:v3.2.3 "${args[@]}" >/dev/null
    check "traefik with the program's arguments passes its ping healthcheck" wait_for 30 is_healthy "$P-traefik"
    if have_program; then
        # A backend labelled by the program's traefikRouterLabels, found over the socket.
        local labels=()
        mapfile -t labels < <(program "require('$project/components/traefikConfig').traefikRouterLabels({ router: 'web',
            hosts: ['localhost'], port: 8000, network: '$NET', tls: false, hsts: false, maxBodySize: '20m' })
            .map((l) => '--label=' + l.label + '=' + l.value).join('\n')")
        d run -d --name "$P-traefik-backend" --label "$VL" "${labels[@]}" --network "$NET" \
            python:3.12-slim-bookworm python3 -m http.server 8000 >/dev/null
        local port
        port=$(host_port "$P-traefik" 80)
        check "routes Host: localhost to a container carrying the program's router labels (127.0.0.1:$port)" \
            wait_for 20 says '^200 nosniff$' curl -s -o /dev/null --max-time 5 -H 'Host: localhost' \
            -w '%{http_code} %header{x-content-type-options}' "http://127.0.0.1:$port/"
        check "other hosts get 404" says '^404$' curl -s -o /dev/null --max-time 5 -H 'Host: other.example' -w '%{http_code}' "http://127.0.0.1:$port/"
        d rm -fv "$P-traefik-backend" >/dev/null
    fi
    d rm -fv "$P-traefik" >/dev/null
}

# ---------------------------------------------------------------------------------------
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(labels db initdb backup app nginx autoheal certbot traefik)
timeout 20 "$DOCKER" info >/dev/null 2>&1 || { say "no engine: run tests/engine/dockerd.sh start"; exit 1; }
exec 3>&1
cleanup
tmp=$(mktemp -d)
for s in "${sections[@]}"; do
    say "---- $s"
    "section_$s"
done
say "$passed passed, $failed failed, in $((SECONDS - t0))s"
exit "$failed"
