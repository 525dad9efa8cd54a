import * as path from "path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { projectRoot, Settings } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { Database } from "./database";
import { commandHealthcheck, httpHealthcheck } from "./healthchecks";
import { buildAndPushImage, buildImage, pulledImage } from "./images";
import { Registry } from "./registry";
import { releaseCommand, renderReleaseCleanup, renderReleaseRun } from "./release";
import { traefikSwarmLabels } from "./traefikConfig";
import { StorageVolume } from "./volumes";
import { webService } from "./webService";

export const APP_HOSTNAME = "web";
const APP_STOP_TIMEOUT_SECONDS = 30;

type AppSettings = Settings["app"];

/**
 * The web container's command: the configured one, or the kind's server: gunicorn or daphne for
 * Django's project package, gunicorn for a Flask callable, uvicorn for a FastAPI one (uvicorn and
 * gunicorn both trust X-Forwarded-* from FORWARDED_ALLOW_IPS).
 */
export function serverCommand(app: Pick<AppSettings, "kind" | "command" | "server" | "module" | "port">): string[] {
    if (app.command.length > 0) return app.command;
    switch (app.kind) {
        case "django":
            return app.server === "daphne"
                ? ["daphne", "--bind", "0.0.0.0", "--port", String(app.port), `${app.module}.asgi:application`]
                : ["gunicorn", "--bind", `0.0.0.0:${app.port}`, `${app.module}.wsgi:application`];
        case "flask":
            return ["gunicorn", "--bind", `0.0.0.0:${app.port}`, app.module];
        case "fastapi":
            return ["uvicorn", app.module, "--host", "0.0.0.0", "--port", String(app.port), "--proxy-headers"];
        case "other":
            throw new Error("appKind other has no default command (the settings check requires appCommand)");
    }
}

export function appHealthcheck(app: Pick<AppSettings, "healthcheckCommand" | "port" | "healthcheckPath">) {
    return app.healthcheckCommand.length > 0
        ? commandHealthcheck(app.healthcheckCommand)
        : httpHealthcheck(app.port, app.healthcheckPath);
}

export interface AppEnvironmentInput {
    kind: AppSettings["kind"];
    debug: boolean;
    /** Session and CSRF cookies only over HTTPS. */
    secureCookies: boolean;
    allowedHosts: string[];
    csrfTrustedOrigins: string[];
    secretKey: string;
    database: { host: string; port: number; name: string; user: string; password: string };
    superuser: { name: string; email: string; password: string };
    staticRoot: string;
    staticUrl: string;
    mediaRoot: string;
    mediaUrl: string;
    /** Addresses gunicorn trusts for X-Forwarded-*: the proxy's network. */
    forwardedAllowIps: string;
    extra: Record<string, string>;
    /** The program's values under the app's own names (appEnvMap). */
    envMap?: AppSettings["envMap"];
    /** Joins the lists in envMap: "," or " ". */
    listSeparator?: string;
    /** The app's own secrets (appSecrets), resolved. */
    secrets?: Record<string, string>;
    /** REDIS_URL, RABBITMQ_URL of the stack's accessories. */
    accessoryUrls?: Record<string, string>;
}

/** The app's environment as KEY=value entries. It holds secrets: keep the result secret. */
export function appEnvironment(input: AppEnvironmentInput): string[] {
    const db = input.database;
    const databaseUrl = `postgres://${db.user}:${encodeURIComponent(db.password)}@${db.host}:${db.port}/${db.name}`;
    const separator = input.listSeparator ?? ",";
    const sources: Record<AppSettings["envMap"][number]["source"], string> = {
        dbHost: db.host,
        dbPort: String(db.port),
        dbName: db.name,
        dbUser: db.user,
        dbPassword: db.password,
        databaseUrl,
        secretKey: input.secretKey,
        allowedHosts: input.allowedHosts.join(separator),
        csrfTrustedOrigins: input.csrfTrustedOrigins.join(separator),
        debug: input.debug ? "1" : "0",
        redisUrl: input.accessoryUrls?.REDIS_URL ?? "",
        rabbitmqUrl: input.accessoryUrls?.RABBITMQ_URL ?? "",
    };
    const common: Record<string, string> = {
        POSTGRES_HOST: db.host,
        POSTGRES_PORT: String(db.port),
        POSTGRES_DB: db.name,
        POSTGRES_USER: db.user,
        POSTGRES_PASSWORD: db.password,
        DATABASE_URL: databaseUrl,
        FORWARDED_ALLOW_IPS: input.forwardedAllowIps,
        ...input.accessoryUrls,
    };
    const vars: Record<string, string> = {
        ...input.extra,
        ...(input.kind === "django" ? djangoEnvironment(input) : {}),
        ...common,
        ...Object.fromEntries((input.envMap ?? []).map((m) => [m.name, sources[m.source]])),
        ...input.secrets,
    };
    return Object.entries(vars).map(([key, value]) => `${key}=${value}`);
}

