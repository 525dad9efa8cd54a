import { MAINTENANCE_LOCATION, maintenanceGuard, maintenanceLocation } from "./maintenancePage";
import { healthServer } from "./nginxHealth";

export interface NginxTlsOptions {
    /** PEM files inside the container. */
    certificate: string;
    key: string;
    /** Strict-Transport-Security for a year, subdomains included. */
    hsts: boolean;
    /** Directory served at /.well-known/acme-challenge/ for Let's Encrypt's HTTP-01 check. */
    acmeWebroot?: string;
}

export interface NginxSiteOptions {
    /** Host names the site answers to; any other Host header is refused. */
    serverNames: string[];
    /** host:port of the app server. */
    upstream: string;
    /**
     * DNS server that re-resolves the upstream name (Docker's embedded DNS), so a replaced
     * web container is found at its new address. Omit when upstream is an IP address.
     */
    resolver?: string;
    listenPort: number;
    /** Port clients use for HTTPS, for redirects (443 unless testing). */
    publicHttpsPort?: number;
    httpsListenPort?: number;
    tls?: NginxTlsOptions;
    staticUrl: string;
    /** Directory holding the collected static files. */
    staticRoot: string;
    mediaUrl: string;
    mediaRoot: string;
    /** Loopback-only port answering /healthz, for the container healthcheck. */
    healthPort: number;
    clientMaxBodySize: string;
    /**
     * Seconds nginx waits on an upstream between two reads (proxy_read_timeout, so also for the
     * response headers) and between two writes (proxy_send_timeout). Default 60, nginx's own.
     */
    proxyTimeoutSeconds?: number;
    /**
     * false: no static location; staticUrl goes to the app like any other path (an app that
     * serves its own build). Media files are still served from mediaRoot. Default true.
     */
    serveStatic?: boolean;
    /**
     * Paths proxied to other web containers (a frontend beside the API); see routeProblems. One
     * route may have pathPrefix "/", the default route, and then appPaths is required.
     */
    routes?: ProxyRoute[];
    /**
     * With a default route ("/"), the paths the app itself still serves; everything else that no
     * other route or nginx claims goes to the default route. Two forms (see appPathLocations):
     * "/api/" is that prefix (a bare /api is redirected to /api/); "/docs" is that exact path and
     * everything under /docs/ (not /docsx). Unset or empty: the app gets `location /` as before.
     */
    appPaths?: string[];
    /**
     * Maintenance mode (settings.edge.maintenance): every location that proxies, to the app, a
     * route or the default route, answers 503 with the maintenance page (maintenancePage.ts),
     * except GET and HEAD of healthcheckPath, proxied as without maintenance, and routes with
     * servedInMaintenance. Static and media files, the ACME challenge, the HTTP-to-HTTPS redirect
     * and the health port are nginx's own and unchanged. Unset: the site is exactly as before.
     */
    maintenance?: { healthcheckPath: string };
}

/** A URL prefix the edge sends to another web container instead of the app. */
export interface ProxyRoute {
    /**
     * Leading and trailing slash, such as /app/; the longest matching prefix wins. "/" is the
     * default route (everything unclaimed), allowed once and only with appPaths.
     */
    pathPrefix: string;
    /** host:port of that container (its name on the frontend network). */
    upstream: string;
    /**
     * Proxied in maintenance too: an operator's admin UI (pgAdmin, Flower), behind its own login,
     * which a migration may need. A second web container of the site is not one.
     */
    servedInMaintenance?: boolean;
}

/** Where Let's Encrypt's HTTP-01 check asks for its token (nginx serves it on plain HTTP). */
export const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/** The same form config/validators.ts asks of staticUrl and mediaUrl. */
const URL_PREFIX = /^\/([A-Za-z0-9._~-]+\/)+$/;
const UPSTREAM = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?:[0-9]{1,5}$/;
/** An app path: /name/... with or without the trailing slash, no "." or ".." segment. */
const APP_PATH = /^(\/[A-Za-z0-9._~-]+)+\/?$/;

/** The route that takes every path nothing else claims, when the app serves only appPaths. */
export const DEFAULT_ROUTE_PREFIX = "/";

