#!/bin/sh
# The db image's entrypoint: refuses a data directory whose first initialisation failed, then
# hands over to the official docker-entrypoint.sh with the same arguments.
#
# initdb.d/00-init-started.sh leaves PGDATA/webstack-init-incomplete until
# initdb.d/99-init-complete.sh removes it. If an initdb.d file failed (an extension that the
# image does not ship, a broken schema SQL file), the mark is still there and the data
# directory holds a database that was never finished. The official entrypoint would skip
# initialisation on the next start and serve it, silently; this stops the container instead,
# on every start, with the reason in `docker logs`.
#
# Only the server is refused: any other command (bash, pg_controldata, ...) runs, to inspect or
# repair the data directory.
set -eu
data=${PGDATA:-/var/lib/postgresql/data}
mark=$data/webstack-init-incomplete
case ${1:-postgres} in
    postgres | -*) server=1 ;;
    *) server=0 ;;
esac
if [ "$server" = 1 ] && [ -f "$mark" ]; then
    cat >&2 <<MSG
webstack-entrypoint.sh: ERROR: the first initialisation of $data did not complete: an
  /docker-entrypoint-initdb.d file failed (the reason is in this container's earliest log lines,
  e.g. an extension the image does not ship, or an error in the app's schema SQL). The data
  directory holds a half-initialised database, so the server is not started.
  To recover: fix the cause, then start over on an EMPTY data directory (remove the stack's
  database volume, or the host directory it lives in) so that initialisation runs again.
  To start the half-initialised database anyway, delete $mark.
MSG
    exit 1
fi
exec docker-entrypoint.sh "$@"
