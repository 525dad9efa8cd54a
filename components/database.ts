import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { projectRoot } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { databaseHealthcheck } from "./healthchecks";
import { buildPostgresImage } from "./images";
import { StorageVolume } from "./volumes";

/** PostgreSQL needs time to checkpoint on shutdown; Docker's default 10 s can corrupt nothing but costs a recovery. */
export const DATABASE_STOP_TIMEOUT_SECONDS = 90;
export const DATABASE_HOSTNAME = "db";
export const DATABASE_PORT = 5432;

export interface DatabaseArgs {
    host: Host;
    prefix: string;
    postgresVersion: number;
    name: string;
    user: string;
    password: pulumi.Output<string>;
    /** Created at first initialisation, besides q3c. */
    extensions: string[];
    data: StorageVolume;
    network: docker.Network;
}

/** PostgreSQL with Q3C, built from images/db, on the backend network only. */
export class Database extends pulumi.ComponentResource {
    readonly image: pulumi.Output<string>;
    readonly container: docker.Container;
    /** postgres://user:password@db:5432/name, a secret. */
    readonly connectionUrl: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Database", name, {}, opts);
        const childOpts = onHost(args.host, this);

        this.image = buildPostgresImage(`${name}-image`, {
            repository: `${args.prefix}-db`,
            context: path.join(projectRoot(), "images", "db"),
            postgresVersion: args.postgresVersion,
        }, childOpts);

        this.container = new docker.Container(name, {
            name: `${args.prefix}-db`,
            image: this.image,
            envs: pulumi.secret(args.password.apply((password) => [
                `POSTGRES_DB=${args.name}`,
                `POSTGRES_USER=${args.user}`,
                `POSTGRES_PASSWORD=${password}`,
                `POSTGRES_EXTRA_EXTENSIONS=${args.extensions.join(",")}`,
            ])),
            volumes: [args.data.mount("/var/lib/postgresql/data")],
            networksAdvanced: [{ name: args.network.name, aliases: [DATABASE_HOSTNAME] }],
            healthcheck: databaseHealthcheck(args.user, args.name),
            labels: autohealLabels(DATABASE_STOP_TIMEOUT_SECONDS),
            stopSignal: "SIGINT",
            stopTimeout: DATABASE_STOP_TIMEOUT_SECONDS,
            destroyGraceSeconds: DATABASE_STOP_TIMEOUT_SECONDS,
            shmSize: 256,
            restart: "unless-stopped",
            // Creation waits for the healthcheck, so the release step finds a ready server.
            wait: true,
            waitTimeout: 300,
        }, {
            ...childOpts,
            // Two servers must never share one data directory: stop the old before starting the new.
            deleteBeforeReplace: true,
        });

        this.connectionUrl = pulumi.secret(pulumi.interpolate`postgres://${args.user}:${args.password.apply(encodeURIComponent)}@${DATABASE_HOSTNAME}:${DATABASE_PORT}/${args.name}`);
        this.registerOutputs({ container: this.container.name });
    }
}
