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

/** The release container's command: the configured one, or the Django script above. */
export function releaseCommand(configured: string[]): string[] {
    return configured.length > 0 ? configured : ["sh", "-c", DJANGO_RELEASE_SCRIPT];
}
