import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AccessoryKind, Settings } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { commandHealthcheck, goDuration, Healthcheck } from "./healthchecks";
import { pullImage } from "./images";

/** An accessory (settings.accessories): its kind, its official image's tag and, for an admin UI, its path. */
export type AccessorySettings = Settings["accessories"][number];

const IMAGES: Record<AccessoryKind, string> = {
    redis: "redis",
    rabbitmq: "rabbitmq",
    flower: "mher/flower",
    pgadmin: "dpage/pgadmin4",
};
/** Port each listens on inside the backend network. */
export const ACCESSORY_PORTS: Record<AccessoryKind, number> = { redis: 6379, rabbitmq: 5672, flower: 5555, pgadmin: 80 };
const DATA_DIRS: Partial<Record<AccessoryKind, string>> = { redis: "/data", rabbitmq: "/var/lib/rabbitmq", pgadmin: "/var/lib/pgadmin" };
const STOP_SECONDS: Record<AccessoryKind, number> = { redis: 30, rabbitmq: 60, flower: 10, pgadmin: 10 };

/** A plain TCP connect, for servers behind their own authentication (python3 is in the flower image). */
function tcpHealthcheck(port: number): Healthcheck {
    return {
        ...commandHealthcheck(["python3", "-c", `import socket; socket.create_connection(("127.0.0.1", ${port}), 4).close()`]),
        startPeriod: goDuration(30),
    };
}

function healthcheck(kind: AccessoryKind, path: string | undefined): Healthcheck {
    switch (kind) {
        case "redis":
            return { ...commandHealthcheck(["redis-cli", "ping"]), startPeriod: goDuration(30) };
        case "rabbitmq":
            return { ...commandHealthcheck(["rabbitmq-diagnostics", "-q", "ping"]), startPeriod: goDuration(90) };
        case "flower":
            return tcpHealthcheck(ACCESSORY_PORTS.flower);
        case "pgadmin":
            return { ...commandHealthcheck(["wget", "-q", "-O", "/dev/null", `http://127.0.0.1${path ?? "/"}misc/ping`]), startPeriod: goDuration(60) };
    }
}

/** pgAdmin's servers.json: the stack's database, without its password. */
export function pgadminServers(database: { name: string; user: string }): string {
    return JSON.stringify({
        Servers: { 1: { Name: "stack database", Group: "webstack", Host: "db", Port: 5432, MaintenanceDB: database.name, Username: database.user, SSLMode: "prefer" } },
    }, null, 2);
}

/** URLs the app reads (REDIS_URL, RABBITMQ_URL) for the accessories a stack has; secret. */
export function accessoryUrls(kinds: AccessoryKind[], rabbitmq: { user: string; password: string }): Record<string, string> {
    return {
        ...(kinds.includes("redis") ? { REDIS_URL: "redis://redis:6379/0" } : {}),
        ...(kinds.includes("rabbitmq") ? { RABBITMQ_URL: `amqp://${rabbitmq.user}:${encodeURIComponent(rabbitmq.password)}@rabbitmq:5672//` } : {}),
    };
}

export interface AccessoriesArgs {
    host: Host;
    prefix: string;
    accessories: AccessorySettings[];
    backend: docker.Network;
    frontend: docker.Network;
    /** Keep their volumes through `pulumi destroy`. */
    protectData: boolean;
    database: { name: string; user: string };
    /** Labels the proxy reads from an exposed admin UI's container (Traefik). */
    labels?: (accessory: AccessorySettings) => pulumi.Input<docker.types.input.ContainerLabel[]>;
}

/**
 * Accessories, as Kamal calls them: Redis or RabbitMQ as a broker, Flower and pgAdmin as admin
 * UIs. Official images pinned to the stack's versions, data on volumes, healthchecks, and
 * generated passwords kept secret. The admin UIs sit on the frontend network only when the proxy
 * serves them (`path`), behind their own login.
 */
export class Accessories extends pulumi.ComponentResource {
    readonly containers: Partial<Record<AccessoryKind, docker.Container>> = {};
    /** Generated credentials, secret: rabbitmq (the app's broker user), flower and pgadmin logins. */
    readonly passwords: Partial<Record<AccessoryKind, pulumi.Output<string>>> = {};
    /** The app's broker URLs (REDIS_URL, RABBITMQ_URL); secret. */
    readonly urls: pulumi.Output<Record<string, string>>;
    readonly rabbitmqUser = "app";

