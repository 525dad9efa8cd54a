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
    /**
     * How the docker provider reaches a remote engine, for the operator commands (bin/webstack):
     * its ssh:// URL and ssh options. Undefined: the local engine (DOCKER_HOST or the default socket).
     */
    dockerConnection?: { host: pulumi.Output<string>; sshOptions: string[] };
    /** Off-host object storage for database backups. Undefined: backups stay on a local volume. */
    backupStore?: BackupStore;
    /**
     * The machine's identity (droplet or instance id), when the target can replace the machine
     * behind an unchanged address. Everything on the engine is replaced with it, because a new
     * machine starts empty. Undefined: the engine outlives every deploy (local, ssh).
     */
    machineId?: pulumi.Output<string>;
    /**
     * A shell command, run where pulumi runs, that runs `script` on the host with the docker CLI
     * at hand, passing standard input through: the script itself locally, over ssh otherwise.
     */
    shell(script: string): pulumi.Output<string>;
    /**
     * The manager's address on the network the stack's hosts share (Swarm's advertise address,
     * the registry's address). Set by every target once the stack has more than one host.
     */
    privateAddress?: pulumi.Output<string>;
    /** The hosts beside this one that join its Swarm as workers (swarmWorkers); empty for one host. */
    workers: WorkerHost[];
}

/** A machine that joins the manager's Swarm and runs web replicas. */
export interface WorkerHost {
    /** Short and unique in the stack: worker-1, worker-2, ... */
    name: string;
    /** Its address on the network the stack's hosts share. */
    privateAddress: pulumi.Output<string>;
    /** Like Host.shell: runs a script on the worker (over ssh), standard input passed through. */
    shell(script: string): pulumi.Output<string>;
    /** What its commands wait for: the machine exists and Docker answers (its readiness step). */
    ready: pulumi.Resource[];
    /** Like Host.machineId: a replaced machine joins again. */
    machineId?: pulumi.Output<string>;
}

/** Options for a resource on the host's engine: its provider, and replacement with the machine. */
export function onHost(host: Host, parent: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, provider: host.provider, ...(host.machineId === undefined ? {} : { replacementTrigger: host.machineId }) };
}

/** An S3-compatible bucket the backup container uploads to. */
export interface BackupStore {
    /** s3://bucket/prefix */
    uri: pulumi.Output<string>;
    /** S3 API endpoint, for stores other than AWS S3 (DigitalOcean Spaces). */
    endpoint?: string;
    region: string;
    /** Credentials for the backup container, as KEY=value entries; secret. Empty with an instance role. */
    credentials: pulumi.Output<string[]>;
}
