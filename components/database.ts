import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { projectRoot } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { extensionNameProblem } from "./extensions";
import { databaseHealthcheck } from "./healthchecks";
import { buildImage } from "./images";
import { StorageVolume } from "./volumes";

/** PostgreSQL needs time to checkpoint on shutdown; Docker's default 10 s can corrupt nothing but costs a recovery. */
export const DATABASE_STOP_TIMEOUT_SECONDS = 90;
export const DATABASE_HOSTNAME = "db";
export const DATABASE_PORT = 5432;
/** Where the official postgres entrypoint looks for first-initialisation files. */
export const INITDB_DIR = "/docker-entrypoint-initdb.d";

/** A first-time schema SQL file from the app's repository: its file name (or path) and its text. */
export interface InitSqlFile {
    name: string;
    content: string;
}

/** One file uploaded into the db container. */
export interface InitSqlUpload {
    file: string;
    content: string;
}

/** A file name's last part, reduced to [a-z0-9_.-], without ".sql"; "schema" when nothing is left. */
function initSqlSlug(name: string): string {
    const base = name.split(/[\\/]/).pop() ?? "";
    const slug = base.toLowerCase().replace(/\.sql$/, "").replace(/[^a-z0-9_.-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "").slice(0, 60);
    return slug === "" ? "schema" : slug;
}

/**
 * Where each first-time schema SQL file goes in the db container, in the given order:
 * /docker-entrypoint-initdb.d/50-app-<NN>-<name>.sql. The official entrypoint runs these once,
 * on an empty data directory only, in name order: after 10-q3c.sql and 20-extra-extensions.sh
 * (so the SQL may use q3c and the dbExtensions), before 99-init-complete.sh. It runs each with
 * `psql -v ON_ERROR_STOP=1 --username POSTGRES_USER --dbname POSTGRES_DB -f FILE`: as the app's
 * role (which is the cluster's bootstrap superuser here) in the app's database, so the objects
 * belong to the role the app and its migrations use. The first error stops initialisation.
 * The content is uploaded byte for byte (psql's error lines then match the app repository's).
 */
export function initSqlUploads(files: readonly InitSqlFile[]): InitSqlUpload[] {
    const width = Math.max(2, String(files.length).length);
    return files.map((f, i) => {
        if (typeof f.name !== "string" || f.name.trim() === "") {
            throw new Error(`initSql[${i}]: the file has no name`);
        }
        if (typeof f.content !== "string") {
            throw new Error(`initSql[${i}] (${f.name}): the content must be the file's text`);
        }
        if (f.content.includes("\0")) {
            throw new Error(`initSql[${i}] (${f.name}): contains a NUL byte; schema SQL must be a text file`);
        }
        const n = String(i + 1).padStart(width, "0");
        return { file: `${INITDB_DIR}/50-app-${n}-${initSqlSlug(f.name)}.sql`, content: f.content };
    });
}

export interface DatabaseArgs {
    host: Host;
    prefix: string;
    postgresVersion: number;
    name: string;
    user: string;
    password: pulumi.Output<string>;
    /**
     * Created at first initialisation, besides q3c, in this order: any extension the image's
     * PostgreSQL ships (pg_trgm, uuid-ossp, ...). The form is checked here
     * (extensionNameProblem); availability when the image is built and again at first
     * initialisation, with a message that names the missing ones.
     */
    extensions: string[];
    /**
     * First-time schema SQL from the app's repository, run once on an empty data directory,
     * after the extensions, in this order, as the app's role in the app's database; an error
     * fails initialisation (see initSqlUploads). Not secret: kept in plain text in the state.
     * Changing it later replaces the db container (a restart) but runs nothing: the data
     * directory is initialised already.
     */
    initSql?: InitSqlFile[];
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
        const badExtensions = args.extensions.map((e) => extensionNameProblem(e)).filter((p) => p !== undefined);
        if (badExtensions.length > 0) throw new Error(`Database ${name}: ${badExtensions.join("; ")}`);
        const uploads = initSqlUploads(args.initSql ?? []);

        // The extension list is a build argument too: the build fails at once, with the same
        // message as initialisation would, when this PostgreSQL does not ship one of them.
        this.image = buildImage(`${name}-image`, {
            repository: `${args.prefix}-db`,
            context: path.join(projectRoot(), "images", "db"),
            args: {
                PG_MAJOR: String(args.postgresVersion),
                ...(args.extensions.length > 0 ? { POSTGRES_EXTRA_EXTENSIONS: args.extensions.join(",") } : {}),
            },
            tagPrefix: `pg${args.postgresVersion}-`,
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
            ...(uploads.length > 0 ? { uploads } : {}),
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