    constructor(name: string, args: AccessoriesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Accessories", name, {}, opts);
        const childOpts = onHost(args.host, this);
        const kinds = args.accessories.map((a) => a.kind);
        for (const kind of ["rabbitmq", "flower", "pgadmin"] as const) {
            if (!kinds.includes(kind)) continue;
            this.passwords[kind] = pulumi.secret(new random.RandomPassword(`${name}-${kind}-password`, { length: 24, special: false }, { parent: this }).result);
        }
        const brokerUrl = kinds.includes("rabbitmq")
            ? pulumi.interpolate`amqp://${this.rabbitmqUser}:${this.passwords.rabbitmq!}@rabbitmq:5672//`
            : pulumi.output("redis://redis:6379/0");

        for (const accessory of args.accessories) {
            const { kind } = accessory;
            const dataDir = DATA_DIRS[kind];
            // Redis's entrypoint takes ownership of its data directory, so on a host with durable
            // storage it lives there, like the database. RabbitMQ and pgAdmin run as their own users
            // and would not own a directory Docker creates: named volumes (the root disk).
            const durable = kind === "redis" && args.host.dataDir !== undefined ? `${args.host.dataDir}/${kind}` : undefined;
            const volume = dataDir === undefined || durable !== undefined ? undefined : new docker.Volume(`${name}-${kind}`, {
                name: `${args.prefix}-${kind}`,
                labels: [{ label: "webstack.volume", value: kind }],
            }, { ...childOpts, protect: args.protectData && args.host.machineId === undefined, retainOnDelete: args.protectData });
            const mounts = dataDir === undefined ? []
                : durable !== undefined ? [{ hostPath: durable, containerPath: dataDir }]
                    : volume === undefined ? [] : [{ volumeName: volume.name, containerPath: dataDir }];
            const exposed = accessory.path !== undefined;
            this.containers[kind] = new docker.Container(`${name}-${kind}`, {
                name: `${args.prefix}-${kind}`,
                image: pullImage(`${name}-${kind}-image`, `${IMAGES[kind]}:${accessory.version}`, childOpts),
                envs: pulumi.secret(this.environment(accessory, brokerUrl)),
                // pgAdmin loads the stack's database as a server at first start; it asks for the password.
                ...(kind === "pgadmin" ? { uploads: [{ file: "/pgadmin4/servers.json", content: pgadminServers(args.database) }] } : {}),
                ...(kind === "redis" ? { command: ["redis-server", "--appendonly", "yes"] } : {}),
                volumes: mounts,
                networksAdvanced: [
                    { name: args.backend.name, aliases: [kind] },
                    ...(exposed ? [{ name: args.frontend.name, aliases: [kind] }] : []),
                ],
                healthcheck: healthcheck(kind, accessory.path),
                labels: pulumi.output(exposed && args.labels ? args.labels(accessory) : []).apply((labels) => [...autohealLabels(STOP_SECONDS[kind]), ...labels]),
                stopTimeout: STOP_SECONDS[kind],
                destroyGraceSeconds: STOP_SECONDS[kind],
                restart: "unless-stopped",
            }, { ...childOpts, deleteBeforeReplace: true });
        }
        this.urls = pulumi.secret(pulumi.all([this.passwords.rabbitmq ?? ""]).apply(([password]) =>
            accessoryUrls(kinds, { user: this.rabbitmqUser, password })));
        this.registerOutputs({});
    }

    private environment(accessory: AccessorySettings, brokerUrl: pulumi.Output<string>): pulumi.Output<string[]> {
        switch (accessory.kind) {
            case "redis":
                return pulumi.output([]);
            case "rabbitmq":
                return pulumi.interpolate`${this.passwords.rabbitmq!}`.apply((password) => [
                    `RABBITMQ_DEFAULT_USER=${this.rabbitmqUser}`,
                    `RABBITMQ_DEFAULT_PASS=${password}`,
                ]);
            case "flower":
                return pulumi.all([brokerUrl, this.passwords.flower!]).apply(([broker, password]) => [
                    `CELERY_BROKER_URL=${broker}`,
                    `FLOWER_BASIC_AUTH=admin:${password}`,
                    ...(accessory.path === undefined ? [] : [`FLOWER_URL_PREFIX=${accessory.path.replace(/^\/|\/$/g, "")}`]),
                ]);
            case "pgadmin":
                return this.passwords.pgadmin!.apply((password) => [
                    "PGADMIN_DEFAULT_EMAIL=admin@example.org",
                    `PGADMIN_DEFAULT_PASSWORD=${password}`,
                    "PGADMIN_DISABLE_POSTFIX=true",
                    ...(accessory.path === undefined ? [] : [`SCRIPT_NAME=${accessory.path.replace(/\/$/, "")}`]),
                ]);
        }
    }
}
