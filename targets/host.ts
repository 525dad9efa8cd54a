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
    /** Off-host object storage for database backups. Undefined: backups stay on a local volume. */
    backupStore?: BackupStore;
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
