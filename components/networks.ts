import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host, onHost } from "../targets/host";

export interface NetworksArgs {
    host: Host;
    prefix: string;
}

/** backend: database and app, no route out. frontend: proxy and app. */
export class Networks extends pulumi.ComponentResource {
    readonly backend: docker.Network;
    readonly frontend: docker.Network;

    constructor(name: string, args: NetworksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Networks", name, {}, opts);
        const childOpts = onHost(args.host, this);
        this.backend = new docker.Network(`${name}-backend`, { name: `${args.prefix}-backend`, internal: true }, childOpts);
        this.frontend = new docker.Network(`${name}-frontend`, { name: `${args.prefix}-frontend` }, childOpts);
        this.registerOutputs({ backend: this.backend.name, frontend: this.frontend.name });
    }
}
