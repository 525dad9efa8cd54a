import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/**
 * What a target yields: a Docker engine to deploy to, and where the site answers.
 * Components take a Host and never ask which target made it.
 */
export interface Host {
    /** Docker provider for every container, image, volume and network of the stack. */
    provider: docker.Provider;
    /** Public address of the host (IP), or "localhost" for the local engine. */
    address: pulumi.Output<string>;
    /**
     * Directory on the host backed by durable block storage, for the database.
     * Undefined: the database uses a Docker named volume.
     */
    dataDir?: string;
    /** How an operator logs in, when the host is remote. */
    sshCommand?: pulumi.Output<string>;
}
