import { isIP } from "net";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { extensionName } from "../components/extensions";
import { maintenancePathProblem } from "../components/maintenancePage";
import { routeProblems, siteReservedPrefixes } from "../components/nginxConfig";
import { buildContextProblem } from "./buildContext";
import { projectRoot } from "./paths";
import { AccessoryKind, parseAccessories, parseAppSecrets, parseWebRoutes, parseWorkers, RESERVED_ENVIRONMENT } from "./structured";
import * as v from "./validators";

export { buildContextProblem } from "./buildContext";
export { projectRoot } from "./paths";
export { ACCESSORY_KINDS, RESERVED_ENVIRONMENT } from "./structured";
export type { AccessoryKind } from "./structured";

export const TARGETS = ["local", "ssh", "digitalocean", "aws"] as const;
export const PROXIES = ["nginx", "traefik", "none"] as const;
export const APP_KINDS = ["django", "flask", "fastapi", "other"] as const;
export type AppKind = (typeof APP_KINDS)[number];
/** Values of the program an app can read under its own variable names (appEnvMap). */
export const ENV_SOURCES = [
    "dbHost", "dbPort", "dbName", "dbUser", "dbPassword", "databaseUrl", "secretKey", "allowedHosts", "csrfTrustedOrigins", "debug",
    "redisUrl", "rabbitmqUrl",
] as const;
export type EnvSource = (typeof ENV_SOURCES)[number];
export const ENVIRONMENTS = ["dev", "stage", "prod"] as const;
export type Target = (typeof TARGETS)[number];
export type ProxyKind = (typeof PROXIES)[number];
export type Environment = (typeof ENVIRONMENTS)[number];

/** Secrets: optional, generated when unset, always set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["dbPassword", "djangoSecretKey", "superuserPassword", "tlsCertificate", "tlsPrivateKey", "alertWebhookUrl"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export type TlsMode = "off" | "letsencrypt" | "provided";

export interface Settings {
    project: string;
    stack: string;
    environment: Environment;
    target: Target;
    proxy: ProxyKind;
    domain?: string;
    dnsZone?: string;
    httpPort: number;
    httpsPort: number;
    edge: {
        tls: TlsMode;
        acmeEmail?: string;
        acmeStaging: boolean;
        hsts: boolean;
        clientMaxBodySize: string;
        proxyTimeoutSeconds: number;
        serveStatic: boolean;
        /** The proxy answers 503 with a maintenance page for the app (maintenance). */
        maintenance: boolean;
        /** The app's own paths when a webRoute takes "/" (appPaths). */
        appPaths: string[];
    };
    /** Other web containers the proxy sends a path prefix to (webRoutes). */
    webRoutes: { name: string; image?: string; context?: string; dockerfile: string; port: number; path: string; healthcheckPath: string }[];
    /** Database, media and backup storage survive `pulumi destroy` and replacements. */
    protectData: boolean;
    backups: { time: string; retentionDays: number };
    /** What the monitor reports to the alertWebhookUrl secret (settings.secrets.alertWebhookUrl). */
    alerts: { format: "slack" | "ntfy"; diskPercent: number; certificateDays: number };
    database: {
        postgresVersion: number;
        name: string;
        user: string;
        extensions: string[];
        /** First-time schema SQL (dbInitSqlFiles), read from the files. */
        initSql: { name: string; content: string }[];
    };
    app: {
        kind: AppKind;
        /** The app's own secrets (appSecrets), set with `pulumi config set --secret --path 'appSecrets.NAME'`. */
        secrets: Record<string, pulumi.Output<string>>;
        entrypoint: string[];
        envMap: { name: string; source: EnvSource }[];
        /** Extra processes from the app image (appWorkers). */
        workers: { name: string; command: string[]; healthcheck: string[]; stopGraceSeconds: number; schedule?: string }[];
        listSeparator: "," | " ";
        context: string;
        dockerfile: string;
        image?: string;
        /** A previously built app image on the host to run instead of building (rollbackImage). */
        rollbackImage?: string;
        server: "gunicorn" | "daphne";
        module: string;
        command: string[];
        port: number;
        healthcheckPath: string;
        healthcheckCommand: string[];
        releaseCommand: string[];
        releaseTimeoutMinutes: number;
        staticRoot: string;
        staticUrl: string;
        mediaRoot: string;
        mediaUrl: string;
        environment: Record<string, string>;
        debug: boolean;
        superuserName: string;
        superuserEmail: string;
    };
    host: {
        /** Target ssh: the server's address and SSH port. */
        sshHost?: string;
        sshPort: number;
        sshUser: string;
        sshPublicKeys: string[];
        sshAllowedCidrs: string[];
        sshPrivateKeyPath?: string;
        dataVolumeSizeGb: number;
        rootVolumeSizeGb: number;
    };
    /**
     * Past one machine (webReplicas, swarmWorkers): `swarm` is true when the web tier is a Swarm
     * service; `workers` counts the hosts beside the manager (sshWorkerHosts' length for target ssh).
     */
    scale: { swarm: boolean; webReplicas: number; workers: number; sshWorkerHosts: string[]; maxReplicasPerHost: number; registry: "auto" | "none" };
    /** Official images beside the app: brokers and admin UIs (accessories). */
    accessories: { kind: AccessoryKind; version: string; path?: string }[];
    digitalocean: { region: string; size: string; image: string };
    aws: { region?: string; instanceType: string; subnetId?: string; amiId?: string };
    secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/** How each project key is checked. The keys are exactly those declared in Pulumi.yaml. */
