import { DATA_MOUNT, READY_MARKER } from "./cloudInit";

/** ssh options shared by the docker provider and the readiness wait. */
export function sshOptions(o: { knownHostsFile?: string; privateKeyPath?: string; port?: number }): string[] {
    return [
        "-o", "StrictHostKeyChecking=accept-new",
        ...(o.knownHostsFile === undefined ? [] : ["-o", `UserKnownHostsFile=${o.knownHostsFile}`]),
        "-o", "ConnectTimeout=10",
        "-o", "ServerAliveInterval=30",
        ...(o.port === undefined || o.port === 22 ? [] : ["-p", String(o.port)]),
        ...(o.privateKeyPath === undefined ? [] : ["-i", o.privateKeyPath]),
    ];
}

/**
 * Waits until Docker answers over ssh on a server that already exists (target ssh): its host key
 * is the operator's known one, so nothing is forgotten, and the deadline is short.
 */
export function renderWaitForDocker(o: { user: string; address: string; sshOptions: string[]; timeoutSeconds?: number }): string {
    const timeout = o.timeoutSeconds ?? 120;
    const ssh = `ssh -o BatchMode=yes ${o.sshOptions.map(quote).join(" ")} ${quote(`${o.user}@${o.address}`)}`;
    return `set -u
deadline=$(( $(date +%s) + ${timeout} ))
while :; do
    if out=$(${ssh} 'docker version --format "{{.Server.Version}}"' 2>&1); then
        echo "host ${o.address}: Docker $out"
        exit 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "host ${o.address}: Docker did not answer over ssh as ${o.user} within ${timeout} s: $out" >&2
        echo "(is ${o.user} in the docker group, and your key in its authorized_keys?)" >&2
        exit 1
    fi
    sleep 5
done
`;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** ssh running `script` on the host, non-interactive, standard input passed through. */
export function sshCommand(o: { user: string; address: string; sshOptions: string[]; script: string }): string {
    return `ssh -o BatchMode=yes ${o.sshOptions.map(quote).join(" ")} ${quote(`${o.user}@${o.address}`)} ${quote(o.script)}`;
}

/**
 * A shell script, run on the operator's machine, that waits until the new host has finished
 * cloud-init, mounted its data volume and started Docker, then grows the data filesystem to the
 * volume's size. A new host has new SSH host keys, so the old entry for its address is dropped first.
 * `dataVolume: false` (a Swarm worker, which has none): cloud-init, the ready marker and Docker only.
 */
export function renderWaitForHost(o: { user: string; address: string; sshOptions: string[]; knownHostsFile: string; timeoutSeconds?: number; dataVolume?: boolean }): string {
    const timeout = o.timeoutSeconds ?? 900;
    const ssh = `ssh -o BatchMode=yes ${o.sshOptions.map(quote).join(" ")} ${quote(`${o.user}@${o.address}`)}`;
    const wait = "cloud-init status --wait >/dev/null 2>&1";
    // A new login: one that started before cloud-init added the user to the docker group has no access.
    const check = o.dataVolume === false
        ? `test -f ${READY_MARKER} && docker info >/dev/null 2>&1 || exit 3`
        : `test -f ${READY_MARKER} && mountpoint -q ${DATA_MOUNT} && docker info >/dev/null 2>&1 || exit 3; ` +
        // After the volume has grown (dataVolumeSizeGb), grow its filesystem; a no-op otherwise.
        `sudo -n resize2fs "$(findmnt -no SOURCE ${DATA_MOUNT})" >/dev/null 2>&1 || echo "could not grow the filesystem on ${DATA_MOUNT}" >&2`;
    return `set -u
known_hosts=${o.knownHostsFile.replace(/^~\//, "\"$HOME\"/")}
mkdir -p "$(dirname "$known_hosts")"
touch "$known_hosts"
ssh-keygen -R ${quote(o.address)} -f "$known_hosts" >/dev/null 2>&1 || true
deadline=$(( $(date +%s) + ${timeout} ))
while :; do
    ${ssh} ${quote(wait)}
    status=$?
    if [ "$status" -ne 255 ]; then
        ${ssh} ${quote(check)}
        status=$?
    fi
    if [ "$status" -eq 0 ]; then echo "host ${o.address} is ready"; exit 0; fi
    if [ "$status" -eq 3 ]; then
        echo "host ${o.address} finished cloud-init but is not ready; see /var/log/cloud-init-output.log on it" >&2
        exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "host ${o.address} did not answer over ssh within ${timeout} s (is your address in sshAllowedCidrs?)" >&2
        exit 1
    fi
    sleep 10
done
`;
}
