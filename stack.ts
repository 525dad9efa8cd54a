import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Accessories, ACCESSORY_PORTS } from "./components/accessories";
import { AppServer, appEnvironment } from "./components/appServer";
import { Autoheal } from "./components/autoheal";
import { Backups, BACKUP_DIR } from "./components/backups";
import { Database, DATABASE_HOSTNAME, DATABASE_PORT } from "./components/database";
import { ImagePruning } from "./components/imagePruning";
import { Maintenance, MAINTENANCE_PORT } from "./components/maintenance";
import { Monitor } from "./components/monitor";
import { Networks } from "./components/networks";
import { Proxy } from "./components/proxy";
import { Registry } from "./components/registry";
import { Secrets } from "./components/secrets";
import { managerAddress, Swarm } from "./components/swarm";
import { traefikMaintenanceLabels, traefikRouteLabels, traefikRouterLabels } from "./components/traefikConfig";
import { Volumes } from "./components/volumes";
import { WebRoutes } from "./components/webRoutes";
import { Workers } from "./components/workers";
import { Settings } from "./config/settings";
import { createHost, Host } from "./targets";

/** Host names the site answers to: the domain, or else the host's address. */
export function siteHosts(settings: Settings, address: string): string[] {
    if (settings.domain !== undefined) return [settings.domain];
    return address === "localhost" ? ["localhost", "127.0.0.1"] : [address];
}

export function siteUrl(settings: Settings, host: string): string {
    if (settings.edge.tls !== "off") {
        return `https://${host}${settings.httpsPort === 443 ? "" : `:${settings.httpsPort}`}`;
    }
    return `http://${host}${settings.httpPort === 80 ? "" : `:${settings.httpPort}`}`;
}

