import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { projectRoot } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { alertEnvironment, AlertTarget } from "./alerts";
import { Database, DATABASE_HOSTNAME, DATABASE_PORT } from "./database";
import { goDuration, Healthcheck } from "./healthchecks";
import { buildPostgresImage } from "./images";
import { StorageVolume } from "./volumes";

export const BACKUP_DIR = "/backups";
export const MEDIA_DIR = "/media";
/** Long enough for a dump in progress to finish when the container is stopped or replaced. */
export const BACKUP_STOP_TIMEOUT_SECONDS = 600;

/** Unhealthy when the last scheduled backup failed or none succeeded for 26 hours. */
export const BACKUP_HEALTHCHECK: Healthcheck = {
    tests: ["CMD-SHELL", "find /tmp/last-backup-ok -mmin -1560 | grep -q ."],
    interval: goDuration(5 * 60),
    timeout: goDuration(10),
    startPeriod: goDuration(60),
    retries: 1,
};

export interface BackupsArgs {
    host: Host;
    prefix: string;
    postgresVersion: number;
    database: Database;
    databaseName: string;
    databaseUser: string;
    databasePassword: pulumi.Output<string>;
    /** Where dumps are kept on the host. */
    storage: StorageVolume;
    /** The uploaded media, archived with each backup (read-write: restore.sh --media writes it). */
    media: StorageVolume;
    /** A failed scheduled backup is sent here at once. */
    alerts?: AlertTarget;
    /** HH:MM, UTC. */
    time: string;
    retentionDays: number;
    network: docker.Network;
    /** A network with a route out, for uploads to the bucket. */
    egressNetwork: docker.Network;
}

/** The backup environment: libpq settings, schedule, retention and the bucket. Secret. */
export function backupEnvironment(o: {
    database: string; user: string; password: string; time: string; retentionDays: number;
    s3Uri?: string; s3Endpoint?: string; region?: string; credentials: string[];
}): string[] {
    return [
        `PGHOST=${DATABASE_HOSTNAME}`,
        `PGPORT=${DATABASE_PORT}`,
        `PGDATABASE=${o.database}`,
        `PGUSER=${o.user}`,
        `PGPASSWORD=${o.password}`,
        `BACKUP_DIR=${BACKUP_DIR}`,
        `MEDIA_DIR=${MEDIA_DIR}`,
        `BACKUP_TIME=${o.time}`,
        `BACKUP_RETENTION_DAYS=${o.retentionDays}`,
        ...(o.s3Uri === undefined ? [] : [`BACKUP_S3_URI=${o.s3Uri}`]),
        ...(o.s3Endpoint === undefined ? [] : [`BACKUP_S3_ENDPOINT=${o.s3Endpoint}`]),
        ...(o.region === undefined ? [] : [`AWS_DEFAULT_REGION=${o.region}`]),
        ...o.credentials,
    ];
}

/**
 * A daily pg_dump (custom format, verified) and media archive kept on the host and, when the
 * host has a bucket, uploaded to it. Built from images/backup on the server's major version, so pg_dump matches.
 */
export class Backups extends pulumi.ComponentResource {
    readonly container: docker.Container;
    readonly image: pulumi.Output<string>;

    constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Backups", name, {}, opts);
        const childOpts = onHost(args.host, this);
        const image = this.image = buildPostgresImage(`${name}-image`, {
            repository: `${args.prefix}-backup`,
            context: path.join(projectRoot(), "images", "backup"),
            postgresVersion: args.postgresVersion,
        }, childOpts);

        const store = args.host.backupStore;
        const environment = pulumi.secret(pulumi.all([args.databasePassword, store?.uri, store?.credentials ?? [], args.alerts?.webhookUrl])
            .apply(([password, s3Uri, credentials, webhookUrl]) => [...backupEnvironment({
                database: args.databaseName,
                user: args.databaseUser,
                password,
                time: args.time,
                retentionDays: args.retentionDays,
                s3Uri,
                s3Endpoint: store?.endpoint,
                region: store?.region,
                credentials,
            }), ...(webhookUrl === undefined ? [] : alertEnvironment({ webhookUrl, format: args.alerts!.format, source: args.prefix }))]));

        this.container = new docker.Container(name, {
            name: `${args.prefix}-backup`,
            image,
            envs: environment,
            volumes: [args.storage.mount(BACKUP_DIR), args.media.mount(MEDIA_DIR)],
            networksAdvanced: [{ name: args.network.name }, { name: args.egressNetwork.name }],
            healthcheck: BACKUP_HEALTHCHECK,
            // Unhealthy means a backup failed: that needs an operator. A restart would only hide it.
            labels: [{ label: "autoheal", value: "false" }],
            // A stop during a dump waits for the dump (schedule.sh acts on TERM between backups).
            stopTimeout: BACKUP_STOP_TIMEOUT_SECONDS,
            destroyGraceSeconds: BACKUP_STOP_TIMEOUT_SECONDS,
            restart: "unless-stopped",
        }, { ...childOpts, dependsOn: [args.database] });
        this.registerOutputs({ container: this.container.name });
    }
}
