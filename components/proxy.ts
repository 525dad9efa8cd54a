import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "../targets/host";
import { AppServer } from "./appServer";
import { autohealLabels } from "./autoheal";
import { commandHealthcheck } from "./healthchecks";
import { PINNED_IMAGES } from "./images";
import { renderNginxSite } from "./nginxConfig";
import { traefikArguments } from "./traefikConfig";
import { StorageVolume } from "./volumes";

const NGINX_HEALTH_PORT = 8081;
const PROXY_STOP_TIMEOUT_SECONDS = 15;

export interface ProxyArgs {
    host: Host;
    prefix: string;
    kind: "nginx" | "traefik";
    /** Host names the site answers to. */
    serverNames: pulumi.Input<string[]>;
    app: AppServer;
    frontend: docker.Network;
    static: StorageVolume;
    media: StorageVolume;
    staticUrl: string;
    mediaUrl: string;
    /** The host port for HTTP: the only port the stack publishes. */
    httpPort: number;
}

/** The edge: nginx with a rendered config, or Traefik routing by labels. */
export class Proxy extends pulumi.ComponentResource {
    readonly container: docker.Container;
    /** The nginx configuration placed in the container (nginx only). */
    readonly nginxConfig?: pulumi.Output<string>;

    constructor(name: string, args: ProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Proxy", name, {}, opts);
        const childOpts = { parent: this, provider: args.host.provider };
        const image = new docker.RemoteImage(`${name}-image`, { name: PINNED_IMAGES[args.kind], keepLocally: true }, childOpts);
        const common = {
            name: `${args.prefix}-proxy`,
            image: image.imageId,
            networksAdvanced: [{ name: args.frontend.name }],
            ports: [{ internal: 80, external: args.httpPort }],
            labels: autohealLabels(PROXY_STOP_TIMEOUT_SECONDS),
            stopTimeout: PROXY_STOP_TIMEOUT_SECONDS,
            restart: "unless-stopped",
        };
        // It publishes fixed host ports, so the old one must go before the new one starts.
        const containerOpts = { ...childOpts, deleteBeforeReplace: true, dependsOn: [args.app] };

        if (args.kind === "nginx") {
            this.nginxConfig = pulumi.output(args.serverNames).apply((serverNames) => renderNginxSite({
                serverNames,
                upstream: args.app.upstream,
                resolver: "127.0.0.11",
                listenPort: 80,
                staticUrl: args.staticUrl,
                staticRoot: "/srv/static/",
                mediaUrl: args.mediaUrl,
                mediaRoot: "/srv/media/",
                healthPort: NGINX_HEALTH_PORT,
                clientMaxBodySize: "20m",
            }));
            this.container = new docker.Container(name, {
                ...common,
                uploads: [{ file: "/etc/nginx/conf.d/default.conf", content: this.nginxConfig }],
                volumes: [args.static.mount("/srv/static", true), args.media.mount("/srv/media", true)],
                healthcheck: commandHealthcheck(["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${NGINX_HEALTH_PORT}/healthz`]),
            }, containerOpts);
        } else {
            this.container = new docker.Container(name, {
                ...common,
                command: args.frontend.name.apply((network) => traefikArguments({ network })),
                volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }],
                healthcheck: commandHealthcheck(["traefik", "healthcheck", "--ping"]),
            }, containerOpts);
        }
        this.registerOutputs({ container: this.container.name });
    }
}
