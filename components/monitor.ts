import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host, onHost } from "../targets/host";
import { alertEnvironment, AlertTarget } from "./alerts";
import { autohealLabels } from "./autoheal";
import { BACKUP_DIR, MEDIA_DIR } from "./backups";
import { goDuration, Healthcheck } from "./healthchecks";
import { StorageVolume } from "./volumes";

export const MONITOR_INTERVAL_SECONDS = 300;
const HEARTBEAT = "/tmp/monitor-alive";
const DOCKER_SOCKET = "/var/run/docker.sock";

/** monitor.py touches its heartbeat at least every 30 s while its loop and event watcher run. */
export const MONITOR_HEALTHCHECK: Healthcheck = {
    tests: ["CMD-SHELL", `find ${HEARTBEAT} -mmin -3 | grep -q .`],
    interval: goDuration(60),
    timeout: goDuration(10),
    startPeriod: goDuration(60),
    retries: 2,
};

/** monitor.py's settings besides the webhook (images/backup/monitor.py). Pure. */
export function monitorEnvironment(o: {
    intervalSeconds: number; diskPercent: number; certificateDays: number; dataVolume: boolean;
    /** The proxy's TLS address on the frontend network and the site's name (SNI); none with TLS off. */
    tls?: { address: string; serverName: string };
}): string[] {
    const backupsDisk = o.dataVolume ? "the backups storage (data volume)" : "the backups volume (Docker root disk)";
    return [
        `MONITOR_INTERVAL_SECONDS=${o.intervalSeconds}`,
        `ALERT_DISK_PERCENT=${o.diskPercent}`,
        `ALERT_DISKS=${BACKUP_DIR}=${backupsDisk},${MEDIA_DIR}=the media volume (Docker root disk)`,
        `ALERT_CERTIFICATE_DAYS=${o.certificateDays}`,
        `ALERT_TLS_ADDRESS=${o.tls?.address ?? ""}`,
        `ALERT_TLS_SERVERNAME=${o.tls?.serverName ?? ""}`,
        `DOCKER_SOCKET=${DOCKER_SOCKET}`,
        "ALERT_RESTART_LABEL=autoheal=true",
    ];
}

export interface MonitorArgs {
    host: Host;
    prefix: string;
    /** The backup image, which holds monitor.py, notify.py, python3 and openssl. */
    image: pulumi.Input<string>;
    alerts: AlertTarget & { diskPercent: number; certificateDays: number };
    backups: StorageVolume;
    media: StorageVolume;
    /** A route out for the webhook, and the proxy. */
    frontend: docker.Network;
    /** The proxy's TLS endpoint; undefined when TLS is off or there is no proxy. */
    tls?: { address: string; serverName: pulumi.Input<string> };
}

/**
 * Sends alerts to the webhook: containers autoheal restarted (Docker events), full disks, and the
 * site's certificate close to expiry. Reads the host through the Docker socket and read-only mounts.
 */
export class Monitor extends pulumi.ComponentResource {
    readonly container: docker.Container;

    constructor(name: string, args: MonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Monitor", name, {}, opts);
        const environment = pulumi.secret(pulumi.all([args.alerts.webhookUrl, args.tls?.serverName]).apply(([webhookUrl, serverName]) => [
            ...alertEnvironment({ webhookUrl, format: args.alerts.format, source: args.prefix }),
            ...monitorEnvironment({
                intervalSeconds: MONITOR_INTERVAL_SECONDS,
                diskPercent: args.alerts.diskPercent,
                certificateDays: args.alerts.certificateDays,
                dataVolume: args.host.dataDir !== undefined,
                tls: args.tls === undefined ? undefined : { address: args.tls.address, serverName: serverName! },
            }),
        ]));
        this.container = new docker.Container(name, {
            name: `${args.prefix}-monitor`,
            image: args.image,
            command: ["python3", "/usr/local/bin/monitor.py"],
            envs: environment,
            volumes: [
                // Read-only bind; the socket still answers any API call: it reads events only.
                { hostPath: DOCKER_SOCKET, containerPath: DOCKER_SOCKET, readOnly: true },
                args.backups.mount(BACKUP_DIR, true),
                args.media.mount(MEDIA_DIR, true),
            ],
            networksAdvanced: [{ name: args.frontend.name }],
            healthcheck: MONITOR_HEALTHCHECK,
            labels: autohealLabels(10),
            stopTimeout: 10,
            restart: "unless-stopped",
        }, onHost(args.host, this));
        this.registerOutputs({ container: this.container.name });
    }
}
