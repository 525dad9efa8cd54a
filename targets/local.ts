import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "./host";

/** The Docker engine of the machine that runs pulumi (DOCKER_HOST, or the default socket). */
export function localHost(name: string, opts?: pulumi.CustomResourceOptions): Host {
    return {
        provider: new docker.Provider(name, {}, opts),
        address: pulumi.output("localhost"),
        shell: (script) => pulumi.output(script),
        // One engine: a Swarm here is a single node, and it advertises on loopback.
        privateAddress: pulumi.output("127.0.0.1"),
        workers: [],
    };
}