/** Whether an app path is of a form appPathLocations and Traefik's rule take safely. */
export function isAppPath(p: string): boolean {
    return APP_PATH.test(p) && !p.split("/").some((s) => s === "." || s === "..");
}

/** The prefix an app path claims, with its trailing slash: /docs and /docs/ both claim /docs/. */
const claimed = (p: string) => (p.endsWith("/") ? p : `${p}/`);

/** A path prefix the routes must stay clear of, and what it is for the messages. */
export type ReservedPrefix = string | { prefix: string; what: string };

/** How `prefix` overlaps `other`: the same, under it, holding it, or not at all (undefined). */
function overlap(prefix: string, other: string): string | undefined {
    if (prefix === other) return "";
    if (prefix.startsWith(other)) return ": it lies under it";
    if (other.startsWith(prefix)) return ": it would take part of it";
    return undefined;
}

/**
 * What is wrong with a set of extra routes, one sentence each (empty when they are fine): a
 * prefix not of the form /name/, an upstream not host:port, the same prefix twice, or a prefix
 * that overlaps a reserved one (the static and media URLs, the ACME challenge path, always
 * included) by being it, lying under it or holding it. Routes may nest in each other: the longer
 * prefix wins, in nginx and in Traefik alike.
 *
 * The default route "/" is allowed once, and only with options.appPaths non-empty; appPaths in
 * turn need a default route. Each app path must be of the form /api/ or /docs (isAppPath), and
 * what it claims (/docs claims /docs/) must not be, lie under or hold a reserved prefix, a route's
 * prefix or another app path's.
 */
export function routeProblems(routes: ProxyRoute[], reserved: ReservedPrefix[], options: { appPaths?: string[] } = {}): string[] {
    const problems: string[] = [];
    const appPaths = options.appPaths ?? [];
    const named = [...reserved, { prefix: ACME_CHALLENGE_PREFIX, what: "the ACME HTTP-01 challenge path" }]
        .map((r) => (typeof r === "string" ? { prefix: r, what: "a reserved path" } : r));
    const seen = new Set<string>();
    for (const { pathPrefix, upstream } of routes) {
        const route = `route ${JSON.stringify(pathPrefix)}`;
        const isDefault = pathPrefix === DEFAULT_ROUTE_PREFIX;
        if (isDefault && appPaths.length === 0) {
            problems.push(`${route}: / is the app's own catch-all unless appPaths names the paths the app still serves (such as ["/api/", "/docs"]); set appPaths, or give the route a path under / such as /app/`);
            continue;
        }
        if (!isDefault && (!URL_PREFIX.test(pathPrefix) || pathPrefix.split("/").some((s) => s === "." || s === ".."))) {
            problems.push(`${route}: expected a URL prefix with leading and trailing slashes such as /app/ (letters, digits and ._~- between them)`);
            continue;
        }
        if (!UPSTREAM.test(upstream) || Number(upstream.split(":")[1]) < 1 || Number(upstream.split(":")[1]) > 65535) {
            problems.push(`${route}: upstream ${JSON.stringify(upstream)} is not host:port such as frontend:3000`);
        }
        if (seen.has(pathPrefix)) problems.push(`${route} collides with another route of the same prefix`);
        seen.add(pathPrefix);
        // The default route takes only what every longer prefix leaves.
        if (isDefault) continue;
        for (const r of named) {
            const how = overlap(pathPrefix, r.prefix);
            if (how !== undefined) problems.push(`${route} collides with ${r.what} ${r.prefix}${how}`);
        }
    }
    if (appPaths.length === 0) return problems;
    if (!routes.some((r) => r.pathPrefix === DEFAULT_ROUTE_PREFIX)) {
        problems.push(`appPaths ${JSON.stringify(appPaths)}: only used with a default route "/"; without one the app already gets every path no route claims, so remove appPaths or add a route for "/"`);
    }
    const others = [
        ...named,
        ...routes.filter((r) => r.pathPrefix !== DEFAULT_ROUTE_PREFIX && URL_PREFIX.test(r.pathPrefix))
            .map((r) => ({ prefix: r.pathPrefix, what: "route" })),
    ];
    const earlier: string[] = [];
    for (const p of appPaths) {
        const at = `appPath ${JSON.stringify(p)}`;
        if (!isAppPath(p)) {
            problems.push(`${at}: expected a path such as /api/ (that prefix) or /docs (that path and everything under /docs/), with letters, digits and ._~- between the slashes`);
            continue;
        }
        for (const o of others) {
            const how = overlap(claimed(p), o.prefix);
            if (how !== undefined) problems.push(`${at} collides with ${o.what} ${o.what === "route" ? JSON.stringify(o.prefix) : o.prefix}${how}`);
        }
        for (const e of earlier) {
            const how = overlap(claimed(p), claimed(e));
            if (how !== undefined) problems.push(`${at} collides with appPath ${JSON.stringify(e)}${how}`);
        }
        earlier.push(p);
    }
    return problems;
}

