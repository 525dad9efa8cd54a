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
    staticUrl: string;
    /** Directory holding the collected static files, with a trailing slash. */
    staticRoot: string;
    mediaUrl: string;
    mediaRoot: string;
    /** Loopback-only port answering /healthz, for the container healthcheck. */
    healthPort: number;
    clientMaxBodySize: string;
}

const withSlash = (dir: string) => (dir.endsWith("/") ? dir : `${dir}/`);

/**
 * The nginx configuration of the site, for conf.d/ (http context). Static and media are served
 * from the volumes; the rest goes to the app.
 */
export function renderNginxSite(o: NginxSiteOptions): string {
    const resolver = o.resolver === undefined ? "" : `    resolver ${o.resolver} valid=10s ipv6=off;\n`;
    return `# Rendered by the webstack Pulumi program; change the stack's config, not this file.

# Requests for any other host name are dropped without an answer.
server {
    listen ${o.listenPort} default_server;
    server_name _;
    return 444;
}

server {
    listen ${o.listenPort};
    server_name ${o.serverNames.join(" ")};

    client_max_body_size ${o.clientMaxBodySize};
    sendfile on;
    tcp_nopush on;
    server_tokens off;
${resolver}
    # Trailing slashes on both sides: "${o.staticUrl.replace(/\/$/, "")}../" cannot escape the root.
    location ^~ ${o.staticUrl} {
        alias ${withSlash(o.staticRoot)};
        access_log off;
        expires 30d;
        add_header Cache-Control "public" always;
        add_header X-Content-Type-Options "nosniff" always;
        gzip_static on;
        gzip on;
        gzip_vary on;
        gzip_types text/css application/javascript application/json image/svg+xml text/plain;
        try_files $uri =404;
    }

    location ^~ ${o.mediaUrl} {
        alias ${withSlash(o.mediaRoot)};
        add_header X-Content-Type-Options "nosniff" always;
        try_files $uri =404;
    }

    location / {
        set $app_upstream http://${o.upstream};
        proxy_pass $app_upstream;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_redirect off;
        proxy_read_timeout 60s;
    }
}

server {
    listen 127.0.0.1:${o.healthPort};
    access_log off;
    location = /healthz {
        return 200 "ok\\n";
    }
}
`;
}
