#!/usr/bin/env bash
# tests/integration/app-venv.sh: the reference app's pinned requirements (app/requirements.txt),
# installed from PyPI into a virtualenv outside the repo, for the integration tests. Keyed by a
# hash of the requirements and the Python version, so a second run reuses it. Prints its path.
#   WEBSTACK_APP_VENV_ROOT   where venvs live (default /var/cache/webstack-toolchain)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
requirements="$here/../../app/requirements.txt"
python=/usr/bin/python3
[ -x "$python" ] || { echo "app-venv: $python is missing: apt-get install -y python3" >&2; exit 1; }
"$python" -c 'import venv, ensurepip' 2>/dev/null || { echo "app-venv: python3 cannot make a venv: apt-get install -y python3-venv" >&2; exit 1; }
key=$( { "$python" --version; cat "$requirements"; } | sha256sum | cut -c1-12)
venv="${WEBSTACK_APP_VENV_ROOT:-/var/cache/webstack-toolchain}/app-venv-$key"
if [ ! -e "$venv/.complete" ]; then
    start=$(date +%s)
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv" >&2
    if ! "$venv/bin/pip" install --quiet --no-cache-dir -r "$requirements" >&2; then
        rm -rf "$venv"
        echo "app-venv: pip could not install app/requirements.txt from PyPI" >&2
        exit 1
    fi
    touch "$venv/.complete"
    echo "app-venv: installed app/requirements.txt into $venv in $(( $(date +%s) - start )) s" >&2
fi
echo "$venv"
