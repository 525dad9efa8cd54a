import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { WorkerHost } from "./host";
import { renderWaitForDocker, renderWaitForHost, sshCommand, sshOptions } from "./hostReady";

/** The registry the manager runs for the other hosts (appRegistry auto), on its private address. */
export const REGISTRY_PORT = 5000;

/**
 * What the hosts of a multi-host stack open to each other, and only to each other: Docker Swarm's
 * cluster management, node gossip and overlay (VXLAN) traffic, and the manager's registry.
 */
export const SWARM_PORTS: readonly { protocol: "tcp" | "udp"; port: number; purpose: string }[] = [
    { protocol: "tcp", port: 2377, purpose: "Swarm cluster management" },
    { protocol: "tcp", port: 7946, purpose: "Swarm node gossip" },
    { protocol: "udp", port: 7946, purpose: "Swarm node gossip" },
    { protocol: "udp", port: 4789, purpose: "Swarm overlay network (VXLAN)" },
    { protocol: "tcp", port: REGISTRY_PORT, purpose: "the stack's registry on the manager" },
];

/** worker-1 ... worker-N: short, unique in the stack, stable when N grows. */
export function workerNames(count: number): string[] {
    return Array.from({ length: count }, (_, i) => `worker-${i + 1}`);
}

/** The ssh options of a stack's cloud hosts: one known-hosts file per stack, the operator's key. */
export function cloudSshOptions(settings: Settings): { options: string[]; knownHostsFile: string } {
    const knownHostsFile = `~/.ssh/known_hosts_${settings.project}_${settings.stack}`;
    return { knownHostsFile, options: sshOptions({ knownHostsFile, privateKeyPath: settings.host.sshPrivateKeyPath }) };
}

export interface CloudWorkerArgs {
    settings: Settings;
    /** worker-1, ... */
    worker: string;
    /** Where the operator's ssh reaches it (its public address). */
    address: pulumi.Output<string>;
    privateAddress: pulumi.Output<string>;
    /** The droplet or instance id: a new machine waits, and joins, again. */
    machineId: pulumi.Output<string>;
    /** What must exist before it can be reached and joined (its firewall rules). */
    dependsOn: pulumi.Resource[];
}

/**
 * A cloud worker machine as a WorkerHost: a readiness step (cloud-init done, ready marker, Docker
 * answering over ssh; no data volume), and a shell over ssh to its public address.
 */
export function connectCloudWorker(name: string, args: CloudWorkerArgs, parent: pulumi.Resource): WorkerHost {
    const user = args.settings.host.sshUser;
    const { options, knownHostsFile } = cloudSshOptions(args.settings);
    const ready = new command.local.Command(`${name}-ready`, {
        create: args.address.apply((address) => renderWaitForHost({ user, address, sshOptions: options, knownHostsFile, dataVolume: false })),
        triggers: [args.machineId],
    }, { parent, dependsOn: args.dependsOn });
    return {
        name: args.worker,
        privateAddress: args.privateAddress,
        shell: (script) => args.address.apply((address) => sshCommand({ user, address, sshOptions: options, script })),
        ready: [ready, ...args.dependsOn],
        machineId: args.machineId,
    };
}

/**
 * Target ssh's workers: servers the operator already has (sshWorkerHosts), reached like the
 * manager (sshUser, sshPort, sshPrivateKeyPath). Their addresses are used as given for the Swarm,
 * so they must reach each other and the manager on SWARM_PORTS: no firewall is made for them.
 */
export class SshWorker extends pulumi.ComponentResource {
    readonly worker: WorkerHost;

    constructor(name: string, args: { settings: Settings; worker: string; address: string }, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:targets:SshWorker", name, {}, opts);
        const s = args.settings;
        const user = s.host.sshUser;
        const options = sshOptions({ privateKeyPath: s.host.sshPrivateKeyPath, port: s.host.sshPort });
        const ready = new command.local.Command(`${name}-ready`, {
            create: renderWaitForDocker({ user, address: args.address, sshOptions: options }),
        }, { parent: this });
        this.worker = {
            name: args.worker,
            privateAddress: pulumi.output(args.address),
            shell: (script) => pulumi.output(sshCommand({ user, address: args.address, sshOptions: options, script })),
            ready: [ready],
        };
        this.registerOutputs({ address: args.address });
    }
}
