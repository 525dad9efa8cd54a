/** A stack on Docker Swarm: its cluster ports stay off the Internet, and its registry has a login. */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { TYPES, unproxy } from "./common";
import { containerName, isRegistry, rawEnvEntries } from "./containers";
import { FIREWALL_TYPES, Protocol, worldOpenPort } from "./firewalls";

/** Swarm's own ports: cluster management, node gossip, the overlay networks' VXLAN. */
export const SWARM_PORTS: { port: number; protocol: Protocol }[] = [
    { port: 2377, protocol: "tcp" },
    { port: 7946, protocol: "tcp" },
    { port: 7946, protocol: "udp" },
    { port: 4789, protocol: "udp" },
];

const SWARM_TYPES = {
    service: "docker:index/service:Service",
    command: "command:local:Command",
    droplet: "digitalocean:index/droplet:Droplet",
} as const;

/**
 * A stack on more than one machine: a Swarm join command, or more than one droplet or EC2
 * instance. (A single-node Swarm has no other node to reach it, and its firewall is the single host's.)
 */
export function isMultiHost(resources: { type: string; name: string }[]): boolean {
    const count = (type: string) => resources.filter((r) => r.type === type).length;
    return resources.some((r) => r.type === SWARM_TYPES.command && /-join$/.test(r.name)) ||
        count(SWARM_TYPES.droplet) > 1 || count(TYPES.ec2Instance) > 1;
}

/** "2377/tcp from 0.0.0.0/0", one line per port and protocol a firewall resource opens to the world. */
export function worldOpenSwarmPorts(type: string, props: Record<string, unknown>): string[] {
    return SWARM_PORTS.flatMap(({ port, protocol }) => {
        const open = [...new Set(worldOpenPort(type, props, port, protocol))];
        return open.length === 0 ? [] : [`${port}/${protocol} from ${open.join(", ")}`];
    });
}

export const swarmPortsNotWorldOpen: StackValidationPolicy = {
    name: "swarm-ports-not-world-open",
    description: "In a multi-host stack, no DigitalOcean firewall or AWS security group (rule) lets Swarm's ports " +
        "(2377/tcp, 7946/tcp+udp, 4789/udp) in from 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        if (!isMultiHost(args.resources)) return;
        for (const r of args.resources) {
            if (!FIREWALL_TYPES.includes(r.type as (typeof FIREWALL_TYPES)[number])) continue;
            const open = worldOpenSwarmPorts(r.type, unproxy(r.props) as Record<string, unknown>);
            if (open.length > 0) {
                reportViolation(`${r.name} lets Swarm in from the whole Internet (${open.join("; ")}): anyone could join the cluster or ` +
                    "inject overlay traffic. Allow these ports only between the stack's hosts (its droplets, or its own security group).", r.urn);
            }
        }
    },
};

export const registryRequiresAuth: ResourceValidationPolicy = {
    name: "registry-requires-auth",
    description: "A registry container has a login (REGISTRY_AUTH=htpasswd): the app image, and the secrets built into it, are not for anyone who reaches its port.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type !== TYPES.container || !isRegistry(args)) return;
        if (!rawEnvEntries(args.props).includes("REGISTRY_AUTH=htpasswd")) {
            reportViolation(`Registry container ${containerName(args)} has no login: set REGISTRY_AUTH=htpasswd with an htpasswd file ` +
                "(REGISTRY_AUTH_HTPASSWD_PATH) whose password is a Pulumi secret.");
        }
    },
};