const withSlash = (dir: string) => (dir.endsWith("/") ? dir : `${dir}/`);
const indent = (lines: string[], depth: number) => lines.map((l) => (l === "" ? "" : " ".repeat(depth * 4) + l)).join("\n");

/**
 * Security headers, sent on every status with `always`. nginx drops inherited add_header
 * lines in any block that has one of its own, so every such block repeats the whole set.
 */
function securityHeaders(hsts: boolean): string[] {
    return [
        ...(hsts ? ['add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'] : []),
        'add_header X-Content-Type-Options "nosniff" always;',
        'add_header X-Frame-Options "DENY" always;',
        'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
    ];
}

/**
 * How responses are sent, set per server: at server level they never collide with the main
 * config's http-level copies (a repeated flag directive in the same context stops nginx).
 */
export const DELIVERY = [
    "sendfile on;",
    "tcp_nopush on;",
    "gzip on;",
    "gzip_comp_level 5;",
    "gzip_min_length 1024;",
    "gzip_proxied any;",
    "gzip_vary on;",
    "gzip_types text/css application/javascript application/json image/svg+xml text/plain text/xml;",
];

/** Hashed names from Django's manifest storage (site.62ef4015e412.css) never change content. */
const HASHED_FILE = String.raw`"\.[0-9a-f]{12}\.[A-Za-z0-9]+(\.gz)?$"`;

/**
 * A location's proxying to `upstream`, re-resolved per request through the server's resolver:
 * with a variable in proxy_pass nginx looks the name up when it is used, not once at start.
 */
function proxyTo(variable: string, upstream: string, timeoutSeconds: number | undefined, maintenance: string[] = []): string[] {
    return [
        ...maintenance.map((l) => `    ${l}`),
        `    set $${variable} http://${upstream};`,
        `    proxy_pass $${variable};`,
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Real-IP $remote_addr;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    # Always overwritten: Django trusts it for SECURE_PROXY_SSL_HEADER.",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header X-Forwarded-Host $host;",
        "    # The edge owns these headers; the app's copies would be sent twice.",
        "    proxy_hide_header X-Frame-Options;",
        "    proxy_hide_header X-Content-Type-Options;",
        "    proxy_hide_header Referrer-Policy;",
        "    proxy_hide_header Strict-Transport-Security;",
        "    proxy_redirect off;",
        "    # During a web deploy Docker's DNS names both containers, and the removed one's address",
        "    # until the cached DNS answer expires: give up on a dead address at once and try the next.",
        "    proxy_connect_timeout 2s;",
        "    proxy_next_upstream error timeout;",
        // Unset, the lines stay as they were (proxy_send_timeout's default is 60s as well), so the
        // uploaded file, and with it the proxy container, does not change.
        ...(timeoutSeconds === undefined
            ? ["    proxy_read_timeout 60s;"]
            : [`    proxy_read_timeout ${timeoutSeconds}s;`, `    proxy_send_timeout ${timeoutSeconds}s;`]),
    ];
}

