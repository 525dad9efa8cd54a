import { maintenancePathProblem } from "./maintenancePage";
import { DEFAULT_ROUTE_PREFIX, isAppPath } from "./nginxConfig";

/** Where Traefik keeps ACME accounts and certificates; Traefik creates acme.json with mode 600. */
export const TRAEFIK_ACME_DIR = "/letsencrypt";
export const LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

export interface TraefikAcme {
    email: string;
    staging: boolean;
}

/**
 * Traefik v3 static configuration, as command-line flags.
 *
 * proxyTimeoutSeconds (nginx's proxy_read_timeout) becomes the default servers transport's
 * forwardingTimeouts.responseHeaderTimeout: how long Traefik waits for an upstream's response
 * headers once the request is sent, then answers 504. It is the static `serversTransport`, which
 * Traefik turns into the transport every service uses unless a label names another one; Docker
 * labels can only name a transport, not define one. Unset, no flag: Traefik's default, no limit.
 * The entry points' readTimeout (60 s by default since v3) bounds reading the client's request,
 * body included, not the wait for the answer, and is left as it is.
 */
export function traefikArguments(o: { network: string; acme?: TraefikAcme; proxyTimeoutSeconds?: number; swarm?: boolean }): string[] {
    const args = [
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        `--providers.docker.network=${o.network}`,
        // Swarm mode: the web tier is a service, whose labels only the Swarm provider reads (Traefik
        // runs on the manager with its socket). The other routed containers stay with the Docker provider.
        ...(o.swarm ? ["--providers.swarm=true", "--providers.swarm.exposedbydefault=false", `--providers.swarm.network=${o.network}`] : []),
        "--entrypoints.web.address=:80",
        "--ping=true",
        "--api.dashboard=false",
        "--log.level=INFO",
        "--accesslog=true",
        // The proxy network is the only source of forwarded headers Traefik should pass on.
        "--entrypoints.web.forwardedheaders.insecure=false",
        // As nginx's proxy_connect_timeout: an address that just went away (a replaced or removed
        // container) fails in 2 s instead of Traefik's default 30 s.
        "--serverstransport.forwardingtimeouts.dialtimeout=2s",
    ];
    if (o.proxyTimeoutSeconds !== undefined) {
        if (!(Number.isInteger(o.proxyTimeoutSeconds) && o.proxyTimeoutSeconds > 0)) {
            throw new Error(`proxyTimeoutSeconds: expected a whole number of seconds above 0, got ${o.proxyTimeoutSeconds}`);
        }
        args.push(`--serverstransport.forwardingtimeouts.responseheadertimeout=${o.proxyTimeoutSeconds}s`);
    }
    if (o.acme !== undefined) {
        args.push(
            "--entrypoints.websecure.address=:443",
            "--entrypoints.websecure.http.tls=true",
            "--entrypoints.web.http.redirections.entrypoint.to=websecure",
            "--entrypoints.web.http.redirections.entrypoint.scheme=https",
            "--entrypoints.web.http.redirections.entrypoint.permanent=true",
            "--certificatesresolvers.letsencrypt.acme.tlschallenge=true",
            `--certificatesresolvers.letsencrypt.acme.email=${o.acme.email}`,
            `--certificatesresolvers.letsencrypt.acme.storage=${TRAEFIK_ACME_DIR}/acme.json`,
            ...(o.acme.staging ? [`--certificatesresolvers.letsencrypt.acme.caserver=${LETSENCRYPT_STAGING}`] : []),
        );
    }
    return args;
}

/** Host(`a`) || Host(`b`); with no names, every host (the app's ALLOWED_HOSTS still applies). */
export function hostRule(hosts: string[]): string {
    return hosts.length === 0 ? "PathPrefix(`/`)" : hosts.map((h) => `Host(\`${h}\`)`).join(" || ");
}

/** nginx sizes (20m) in bytes, for Traefik's buffering middleware. */
export function sizeInBytes(size: string): number {
    const units: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
    const unit = size.slice(-1);
    return unit in units ? Number(size.slice(0, -1)) * units[unit] : Number(size);
}

export interface TraefikRouterOptions {
    router: string;
    hosts: string[];
    port: number;
    network: string;
    tls: boolean;
    hsts: boolean;
    maxBodySize: string;
}