function djangoEnvironment(input: AppEnvironmentInput): Record<string, string> {
    return {
        DJANGO_SECRET_KEY: input.secretKey,
        DJANGO_DEBUG: input.debug ? "1" : "0",
        DJANGO_ALLOWED_HOSTS: input.allowedHosts.join(","),
        DJANGO_CSRF_TRUSTED_ORIGINS: input.csrfTrustedOrigins.join(","),
        DJANGO_SECURE_PROXY_SSL_HEADER: "1",
        DJANGO_SECURE_COOKIES: input.secureCookies ? "1" : "0",
        DJANGO_STATIC_ROOT: input.staticRoot,
        DJANGO_STATIC_URL: input.staticUrl,
        DJANGO_MEDIA_ROOT: input.mediaRoot,
        DJANGO_MEDIA_URL: input.mediaUrl,
        DJANGO_SUPERUSER_USERNAME: input.superuser.name,
        DJANGO_SUPERUSER_EMAIL: input.superuser.email,
        DJANGO_SUPERUSER_PASSWORD: input.superuser.password,
    };
}

export interface AppServerArgs {
    host: Host;
    prefix: string;
    app: AppSettings;
    /** From appEnvironment(); secret. */
    environment: pulumi.Output<string[]>;
    backend: docker.Network;
    frontend: docker.Network;
    static: StorageVolume;
    media: StorageVolume;
    database: Database;
    /** Routing labels a proxy reads from the web container (Traefik). */
    labels?: pulumi.Input<docker.types.input.ContainerLabel[]>;
    /** Publish the app port on the host (only when there is no proxy, in dev). */
    publishPort?: number;
    /**
     * Swarm mode: the web tier is a replicated service (components/webService.ts) instead of the
     * container, scheduled once `ready` (the Swarm's init and joins) is done.
     */
    swarm?: { replicas: number; maxReplicasPerHost: number; onWorkers: boolean; ready: pulumi.Resource[] };
    /** Swarm with workers: the registry the built image is pushed to, and the nodes pull it from. */
    registry?: Registry;
}

/**
 * The app: its image, a one-shot release container (migrate, collectstatic, createsuperuser)
 * and the long-running web container, which is only created or replaced after a release
 * that exited 0.
 */
export class AppServer extends pulumi.ComponentResource {
    readonly image: pulumi.Output<string>;
    /** The release step: a one-shot container run on the host; the deploy stops when it fails. */
    readonly release?: command.local.Command;
    /** What the release runs, for tests and operators: command, environment (secret), mounts. */
    readonly releaseSpec: {
        command: string[];
        environment: pulumi.Output<string[]>;
        mounts: pulumi.Output<{ source: string; target: string }[]>;
    };
    /** The web container, or in Swarm mode the web service. */
    readonly web: docker.Container | docker.Service;
    readonly upstream: string;

