#!/bin/sh
# TEST-ONLY stand-in for the official nginx image's /docker-entrypoint.sh (written for the
# tests, same contract): when the command is nginx or nginx-debug, runs the files in
# /docker-entrypoint.d/ in version order: executable *.sh are run, executable *.envsh are
# sourced, anything else is ignored with a message. Then exec's the command.
# NGINX_ENTRYPOINT_QUIET_LOGS=1 silences the messages.
set -e

say() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then echo "$0: $*"; fi
}

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    files=$(find /docker-entrypoint.d/ -follow -mindepth 1 -maxdepth 1 -type f -print | sort -V)
    if [ -n "$files" ]; then
        say "/docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        # The list comes in on fd 3, so a script that reads stdin cannot swallow it.
        while read -r f <&3; do
            case $f in
                *.envsh)
                    # shellcheck disable=SC1090
                    if [ -x "$f" ]; then say "Sourcing $f"; . "$f"; else say "Ignoring $f, not executable"; fi
                    ;;
                *.sh)
                    if [ -x "$f" ]; then say "Launching $f"; "$f"; else say "Ignoring $f, not executable"; fi
                    ;;
                *) say "Ignoring $f" ;;
            esac
        done 3<<EOF
$files
EOF
        say "Configuration complete; ready for start up"
    else
        say "No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
