/** Traefik v3 static configuration, as command-line flags. */
export function traefikArguments(o: { network: string }): string[] {
    return [
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        `--providers.docker.network=${o.network}`,
        "--entrypoints.web.address=:80",
        "--ping=true",
        "--api.dashboard=false",
        "--log.level=INFO",
        "--accesslog=true",
    ];
}

/** Host(`a`) || Host(`b`); with no names, every host (the app's ALLOWED_HOSTS still applies). */
export function hostRule(hosts: string[]): string {
    return hosts.length === 0 ? "PathPrefix(`/`)" : hosts.map((h) => `Host(\`${h}\`)`).join(" || ");
}

/** Labels on the web container that route the site's hosts to it. */
export function traefikRouterLabels(o: { router: string; hosts: string[]; port: number; network: string }) {
    const labels: Record<string, string> = {
        "traefik.enable": "true",
        "traefik.docker.network": o.network,
        [`traefik.http.routers.${o.router}.rule`]: hostRule(o.hosts),
        [`traefik.http.routers.${o.router}.entrypoints`]: "web",
        [`traefik.http.routers.${o.router}.service`]: o.router,
        [`traefik.http.services.${o.router}.loadbalancer.server.port`]: String(o.port),
    };
    return Object.entries(labels).map(([label, value]) => ({ label, value }));
}
