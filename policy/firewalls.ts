/** Firewalls and security groups: what they let in from the whole Internet. */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { asArray, environmentConfigSchema, environmentOf, forTypes, isWorldOpen, TYPES } from "./common";

// ---------------------------------------------------------------------------------------------
// SSH never open to the world on prod
// ---------------------------------------------------------------------------------------------

const SSH_PORT = 22;

/** An AWS rule (protocol, fromPort, toPort) that lets TCP port 22 through. */
export function awsRuleCoversSsh(protocol: unknown, fromPort: unknown, toPort: unknown): boolean {
    const p = String(protocol ?? "").toLowerCase();
    if (p === "-1" || p === "all") return true;
    if (p !== "tcp" && p !== "6") return false;
    const from = typeof fromPort === "number" ? fromPort : 0;
    const to = typeof toPort === "number" ? toPort : 65535;
    return from <= SSH_PORT && SSH_PORT <= to;
}

/** A DigitalOcean firewall rule (protocol, portRange) that lets TCP port 22 through. */
export function doRuleCoversSsh(protocol: unknown, portRange: unknown): boolean {
    if (String(protocol ?? "").toLowerCase() !== "tcp") return false;
    const range = String(portRange ?? "all").trim().toLowerCase();
    if (range === "all" || range === "0" || range === "") return true;
    const [from, to = from] = range.split("-").map((s) => Number(s));
    return from <= SSH_PORT && SSH_PORT <= to;
}

interface AwsIngress { protocol?: string; fromPort?: number; toPort?: number; cidrBlocks?: string[]; ipv6CidrBlocks?: string[] }

/** The world-open CIDRs of SSH rules in a resource of one of the firewall types. */
export function worldOpenSsh(type: string, props: Record<string, unknown>): string[] {
    const open = (blocks: unknown[]) => blocks.filter(isWorldOpen).map(String);
    switch (type) {
        case TYPES.securityGroup:
            return asArray(props.ingress as AwsIngress[]).flatMap((r) =>
                awsRuleCoversSsh(r.protocol, r.fromPort, r.toPort) ? open([...asArray(r.cidrBlocks), ...asArray(r.ipv6CidrBlocks)]) : []);
        case TYPES.securityGroupRule: {
            const r = props as AwsIngress & { type?: string };
            return r.type === "ingress" && awsRuleCoversSsh(r.protocol, r.fromPort, r.toPort)
                ? open([...asArray(r.cidrBlocks), ...asArray(r.ipv6CidrBlocks)]) : [];
        }
        case TYPES.securityGroupIngressRule: {
            const r = props as { ipProtocol?: string; fromPort?: number; toPort?: number; cidrIpv4?: string; cidrIpv6?: string };
            return awsRuleCoversSsh(r.ipProtocol, r.fromPort, r.toPort) ? open([r.cidrIpv4, r.cidrIpv6]) : [];
        }
        case TYPES.doFirewall:
            return asArray(props.inboundRules as { protocol?: string; portRange?: string; sourceAddresses?: string[] }[])
                .flatMap((r) => (doRuleCoversSsh(r.protocol, r.portRange) ? open(asArray(r.sourceAddresses)) : []));
        default:
            return [];
    }
}

export const noWorldSshOnProd: ResourceValidationPolicy = {
    name: "no-world-ssh-on-prod",
    description: "On prod, no security group or firewall lets SSH (port 22) in from 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    configSchema: environmentConfigSchema,
    validateResource: forTypes<Record<string, unknown>>(
        [TYPES.securityGroup, TYPES.securityGroupRule, TYPES.securityGroupIngressRule, TYPES.doFirewall],
        (props, args, reportViolation) => {
            if (environmentOf(args) !== "prod") return;
            const open = worldOpenSsh(args.type, props);
            if (open.length > 0) {
                reportViolation(`${args.name} lets SSH in from ${[...new Set(open)].join(", ")} on prod; ` +
                    "allow only the operators' addresses (webstack:sshAllowedCidrs).");
            }
        }),
};
