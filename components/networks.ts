import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host, onHost } from "../targets/host";

export interface NetworksArgs {
    host: Host;
    prefix: string;
    /**
     * Swarm mode: the networks are overlays spanning the nodes, attachable so that the plain
     * containers on the manager (database, proxy, backup, monitor) join them. Created once these
     * (the Swarm's init) are done. Undefined: bridge networks on one engine.
     */
    swarm?: pulumi.Resource[];
}

/** backend: database and app, no route out. frontend: proxy and app. */
export class Networks extends pulumi.ComponentResource {
    readonly backend: docker.Network;
    readonly frontend: docker.Network;

    constructor(name: string, args: NetworksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Networks", name, {}, opts);
        const childOpts = onHost(args.host, this);
        const overlay = args.swarm === undefined ? {} : { driver: "overlay", attachable: true };
        const networkOpts = args.swarm === undefined ? childOpts : { ...childOpts, dependsOn: args.swarm };
        this.backend = new docker.Network(`${name}-backend`, { name: `${args.prefix}-backend`, internal: true, ...overlay }, networkOpts);
        this.frontend = new docker.Network(`${name}-frontend`, { name: `${args.prefix}-frontend`, ...overlay }, networkOpts);
        this.registerOutputs({ backend: this.backend.name, frontend: this.frontend.name });
    }
}
