import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { renderUserData } from "./cloudInit";
import { Host } from "./host";
import { createAwsWorkers, swarmSecurityGroup } from "./awsWorkers";
import { connectRemoteHost, dataVolumeOptions, ingressRules } from "./remoteHost";

/** Graviton families (t4g, m7g, c7gn...) need arm64 images. */
export function amiArchitecture(instanceType: string): "arm64" | "x86_64" {
    return /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType) ? "arm64" : "x86_64";
}

/** How an attached EBS volume shows up: by volume id on Nitro, as xvdf on Xen. */
export function ebsDevicePaths(volumeId: string): string[] {
    return [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`, "/dev/xvdf"];
}

/**
 * An EC2 instance with an encrypted EBS volume for the database, an Elastic IP and DNS; with
 * swarmWorkers, worker instances beside it (targets/awsWorkers.ts).
 */
export class AwsHost extends pulumi.ComponentResource {
    readonly host: Host;
    readonly instance: aws.ec2.Instance;
    readonly volume: aws.ebs.Volume;
    readonly securityGroup: aws.ec2.SecurityGroup;
    /** With workers: the group every host of the stack is in, for the Swarm and registry ports. */
    readonly swarmGroup?: aws.ec2.SecurityGroup;
    readonly elasticIp: aws.ec2.Eip;
    readonly backupBucket: aws.s3.Bucket;

    constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:targets:AwsHost", name, {}, opts);
        const s = args.settings;
        const invoke = { parent: this };
        const tags = { Name: `${s.project}-${s.stack}`, project: s.project, stack: s.stack };

        const subnetId = s.aws.subnetId !== undefined
            ? pulumi.output(s.aws.subnetId)
            : aws.ec2.getSubnetsOutput({ filters: [{ name: "default-for-az", values: ["true"] }] }, invoke)
                .apply((found) => {
                    if (found.ids.length === 0) throw new Error("webstack:awsSubnetId: this region has no default VPC; set a subnet id");
                    return [...found.ids].sort()[0];
                });
        const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, invoke);
        const ami = s.aws.amiId !== undefined
            ? pulumi.output(s.aws.amiId)
            : aws.ec2.getAmiOutput({
                mostRecent: true,
                owners: ["099720109477"],
                filters: [
                    { name: "name", values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-*-server-*"] },
                    { name: "architecture", values: [amiArchitecture(s.aws.instanceType)] },
                ],
            }, invoke).id;

        const rules = ingressRules(s);
        this.securityGroup = new aws.ec2.SecurityGroup(name, {
            description: `${s.project} ${s.stack}: web from anywhere, SSH from operators`,
            vpcId: subnet.vpcId,
            ingress: [
                ...rules.web.map((port) => ({
                    protocol: "tcp", fromPort: port, toPort: port,
                    cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"],
                })),
                {
                    protocol: "tcp", fromPort: 22, toPort: 22,
                    cidrBlocks: rules.ssh.filter((c) => !c.includes(":")),
                    ipv6CidrBlocks: rules.ssh.filter((c) => c.includes(":")),
                },
            ],
            egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
            tags,
        }, { parent: this });

        // Only with workers: a single host keeps exactly its one group.
        this.swarmGroup = s.scale.workers > 0 ? swarmSecurityGroup(name, { settings: s, vpcId: subnet.vpcId, tags }, this) : undefined;

        this.volume = new aws.ebs.Volume(`${name}-data`, {
            availabilityZone: subnet.availabilityZone,
            size: s.host.dataVolumeSizeGb,
            type: "gp3",
            encrypted: true,
            tags: { ...tags, Name: `${s.project}-${s.stack}-data` },
        }, { parent: this, ...dataVolumeOptions(s) });

        this.backupBucket = this.createBackupBucket(name, s, tags);
        const profile = this.createInstanceProfile(name, this.backupBucket, tags);

        this.instance = new aws.ec2.Instance(name, {
            ami,
            instanceType: s.aws.instanceType,
            subnetId,
            vpcSecurityGroupIds: [this.securityGroup.id, ...(this.swarmGroup === undefined ? [] : [this.swarmGroup.id])],
            iamInstanceProfile: profile.name,
            userData: this.volume.id.apply((volumeId) => renderUserData({
                sshUser: s.host.sshUser,
                sshPublicKeys: s.host.sshPublicKeys,
                dataDevices: ebsDevicePaths(volumeId),
            })),
            // Two hops: the backup container reaches the instance role's credentials through Docker's bridge.
            // cloud-init runs once per instance: new user data (an SSH key, say) needs a new instance,
            // not the stop/start AWS does by default. Data lives on the EBS volume, reattached.
            userDataReplaceOnChange: true,
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2 },
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: s.host.rootVolumeSizeGb },
            tags,
        }, {
            parent: this,
            // A newer Ubuntu AMI must not replace the host on the next `pulumi up`; set awsAmiId to move.
            ignoreChanges: s.aws.amiId === undefined ? ["ami"] : [],
        });

        const attachment = new aws.ec2.VolumeAttachment(`${name}-data`, {
            deviceName: "/dev/sdf",
            volumeId: this.volume.id,
            instanceId: this.instance.id,
            stopInstanceBeforeDetaching: true,
            // A volume is attached to one instance at a time: detach from the old machine first.
        }, { parent: this, deleteBeforeReplace: true });

        this.elasticIp = new aws.ec2.Eip(name, { domain: "vpc", tags }, { parent: this });
        const association = new aws.ec2.EipAssociation(name, {
            allocationId: this.elasticIp.allocationId,
            instanceId: this.instance.id,
        }, { parent: this, deleteBeforeReplace: true });

        if (s.domain !== undefined && s.dnsZone !== undefined) {
            const zone = aws.route53.getZoneOutput({ name: s.dnsZone, privateZone: false }, invoke);
            new aws.route53.Record(`${name}-dns`, {
                zoneId: zone.zoneId,
                name: s.domain,
                type: "A",
                ttl: 300,
                records: [this.elasticIp.publicIp],
            }, { parent: this });
        }

        const manager = connectRemoteHost(name, {
            settings: s,
            address: this.elasticIp.publicIp,
            triggers: [this.instance.id, attachment.id],
            dependsOn: [attachment, association],
            backupStore: {
                uri: pulumi.interpolate`s3://${this.backupBucket.bucket}/backups`,
                region: s.aws.region!,
                // The instance role grants access; no keys are handed to the host.
                credentials: pulumi.output([]),
            },
            machineId: this.instance.id,
        }, this);
        this.host = {
            ...manager,
            // The VPC's address: Swarm's advertise address and the registry's, for the workers.
            privateAddress: this.instance.privateIp,
            workers: this.swarmGroup === undefined ? [] : createAwsWorkers(name, {
                settings: s, ami, subnetId, vpcId: subnet.vpcId, swarmGroup: this.swarmGroup, tags,
            }, this),
        };
        this.registerOutputs({ address: this.host.address });
    }

    /** Versioned, encrypted, never public; old backups expire. */
    private createBackupBucket(name: string, s: Settings, tags: Record<string, string>): aws.s3.Bucket {
        const opts = { parent: this };
        const bucket = new aws.s3.Bucket(`${name}-backups`, {
            bucketPrefix: `${s.project}-${s.stack}-backups-`,
            tags,
        }, { ...opts, protect: s.protectData, retainOnDelete: s.protectData });
        new aws.s3.BucketPublicAccessBlock(`${name}-backups`, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, opts);
        new aws.s3.BucketVersioning(`${name}-backups`, {
            bucket: bucket.id,
            versioningConfiguration: { status: "Enabled" },
        }, opts);
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-backups`, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
        }, opts);
        new aws.s3.BucketLifecycleConfiguration(`${name}-backups`, {
            bucket: bucket.id,
            rules: [{
                id: "expire-backups",
                status: "Enabled",
                filter: { prefix: "backups/" },
                expiration: { days: s.backups.retentionDays },
                noncurrentVersionExpiration: { noncurrentDays: 7 },
                abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            }],
        }, opts);
        return bucket;
    }

    /** The instance may add and read backups, but not delete them. */
    private createInstanceProfile(name: string, bucket: aws.s3.Bucket, tags: Record<string, string>): aws.iam.InstanceProfile {
        const opts = { parent: this };
        const role = new aws.iam.Role(name, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            tags,
        }, opts);
        new aws.iam.RolePolicy(`${name}-backups`, {
            role: role.id,
            policy: bucket.arn.apply((arn) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Action: ["s3:ListBucket"], Resource: arn },
                    { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${arn}/backups/*` },
                ],
            })),
        }, opts);
        return new aws.iam.InstanceProfile(name, { role: role.name, tags }, opts);
    }
}
