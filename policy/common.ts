/**
 * What every rule of the policy pack shares: type tokens, reading property values (unknowns during
 * a preview, secret markers), CIDRs open to the world, and the environment a resource belongs to.
 *
 * Resources are recognised by type token rather than with validateResourceOfType: that helper
 * needs the provider SDK classes (@pulumi/aws alone is ~85 MB), and this pack only needs
 * @pulumi/policy and @pulumi/pulumi. `forTypes` below does the same filtering.
 */
import { ReportViolation, ResourceValidation, ResourceValidationArgs, Secret } from "@pulumi/policy";

// ---------------------------------------------------------------------------------------------
// Type tokens
// ---------------------------------------------------------------------------------------------

export const TYPES = {
    container: "docker:index/container:Container",
    ec2Instance: "aws:ec2/instance:Instance",
    ebsVolume: "aws:ebs/volume:Volume",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    securityGroupIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    doFirewall: "digitalocean:index/firewall:Firewall",
    s3Bucket: "aws:s3/bucket:Bucket",
    s3BucketV2: "aws:s3/bucketV2:BucketV2",
    s3BucketAcl: "aws:s3/bucketAcl:BucketAcl",
    s3BucketAclV2: "aws:s3/bucketAclV2:BucketAclV2",
    s3BucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    s3PublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    spacesBucket: "digitalocean:index/spacesBucket:SpacesBucket",
    spacesBucketObject: "digitalocean:index/spacesBucketObject:SpacesBucketObject",
    spacesBucketPolicy: "digitalocean:index/spacesBucketPolicy:SpacesBucketPolicy",
} as const;

/** Runs `validate` only for resources of the given types (what validateResourceOfType does with a class). */
export function forTypes<T>(
    types: readonly string[],
    validate: (props: T, args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): ResourceValidation {
    return (args, reportViolation) => {
        if (types.includes(args.type)) validate(args.props as T, args, reportViolation);
    };
}

// ---------------------------------------------------------------------------------------------
// Reading property values
// ---------------------------------------------------------------------------------------------

/**
 * The sentinels the engine uses for values that are unknown during a preview (one per type).
 * @pulumi/policy's proxy throws when a policy reads one, and the SDK then reports "can't run
 * during preview" as advisory; code below that reads raw values checks for them itself.
 */
const UNKNOWN_SENTINELS = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);
export const isUnknown = (value: unknown): boolean => typeof value === "string" && UNKNOWN_SENTINELS.has(value);

/** How the engine's wire format (and Pulumi's mocks) wrap a secret: { [SIG_KEY]: SECRET_SIG, value }. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The object behind @pulumi/policy's proxies (unknown-checking, secrets-preserving), so that a
 * value can be inspected without tripping over unknowns and with secret wrappers still visible.
 */
export function unproxy(value: unknown): unknown {
    let current = value;
    for (let depth = 0; depth < 8 && current instanceof Object; depth++) {
        const proxy = current as Record<string, unknown>;
        if (proxy.__isSpecialProxy !== true) break;
        current = proxy.__getSpecialProxyTarget;
    }
    return current;
}

/** A value marked secret: the wire-format wrapper, or @pulumi/policy's Secret (remediation pass). */
export function isSecretMarker(value: unknown): boolean {
    const raw = unproxy(value);
    if (raw instanceof Secret) return true;
    return typeof raw === "object" && raw !== null && (raw as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export const asArray = <T>(value: T[] | T | undefined | null): T[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

/** A CIDR block that matches every address (0.0.0.0/0, ::/0 or any other /0), as the program's validators say. */
export const isWorldOpen = (cidr: unknown): boolean => typeof cidr === "string" && /\/0$/.test(cidr.trim());

// ---------------------------------------------------------------------------------------------
// Which environment a resource belongs to
// ---------------------------------------------------------------------------------------------

export const ENVIRONMENTS = ["dev", "stage", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** urn:pulumi:<stack>::<project>::<type>::<name> → <stack>. */
export function stackOfUrn(urn: string): string | undefined {
    const match = /^urn:pulumi:([^:]+)::/.exec(urn);
    return match?.[1];
}

/**
 * The environment whose rules apply: the policy's `environment` config when set (pass it with
 * --policy-pack-config for a stack not named after its environment), else the stack name from the
 * resource's URN, the same default the program uses. A stack that is named otherwise and has no
 * config counts as prod: the strictest rules apply unless someone says otherwise.
 */
export function environmentOf(args: { urn: string; getConfig?: <T extends object>() => T }): Environment {
    const configured = args.getConfig?.<{ environment?: string }>().environment;
    if (configured !== undefined && (ENVIRONMENTS as readonly string[]).includes(configured)) return configured as Environment;
    const stack = stackOfUrn(args.urn);
    return stack !== undefined && (ENVIRONMENTS as readonly string[]).includes(stack) ? (stack as Environment) : "prod";
}

export const environmentConfigSchema = {
    properties: {
        environment: {
            type: "string" as const,
            enum: [...ENVIRONMENTS],
            description: "dev | stage | prod. Unset: the stack name, or prod when the stack is named otherwise.",
        },
    },
};

/** A value with its secret wrapper (wire format or @pulumi/policy's Secret) taken off. */
export function unwrapSecret(value: unknown): unknown {
    const raw = unproxy(value);
    if (raw instanceof Secret) return unproxy(raw.value);
    if (isSecretMarker(raw)) return unproxy((raw as { value: unknown }).value);
    return raw;
}
