import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host, onHost } from "../targets/host";
import { PINNED_IMAGES, pullImage } from "./images";

/** Labels that put a container under autoheal's watch, with the grace it needs to stop. */
export function autohealLabels(stopTimeoutSeconds: number): { label: string; value: string }[] {
    return [
        { label: "autoheal", value: "true" },
        { label: "autoheal.stop.timeout", value: String(stopTimeoutSeconds) },
    ];
}

export const AUTOHEAL_ENVIRONMENT = [
    // Watch only containers labelled autoheal=true, never "all".
    "AUTOHEAL_CONTAINER_LABEL=autoheal",
    "AUTOHEAL_INTERVAL=10",
    // Each container's own healthcheck start period protects slow starters.
    "AUTOHEAL_START_PERIOD=0",
    "AUTOHEAL_DEFAULT_STOP_TIMEOUT=10",
];

export interface AutohealArgs {
    host: Host;
    prefix: string;
}

/** Restarts containers labelled autoheal=true when their healthcheck says unhealthy. */
export class Autoheal extends pulumi.ComponentResource {
    readonly container: docker.Container;

    constructor(name: string, args: AutohealArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Autoheal", name, {}, opts);
        const childOpts = onHost(args.host, this);
        const image = pullImage(`${name}-image`, PINNED_IMAGES.autoheal, childOpts);
        this.container = new docker.Container(name, {
            name: `${args.prefix}-autoheal`,
            image,
            envs: AUTOHEAL_ENVIRONMENT,
            // The socket gives root on the host; autoheal needs it to restart containers.
            volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
            networkMode: "none",
            restart: "unless-stopped",
        }, { ...childOpts, deleteBeforeReplace: true });
        this.registerOutputs({ container: this.container.name });
    }
}