function staticLocation(o: NginxSiteOptions, headers: string[]): string[] {
    return [
        `# Trailing slashes on both sides: "${o.staticUrl.replace(/\/$/, "")}../" cannot escape the root.`,
        `location ^~ ${o.staticUrl} {`,
        `    alias ${withSlash(o.staticRoot)};`,
        "    access_log off;",
        "    # Files compressed at collectstatic time are sent as they are.",
        "    gzip_static on;",
        "    gzip_vary on;",
        "    open_file_cache max=2000 inactive=60s;",
        "    open_file_cache_valid 60s;",
        "    open_file_cache_errors on;",
        "    try_files $uri =404;",
        `    location ~* ${HASHED_FILE} {`,
        '        add_header Cache-Control "public, max-age=31536000, immutable" always;',
        ...headers.map((h) => `        ${h}`),
        "    }",
        '    add_header Cache-Control "public, max-age=3600" always;',
        ...headers.map((h) => `    ${h}`),
        "}",
        "",
    ];
}

/**
 * The app's own locations when a default route takes "/": "/api/" becomes `location ^~ /api/`
 * (nginx answers a bare /api with a relative redirect to /api/, as for routes); "/docs" becomes
 * `location = /docs` and `location ^~ /docs/`, so /docsx is not the app's. Both match the
 * normalised path (nginx resolves "..", "." and %-escapes first), so /api/../x is the default
 * route's. Longest first, like the routes.
 */
function appPathLocations(o: NginxSiteOptions, guard: Guard): string[] {
    const proxy = (location: string) => proxyTo("app_upstream", o.upstream, o.proxyTimeoutSeconds, guard(location));
    return [...(o.appPaths ?? [])].sort((a, b) => claimed(b).length - claimed(a).length).flatMap((p) => (p.endsWith("/")
        ? [
            `location ^~ ${p} {`,
            `    # nginx answers ${p.replace(/\/$/, "")} with a redirect to ${p}: relative, as the published port is not nginx's.`,
            "    absolute_redirect off;",
            ...proxy(p),
            "}",
            "",
        ]
        : [`location = ${p} {`, ...proxy(`=${p}`), "}", "", `location ^~ ${p}/ {`, ...proxy(`${p}/`), "}", ""]));
}

/** A proxying location's maintenance lines, by its prefix (`=/docs`: that exact path); none without maintenance. */
type Guard = (location: string) => string[];

function maintenanceGuardOf(o: NginxSiteOptions): Guard {
    const maintenance = o.maintenance;
    if (maintenance === undefined) return () => [];
    const hc = maintenance.healthcheckPath;
    return (location) => maintenanceGuard(hc, location.startsWith("=") ? hc === location.slice(1) : hc.startsWith(location));
}

function siteLocations(o: NginxSiteOptions, hsts: boolean): string[] {
    const headers = securityHeaders(hsts);
    const guard = maintenanceGuardOf(o);
    const fallback = (o.routes ?? []).find((r) => r.pathPrefix === DEFAULT_ROUTE_PREFIX);
    // Longest first, as nginx picks among ^~ prefixes anyway: the file reads as it matches.
    const routes = (o.routes ?? []).filter((r) => r !== fallback).sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
    return [
        ...headers,
        ...(o.maintenance === undefined ? [] : [`error_page 503 ${MAINTENANCE_LOCATION};`]),
        "",
        ...(o.serveStatic === false ? [] : staticLocation(o, headers)),
        `location ^~ ${o.mediaUrl} {`,
        `    alias ${withSlash(o.mediaRoot)};`,
        "    try_files $uri =404;",
        "}",
        "",
        ...routes.flatMap((r, i) => [
            `location ^~ ${r.pathPrefix} {`,
            `    # nginx answers ${r.pathPrefix.replace(/\/$/, "")} with a redirect to ${r.pathPrefix}: relative, as the published port is not nginx's.`,
            "    absolute_redirect off;",
            ...proxyTo(`route${i + 1}_upstream`, r.upstream, o.proxyTimeoutSeconds, r.servedInMaintenance ? [] : guard(r.pathPrefix)),
            "}",
            "",
        ]),
        ...(fallback === undefined
            ? ["location / {", ...proxyTo("app_upstream", o.upstream, o.proxyTimeoutSeconds, guard("/")), "}"]
            : [
                "# The app serves only these paths; the default route takes everything else.",
                ...appPathLocations(o, guard),
                "location / {",
                ...proxyTo("default_upstream", fallback.upstream, o.proxyTimeoutSeconds, fallback.servedInMaintenance ? [] : guard("/")),
                "}",
            ]),
        ...(o.maintenance === undefined ? [] : ["", ...maintenanceLocation(headers)]),
    ];
}

