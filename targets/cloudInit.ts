import * as YAML from "yaml";

/** Where cloud hosts mount their block volume. */
export const DATA_MOUNT = "/mnt/data";
/** Written by the setup script when the host is ready for containers. */
export const READY_MARKER = "/var/lib/webstack/ready";
const SETUP_SCRIPT = "/usr/local/sbin/webstack-setup";

export interface UserDataOptions {
    sshUser: string;
    sshPublicKeys: string[];
    /**
     * Candidate device paths of the data volume, most stable first. Empty: a host without one
     * (a Swarm worker), whose Docker keeps everything on the root disk.
     */
    dataDevices: string[];
}

/**
 * Mounts the data volume (formatting it only when it holds nothing), then installs Docker,
 * which systemd will only start once the volume is mounted. Run by cloud-init, once. Without
 * data devices (a worker): installs Docker only.
 */
export function renderSetupScript(o: { sshUser: string; dataDevices: string[] }): string {
    return `#!/bin/sh
set -eu
${o.dataDevices.length === 0 ? "" : renderMountDataVolume(o.dataDevices)}DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io
usermod -aG docker '${o.sshUser}'
systemctl enable --now docker
mkdir -p "$(dirname '${READY_MARKER}')"
touch '${READY_MARKER}'
echo "webstack: host ready"
`;
}

/** The part of the setup script that finds, formats (only when blank) and mounts the data volume. */
function renderMountDataVolume(dataDevices: string[]): string {
    const devices = dataDevices.map((d) => `'${d}'`).join(" ");
    return `mount_point='${DATA_MOUNT}'
set -- ${devices}

device=''
attempt=0
while [ -z "$device" ]; do
    for candidate in "$@"; do
        if [ -b "$candidate" ]; then device=$(readlink -f "$candidate"); break; fi
    done
    if [ -z "$device" ]; then
        attempt=$((attempt + 1))
        if [ "$attempt" -gt 120 ]; then
            echo "webstack: the data volume did not appear (looked for ${dataDevices.join(", ")})" >&2
            exit 1
        fi
        sleep 5
    fi
done

# blkid -p exits 2 only when the device holds no filesystem or partition table at all.
set +e
blkid -p "$device" >/dev/null 2>&1
probe=$?
set -e
case "$probe" in
    0) echo "webstack: $device already has a filesystem, keeping it" ;;
    2) echo "webstack: $device is blank, formatting it"
       mkfs.ext4 -q -L webstack-data "$device" ;;
    *) echo "webstack: cannot tell whether $device is blank (blkid exit $probe); not touching it" >&2
       exit 1 ;;
esac

uuid=$(blkid -s UUID -o value "$device")
mkdir -p "$mount_point"
if ! grep -q "^UUID=$uuid " /etc/fstab; then
    echo "UUID=$uuid $mount_point ext4 defaults,nofail,discard 0 2" >> /etc/fstab
fi
systemctl daemon-reload
mountpoint -q "$mount_point" || mount "$mount_point"
mkdir -p "$mount_point/postgres"

`;
}

/** cloud-config user-data for a cloud host: the operator's user, the data volume (if any), Docker. */
export function renderUserData(o: UserDataOptions): string {
    const config = {
        users: [
            "default",
            {
                name: o.sshUser,
                shell: "/bin/bash",
                sudo: "ALL=(ALL) NOPASSWD:ALL",
                lock_passwd: true,
                ssh_authorized_keys: o.sshPublicKeys,
            },
        ],
        ssh_pwauth: false,
        package_update: true,
        packages: ["ca-certificates"],
        write_files: [
            {
                path: "/etc/docker/daemon.json",
                permissions: "0644",
                content: JSON.stringify({
                    "log-driver": "json-file",
                    "log-opts": { "max-size": "20m", "max-file": "5" },
                    "live-restore": true,
                }, null, 2) + "\n",
            },
            // Docker must never start containers on the root disk while the volume is missing.
            ...(o.dataDevices.length === 0 ? [] : [{
                path: "/etc/systemd/system/docker.service.d/10-data-volume.conf",
                permissions: "0644",
                content: `[Unit]\nRequiresMountsFor=${DATA_MOUNT}\n`,
            }]),
            {
                path: SETUP_SCRIPT,
                permissions: "0755",
                content: renderSetupScript(o),
            },
        ],
        runcmd: [[SETUP_SCRIPT]],
    };
    return "#cloud-config\n" + YAML.stringify(config, { lineWidth: 0 });
}