export const PARSERS = {
    environment: v.optional(v.oneOf(ENVIRONMENTS)),
    target: v.oneOf(TARGETS),
    proxy: v.oneOf(PROXIES),
    domain: v.optional(v.domainName),
    dnsZone: v.optional(v.domainName),
    httpPort: v.integer(1, 65535),
    httpsPort: v.integer(1, 65535),
    tls: v.oneOf(["auto", "letsencrypt", "provided", "off"] as const),
    acmeEmail: v.optional(v.email),
    acmeStaging: v.boolean,
    hsts: v.oneOf(["auto", "on", "off"] as const),
    proxyTimeoutSeconds: v.integer(1, 3600),
    proxyServeStatic: v.boolean,
    maintenance: v.boolean,
    appPaths: v.stringList,
    clientMaxBodySize: v.matching(/^[1-9][0-9]*[kmg]?$/, "an nginx size such as 512k, 20m or 1g"),
    postgresVersion: v.integer(13, 17, "; an older major moves by dump and restore, see docs/postgres.md"),
    dbName: v.identifier,
    dbUser: v.identifier,
    dbExtensions: v.listOf(extensionName, "extension names such as pg_trgm or uuid-ossp"),
    dbInitSqlFiles: v.listOf(v.directoryPath, "SQL file paths such as ../my-app/schema.sql"),
    dataProtection: v.oneOf(["auto", "on", "off"] as const),
    backupTime: v.matching(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "a time of day HH:MM (UTC) such as 03:00"),
    backupRetentionDays: v.integer(1, 3650),
    alertFormat: v.oneOf(["slack", "ntfy"] as const),
    alertDiskPercent: v.integer(50, 99),
    alertCertificateDays: v.integer(1, 60),
    appContext: v.directoryPath,
    appDockerfile: v.relativePath,
    appImage: v.optional(v.imageReference),
    rollbackImage: v.optional(v.imageReference),
    appKind: v.oneOf(APP_KINDS),
    appServer: v.oneOf(["gunicorn", "daphne"] as const),
    appModule: v.optional(v.pythonCallable),
    appEntrypoint: v.stringList,
    appEnvMap: v.listOf(v.matching(new RegExp(`^[A-Za-z_][A-Za-z0-9_]*=(${ENV_SOURCES.join("|")})$`), "x"), `NAME=source entries with a source from ${ENV_SOURCES.join(", ")}`),
    appListSeparator: v.oneOf(["comma", "space"] as const),
    appCommand: v.stringList,
    appPort: v.integer(1, 65535),
    appHealthcheckPath: v.optional(v.urlPath),
    appHealthcheckCommand: v.stringList,
    appReleaseCommand: v.stringList,
    releaseTimeoutMinutes: v.integer(1, 1440),
    appStaticRoot: v.absolutePath,
    appStaticUrl: v.urlPrefix,
    appMediaRoot: v.absolutePath,
    appMediaUrl: v.urlPrefix,
    appEnvironment: v.listOf(v.environmentEntry, "KEY=value entries"),
    debug: v.boolean,
    superuserName: v.matching(/^[\w.@+-]{1,150}$/, "a Django username (letters, digits and @.+-_)"),
    superuserEmail: v.email,
    webReplicas: v.integer(1, 100),
    swarmMode: v.oneOf(["auto", "on"] as const),
    swarmWorkers: v.integer(0, 50),
    webMaxReplicasPerHost: v.integer(0, 100),
    appRegistry: v.oneOf(["auto", "none"] as const),
    sshWorkerHosts: v.listOf(v.hostAddress, "server addresses such as 10.0.0.12 or app-2.example.org"),
    sshHost: v.optional(v.hostAddress),
    sshPort: v.integer(1, 65535),
    sshUser: v.userName,
    sshPublicKeys: v.listOf(v.sshPublicKey, "OpenSSH public key lines"),
    sshAllowedCidrs: v.listOf(v.cidr, "CIDR blocks such as 203.0.113.7/32"),
    sshPrivateKeyPath: v.optional(v.matching(/^[^\s]+$/, "a file path without spaces")),
    dataVolumeSizeGb: v.integer(1, 16384),
    rootVolumeSizeGb: v.integer(8, 16384),
    dropletRegion: v.doRegion,
    dropletSize: v.doSlug,
    dropletImage: v.doSlug,
    awsInstanceType: v.awsInstanceType,
    awsSubnetId: v.optional(v.awsSubnetId),
    awsAmiId: v.optional(v.awsAmiId),
};
type Parsed = { [K in keyof typeof PARSERS]: ReturnType<(typeof PARSERS)[K]> };

