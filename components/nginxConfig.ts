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

function siteLocations(o: NginxSiteOptions, hsts: boolean): string[] {
    const headers = securityHeaders(hsts);
    return [
        ...headers,
        "",
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
        `location ^~ ${o.mediaUrl} {`,
        `    alias ${withSlash(o.mediaRoot)};`,
        "    try_files $uri =404;",
        "}",
        "",
        "location / {",
        `    set $app_upstream http://${o.upstream};`,
        "    proxy_pass $app_upstream;",
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
        "    proxy_read_timeout 60s;",
        "}",
    ];
}

/**
 * The nginx configuration of the site, for conf.d/ (http context). Static and media files are
 * served from the volumes, the rest goes to the app. With TLS, plain HTTP only answers the
 * ACME challenge and redirects.
 */
export function renderNginxSite(o: NginxSiteOptions): string {
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
    servers.push(
        "",
        "server {",
        `    listen 127.0.0.1:${o.healthPort};`,
        "    access_log off;",
        "    location = /healthz {",
        '        return 200 "ok\\n";',
        "    }",
        "}",
        "",
    );
    return servers.join("\n");
}