/**
 * The labels of one router, its service and its two middlewares (the edge's headers, the body
 * limit), all named `name`; `priority` only when given (else Traefik's: the rule's length).
 */
function routerLabels(name: string, rule: string, o: TraefikRouterOptions, priority?: number): Record<string, string> {
    const r = `traefik.http.routers.${name}`;
    const headers = `${name}-headers`;
    const body = `${name}-body`;
    const m = "traefik.http.middlewares";
    const labels: Record<string, string> = {
        "traefik.enable": "true",
        "traefik.docker.network": o.network,
        [`${r}.rule`]: rule,
        ...(priority === undefined ? {} : { [`${r}.priority`]: String(priority) }),
        [`${r}.entrypoints`]: o.tls ? "websecure" : "web",
        [`${r}.service`]: name,
        [`${r}.middlewares`]: `${headers},${body}`,
        [`traefik.http.services.${name}.loadbalancer.server.port`]: String(o.port),
        [`${m}.${headers}.headers.contentTypeNosniff`]: "true",
        [`${m}.${headers}.headers.frameDeny`]: "true",
        [`${m}.${headers}.headers.referrerPolicy`]: "strict-origin-when-cross-origin",
        [`${m}.${body}.buffering.maxRequestBodyBytes`]: String(sizeInBytes(o.maxBodySize)),
    };
    if (o.tls) labels[`${r}.tls.certresolver`] = "letsencrypt";
    if (o.hsts) {
        labels[`${m}.${headers}.headers.stsSeconds`] = "31536000";
        labels[`${m}.${headers}.headers.stsIncludeSubdomains`] = "true";
    }
    return labels;
}

const asLabels = (labels: Record<string, string>) => Object.entries(labels).map(([label, value]) => ({ label, value }));

export interface TraefikMainRouterOptions extends TraefikRouterOptions {
    /**
     * With a default route "/" (traefikRouteLabels), the paths the app itself still serves, as
     * for nginx: "/api/" is PathPrefix(`/api/`); "/docs" is Path(`/docs`) || PathPrefix(`/docs/`).
     * Unset or empty: the router takes every path of the site's hosts, as before.
     */
    appPaths?: string[];
}

/** PathPrefix(`/api/`) || Path(`/docs`) || PathPrefix(`/docs/`): what the app paths match. */
export function appPathRule(appPaths: string[]): string {
    return appPaths.map((p) => {
        if (!isAppPath(p)) {
            throw new Error(`appPath ${JSON.stringify(p)}: expected a path such as /api/ (that prefix) or /docs (that path and everything under /docs/)`);
        }
        return p.endsWith("/") ? `PathPrefix(\`${p}\`)` : `Path(\`${p}\`) || PathPrefix(\`${p}/\`)`;
    }).join(" || ");
}

/**
 * Labels on the web container that route the site's hosts to it, with the edge's headers. With
 * appPaths, only those paths: `(Host(...)) && (PathPrefix(...) || ...)`, at Traefik's default
 * priority (the rule's length), which is above the default route's TRAEFIK_DEFAULT_ROUTE_PRIORITY.
 */
export function traefikRouterLabels(o: TraefikMainRouterOptions) {
    const paths = o.appPaths ?? [];
    if (paths.length === 0) return asLabels(routerLabels(o.router, hostRule(o.hosts), o));
    const rule = o.hosts.length === 0 ? appPathRule(paths) : `(${hostRule(o.hosts)}) && (${appPathRule(paths)})`;
    return asLabels(routerLabels(o.router, rule, o));
}

/**
 * Route priorities start here: above any main router's (Traefik's default priority is the
 * rule's length, and a Host rule for the site's names stays far shorter), and the longer prefix
 * wins among routes, as in nginx.
 */
export const TRAEFIK_ROUTE_PRIORITY = 10_000;

/**
 * The default route's ("/") priority: below every other router of the site (any rule is longer
 * than one character), so the app's paths (the main router's appPaths) and the other routes win.
 */
export const TRAEFIK_DEFAULT_ROUTE_PRIORITY = 1;

export interface TraefikRouteOptions extends TraefikRouterOptions {
    /** The main router's name (the stack prefix), as given to traefikRouterLabels. */
    router: string;
    /** The extra container's name for this route, unique in the stack: its router, service and middlewares are `${router}-${name}`. */
    name: string;
    /**
     * Leading and trailing slash, as checked by routeProblems. "/" is the default route, at
     * TRAEFIK_DEFAULT_ROUTE_PRIORITY: only useful with appPaths on the main router, which
     * otherwise takes every path (routeProblems refuses "/" without appPaths).
     */
    pathPrefix: string;
    /** The extra container's port. */
    port: number;
}

