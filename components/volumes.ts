import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host, onHost } from "../targets/host";

/** A place for files that outlive containers: a named volume or a directory on durable storage. */
export interface StorageVolume {
    /** Volume name, or the host directory when the host has durable storage. */
    name: pulumi.Output<string>;
    mount(containerPath: string, readOnly?: boolean): docker.types.input.ContainerVolume;
}

export interface VolumesArgs {
    host: Host;
    prefix: string;
    /** Keep the database volume through `pulumi destroy` and replacements. */
    protectData: boolean;
    /** Volumes for certificates and ACME challenges, when the proxy does TLS. */
    certificates: boolean;
}

/** The stack's volumes: database data, collected static files, uploaded media (and certificates with TLS). */
export class Volumes extends pulumi.ComponentResource {
    readonly database: StorageVolume;
    readonly static: StorageVolume;
    readonly media: StorageVolume;
    /** Database dumps: on the host's durable storage, or a named volume. */
    readonly backups: StorageVolume;
    readonly certificates?: StorageVolume;
    readonly acmeChallenges?: StorageVolume;

    constructor(name: string, args: VolumesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Volumes", name, {}, opts);
        const named = (suffix: string, extra: pulumi.CustomResourceOptions = {}): StorageVolume => {
            const volume = new docker.Volume(`${name}-${suffix}`, {
                name: `${args.prefix}-${suffix}`,
                labels: [{ label: "webstack.volume", value: suffix }],
            }, { ...onHost(args.host, this), ...extra });
            return {
                name: volume.name,
                mount: (containerPath, readOnly = false) => ({ volumeName: volume.name, containerPath, readOnly }),
            };
        };
        const dataDir = args.host.dataDir;
        // A named volume on a machine that can be replaced goes with it: protect would only block the
        // replacement. Retained on delete all the same, so a destroy never removes data itself.
        const protection = { protect: args.protectData && args.host.machineId === undefined, retainOnDelete: args.protectData };
        // On durable host storage, a directory of the block volume (created and protected by the target).
        const durable = (suffix: string, directory: string): StorageVolume => dataDir === undefined
            ? named(suffix, protection)
            : {
                name: pulumi.output(`${dataDir}/${directory}`),
                mount: (containerPath, readOnly = false) => ({ hostPath: `${dataDir}/${directory}`, containerPath, readOnly }),
            };
        this.database = durable("pgdata", "postgres");
        this.backups = durable("backups", "backups");
        this.static = named("static");
        this.media = named("media", protection);
        if (args.certificates) {
            // Losing issued certificates means re-issuing, and Let's Encrypt rate-limits that.
            this.certificates = named("certificates", { retainOnDelete: args.protectData });
            this.acmeChallenges = named("acme-challenges");
        }
        this.registerOutputs({ database: this.database.name, static: this.static.name, media: this.media.name, backups: this.backups.name });
    }
}
