/** Firewalls and security groups: what they let in from the whole Internet. */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { asArray, environmentConfigSchema, environmentOf, forTypes, isWorldOpen, TYPES } from "./common";

// ---------------------------------------------------------------------------------------------
// SSH never open to the world on prod
// ---------------------------------------------------------------------------------------------

const SSH_PORT = 22;

export type Protocol = "tcp" | "udp";
const PROTOCOL_NUMBERS: Record<Protocol, string> = { tcp: "6", udp: "17" };

/** An AWS rule (protocol, fromPort, toPort) that lets `port` of `protocol` through. */
export function awsRuleCoversPort(protocol: unknown, fromPort: unknown, toPort: unknown, port: number, proto: Protocol): boolean {
    const p = String(protocol ?? "").toLowerCase();
    if (p === "-1" || p === "all") return true;
    if (p !== proto && p !== PROTOCOL_NUMBERS[proto]) return false;
    const from = typeof fromPort === "number" ? fromPort : 0;
    const to = typeof toPort === "number" ? toPort : 65535;
    return from <= port && port <= to;
}

/** A DigitalOcean firewall rule (protocol, portRange) that lets `port` of `protocol` through. */
export function doRuleCoversPort(protocol: unknown, portRange: unknown, port: number, proto: Protocol): boolean {
    if (String(protocol ?? "").toLowerCase() !== proto) return false;
    const range = String(portRange ?? "all").trim().toLowerCase();
    if (range === "all" || range === "0" || range === "") return true;
    const [from, to = from] = range.split("-").map((s) => Number(s));
    return from <= port && port <= to;
}

/** An AWS rule (protocol, fromPort, toPort) that lets TCP port 22 through. */
export function awsRuleCoversSsh(protocol: unknown, fromPort: unknown, toPort: unknown): boolean {
    return awsRuleCoversPort(protocol, fromPort, toPort, SSH_PORT, "tcp");
}

/** A DigitalOcean firewall rule (protocol, portRange) that lets TCP port 22 through. */
export function doRuleCoversSsh(protocol: unknown, portRange: unknown): boolean {
    return doRuleCoversPort(protocol, portRange, SSH_PORT, "tcp");
}

interface AwsIngress { protocol?: string; fromPort?: number; toPort?: number; cidrBlocks?: string[]; ipv6CidrBlocks?: string[] }

/** The types whose rules let traffic in. */
export const FIREWALL_TYPES = [TYPES.securityGroup, TYPES.securityGroupRule, TYPES.securityGroupIngressRule, TYPES.doFirewall];

/** The world-open CIDRs of the rules that let `port` of `protocol` in, in a resource of one of the firewall types. */
export function worldOpenPort(type: string, props: Record<string, unknown>, port: number, proto: Protocol): string[] {
    const open = (blocks: unknown[]) => blocks.filter(isWorldOpen).map(String);
    const aws = (protocol: unknown, fromPort: unknown, toPort: unknown) => awsRuleCoversPort(protocol, fromPort, toPort, port, proto);
    switch (type) {
        case TYPES.securityGroup:
            return asArray(props.ingress as AwsIngress[]).flatMap((r) =>
                aws(r.protocol, r.fromPort, r.toPort) ? open([...asArray(r.cidrBlocks), ...asArray(r.ipv6CidrBlocks)]) : []);
        case TYPES.securityGroupRule: {
            const r = props as AwsIngress & { type?: string };
            return r.type === "ingress" && aws(r.protocol, r.fromPort, r.toPort)
                ? open([...asArray(r.cidrBlocks), ...asArray(r.ipv6CidrBlocks)]) : [];
        }
        case TYPES.securityGroupIngressRule: {
            const r = props as { ipProtocol?: string; fromPort?: number; toPort?: number; cidrIpv4?: string; cidrIpv6?: string };
            return aws(r.ipProtocol, r.fromPort, r.toPort) ? open([r.cidrIpv4, r.cidrIpv6]) : [];
        }
        case TYPES.doFirewall:
            return asArray(props.inboundRules as { protocol?: string; portRange?: string; sourceAddresses?: string[] }[])
                .flatMap((r) => (doRuleCoversPort(r.protocol, r.portRange, port, proto) ? open(asArray(r.sourceAddresses)) : []));
        default:
            return [];
    }
}

/** The world-open CIDRs of SSH rules in a resource of one of the firewall types. */
export function worldOpenSsh(type: string, props: Record<string, unknown>): string[] {
    return worldOpenPort(type, props, SSH_PORT, "tcp");
}

export const noWorldSshOnProd: ResourceValidationPolicy = {
    name: "no-world-ssh-on-prod",
    description: "On prod, no security group or firewall lets SSH (port 22) in from 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    configSchema: environmentConfigSchema,
    validateResource: forTypes<Record<string, unknown>>(
        FIREWALL_TYPES,
        (props, args, reportViolation) => {
            if (environmentOf(args) !== "prod") return;
            const open = worldOpenSsh(args.type, props);
            if (open.length > 0) {
                reportViolation(`${args.name} lets SSH in from ${[...new Set(open)].join(", ")} on prod; ` +
                    "allow only the operators' addresses (webstack:sshAllowedCidrs).");
            }
        }),
};