/**
 * Labels on an extra web container (a frontend beside the API) that send the site's hosts'
 * requests under pathPrefix to it, ahead of the main router: same entry points, TLS and edge
 * headers and body limit, as middlewares of its own, so the route does not depend on the web
 * container's labels being there (Traefik drops those while the web container is replaced).
 * The default route "/" comes after every other router instead, the main router's appPaths
 * included (so while the web container is replaced, its paths reach the default route).
 */
export function traefikRouteLabels(o: TraefikRouteOptions) {
    const isDefault = o.pathPrefix === DEFAULT_ROUTE_PREFIX;
    if (!isDefault && !/^\/([A-Za-z0-9._~-]+\/)+$/.test(o.pathPrefix)) {
        throw new Error(`route ${JSON.stringify(o.pathPrefix)}: expected a URL prefix with leading and trailing slashes such as /app/`);
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(o.name)) {
        throw new Error(`route name ${JSON.stringify(o.name)}: expected letters, digits and dashes, as Traefik label keys take them`);
    }
    const prefix = `PathPrefix(\`${o.pathPrefix}\`)`;
    const rule = o.hosts.length === 0 ? prefix : `(${hostRule(o.hosts)}) && ${prefix}`;
    const priority = isDefault ? TRAEFIK_DEFAULT_ROUTE_PRIORITY : TRAEFIK_ROUTE_PRIORITY + o.pathPrefix.length;
    return asLabels(routerLabels(`${o.router}-${o.name}`, rule, o, priority));
}

/**
 * The maintenance router's priority: above every other router of the site (the routes' are
 * TRAEFIK_ROUTE_PRIORITY plus their prefix's length, the main router's its rule's length).
 */
export const TRAEFIK_MAINTENANCE_PRIORITY = 1_000_000;

export interface TraefikMaintenanceOptions extends TraefikRouterOptions {
    /** The main router's name (the stack prefix); this router is `${router}-maintenance`. */
    router: string;
    /** GET and HEAD of this exact path still reach the app, so monitors see the app itself. */
    healthcheckPath: string;
    /** Prefixes left to their own routers: the static and media URLs, the admin UIs' paths. */
    keepPrefixes: string[];
}

/**
 * Labels on the maintenance container (components/maintenance.ts): the site's hosts, every path
 * but the exceptions, ahead of every other router, with the same entry points, TLS resolver,
 * edge headers and body limit. An HTTP router: Traefik answers the ACME TLS-ALPN challenge in its
 * TLS handshake before any HTTP router is chosen, so certificates are issued and renewed as before.
 */
export function traefikMaintenanceLabels(o: TraefikMaintenanceOptions) {
    const problem = maintenancePathProblem(o.healthcheckPath);
    if (problem !== undefined) throw new Error(`maintenance: ${problem}`);
    for (const p of o.keepPrefixes) {
        if (!/^\/([A-Za-z0-9._~-]+\/)+$/.test(p)) throw new Error(`maintenance: kept prefix ${JSON.stringify(p)} is not a URL prefix such as /static/`);
    }
    const rule = [
        o.hosts.length === 0 ? "PathPrefix(`/`)" : `(${hostRule(o.hosts)})`,
        `!(Path(\`${o.healthcheckPath}\`) && (Method(\`GET\`) || Method(\`HEAD\`)))`,
        ...o.keepPrefixes.map((p) => `!PathPrefix(\`${p}\`)`),
    ].join(" && ");
    return asLabels(routerLabels(`${o.router}-maintenance`, rule, o, TRAEFIK_MAINTENANCE_PRIORITY));
}

/**
 * Router labels (traefikRouterLabels) for a Swarm service instead of a container: the Swarm
 * provider's network label. The service runs in dnsrr mode (no virtual IP), so Traefik balances
 * over the running tasks' own addresses, which its Swarm provider lists.
 */
export function traefikSwarmLabels(labels: { label: string; value: string }[]): { label: string; value: string }[] {
    return labels.map((l) => (l.label === "traefik.docker.network" ? { label: "traefik.swarm.network", value: l.value } : l));
}
