import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { renderUserData } from "./cloudInit";
import { WorkerHost } from "./host";
import { ingressRules } from "./remoteHost";
import { connectCloudWorker, SWARM_PORTS, workerNames } from "./workers";

type OutboundRule = digitalocean.types.input.FirewallOutboundRule;

/** A worker droplet: the manager's region, size, image and VPC; no block volume, no reserved IP. */
export class DigitalOceanWorker extends pulumi.ComponentResource {
    readonly droplet: digitalocean.Droplet;
    readonly dropletId: pulumi.Output<number>;

    constructor(name: string, args: { settings: Settings; vpcUuid: pulumi.Output<string>; tags: string[] }, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:targets:DigitalOceanWorker", name, {}, opts);
        const s = args.settings;
        this.droplet = new digitalocean.Droplet(name, {
            image: s.digitalocean.image,
            region: s.digitalocean.region,
            size: s.digitalocean.size,
            vpcUuid: args.vpcUuid,
            ipv6: true,
            monitoring: true,
            tags: args.tags,
            userData: renderUserData({ sshUser: s.host.sshUser, sshPublicKeys: s.host.sshPublicKeys, dataDevices: [] }),
        }, { parent: this });
        this.dropletId = this.droplet.id.apply(Number);
        this.registerOutputs({ dropletId: this.dropletId });
    }
}

export interface DigitalOceanWorkersArgs {
    settings: Settings;
    /** The manager droplet: its VPC, and a member of the Swarm firewall. */
    manager: digitalocean.Droplet;
    /** The manager's tags; workers add `<project>-<stack>-worker`. */
    tags: string[];
    /** The manager firewall's outbound rules, which workers need as well (apt, images, the registry). */
    outboundRules: OutboundRule[];
}

/**
 * settings.scale.workers worker droplets beside the manager, parented to `parent`, with
 *  - a firewall for the workers: SSH from sshAllowedCidrs, nothing else from outside;
 *  - a Swarm firewall on every droplet of the stack (manager included): the Swarm and registry
 *    ports, from those droplets only.
 * The manager's own resources (droplet, volume, firewall, IP) are left exactly as they are.
 */
export function createDigitalOceanWorkers(name: string, args: DigitalOceanWorkersArgs, parent: pulumi.Resource): WorkerHost[] {
    const s = args.settings;
    const names = workerNames(s.scale.workers);
    if (names.length === 0) return [];
    const tags = [...args.tags, `${s.project}-${s.stack}-worker`];
    const machines = names.map((worker) => new DigitalOceanWorker(`${name}-${worker}`, {
        settings: s,
        vpcUuid: args.manager.vpcUuid,
        tags,
    }, { parent }));

    const workerIds = machines.map((m) => m.dropletId);
    const stackIds = [args.manager.id.apply(Number), ...workerIds];
    const workersFirewall = new digitalocean.Firewall(`${name}-workers`, {
        dropletIds: workerIds,
        inboundRules: [{ protocol: "tcp", portRange: "22", sourceAddresses: ingressRules(s).ssh }],
        outboundRules: args.outboundRules,
    }, { parent });
    // Firewalls add up: the manager keeps its own, and this one adds the ports between the hosts.
    const swarmFirewall = new digitalocean.Firewall(`${name}-swarm`, {
        dropletIds: stackIds,
        inboundRules: SWARM_PORTS.map((p) => ({ protocol: p.protocol, portRange: String(p.port), sourceDropletIds: stackIds })),
    }, { parent });

    return machines.map((m, i) => connectCloudWorker(`${name}-${names[i]}`, {
        settings: s,
        worker: names[i],
        address: m.droplet.ipv4Address,
        privateAddress: m.droplet.ipv4AddressPrivate,
        machineId: m.droplet.id,
        dependsOn: [workersFirewall, swarmFirewall],
    }, m));
}
