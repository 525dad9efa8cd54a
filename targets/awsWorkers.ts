import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { renderUserData } from "./cloudInit";
import { WorkerHost } from "./host";
import { ingressRules } from "./remoteHost";
import { connectCloudWorker, SWARM_PORTS, workerNames } from "./workers";

/**
 * The security group every host of a multi-host stack is in (manager included): the Swarm and
 * registry ports, from members of this same group only. No egress of its own: each host's other
 * group has that.
 */
export function swarmSecurityGroup(name: string, args: { settings: Settings; vpcId: pulumi.Input<string>; tags: Record<string, string> }, parent: pulumi.Resource): aws.ec2.SecurityGroup {
    const s = args.settings;
    return new aws.ec2.SecurityGroup(`${name}-swarm`, {
        description: `${s.project} ${s.stack}: Swarm and registry between the stack's own hosts`,
        vpcId: args.vpcId,
        ingress: SWARM_PORTS.map((p) => ({
            protocol: p.protocol, fromPort: p.port, toPort: p.port, self: true, description: p.purpose,
        })),
        egress: [],
        tags: { ...args.tags, Name: `${s.project}-${s.stack}-swarm` },
    }, { parent });
}

export interface AwsWorkerArgs {
    settings: Settings;
    ami: pulumi.Input<string>;
    subnetId: pulumi.Input<string>;
    securityGroupIds: pulumi.Input<string>[];
    tags: Record<string, string>;
}

/**
 * A worker instance: the manager's AMI, type and subnet, IMDSv2 only, encrypted root disk; no EBS
 * data volume, no Elastic IP (a public address for the operator's ssh), no instance role.
 */
export class AwsWorker extends pulumi.ComponentResource {
    readonly instance: aws.ec2.Instance;

    constructor(name: string, args: AwsWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:targets:AwsWorker", name, {}, opts);
        const s = args.settings;
        this.instance = new aws.ec2.Instance(name, {
            ami: args.ami,
            instanceType: s.aws.instanceType,
            subnetId: args.subnetId,
            vpcSecurityGroupIds: args.securityGroupIds,
            associatePublicIpAddress: true,
            userData: renderUserData({ sshUser: s.host.sshUser, sshPublicKeys: s.host.sshPublicKeys, dataDevices: [] }),
            // As the manager: cloud-init runs once per instance, so new user data needs a new one.
            userDataReplaceOnChange: true,
            // No role and nothing in a container needs the metadata: one hop.
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: s.host.rootVolumeSizeGb },
            tags: args.tags,
        }, {
            parent: this,
            // As the manager: a newer Ubuntu AMI does not replace the host; set awsAmiId to move.
            ignoreChanges: s.aws.amiId === undefined ? ["ami"] : [],
        });
        this.registerOutputs({ instanceId: this.instance.id });
    }
}

export interface AwsWorkersArgs {
    settings: Settings;
    ami: pulumi.Input<string>;
    subnetId: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    /** The Swarm group (swarmSecurityGroup), which the manager is in too. */
    swarmGroup: aws.ec2.SecurityGroup;
    tags: Record<string, string>;
}

/**
 * settings.scale.workers worker instances beside the manager, parented to `parent`, in two
 * groups: the Swarm group, and a workers' group with SSH from sshAllowedCidrs and egress.
 */
export function createAwsWorkers(name: string, args: AwsWorkersArgs, parent: pulumi.Resource): WorkerHost[] {
    const s = args.settings;
    const names = workerNames(s.scale.workers);
    if (names.length === 0) return [];
    const ssh = ingressRules(s).ssh;
    const workersGroup = new aws.ec2.SecurityGroup(`${name}-workers`, {
        description: `${s.project} ${s.stack} workers: SSH from operators`,
        vpcId: args.vpcId,
        ingress: [{
            protocol: "tcp", fromPort: 22, toPort: 22,
            cidrBlocks: ssh.filter((c) => !c.includes(":")),
            ipv6CidrBlocks: ssh.filter((c) => c.includes(":")),
        }],
        egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
        tags: { ...args.tags, Name: `${s.project}-${s.stack}-workers` },
    }, { parent });

    return names.map((worker) => {
        const machine = new AwsWorker(`${name}-${worker}`, {
            settings: s,
            ami: args.ami,
            subnetId: args.subnetId,
            securityGroupIds: [workersGroup.id, args.swarmGroup.id],
            tags: { ...args.tags, Name: `${s.project}-${s.stack}-${worker}`, role: "worker" },
        }, { parent });
        return connectCloudWorker(`${name}-${worker}`, {
            settings: s,
            worker,
            address: machine.instance.publicIp,
            privateAddress: machine.instance.privateIp,
            machineId: machine.instance.id,
            dependsOn: [],
        }, machine);
    });
}