/** The stack's configuration could not be accepted; `problems` has one line per bad key. */
export class ConfigError extends Error {
    constructor(readonly stack: string, readonly problems: string[]) {
        super(
            `Stack "${stack}" has invalid configuration; nothing was changed. Fix these with ` +
                "`pulumi config set <key> <value>` (a list: `pulumi config set --path '<key>[0]' <value>`) and run again:\n" +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

export interface RawConfig {
    project: string;
    stack: string;
    /** Project keys, as the strings Pulumi hands the program (lists as JSON). */
    values: Record<string, string | undefined>;
    /** aws:region, read from the provider's namespace. */
    awsRegion?: string;
    secrets?: Settings["secrets"];
    /** appSecrets as the CLI hands it over: an object of names to secret strings, or undefined. */
    appSecrets?: unknown;
    /** appWorkers as the CLI hands it over: an object of worker names to their settings. */
    appWorkers?: unknown;
    /** accessories as the CLI hands it over: an object of kinds to { version, path }. */
    accessories?: unknown;
    /** webRoutes as the CLI hands it over: an object of names to { image | context, port, path }. */
    webRoutes?: unknown;
    /** The alertWebhookUrl secret's text, only to check its form; the value used is secrets.alertWebhookUrl. */
    alertWebhookUrl?: string;
}

/** Checks every key, then the rules between keys, and reports every problem at once. */
export function parseSettings(raw: RawConfig): Settings {
    const problems: string[] = [];
    const key = (name: string) => `${raw.project}:${name}`;
    const parsed = {} as Record<string, unknown>;
    for (const [name, parse] of Object.entries(PARSERS)) {
        const value = raw.values[name];
        if (value === undefined) {
            problems.push(`${key(name)}: is not set (Pulumi.yaml declares its default; is the project file intact?)`);
            continue;
        }
        try {
            parsed[name] = (parse as (v: string) => unknown)(value);
        } catch (err) {
            if (!(err instanceof v.InvalidValue)) throw err;
            problems.push(`${key(name)}: expected ${err.message}, got ${JSON.stringify(value)}` +
                (v.isListParser(parse) ? `; ${listHint(key(name))}` : ""));
        }
    }
    const p = parsed as Parsed;

    let environment = p.environment;
    if (!problems.some((x) => x.startsWith(key("environment") + ":")) && environment === undefined) {
        if ((ENVIRONMENTS as readonly string[]).includes(raw.stack)) {
            environment = raw.stack as Environment;
        } else {
            problems.push(`${key("environment")}: expected one of ${ENVIRONMENTS.join(", ")} (the stack "${raw.stack}" is not named after one), got ""`);
        }
    }

    let awsRegion: string | undefined;
    if (raw.awsRegion !== undefined && raw.awsRegion !== "") {
        try {
            awsRegion = v.awsRegion(raw.awsRegion);
        } catch (err) {
            problems.push(`aws:region: expected ${(err as Error).message}, got ${JSON.stringify(raw.awsRegion)}`);
        }
    }

    const environmentVars: Record<string, string> = {};
    for (const entry of p.appEnvironment ?? []) {
        const name = entry.slice(0, entry.indexOf("="));
        if (RESERVED_ENVIRONMENT.includes(name)) {
            problems.push(`${key("appEnvironment")}: ${name} is set by the program itself; remove it (secrets go in the secret settings)`);
        } else if (/(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY)/i.test(name)) {
            problems.push(`${key("appEnvironment")}: ${name} looks like a secret, and appEnvironment is stored in plain text; ` +
                `put it in appSecrets instead: \`pulumi config set --secret --path 'appSecrets.${name}' <value>\``);
        }
        environmentVars[name] = entry.slice(entry.indexOf("=") + 1);
    }

    const appSecrets = parseAppSecrets(raw.appSecrets, key, problems);
    const workers = parseWorkers(raw.appWorkers, key, problems);
    const accessories = parseAccessories(raw.accessories, key, problems);
    const webRoutes = parseWebRoutes(raw.webRoutes, key, problems);
    const initSql: Settings["database"]["initSql"] = [];
    for (const file of p.dbInitSqlFiles ?? []) {
        const full = path.resolve(projectRoot(), file);
        if (!fs.existsSync(full) || !fs.statSync(full).isFile()) {
            problems.push(`${key("dbInitSqlFiles")}: ${file} is not a file (paths are relative to this project)`);
        } else {
            initSql.push({ name: file, content: fs.readFileSync(full, "utf8") });
        }
    }
    if (p.appStaticUrl !== undefined && p.appMediaUrl !== undefined) {
        const routes = [
            ...webRoutes.map((r) => ({ pathPrefix: r.path, upstream: `${r.name}:${r.port}` })),
            ...accessories.filter((a) => a.path !== undefined).map((a) => ({ pathPrefix: a.path!, upstream: `${a.kind}:80` })),
        ];
        const reserved = siteReservedPrefixes({ staticUrl: p.appStaticUrl, mediaUrl: p.appMediaUrl, serveStatic: p.proxyServeStatic !== false });
        for (const problem of routeProblems(routes, reserved, { appPaths: p.appPaths ?? [] })) problems.push(`${key("webRoutes")}: ${problem}`);
        if (routes.length > 0 && p.proxy === "none") {
            problems.push(`${key("proxy")}: webRoutes and admin UIs with a path are served by the proxy; expected nginx or traefik`);
        }
    }
    const accessoryKinds = accessories.map((a) => a.kind);
    for (const [source, kind, variable] of [["redisUrl", "redis", "REDIS_URL"], ["rabbitmqUrl", "rabbitmq", "RABBITMQ_URL"]] as const) {
        if ((p.appEnvMap ?? []).some((e) => e.endsWith(`=${source}`)) && !accessoryKinds.includes(kind)) {
            problems.push(`${key("appEnvMap")}: ${source} needs the ${kind} accessory (accessories.${kind}.version)`);
        }
        if (accessoryKinds.includes(kind) && (variable in environmentVars || variable in appSecrets)) {
            problems.push(`${key(variable in environmentVars ? "appEnvironment" : "appSecrets")}: ${variable} is set by the program when the ${kind} accessory is on; remove it`);
        }
    }
    const envMap = (p.appEnvMap ?? []).map((entry) => {
        const [name, source] = entry.split("=") as [string, EnvSource];
        return { name, source };
    });
    const taken = new Map<string, string>(Object.keys(environmentVars).map((n) => [n, "appEnvironment"]));
    for (const [setting, names] of [["appEnvMap", envMap.map((m) => m.name)], ["appSecrets", Object.keys(appSecrets)]] as const) {
        for (const name of names) {
            // appEnvMap may replace a variable the program sets (DJANGO_ALLOWED_HOSTS, space-separated).
            if (taken.has(name)) {
                problems.push(`${key(setting)}: ${name} is also set in ${taken.get(name)}; set each variable once`);
            }
            taken.set(name, setting);
        }
    }

    const webhookProblem = alertWebhookProblem(raw.alertWebhookUrl);
    if (webhookProblem !== undefined) problems.push(`${key("alertWebhookUrl")}: ${webhookProblem}`);
    if (problems.length === 0) {
        problems.push(...crossChecks(p, environment!, awsRegion, key), ...appChecks(p, key), ...edgeChecks(p, raw.secrets ?? {}, key), ...scaleChecks(p, key));
    }
    if (problems.length > 0) throw new ConfigError(raw.stack, problems);

    return {
        project: raw.project,
        stack: raw.stack,
        environment: environment!,
        target: p.target,
        proxy: p.proxy,
        domain: p.domain,
        dnsZone: p.dnsZone,
        httpPort: p.httpPort,
        httpsPort: p.httpsPort,
        edge: {
            tls: tlsMode(p),
            acmeEmail: p.acmeEmail,
            acmeStaging: p.acmeStaging,
            hsts: p.hsts === "on" || (p.hsts === "auto" && environment === "prod" && tlsMode(p) !== "off"),
            clientMaxBodySize: p.clientMaxBodySize,
            proxyTimeoutSeconds: p.proxyTimeoutSeconds,
            serveStatic: p.proxyServeStatic,
            maintenance: p.maintenance,
            appPaths: p.appPaths,
        },
        webRoutes,
        protectData: p.dataProtection === "on" || (p.dataProtection === "auto" && environment === "prod"),
        backups: { time: p.backupTime, retentionDays: p.backupRetentionDays },
        alerts: { format: p.alertFormat, diskPercent: p.alertDiskPercent, certificateDays: p.alertCertificateDays },
        database: {
            postgresVersion: p.postgresVersion,
            name: p.dbName,
            user: p.dbUser,
            extensions: p.dbExtensions.filter((e) => e !== "q3c"),
            initSql,
        },
        app: {
            kind: p.appKind,
            secrets: appSecrets,
            entrypoint: p.appEntrypoint,
            envMap,
            workers,
            listSeparator: p.appListSeparator === "space" ? " " : ",",
            context: p.appContext,
            dockerfile: p.appDockerfile,
            image: p.appImage,
            rollbackImage: p.rollbackImage,
            server: p.appServer,
            module: p.appModule ?? KIND_DEFAULTS[p.appKind].module,
            command: p.appCommand,
            port: p.appPort,
            healthcheckPath: p.appHealthcheckPath ?? KIND_DEFAULTS[p.appKind].healthcheckPath,
            healthcheckCommand: p.appHealthcheckCommand,
            releaseCommand: p.appReleaseCommand,
            releaseTimeoutMinutes: p.releaseTimeoutMinutes,
            staticRoot: p.appStaticRoot,
            staticUrl: p.appStaticUrl,
            mediaRoot: p.appMediaRoot,
            mediaUrl: p.appMediaUrl,
            environment: environmentVars,
            debug: p.debug,
            superuserName: p.superuserName,
            superuserEmail: p.superuserEmail,
        },
        host: {
            sshHost: p.sshHost,
            sshPort: p.sshPort,
            sshUser: p.sshUser,
            sshPublicKeys: p.sshPublicKeys,
            sshAllowedCidrs: p.sshAllowedCidrs,
            sshPrivateKeyPath: p.sshPrivateKeyPath,
            dataVolumeSizeGb: p.dataVolumeSizeGb,
            rootVolumeSizeGb: p.rootVolumeSizeGb,
        },
        scale: scaleOf(p),
        accessories,
        digitalocean: { region: p.dropletRegion, size: p.dropletSize, image: p.dropletImage },
        aws: { region: awsRegion, instanceType: p.awsInstanceType, subnetId: p.awsSubnetId, amiId: p.awsAmiId },
        secrets: raw.secrets ?? {},
    };
}

/**
 * How a list is set: `pulumi config set key value` stores a string, which the CLI then refuses
 * for an array key, so the advice is the --path form or a YAML list.
 */
export function listHint(fullKey: string, example = "<value>"): string {
    return `set items with \`pulumi config set --path '${fullKey}[0]' ${example}\` (then [1], ...) or as a YAML list under ${fullKey} in the stack file`;
}

/** Rules that involve more than one key. */
function crossChecks(p: Parsed, environment: Environment, awsRegion: string | undefined, key: (n: string) => string): string[] {
    const problems: string[] = [];
    const cloud = p.target === "digitalocean" || p.target === "aws";
    if (p.target === "ssh" && p.sshHost === undefined) {
        problems.push(`${key("sshHost")}: target ssh needs the server's address, for example \`pulumi config set sshHost app.example.org\``);
    }
    if (p.target !== "ssh" && p.sshHost !== undefined) {
        problems.push(`${key("sshHost")}: only target ssh uses it (the clouds make their own machine); leave it empty for target ${p.target}`);
    }
    if (cloud && p.sshPublicKeys.length === 0) {
        problems.push(`${key("sshPublicKeys")}: target ${p.target} needs at least one public key; ${listHint(key("sshPublicKeys"), "'ssh-ed25519 AAAA... you@laptop'")}`);
    }
    if (cloud && p.sshAllowedCidrs.length === 0) {
        problems.push(`${key("sshAllowedCidrs")}: target ${p.target} needs the CIDRs allowed to reach SSH (the docker provider connects over it); ${listHint(key("sshAllowedCidrs"), "203.0.113.7/32")}`);
    }
    if (environment === "prod" && p.sshAllowedCidrs.some(v.isWorldOpen)) {
        problems.push(`${key("sshAllowedCidrs")}: SSH open to the whole Internet (${p.sshAllowedCidrs.filter(v.isWorldOpen).join(", ")}) is refused on prod; list your own addresses, such as 203.0.113.7/32`);
    }
    if (p.target === "aws" && awsRegion === undefined) {
        problems.push("aws:region: target aws needs a region, for example `pulumi config set aws:region eu-west-1`");
    }
    if (p.debug && environment !== "dev") {
        problems.push(`${key("debug")}: expected false outside dev (environment is ${environment})`);
    }
    if (p.dnsZone !== undefined) {
        if (p.domain === undefined) {
            problems.push(`${key("dnsZone")}: a DNS zone needs ${key("domain")} to be set, to a name inside the zone`);
        } else if (p.domain !== p.dnsZone && !p.domain.endsWith(`.${p.dnsZone}`)) {
            problems.push(`${key("domain")}: expected a name inside dnsZone ${p.dnsZone}, got ${JSON.stringify(p.domain)}`);
        }
        if (!cloud) {
            problems.push(`${key("dnsZone")}: DNS records are only made on cloud targets; leave it empty for target ${p.target}`);
        }
    }
    if (p.rollbackImage !== undefined && p.appImage !== undefined) {
        problems.push(`${key("rollbackImage")}: this stack runs appImage ${p.appImage}; roll back by setting appImage to the previous tag, and leave rollbackImage empty`);
    }
    const contextProblem = p.appImage === undefined && p.rollbackImage === undefined ? buildContextProblem(p.appContext, p.appDockerfile) : undefined;
    if (contextProblem !== undefined) problems.push(`${key("appContext")}: ${contextProblem}`);
    if (p.proxy === "none" && environment !== "dev") {
        problems.push(`${key("proxy")}: expected nginx or traefik outside dev; none publishes the app server itself`);
    }
    return problems;
}

function scaleOf(p: Parsed): Settings["scale"] {
    const workers = p.target === "ssh" ? p.sshWorkerHosts.length : p.swarmWorkers;
    return {
        swarm: p.swarmMode === "on" || p.webReplicas > 1 || workers > 0,
        webReplicas: p.webReplicas,
        workers,
        sshWorkerHosts: p.sshWorkerHosts,
        maxReplicasPerHost: p.webMaxReplicasPerHost,
        registry: p.appRegistry,
    };
}

/** Rules of a stack past one machine; nothing to say for a single host. */
export function scaleChecks(p: Parsed, key: (n: string) => string): string[] {
    const problems: string[] = [];
    if (p.target === "local" && p.swarmWorkers > 0) {
        problems.push(`${key("swarmWorkers")}: the local target is this one machine; more hosts need target digitalocean, aws or ssh (sshWorkerHosts), so leave it at 0 here`);
    }
    if (p.target === "ssh" && p.swarmWorkers > 0 && p.swarmWorkers !== p.sshWorkerHosts.length) {
        problems.push(`${key("swarmWorkers")}: target ssh takes its workers from sshWorkerHosts (${p.sshWorkerHosts.length} listed); leave swarmWorkers at 0 or set it to that number`);
    }
    if (p.target !== "ssh" && p.sshWorkerHosts.length > 0) {
        problems.push(`${key("sshWorkerHosts")}: only target ssh uses it; target ${p.target} ${p.target === "local" ? "has one host" : "makes its workers itself (swarmWorkers)"}`);
    }
    const workers = p.target === "ssh" ? p.sshWorkerHosts.length : p.swarmWorkers;
    if (p.target === "ssh" && workers > 0) {
        // Swarm advertises and joins by IP address; a name would fail on the servers, after the fact.
        const names = [p.sshHost, ...p.sshWorkerHosts].filter((h): h is string => h !== undefined && isIP(h) === 0);
        if (names.length > 0) {
            problems.push(`${key("sshWorkerHosts")}: a Swarm advertises and joins by IP address; give sshHost and sshWorkerHosts as the addresses the servers reach each other on (a private network), not names (${names.join(", ")})`);
        }
    }
    const hosts = Math.max(1, workers);
    if (p.webMaxReplicasPerHost > 0 && p.webReplicas > hosts * p.webMaxReplicasPerHost) {
        problems.push(`${key("webReplicas")}: ${p.webReplicas} replicas do not fit on ${hosts} host${hosts === 1 ? "" : "s"} at webMaxReplicasPerHost ${p.webMaxReplicasPerHost} (at most ${hosts * p.webMaxReplicasPerHost}); lower webReplicas or add hosts`);
    }
    if (workers > 0 && p.appRegistry === "none" && p.appImage === undefined) {
        problems.push(`${key("appRegistry")}: a stack on ${workers + 1} hosts builds appContext on the manager, and the other hosts can only pull it from a registry; set appRegistry to auto, or appImage to an image in a registry they can reach`);
    }
    if (workers > 0 && (p.proxy === "none")) {
        problems.push(`${key("proxy")}: a multi-host stack needs a proxy in front of its web replicas; set nginx or traefik`);
    }
    return problems;
}

/** What an app of each kind gets when the stack leaves a setting empty. */
export const KIND_DEFAULTS: Record<AppKind, { module: string; healthcheckPath: string }> = {
    django: { module: "config", healthcheckPath: "/accounts/login/" },
    flask: { module: "app:app", healthcheckPath: "/" },
    fastapi: { module: "app.main:app", healthcheckPath: "/docs" },
    other: { module: "", healthcheckPath: "/" },
};

/** The alert webhook: an http(s) URL, checked without showing it (it is a secret). */
export function alertWebhookProblem(url: string | undefined): string | undefined {
    if (url === undefined) return undefined;
    let parsed: URL | undefined;
    try {
        parsed = new URL(url);
    } catch {
        parsed = undefined;
    }
    if (parsed === undefined || !["http:", "https:"].includes(parsed.protocol) || parsed.hostname === "") {
        return "expected an http(s) URL such as https://hooks.slack.com/services/... or https://ntfy.sh/my-topic (the value is not shown: it is a secret); set it with `pulumi config set --secret alertWebhookUrl <url>`";
    }
    return undefined;
}

function appChecks(p: Parsed, key: (n: string) => string): string[] {
    const problems: string[] = [];
    if (p.appKind === "other" && p.appCommand.length === 0) {
        problems.push(`${key("appCommand")}: appKind other has no default web command; set one, for example ["./start.sh"]`);
    }
    if (p.appKind === "django" && p.appModule?.includes(":")) {
        problems.push(`${key("appModule")}: for django, expected the package that holds wsgi.py (config), got ${JSON.stringify(p.appModule)}`);
    }
    if (p.appServer === "daphne" && p.appKind !== "django" && p.appCommand.length === 0) {
        problems.push(`${key("appServer")}: daphne serves a Django project; expected gunicorn (unused) for appKind ${p.appKind}, or set appCommand`);
    }
    return problems;
}

/** auto means Let's Encrypt for a named site on a cloud host, and plain HTTP otherwise. */
function tlsMode(p: Parsed): TlsMode {
    if (p.tls !== "auto") return p.tls;
    return p.domain !== undefined && p.target !== "local" && p.proxy !== "none" ? "letsencrypt" : "off";
}

function edgeChecks(p: Parsed, secrets: Settings["secrets"], key: (n: string) => string): string[] {
    const problems: string[] = [];
    const mode = tlsMode(p);
    if (mode !== "off" && p.proxy === "none") {
        problems.push(`${key("tls")}: TLS is terminated by the proxy; expected off with proxy none, got ${p.tls}`);
    }
    if (mode === "letsencrypt") {
        if (p.domain === undefined) problems.push(`${key("domain")}: Let's Encrypt needs the site's DNS name, for example www.example.org`);
        if (p.acmeEmail === undefined) problems.push(`${key("acmeEmail")}: Let's Encrypt needs a contact email, for example ops@example.org`);
        if (p.target === "local") problems.push(`${key("tls")}: Let's Encrypt cannot reach a local Docker host; expected off or provided for target local`);
    }
    if (mode === "provided") {
        if (p.proxy !== "nginx") problems.push(`${key("tls")}: provided certificates are served by nginx; expected proxy nginx, got ${p.proxy}`);
        for (const secret of ["tlsCertificate", "tlsPrivateKey"] as const) {
            if (secrets[secret] === undefined) problems.push(`${key(secret)}: tls provided needs it, set as a PEM file with \`pulumi config set --secret ${secret} < file.pem\``);
        }
    }
    if (p.hsts === "on" && mode === "off") {
        problems.push(`${key("hsts")}: HSTS needs HTTPS; expected off or auto while tls is off`);
    }
    if (p.maintenance) {
        if (p.proxy === "none") problems.push(`${key("maintenance")}: the maintenance page is answered by the proxy; expected proxy nginx or traefik, or maintenance false`);
        const pathProblem = maintenancePathProblem(p.appHealthcheckPath ?? KIND_DEFAULTS[p.appKind].healthcheckPath);
        if (pathProblem !== undefined) problems.push(`${key("appHealthcheckPath")}: with maintenance on, ${pathProblem}`);
    }
    return problems;
}

/** The config schema of Pulumi.yaml, which the CLI uses to fill in defaults. */
export function projectSchema(root = projectRoot()): { name: string; config: Record<string, { type: string; default: unknown }> } {
    return YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
}

/** Renders a YAML value the way the Pulumi CLI hands it to a program: strings as is, the rest as JSON. */
export function configString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * appSecrets, appWorkers, accessories and webRoutes are maps, which Pulumi.yaml cannot declare (its types are string, integer, boolean
 * and array), so it is read here. Values set with --secret arrive decrypted and are re-wrapped.
 */
function structuredConfig(name: string): unknown {
    // The raw value: Config.get* would warn that a secret is read as plain, though it is re-wrapped.
    const text = pulumi.runtime.getConfig(`${pulumi.getProject()}:${name}`);
    if (text === undefined) return undefined;
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Reads every setting of the current stack, with Pulumi.yaml's defaults for keys the stack leaves out. */
export function readSettings(): Settings {
    const schema = projectSchema();
    const config = new pulumi.Config();
    const values: Record<string, string | undefined> = {};
    for (const name of Object.keys(PARSERS)) {
        const declared = schema.config[name];
        values[name] = config.get(name) ?? (declared === undefined ? undefined : configString(declared.default));
    }
    const secrets: Settings["secrets"] = {};
    for (const name of SECRET_KEYS) {
        const value = config.getSecret(name);
        if (value !== undefined) secrets[name] = value;
    }
    return parseSettings({
        project: pulumi.getProject(),
        stack: pulumi.getStack(),
        values,
        awsRegion: new pulumi.Config("aws").get("region"),
        secrets,
        appSecrets: structuredConfig("appSecrets"),
        appWorkers: structuredConfig("appWorkers"),
        accessories: structuredConfig("accessories"),
        webRoutes: structuredConfig("webRoutes"),
        alertWebhookUrl: pulumi.runtime.getConfig(`${pulumi.getProject()}:alertWebhookUrl`),
    });
}
