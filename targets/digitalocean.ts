import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { renderUserData } from "./cloudInit";
import { BackupStore, Host } from "./host";
import { createDigitalOceanWorkers } from "./digitaloceanWorkers";
import { connectRemoteHost, dataVolumeOptions, ingressRules } from "./remoteHost";

/** The record name of `domain` inside `zone`: "@" for the apex. */
export function recordName(domain: string, zone: string): string {
    return domain === zone ? "@" : domain.slice(0, -(zone.length + 1));
}

/**
 * A droplet with a block volume for the database, a reserved IP, a cloud firewall and DNS; with
 * swarmWorkers, worker droplets beside it (targets/digitaloceanWorkers.ts).
 */
export class DigitalOceanHost extends pulumi.ComponentResource {
    readonly host: Host;
    readonly droplet: digitalocean.Droplet;
    readonly volume: digitalocean.Volume;
    readonly reservedIp: digitalocean.ReservedIp;
    readonly firewall: digitalocean.Firewall;
    readonly backupBucket: digitalocean.SpacesBucket;

    constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:targets:DigitalOceanHost", name, {}, opts);
        const s = args.settings;
        const region = s.digitalocean.region;
        const tags = [s.project, `${s.project}-${s.stack}`];
        const volumeName = `${s.project}-${s.stack}-data`;

        this.volume = new digitalocean.Volume(`${name}-data`, {
            name: volumeName,
            region,
            size: s.host.dataVolumeSizeGb,
            description: `Database of ${s.project} ${s.stack}`,
            tags,
        }, { parent: this, ...dataVolumeOptions(s) });

        this.droplet = new digitalocean.Droplet(name, {
            image: s.digitalocean.image,
            region,
            size: s.digitalocean.size,
            ipv6: true,
            monitoring: true,
            tags,
            userData: renderUserData({
                sshUser: s.host.sshUser,
                sshPublicKeys: s.host.sshPublicKeys,
                dataDevices: [`/dev/disk/by-id/scsi-0DO_Volume_${volumeName}`],
            }),
        }, { parent: this });
        const dropletId = this.droplet.id.apply(Number);

        const attachment = new digitalocean.VolumeAttachment(`${name}-data`, {
            dropletId,
            volumeId: this.volume.id,
            // A volume is attached to one droplet at a time: detach from the old machine first.
        }, { parent: this, deleteBeforeReplace: true });

        this.reservedIp = new digitalocean.ReservedIp(`${name}-ip`, { region }, { parent: this });
        const assignment = new digitalocean.ReservedIpAssignment(`${name}-ip`, {
            ipAddress: this.reservedIp.ipAddress,
            dropletId,
            // Deleting the old assignment unassigns the IP, wherever it points by then.
        }, { parent: this, deleteBeforeReplace: true });

        const rules = ingressRules(s);
        const outboundRules = [
            { protocol: "tcp", portRange: "1-65535", destinationAddresses: rules.anywhere },
            { protocol: "udp", portRange: "1-65535", destinationAddresses: rules.anywhere },
            { protocol: "icmp", destinationAddresses: rules.anywhere },
        ];
        this.firewall = new digitalocean.Firewall(name, {
            dropletIds: [dropletId],
            inboundRules: [
                ...rules.web.map((port) => ({ protocol: "tcp", portRange: String(port), sourceAddresses: rules.anywhere })),
                { protocol: "tcp", portRange: "22", sourceAddresses: rules.ssh },
            ],
            outboundRules,
        }, { parent: this });

        if (s.domain !== undefined && s.dnsZone !== undefined) {
            new digitalocean.DnsRecord(`${name}-dns`, {
                domain: s.dnsZone,
                type: "A",
                name: recordName(s.domain, s.dnsZone),
                value: this.reservedIp.ipAddress,
                ttl: 300,
            }, { parent: this });
        }

        this.backupBucket = new digitalocean.SpacesBucket(`${name}-backups`, {
            name: `${s.project}-${s.stack}-backups`,
            region,
            acl: "private",
            versioning: { enabled: true },
            lifecycleRules: [{
                enabled: true,
                expiration: { days: s.backups.retentionDays },
                noncurrentVersionExpiration: { days: 7 },
                abortIncompleteMultipartUploadDays: 1,
            }],
        }, { parent: this, protect: s.protectData, retainOnDelete: s.protectData });
        // A key that can only reach this bucket, rather than the operator's own Spaces key.
        const key = new digitalocean.SpacesKey(`${name}-backups`, {
            name: `${s.project}-${s.stack}-backups`,
            grants: [{ bucket: this.backupBucket.name, permission: "readwrite" }],
        }, { parent: this });
        const backupStore: BackupStore = {
            uri: pulumi.interpolate`s3://${this.backupBucket.name}/backups`,
            endpoint: `https://${region}.digitaloceanspaces.com`,
            region,
            credentials: pulumi.secret(pulumi.all([key.accessKey, key.secretKey]).apply(([id, secret]) => [
                `AWS_ACCESS_KEY_ID=${id}`,
                `AWS_SECRET_ACCESS_KEY=${secret}`,
            ])),
        };

        const manager = connectRemoteHost(name, {
            settings: s,
            address: this.reservedIp.ipAddress,
            triggers: [this.droplet.id, attachment.id],
            dependsOn: [attachment, assignment, this.firewall],
            backupStore,
            machineId: this.droplet.id,
        }, this);
        this.host = {
            ...manager,
            // The VPC's address: Swarm's advertise address and the registry's, for the workers.
            privateAddress: this.droplet.ipv4AddressPrivate,
            workers: createDigitalOceanWorkers(name, { settings: s, manager: this.droplet, tags, outboundRules }, this),
        };
        this.registerOutputs({ address: this.host.address });
    }
}
