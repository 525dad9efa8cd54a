import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { projectRoot, Settings } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { goDuration, Healthcheck } from "./healthchecks";
import { buildImage, pullImage } from "./images";

export type WebRouteSettings = Settings["webRoutes"][number];
const ROUTE_STOP_TIMEOUT_SECONDS = 15;

/**
 * A probe that works in the usual web images without python: busybox or Debian wget, else curl.
 * Healthy on 2xx/3xx.
 */
export function webRouteHealthcheck(port: number, probePath: string): Healthcheck {
    const url = `http://127.0.0.1:${port}${probePath}`;
    return {
        tests: ["CMD-SHELL", `wget -q -O /dev/null ${url} || curl -fsS -o /dev/null ${url}`],
        interval: goDuration(30),
        timeout: goDuration(5),
        startPeriod: goDuration(30),
        retries: 3,
    };
}

export interface WebRoutesArgs {
    host: Host;
    prefix: string;
    routes: WebRouteSettings[];
    frontend: docker.Network;
    /** Labels the proxy reads from each route's container (Traefik), by route name. */
    labels?: (route: WebRouteSettings) => pulumi.Input<docker.types.input.ContainerLabel[]>;
}

/**
 * Other web containers the proxy sends a path prefix to (a frontend beside the API): each from a
 * pinned image or built like the app, on the frontend network under its own name, with a
 * healthcheck, watched by autoheal, replaced create-before-delete like the web container.
 */
export class WebRoutes extends pulumi.ComponentResource {
    readonly containers: Record<string, docker.Container> = {};

    constructor(name: string, args: WebRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:WebRoutes", name, {}, opts);
        const childOpts = onHost(args.host, this);
        for (const route of args.routes) {
            const context = route.context === undefined ? undefined : path.resolve(projectRoot(), route.context);
            const image = context === undefined
                ? pullImage(`${name}-${route.name}-image`, route.image!, childOpts)
                : buildImage(`${name}-${route.name}-image`, { repository: `${args.prefix}-${route.name}`, context, dockerfile: path.join(context, route.dockerfile) }, childOpts);
            this.containers[route.name] = new docker.Container(`${name}-${route.name}`, {
                image,
                networksAdvanced: [{ name: args.frontend.name, aliases: [route.name] }],
                healthcheck: webRouteHealthcheck(route.port, route.healthcheckPath),
                labels: pulumi.output(args.labels?.(route) ?? []).apply((labels) => [
                    ...autohealLabels(ROUTE_STOP_TIMEOUT_SECONDS),
                    { label: "webstack.route", value: route.path },
                    ...labels,
                ]),
                stopTimeout: ROUTE_STOP_TIMEOUT_SECONDS,
                restart: "unless-stopped",
                wait: true,
                waitTimeout: 300,
            }, { ...childOpts, deleteBeforeReplace: false });
        }
        this.registerOutputs({});
    }
}
