import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host, onHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { goDuration, Healthcheck } from "./healthchecks";
import { PINNED_IMAGES, pullImage } from "./images";
import { renderMaintenanceSite } from "./maintenancePage";

/** The port Traefik sends the site to while maintenance is on (traefikMaintenanceLabels' port). */
export const MAINTENANCE_PORT = 80;
const HEALTH_PORT = 8081;
const STOP_TIMEOUT_SECONDS = 10;

/**
 * Traefik only routes to a container with a healthcheck once it is healthy, and Docker runs the
 * first check one interval after the start: a short interval turns maintenance on within seconds.
 */
export const MAINTENANCE_HEALTHCHECK: Healthcheck = {
    tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${HEALTH_PORT}/healthz`],
    interval: goDuration(5),
    timeout: goDuration(5),
    startPeriod: goDuration(30),
    retries: 3,
};

export interface MaintenanceArgs {
    host: Host;
    prefix: string;
    frontend: docker.Network;
    /** Traefik's labels for the maintenance router (traefikMaintenanceLabels). */
    labels: pulumi.Input<docker.types.input.ContainerLabel[]>;
}

/**
 * Maintenance with Traefik, which has no static 503 responder of its own: the pinned nginx image
 * answering the maintenance page for every path, with a router above the site's others.
 * Registered only while maintenance is on; removing it gives the site back to its routers.
 */
export class Maintenance extends pulumi.ComponentResource {
    readonly container: docker.Container;

    constructor(name: string, args: MaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Maintenance", name, {}, opts);
        const childOpts = onHost(args.host, this);
        this.container = new docker.Container(name, {
            name: `${args.prefix}-maintenance`,
            image: pullImage(`${name}-image`, PINNED_IMAGES.nginx, childOpts),
            uploads: [{ file: "/etc/nginx/conf.d/default.conf", content: renderMaintenanceSite({ listenPort: MAINTENANCE_PORT, healthPort: HEALTH_PORT }) }],
            networksAdvanced: [{ name: args.frontend.name }],
            healthcheck: MAINTENANCE_HEALTHCHECK,
            labels: pulumi.output(args.labels).apply((labels) => [...autohealLabels(STOP_TIMEOUT_SECONDS), ...labels]),
            stopTimeout: STOP_TIMEOUT_SECONDS,
            restart: "unless-stopped",
            // `pulumi up` returns once Traefik can route to it.
            wait: true,
            waitTimeout: 120,
        }, { ...childOpts, deleteBeforeReplace: true });
        this.registerOutputs({ container: this.container.name });
    }
}