/** Builds the whole stack from validated settings (on the target's host, unless given one) and returns its outputs and parts. */
export function buildStack(settings: Settings, givenHost?: Host) {
    const prefix = `${settings.project}-${settings.stack}`;
    if (settings.database.postgresVersion < 15) {
        pulumi.log.warn(`PostgreSQL ${settings.database.postgresVersion} is past its end of life; move to 15-17 by dump and restore (docs/postgres.md)`);
    }
    const host = givenHost ?? createHost(settings.target, settings);
    const secrets = new Secrets("secrets", { configured: settings.secrets }).values;
    const scale = settings.scale;
    if (host.workers.length !== scale.workers) {
        throw new Error(`target ${settings.target} yielded ${host.workers.length} worker hosts, and the settings ask for ${scale.workers}`);
    }
    // Past one machine (or one machine with replicas): Swarm mode, the web tier a service.
    const swarm = scale.swarm ? new Swarm("swarm", { host, advertiseAddress: managerAddress(host, settings.target), workers: host.workers }) : undefined;
    const networks = new Networks("networks", { host, prefix, swarm: swarm === undefined ? undefined : [swarm.init] });
    // The workers cannot reach an image built on the manager: a registry there, unless the app image is in one already.
    const registry = swarm !== undefined && host.workers.length > 0 && scale.registry === "auto" && settings.app.image === undefined
        ? new Registry("registry", { host, prefix, address: managerAddress(host, settings.target), workers: host.workers })
        : undefined;
    const tlsOn = settings.edge.tls !== "off";
    const volumes = new Volumes("volumes", {
        host,
        prefix,
        protectData: settings.protectData,
        certificates: settings.edge.tls === "letsencrypt",
    });

    const database = new Database("db", {
        host,
        prefix,
        postgresVersion: settings.database.postgresVersion,
        name: settings.database.name,
        user: settings.database.user,
        password: secrets.dbPassword,
        extensions: settings.database.extensions,
        initSql: settings.database.initSql,
        data: volumes.database,
        network: networks.backend,
    });

    const hosts = host.address.apply((address) => siteHosts(settings, address));
    /** Traefik's labels for a container the proxy sends `pathPrefix` to; none with nginx. */
    const routeLabels = (name: string, pathPrefix: string, port: number) => settings.proxy !== "traefik"
        ? []
        : pulumi.all([hosts, networks.frontend.name]).apply(([names, network]) => traefikRouteLabels({
            router: prefix,
            name,
            pathPrefix,
            port,
            hosts: settings.domain === undefined ? [] : names,
            network,
            tls: tlsOn,
            hsts: settings.edge.hsts,
            maxBodySize: settings.edge.clientMaxBodySize,
        }));

    const accessories = new Accessories("accessories", {
        host,
        prefix,
        accessories: settings.accessories,
        backend: networks.backend,
        frontend: networks.frontend,
        protectData: settings.protectData,
        database: { name: settings.database.name, user: settings.database.user },
        labels: (a) => routeLabels(a.kind, a.path!, ACCESSORY_PORTS[a.kind]),
    });
    const webRoutes = new WebRoutes("routes", {
        host,
        prefix,
        routes: settings.webRoutes,
        frontend: networks.frontend,
        labels: (r) => routeLabels(r.name, r.path, r.port),
    });
    const app = settings.app;
    const environment = pulumi.secret(pulumi.all([
        hosts, secrets.djangoSecretKey, secrets.dbPassword, secrets.superuserPassword, networks.frontend.ipamConfigs, pulumi.all(app.secrets),
        accessories.urls,
    ]).apply(([names, secretKey, dbPassword, superuserPassword, ipam, appSecrets, accessoryUrls]) => appEnvironment({
        kind: app.kind,
        debug: app.debug,
        secureCookies: tlsOn,
        allowedHosts: [...new Set([...names, "localhost"])],
        csrfTrustedOrigins: names.map((name) => siteUrl(settings, name)),
        secretKey,
        database: {
            host: DATABASE_HOSTNAME,
            port: DATABASE_PORT,
            name: settings.database.name,
            user: settings.database.user,
            password: dbPassword,
        },
        superuser: { name: app.superuserName, email: app.superuserEmail, password: superuserPassword },
        staticRoot: app.staticRoot,
        staticUrl: app.staticUrl,
        mediaRoot: app.mediaRoot,
        mediaUrl: app.mediaUrl,
        forwardedAllowIps: ipam?.map((c) => c.subnet).filter((s): s is string => !!s).join(",") || "127.0.0.1",
        extra: app.environment,
        envMap: app.envMap,
        listSeparator: app.listSeparator,
        secrets: appSecrets,
        accessoryUrls,
    })));

    const routerLabels = settings.proxy === "traefik"
        ? pulumi.all([hosts, networks.frontend.name]).apply(([names, network]) =>
            traefikRouterLabels({
                router: prefix,
                hosts: settings.domain === undefined ? [] : names,
                port: app.port,
                network,
                tls: tlsOn,
                hsts: settings.edge.hsts,
                maxBodySize: settings.edge.clientMaxBodySize,
                appPaths: settings.edge.appPaths,
            }))
        : undefined;

    const appServer = new AppServer("app", {
        host,
        prefix,
        app,
        environment,
        backend: networks.backend,
        frontend: networks.frontend,
        static: volumes.static,
        media: volumes.media,
        database,
        labels: routerLabels,
        publishPort: settings.proxy === "none" ? settings.httpPort : undefined,
        swarm: swarm === undefined ? undefined : {
            replicas: scale.webReplicas,
            maxReplicasPerHost: scale.maxReplicasPerHost,
            onWorkers: host.workers.length > 0,
            ready: swarm.ready,
        },
        registry,
    });

    const workers = new Workers("workers", {
        host,
        prefix,
        workers: app.workers,
        image: appServer.image,
        entrypoint: app.entrypoint,
        environment,
        media: volumes.media,
        mediaRoot: app.mediaRoot,
        backend: networks.backend,
        frontend: networks.frontend,
        after: [appServer.release ?? database.container],
    });

    const proxy = settings.proxy === "none" ? undefined : new Proxy("proxy", {
        host,
        prefix,
        kind: settings.proxy,
        serverNames: hosts,
        app: appServer,
        frontend: networks.frontend,
        volumes,
        staticUrl: app.staticUrl,
        mediaUrl: app.mediaUrl,
        httpPort: settings.httpPort,
        httpsPort: settings.httpsPort,
        edge: settings.edge,
        certificate: secrets.tlsCertificate,
        privateKey: secrets.tlsPrivateKey,
        proxyTimeoutSeconds: settings.edge.proxyTimeoutSeconds,
        serveStatic: settings.edge.serveStatic,
        appPaths: settings.edge.appPaths,
        healthcheckPath: app.healthcheckPath,
        ...(swarm === undefined ? {} : { swarm: true }),
        routes: [
            ...settings.webRoutes.map((r) => ({ pathPrefix: r.path, upstream: `${r.name}:${r.port}` })),
            // Operator tools: a migration may need them, so maintenance leaves them up.
            ...settings.accessories.filter((a) => a.path !== undefined).map((a) => ({ pathPrefix: a.path!, upstream: `${a.kind}:${ACCESSORY_PORTS[a.kind]}`, servedInMaintenance: true })),
        ],
    });
    // Traefik cannot answer the page itself: a container of its own takes the site's routes.
    const maintenance = settings.proxy === "traefik" && settings.edge.maintenance ? new Maintenance("maintenance", {
        host,
        prefix,
        frontend: networks.frontend,
        labels: pulumi.all([hosts, networks.frontend.name]).apply(([names, network]) => traefikMaintenanceLabels({
            router: prefix,
            hosts: settings.domain === undefined ? [] : names,
            port: MAINTENANCE_PORT,
            network,
            tls: tlsOn,
            hsts: settings.edge.hsts,
            maxBodySize: settings.edge.clientMaxBodySize,
            healthcheckPath: app.healthcheckPath,
            keepPrefixes: [app.staticUrl, app.mediaUrl, ...settings.accessories.flatMap((a) => (a.path === undefined ? [] : [a.path]))],
        })),
    }) : undefined;

    const webhookUrl = settings.secrets.alertWebhookUrl;
    const alerts = webhookUrl === undefined ? undefined : { webhookUrl: pulumi.secret(webhookUrl), format: settings.alerts.format };
    const backups = new Backups("backup", {
        host,
        prefix,
        postgresVersion: settings.database.postgresVersion,
        database,
        databaseName: settings.database.name,
        databaseUser: settings.database.user,
        databasePassword: secrets.dbPassword,
        storage: volumes.backups,
        media: volumes.media,
        alerts,
        time: settings.backups.time,
        retentionDays: settings.backups.retentionDays,
        network: networks.backend,
        egressNetwork: networks.frontend,
    });

    const autoheal = new Autoheal("autoheal", { host, prefix });
    const monitor = alerts === undefined ? undefined : new Monitor("monitor", {
        host,
        prefix,
        image: backups.image,
        alerts: { ...alerts, diskPercent: settings.alerts.diskPercent, certificateDays: settings.alerts.certificateDays },
        backups: volumes.backups,
        media: volumes.media,
        frontend: networks.frontend,
        tls: proxy === undefined || !tlsOn ? undefined : { address: `${prefix}-proxy:443`, serverName: hosts.apply((names) => names[0]) },
    });

    // Built on the manager; tagged with the registry's address when pushed to it.
    const builtRepository = registry === undefined ? pulumi.output(`${prefix}-app`) : pulumi.interpolate`${registry.server}/${prefix}-app`;
    const pruning = new ImagePruning("prune", {
        host,
        prefix,
        repositories: [`${prefix}-db`, `${prefix}-backup`, ...(app.image === undefined ? [builtRepository] : [])],
        images: [database.image, backups.image, appServer.image],
        after: [appServer.web, backups.container, ...(monitor === undefined ? [] : [monitor.container]), ...Object.values(workers.containers)],
    });

    if (settings.scale.workers > 0) {
        // Named volumes are per node: what a replica on a worker writes stays on that worker.
        pulumi.log.warn(`${settings.scale.workers + 1} hosts: uploads (appMediaRoot) written by web replicas on the workers stay on those workers, where the proxy cannot serve them and backups do not see them; keep media in object storage (django-storages) on a multi-host stack${settings.proxy === "traefik" ? ". With Traefik the app serves its own static files: collect them into the image, since the release fills the static volume on the manager only" : ""}`);
    }
    if (app.rollbackImage !== undefined) {
        pulumi.log.warn(`rollbackImage is set: the app runs ${app.rollbackImage} and appContext is not built; \`bin/webstack rollback --clear\` deploys appContext again`);
    }
    const services: Record<string, pulumi.Output<string>> = {
        db: database.container.name,
        web: appServer.web.name,
        ...(proxy === undefined ? {} : { proxy: proxy.container.name }),
        ...(proxy?.certbot === undefined ? {} : { certbot: proxy.certbot.name }),
        backup: backups.container.name,
        autoheal: autoheal.container.name,
        ...(monitor === undefined ? {} : { monitor: monitor.container.name }),
        ...(registry === undefined ? {} : { registry: registry.container.name }),
    };
    const extraServices: [string, docker.Container][] = [
        ...Object.entries(workers.containers),
        ...Object.entries(accessories.containers) as [string, docker.Container][],
        ...Object.entries(webRoutes.containers),
    ];
    for (const [service, container] of extraServices) services[service in services ? `${service}-2` : service] = container.name;

    const outputs = {
        siteUrl: hosts.apply((names) => siteUrl(settings, names[0])),
        hostAddress: host.address,
        sshCommand: host.sshCommand ?? pulumi.output(""),
        volumes: {
            database: volumes.database.name,
            static: volumes.static.name,
            media: volumes.media.name,
            backups: volumes.backups.name,
        },
        backupContainer: backups.container.name,
        backupBucket: host.backupStore?.uri ?? pulumi.output(""),
        databaseUrl: database.connectionUrl,
        superuserPassword: secrets.superuserPassword,
        accessoryPasswords: pulumi.secret(pulumi.all(accessories.passwords)),
        /** What bin/webstack needs to reach the stack's containers; nothing secret. */
        operations: {
            dockerHost: host.dockerConnection?.host ?? pulumi.output(""),
            sshOptions: host.dockerConnection?.sshOptions ?? [],
            prefix,
            services: pulumi.all(services),
            webKind: swarm === undefined ? "container" : "service",
            appImage: appServer.image,
            appRepository: app.image === undefined ? builtRepository : pulumi.output(app.image.replace(/[:@][^/:@]*$/, "")),
            imageSource: app.image !== undefined ? "appImage" : app.rollbackImage !== undefined ? "rollbackImage" : "build",
            appKind: app.kind,
            backendNetwork: networks.backend.name,
            database: { name: settings.database.name, user: settings.database.user },
            maintenance: settings.edge.maintenance,
            proxy: settings.proxy,
            tls: settings.edge.tls !== "off",
            siteHost: hosts.apply((names) => names[0]),
            backupDir: BACKUP_DIR,
        },
    };
    return { outputs, parts: { host, secrets, swarm, registry, networks, volumes, database, app: appServer, proxy, maintenance, backups, autoheal, monitor, pruning, workers, accessories, webRoutes } };
}
