# shellcheck shell=bash
# shellcheck disable=SC2034 # BACKUP_CONTAINER and HOST_DESCRIPTION are for the sourcing script
# Shared by scripts/backup and scripts/restore: finds a stack's backup container from its
# Pulumi outputs and points the docker CLI at the stack's host.
#
# Stack outputs read (pulumi stack output --stack STACK --json):
#   backupContainer  the backup container's name
#   sshCommand       "ssh [options] user@address" for remote hosts, "" for local Docker
#   hostAddress      the host's address (messages only)

die() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH: $2"
}

# json_field JSON FIELD: a top-level string field, "" when absent or null.
json_field() {
    if command -v jq >/dev/null 2>&1; then
        jq -r --arg f "$2" '.[$f] // "" | tostring' <<<"$1"
    else
        need node "install jq or Node.js to read the stack's outputs"
        node -e 'const o = JSON.parse(process.argv[1]); const v = o[process.argv[2]]; process.stdout.write(v == null ? "" : String(v));' "$1" "$2"
    fi
}

# use_stack STACK: sets BACKUP_CONTAINER and HOST_DESCRIPTION, and exports DOCKER_HOST
# (plus a PATH with an ssh wrapper when sshCommand carries options such as -i KEY).
use_stack() {
    local stack=$1 outputs ssh_command address
    need pulumi "install the Pulumi CLI (https://www.pulumi.com/docs/install/)"
    need docker "install the Docker CLI"
    outputs=$(pulumi stack output --stack "$stack" --json) ||
        die "could not read the outputs of stack '$stack' (pulumi stack output --stack $stack --json failed; logged in, right directory?)"
    BACKUP_CONTAINER=$(json_field "$outputs" backupContainer)
    ssh_command=$(json_field "$outputs" sshCommand)
    address=$(json_field "$outputs" hostAddress)
    [ -n "$BACKUP_CONTAINER" ] ||
        die "stack '$stack' has no backupContainer output; deploy the backup container first (pulumi up --stack $stack)"

    if [ -z "$ssh_command" ]; then
        HOST_DESCRIPTION="local Docker${address:+ ($address)}"
        return 0
    fi
    local -a words options=()
    read -r -a words <<<"$ssh_command"
    if [ "${#words[@]}" -lt 2 ] || [ "${words[0]##*/}" != ssh ]; then
        die "stack '$stack': cannot read sshCommand '$ssh_command' (expected 'ssh [options] user@host')"
    fi
    local destination=${words[${#words[@]} - 1]}
    [[ $destination == *@* ]] ||
        die "stack '$stack': sshCommand '$ssh_command' does not end in user@host"
    options=("${words[@]:1:${#words[@]}-2}")
    export DOCKER_HOST="ssh://$destination"
    HOST_DESCRIPTION="$destination over ssh"
    if [ "${#options[@]}" -gt 0 ]; then
        # DOCKER_HOST=ssh:// runs the `ssh` on PATH; it cannot take options such as -i KEY,
        # so a wrapper on PATH adds them.
        local real_ssh wrapper_dir
        need ssh "install an OpenSSH client"
        real_ssh=$(command -v ssh)
        wrapper_dir=$(mktemp -d)
        # shellcheck disable=SC2064 # expand now: the directory is known now
        trap "rm -rf '$wrapper_dir'" EXIT
        printf '#!/bin/sh\nexec %q %s "$@"\n' "$real_ssh" "$(printf '%q ' "${options[@]}")" >"$wrapper_dir/ssh"
        chmod +x "$wrapper_dir/ssh"
        export PATH="$wrapper_dir:$PATH"
    fi
}
