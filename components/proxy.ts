import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { Settings } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { AppServer } from "./appServer";
import { autohealLabels } from "./autoheal";
import {
    ACME_WEBROOT, CERTIFICATE_HEALTH_PROBE, LETSENCRYPT_DIR, NGINX_TLS_DIR, renderCertbotLoop, renderCertificateWatcher,
} from "./certificates";
import { commandHealthcheck, goDuration } from "./healthchecks";
import { PINNED_IMAGES, pullImage } from "./images";
import { ProxyRoute, renderNginxSite } from "./nginxConfig";
import { TRAEFIK_ACME_DIR, traefikArguments } from "./traefikConfig";
import { Volumes } from "./volumes";

const NGINX_HEALTH_PORT = 8081;
const PROXY_STOP_TIMEOUT_SECONDS = 15;

export interface ProxyArgs {
    host: Host;
    prefix: string;
    kind: "nginx" | "traefik";
    /** Host names the site answers to. */
    serverNames: pulumi.Output<string[]>;
    app: AppServer;
    frontend: docker.Network;
    volumes: Volumes;
    staticUrl: string;
    mediaUrl: string;
    /** The host ports for HTTP and HTTPS: the only ports the stack publishes. */
    httpPort: number;
    httpsPort: number;
    edge: Settings["edge"];
    /** PEM certificate and key, for tls "provided". */
    certificate?: pulumi.Output<string>;
    privateKey?: pulumi.Output<string>;
    /**
     * Seconds the edge waits on the app: nginx's proxy_read_timeout and proxy_send_timeout
     * (60 when unset), Traefik's responseHeaderTimeout (no limit when unset).
     */
    proxyTimeoutSeconds?: number;
    /**
     * nginx: false sends staticUrl to the app like any other path (and mounts no static
     * volume); media stays with nginx. Default true. Traefik always leaves static files to the app.
     */
    serveStatic?: boolean;
    /**
     * nginx: prefixes proxied to other containers on the frontend network (check them with
     * routeProblems first). Traefik reads its routes from labels on those containers
     * (traefikRouteLabels), so it ignores these. One route may be "/", the default route, with
     * appPaths.
     */
    routes?: ProxyRoute[];
    /**
     * nginx: with a default route "/", the paths the app itself serves, such as
     * ["/api/", "/docs", "/redoc", "/openapi.json"] (NginxSiteOptions.appPaths). Traefik reads
     * them from the web container's labels (traefikRouterLabels' appPaths), so it ignores these.
     */
    appPaths?: string[];
    /**
     * The app's healthcheck path: with edge.maintenance, GET and HEAD of it are still proxied
     * (nginx; Traefik's maintenance router leaves it out, components/maintenance.ts). Required then.
     */
    healthcheckPath?: string;
    /** Swarm mode: Traefik also reads the web service's labels (its Swarm provider). nginx needs nothing: `web` is the service's VIP. */
    swarm?: boolean;
}

/** The edge: nginx with a rendered config (and certbot), or Traefik routing by labels. */
export class Proxy extends pulumi.ComponentResource {
    readonly container: docker.Container;
    /** The nginx configuration placed in the container (nginx only). */
    readonly nginxConfig?: pulumi.Output<string>;
    readonly certbot?: docker.Container;