/**
 * The prefixes nginx itself answers for, which routes must stay clear of: the media URL, and the
 * static URL unless the app serves its own (serveStatic false). routeProblems adds the ACME path.
 */
export function siteReservedPrefixes(o: { staticUrl: string; mediaUrl: string; serveStatic?: boolean }): ReservedPrefix[] {
    return [
        ...(o.serveStatic === false ? [] : [{ prefix: o.staticUrl, what: "the static URL" }]),
        { prefix: o.mediaUrl, what: "the media URL" },
    ];
}

/**
 * The nginx configuration of the site, for conf.d/ (http context). Static (unless serveStatic is
 * false) and media files are served from the volumes, the routes' prefixes go to their
 * containers, the rest goes to the app (or, with a default route "/", only appPaths go to the
 * app and the rest to that route's container). With TLS, plain HTTP only answers the ACME challenge and
 * redirects. Throws on routes that routeProblems refuses, so nothing malformed reaches nginx.
 */
export function renderNginxSite(o: NginxSiteOptions): string {
    if (o.proxyTimeoutSeconds !== undefined && !(Number.isInteger(o.proxyTimeoutSeconds) && o.proxyTimeoutSeconds > 0)) {
        throw new Error(`proxyTimeoutSeconds: expected a whole number of seconds above 0, got ${o.proxyTimeoutSeconds}`);
    }
    const problems = routeProblems(o.routes ?? [], siteReservedPrefixes(o), { appPaths: o.appPaths });
    if (problems.length > 0) throw new Error(`nginx routes: ${problems.join("; ")}`);
    const names = o.serverNames.join(" ");
    const httpsListen = o.httpsListenPort ?? 443;
    const publicHttps = o.publicHttpsPort ?? 443;
    const common = [
        `server_name ${names};`,
        `client_max_body_size ${o.clientMaxBodySize};`,
        "server_tokens off;",
        ...(o.resolver === undefined ? [] : [`resolver ${o.resolver} valid=10s ipv6=off;`]),
    ];
    const servers: string[] = [
        "# Rendered by the webstack Pulumi program; change the stack's config, not this file.",
        "# Only server blocks at this level: the image's nginx.conf already sets http-level directives",
        "# (sendfile, keepalive_timeout, Debian's gzip), and nginx refuses a file that repeats one.",
        "",
        "# Requests for any other host name are dropped without an answer.",
        "server {",
        `    listen ${o.listenPort} default_server;`,
        "    server_name _;",
        "    return 444;",
        "}",
    ];
    if (o.tls === undefined) {
        servers.push("", "server {", `    listen ${o.listenPort};`, indent([...common, ...DELIVERY, "", ...siteLocations(o, false)], 1), "}");
    } else {
        const acme = o.tls.acmeWebroot === undefined ? [] : [
            "location ^~ /.well-known/acme-challenge/ {",
            `    root ${o.tls.acmeWebroot};`,
            "    default_type text/plain;",
            "    try_files $uri =404;",
            "}",
        ];
        const port = publicHttps === 443 ? "" : `:${publicHttps}`;
        servers.push(
            "",
            "server {",
            `    listen ${httpsListen} ssl default_server;`,
            "    server_name _;",
            "    ssl_reject_handshake on;",
            "}",
            "",
            "server {",
            `    listen ${o.listenPort};`,
            indent([...common, "", ...acme, "location / {", `    return 301 https://$host${port}$request_uri;`, "}"], 1),
            "}",
            "",
            "server {",
            `    listen ${httpsListen} ssl http2;`,
            indent([
                ...common,
                `ssl_certificate ${o.tls.certificate};`,
                `ssl_certificate_key ${o.tls.key};`,
                "ssl_protocols TLSv1.2 TLSv1.3;",
                "ssl_prefer_server_ciphers off;",
                "ssl_session_cache shared:webstack_tls:10m;",
                "ssl_session_timeout 1d;",
                "ssl_session_tickets off;",
                ...DELIVERY,
                "",
                ...siteLocations(o, o.tls.hsts),
            ], 1),
            "}",
        );
    }
    servers.push("", ...healthServer(o.healthPort));
    return servers.join("\n");
}
