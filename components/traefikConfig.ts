/** Where Traefik keeps ACME accounts and certificates; Traefik creates acme.json with mode 600. */
export const TRAEFIK_ACME_DIR = "/letsencrypt";
export const LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

export interface TraefikAcme {
    email: string;
    staging: boolean;
}

/** Traefik v3 static configuration, as command-line flags. */
export function traefikArguments(o: { network: string; acme?: TraefikAcme }): string[] {
    const args = [
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        `--providers.docker.network=${o.network}`,
        "--entrypoints.web.address=:80",
        "--ping=true",
        "--api.dashboard=false",
        "--log.level=INFO",
        "--accesslog=true",
        // The proxy network is the only source of forwarded headers Traefik should pass on.
        "--entrypoints.web.forwardedheaders.insecure=false",
    ];
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

/** Labels on the web container that route the site's hosts to it, with the edge's headers. */
export function traefikRouterLabels(o: TraefikRouterOptions) {
    const r = `traefik.http.routers.${o.router}`;
    const headers = `${o.router}-headers`;
    const body = `${o.router}-body`;
    const m = "traefik.http.middlewares";
    const labels: Record<string, string> = {
        "traefik.enable": "true",
        "traefik.docker.network": o.network,
        [`${r}.rule`]: hostRule(o.hosts),
        [`${r}.entrypoints`]: o.tls ? "websecure" : "web",
        [`${r}.service`]: o.router,
        [`${r}.middlewares`]: `${headers},${body}`,
        [`traefik.http.services.${o.router}.loadbalancer.server.port`]: String(o.port),
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
    return Object.entries(labels).map(([label, value]) => ({ label, value }));
}
