/**
 * The Django release step, run once per deploy in a one-shot container from the app image:
 * migrate, collectstatic, and a createsuperuser that is skipped when the user exists.
 * Safe to run any number of times.
 */
export const DJANGO_RELEASE_SCRIPT = `set -eu
echo "release: migrate"
python3 manage.py migrate --noinput
echo "release: collectstatic"
python3 manage.py collectstatic --noinput
if [ -z "\${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
    echo "release: no superuser password set, skipping createsuperuser"
    exit 0
fi
# Exit 0: the user exists; 3: it does not; anything else is a real failure.
set +e
python3 manage.py shell -c '
import os, sys
from django.contrib.auth import get_user_model
User = get_user_model()
lookup = {User.USERNAME_FIELD: os.environ["DJANGO_SUPERUSER_USERNAME"]}
sys.exit(0 if User._default_manager.filter(**lookup).exists() else 3)
'
status=$?
set -e
case "$status" in
    0) echo "release: superuser \${DJANGO_SUPERUSER_USERNAME} exists" ;;
    3) echo "release: creating superuser \${DJANGO_SUPERUSER_USERNAME}"
       python3 manage.py createsuperuser --noinput ;;
    *) echo "release: could not check for the superuser (exit $status)" >&2
       exit "$status" ;;
esac
`;

/**
 * The release container's command: the configured one, or for Django the script above. Other
 * kinds have no release step unless one is configured (an empty list).
 */
export function releaseCommand(kind: string, configured: string[]): string[] {
    if (configured.length > 0) return configured;
    return kind === "django" ? ["sh", "-c", DJANGO_RELEASE_SCRIPT] : [];
}

export interface ReleaseRunOptions {
    /** Container name on the host; a failed run is kept under it for `docker logs`. */
    name: string;
    image: string;
    network: string;
    /** -v sources (volume names or host directories) and their paths in the container. */
    mounts: { source: string; target: string; readOnly?: boolean }[];
    command: string[];
    /** Replaces the image's entrypoint (appEntrypoint); empty: the image's own. */
    entrypoint?: string[];
    timeoutSeconds: number;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The shell script that runs the release on the host's engine with the docker CLI, its
 * environment read as an env file from standard input (so that no secret is on a command line
 * or in the script, which Pulumi shows).
 * It exits with the release's own code, or 124 when the release ran out of time, and says which.
 * A non-zero exit fails the Pulumi step, so nothing is recorded and the next `up` runs it again:
 * the docker provider's one-shot container never fails on an exit code (it only records it).
 */
export function renderReleaseRun(o: ReleaseRunOptions): string {
    const mounts = o.mounts.map((m) => `-v ${quote(`${m.source}:${m.target}${m.readOnly ? ":ro" : ""}`)}`).join(" ");
    // docker takes one word as --entrypoint; the rest of it goes before the command.
    const [entrypoint, ...entrypointArgs] = o.entrypoint ?? [];
    const argv = [...entrypointArgs, ...o.command];
    return `set -u
name=${quote(o.name)}
docker rm -f "$name" >/dev/null 2>&1 || true
state=$(mktemp -d)
# stdin may be a socket, which /dev/stdin cannot open: keep the env file, owner-only, until created.
(umask 077 && cat > "$state/env")
if ! docker create --name "$name" --env-file "$state/env" --network ${quote(o.network)} ${mounts} \\
        --label webstack.release=true ${entrypoint === undefined ? "" : `--entrypoint ${quote(entrypoint)} `}${quote(o.image)} ${argv.map(quote).join(" ")} >/dev/null; then
    rm -rf "$state"
    echo "release: could not create the release container from ${o.image}" >&2
    exit 1
fi
rm -f "$state/env"
(
    i=0
    while [ "$i" -lt ${o.timeoutSeconds} ]; do
        sleep 1
        i=$((i + 1))
        [ -d "$state" ] && [ ! -e "$state/done" ] || exit 0
    done
    touch "$state/timed-out"
    docker stop -t 30 "$name"
) </dev/null >/dev/null 2>&1 &
docker start -a "$name"
code=$?
touch "$state/done"
if [ -e "$state/timed-out" ]; then
    echo "release: timed out after ${o.timeoutSeconds} s (releaseTimeoutMinutes) and was stopped; the running web container was left as it was" >&2
    code=124
elif [ "$code" -ne 0 ]; then
    echo "release: exited with $code; the running web container was left as it was. Its output is above and in \\\`docker logs ${o.name}\\\` on the host; fix the cause and run pulumi up again" >&2
else
    docker rm "$name" >/dev/null 2>&1 || true
fi
rm -rf "$state"
exit "$code"
`;
}

/** Removes a release container left behind by a failed run. */
export function renderReleaseCleanup(name: string): string {
    return `docker rm -f ${quote(name)} >/dev/null 2>&1 || true`;
}