    constructor(name: string, args: AppServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:AppServer", name, {}, opts);
        const childOpts = onHost(args.host, this);
        const app = args.app;
        this.upstream = `${APP_HOSTNAME}:${app.port}`;
        const context = path.resolve(projectRoot(), app.context);
        const build = { repository: `${args.prefix}-app`, context, dockerfile: path.join(context, app.dockerfile) };
        /** What the service's nodes pull: the same image, by digest when it comes from a registry. */
        let serviceImage: pulumi.Output<string>;
        if (app.image !== undefined) {
            const pulled = pulledImage(`${name}-image`, app.image, childOpts);
            this.image = pulled.imageId;
            serviceImage = pulled.repoDigest;
        } else if (app.rollbackImage !== undefined) {
            // A rollback runs an image an earlier deploy built on this host (or pushed to the registry): nothing to build or pull.
            this.image = serviceImage = pulumi.output(app.rollbackImage);
        } else if (args.registry !== undefined) {
            const registry = args.registry;
            const pushed = buildAndPushImage(`${name}-image`, {
                ...build,
                registry: { server: registry.server, username: registry.username, password: registry.password },
            }, { ...childOpts, dependsOn: registry.ready });
            this.image = pushed.imageName;
            serviceImage = pushed.repoDigest;
        } else {
            this.image = serviceImage = buildImage(`${name}-image`, build, childOpts);
        }

        const appVolumes = [args.static.mount(app.staticRoot), args.media.mount(app.mediaRoot)];
        this.releaseSpec = {
            command: releaseCommand(app.kind, app.releaseCommand),
            environment: args.environment,
            mounts: pulumi.all([args.static.name, args.media.name]).apply(([staticSource, mediaSource]) => [
                { source: staticSource, target: app.staticRoot },
                { source: mediaSource, target: app.mediaRoot },
            ]),
        };
        this.release = this.releaseStep(name, args);
        const afterRelease = this.release === undefined ? [args.database] : [this.release];

        if (args.swarm !== undefined) {
            const registry = args.registry;
            this.web = webService(`${args.prefix}-web`, {
                host: args.host,
                prefix: args.prefix,
                app,
                image: serviceImage,
                command: serverCommand(app),
                environment: args.environment,
                healthcheck: appHealthcheck(app),
                volumes: appVolumes,
                backend: args.backend,
                frontend: args.frontend,
                alias: APP_HOSTNAME,
                labels: args.labels === undefined ? [] : pulumi.output(args.labels).apply(traefikSwarmLabels),
                replicas: args.swarm.replicas,
                maxReplicasPerHost: args.swarm.maxReplicasPerHost,
                onWorkers: args.swarm.onWorkers,
                stopGraceSeconds: APP_STOP_TIMEOUT_SECONDS,
                auth: registry === undefined ? undefined : { serverAddress: registry.server, username: registry.username, password: registry.password },
                // The release (migrations) runs once, on the manager, before any replica is updated.
                dependsOn: [...afterRelease, ...args.swarm.ready, ...(registry?.ready ?? [])],
            }, this);
            this.registerOutputs({ web: this.web.name });
            return;
        }

        this.web = new docker.Container(`${args.prefix}-web`, {
            image: this.image,
            command: serverCommand(app),
            ...(app.entrypoint.length > 0 ? { entrypoints: app.entrypoint } : {}),
            envs: args.environment,
            volumes: appVolumes,
            networksAdvanced: [
                { name: args.backend.name },
                { name: args.frontend.name, aliases: [APP_HOSTNAME] },
            ],
            ports: args.publishPort === undefined ? [] : [{ internal: app.port, external: args.publishPort }],
            healthcheck: appHealthcheck(app),
            labels: pulumi.output(args.labels ?? []).apply((labels) => [...autohealLabels(APP_STOP_TIMEOUT_SECONDS), ...labels]),
            stopTimeout: APP_STOP_TIMEOUT_SECONDS,
            destroyGraceSeconds: APP_STOP_TIMEOUT_SECONDS,
            restart: "unless-stopped",
            // A replacement must pass its healthcheck before the old container is removed.
            wait: true,
            waitTimeout: 300,
        }, {
            ...childOpts,
            dependsOn: afterRelease,
            // The provider marks containers delete-before-replace; the engine honours an explicit
            // false. With an auto-generated name both run at once, and the proxy finds either by
            // the "web" alias until the old one is gone: a deploy without an outage.
            deleteBeforeReplace: false,
        });
        this.registerOutputs({ web: this.web.name });
    }

    /**
     * A command, not a docker.Container: a failed command is not recorded, so the next `up` runs
     * the release again, while the provider's one-shot container keeps a failed exit code in the
     * state and nothing re-runs it until its inputs change. Undefined when there is no release.
     */
    private releaseStep(name: string, args: AppServerArgs): command.local.Command | undefined {
        const app = args.app;
        if (this.releaseSpec.command.length === 0) return undefined;
        const releaseName = `${args.prefix}-release`;
        const script = pulumi.all([this.image, args.backend.name, this.releaseSpec.mounts]).apply(([image, network, mounts]) =>
            renderReleaseRun({
                name: releaseName,
                image,
                network,
                mounts,
                command: this.releaseSpec.command,
                entrypoint: app.entrypoint,
                timeoutSeconds: app.releaseTimeoutMinutes * 60,
            }));
        return new command.local.Command(`${name}-release`, {
            create: script.apply((s) => args.host.shell(s)),
            // Housekeeping only: a host that is already gone must not fail a destroy.
            delete: args.host.shell(renderReleaseCleanup(releaseName)).apply((s) => `${s} || true`),
            stdin: pulumi.secret(args.environment.apply((entries) => `${entries.join("\n")}\n`)),
            triggers: [args.host.machineId ?? ""],
            logging: "stdoutAndStderr",
        }, {
            parent: this,
            dependsOn: [args.database],
            deleteBeforeReplace: true,
            additionalSecretOutputs: ["stdout", "stderr"],
            customTimeouts: { create: `${app.releaseTimeoutMinutes + 5}m` },
        });
    }
}