    constructor(name: string, args: ProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Proxy", name, {}, opts);
        const childOpts = onHost(args.host, this);
        const image = pullImage(`${name}-image`, PINNED_IMAGES[args.kind], childOpts);
        const tlsOn = args.edge.tls !== "off";
        if (args.edge.maintenance && args.healthcheckPath === undefined) throw new Error("Proxy: maintenance needs the app's healthcheckPath");
        if (args.edge.maintenance && args.healthcheckPath === "/") {
            pulumi.log.warn("maintenance is on, but the app's healthcheck path is /, which stays reachable for monitors: the home page is not in maintenance. Set appHealthcheckPath to a path of its own, such as /healthz", this);
        }
        const common = {
            name: `${args.prefix}-proxy`,
            image,
            networksAdvanced: [{ name: args.frontend.name }],
            ports: [
                { internal: 80, external: args.httpPort },
                ...(tlsOn ? [{ internal: 443, external: args.httpsPort }] : []),
            ],
            labels: autohealLabels(PROXY_STOP_TIMEOUT_SECONDS),
            stopTimeout: PROXY_STOP_TIMEOUT_SECONDS,
            restart: "unless-stopped",
        };
        // It publishes fixed host ports, so the old one must go before the new one starts.
        const containerOpts = { ...childOpts, deleteBeforeReplace: true, dependsOn: [args.app] };
        const { volumes } = args;

        if (args.kind === "traefik") {
            this.container = new docker.Container(name, {
                ...common,
                command: args.frontend.name.apply((network) => traefikArguments({
                    network,
                    acme: args.edge.tls === "letsencrypt" ? { email: args.edge.acmeEmail!, staging: args.edge.acmeStaging } : undefined,
                    proxyTimeoutSeconds: args.proxyTimeoutSeconds,
                    ...(args.swarm ? { swarm: true } : {}),
                })),
                volumes: [
                    { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
                    ...(volumes.certificates ? [volumes.certificates.mount(TRAEFIK_ACME_DIR)] : []),
                ],
                healthcheck: commandHealthcheck(["traefik", "healthcheck", "--ping"]),
            }, containerOpts);
            this.registerOutputs({ container: this.container.name });
            return;
        }

        const letsencrypt = args.edge.tls === "letsencrypt";
        this.nginxConfig = args.serverNames.apply((serverNames) => renderNginxSite({
            serverNames,
            upstream: args.app.upstream,
            resolver: "127.0.0.11",
            listenPort: 80,
            publicHttpsPort: args.httpsPort,
            tls: tlsOn ? {
                certificate: `${NGINX_TLS_DIR}/fullchain.pem`,
                key: `${NGINX_TLS_DIR}/privkey.pem`,
                hsts: args.edge.hsts,
                acmeWebroot: letsencrypt ? ACME_WEBROOT : undefined,
            } : undefined,
            staticUrl: args.staticUrl,
            staticRoot: "/srv/static/",
            mediaUrl: args.mediaUrl,
            mediaRoot: "/srv/media/",
            healthPort: NGINX_HEALTH_PORT,
            clientMaxBodySize: args.edge.clientMaxBodySize,
            proxyTimeoutSeconds: args.proxyTimeoutSeconds,
            serveStatic: args.serveStatic,
            routes: args.routes,
            appPaths: args.appPaths,
            maintenance: args.edge.maintenance ? { healthcheckPath: args.healthcheckPath! } : undefined,
        }));
        const uploads: pulumi.Input<docker.types.input.ContainerUpload>[] = [
            { file: "/etc/nginx/conf.d/default.conf", content: this.nginxConfig },
        ];
        const certificateVolumes: docker.types.input.ContainerVolume[] = [];
        if (tlsOn) {
            const [certificate, key] = letsencrypt ? this.placeholderCertificate(name, args.serverNames) : [args.certificate!, args.privateKey!];
            uploads.push(
                { file: `${NGINX_TLS_DIR}/fullchain.pem`, content: certificate },
                { file: `${NGINX_TLS_DIR}/privkey.pem`, content: pulumi.secret(key), permissions: "0600" },
            );
        }
        if (letsencrypt) {
            uploads.push({ file: "/docker-entrypoint.d/90-webstack-certificates.sh", content: renderCertificateWatcher(), executable: true });
            certificateVolumes.push(volumes.certificates!.mount(LETSENCRYPT_DIR, true), volumes.acmeChallenges!.mount(ACME_WEBROOT, true));
        }
        this.container = new docker.Container(name, {
            ...common,
            uploads,
            volumes: [
                ...(args.serveStatic === false ? [] : [volumes.static.mount("/srv/static", true)]),
                volumes.media.mount("/srv/media", true),
                ...certificateVolumes,
            ],
            healthcheck: commandHealthcheck(["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${NGINX_HEALTH_PORT}/healthz`]),
        }, containerOpts);

        if (letsencrypt) {
            this.certbot = new docker.Container(`${name}-certbot`, {
                name: `${args.prefix}-certbot`,
                image: pullImage(`${name}-certbot-image`, PINNED_IMAGES.certbot, childOpts),
                entrypoints: ["sh", "-c"],
                command: args.serverNames.apply((domains) => [renderCertbotLoop({ domains, email: args.edge.acmeEmail!, staging: args.edge.acmeStaging })]),
                volumes: [volumes.certificates!.mount(LETSENCRYPT_DIR), volumes.acmeChallenges!.mount(ACME_WEBROOT)],
                healthcheck: {
                    tests: ["CMD", "python3", "-c", CERTIFICATE_HEALTH_PROBE],
                    interval: goDuration(3600),
                    timeout: goDuration(10),
                    startPeriod: goDuration(15 * 60),
                    retries: 3,
                },
                labels: autohealLabels(10),
                restart: "unless-stopped",
            }, { ...childOpts, dependsOn: [this.container] });
        }
        this.registerOutputs({ container: this.container.name });
    }

    /** A self-signed certificate nginx can start with before Let's Encrypt has issued the real one. */
    private placeholderCertificate(name: string, serverNames: pulumi.Output<string[]>): [pulumi.Output<string>, pulumi.Output<string>] {
        const key = new tls.PrivateKey(`${name}-placeholder-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const cert = new tls.SelfSignedCert(`${name}-placeholder-cert`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: serverNames.apply((names) => names[0]) },
            dnsNames: serverNames,
            validityPeriodHours: 24 * 365 * 10,
            allowedUses: ["key_encipherment", "digital_signature", "server_auth"],
        }, { parent: this });
        return [cert.certPem, pulumi.secret(key.privateKeyPem)];
    }
}
