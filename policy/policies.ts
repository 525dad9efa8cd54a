/**
 * The webstack policy pack's rules, as plain policy objects and pure helpers. index.ts wraps them
 * in a PolicyPack; the unit tests import this file and call each validate function directly.
 *
 * Resources are recognised by type token rather than with validateResourceOfType: that helper
 * needs the provider SDK classes (@pulumi/aws alone is ~85 MB), and this pack only needs
 * @pulumi/policy and @pulumi/pulumi. `forTypes` below does the same filtering.
 */
import {
    PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy,
    Secret, StackValidationPolicy,
} from "@pulumi/policy";

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

const asArray = <T>(value: T[] | T | undefined | null): T[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

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

const environmentConfigSchema = {
    properties: {
        environment: {
            type: "string" as const,
            enum: [...ENVIRONMENTS],
            description: "dev | stage | prod. Unset: the stack name, or prod when the stack is named otherwise.",
        },
    },
};

// ---------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------

export interface ContainerProps {
    name?: string;
    image?: string;
    envs?: string[];
    ports?: { internal: number; external?: number; ip?: string; protocol?: string }[];
    networkMode?: string;
    restart?: string;
    mustRun?: boolean;
    attach?: boolean;
    labels?: { label: string; value: string }[];
    healthcheck?: { tests?: string[] };
    volumes?: { containerPath?: string; volumeName?: string; hostPath?: string; fromContainer?: string; readOnly?: boolean }[];
    mounts?: { target: string; type: string; source?: string }[];
}

/** The container's own name (the `name` input), or else the resource's name. Never throws. */
function containerName(args: { name: string; props: unknown }): string {
    const name = (unproxy(args.props) as ContainerProps | undefined)?.name;
    return typeof name === "string" && !isUnknown(name) ? name : args.name;
}

/** The proxy: the resource named "proxy", or a container named <prefix>-proxy (webstack-prod-proxy). */
export function isProxy(args: { name: string; props: unknown }): boolean {
    return args.name === "proxy" || /(^|-)proxy$/.test(containerName(args));
}

/** The database: the resource named "db", a container named <prefix>-db, or a postgres image. */
export function isDatabase(args: { name: string; props: unknown }): boolean {
    if (args.name === "db" || /(^|-)db$/.test(containerName(args))) return true;
    const image = (unproxy(args.props) as ContainerProps | undefined)?.image;
    return typeof image === "string" && !isUnknown(image) && /(^|\/)(postgres|postgis)[:@]/.test(image);
}

/** The autoheal watcher: it has AUTOHEAL_CONTAINER_LABEL in its environment, or is named autoheal. */
export function isAutohealWatcher(args: { name: string; props: unknown }): boolean {
    if (args.name === "autoheal" || /(^|-)autoheal$/.test(containerName(args))) return true;
    return autohealWatchedLabel(args.props) !== undefined;
}

/** The label value the watcher restarts on (AUTOHEAL_CONTAINER_LABEL; "all" watches every container). */
export function autohealWatchedLabel(props: unknown): string | undefined {
    const envs = rawEnvEntries(props);
    const entry = envs.find((e) => e.startsWith("AUTOHEAL_CONTAINER_LABEL="));
    return entry?.slice("AUTOHEAL_CONTAINER_LABEL=".length);
}

/** The container's KEY=value entries that are known, secret or not. Never throws. */
function rawEnvEntries(props: unknown): string[] {
    let envs = (unproxy(props) as ContainerProps | undefined)?.envs as unknown;
    envs = unproxy(envs);
    if (isSecretMarker(envs)) envs = unwrapSecret(envs);
    if (!Array.isArray(envs)) return [];
    return envs.map((e) => unwrapSecret(unproxy(e))).filter((e): e is string => typeof e === "string" && !isUnknown(e));
}

/** A label's value, read without tripping over unknowns (undefined when unknown or absent). */
function rawLabelValue(props: unknown, label: string): string | undefined {
    const labels = unwrapSecret((unproxy(props) as ContainerProps | undefined)?.labels);
    if (!Array.isArray(labels)) return undefined;
    for (const item of labels) {
        const entry = unwrapSecret(item) as { label?: unknown; value?: unknown } | undefined;
        if (entry?.label === label && typeof entry.value === "string" && !isUnknown(entry.value)) return entry.value;
    }
    return undefined;
}

function unwrapSecret(value: unknown): unknown {
    const raw = unproxy(value);
    if (raw instanceof Secret) return unproxy(raw.value);
    if (isSecretMarker(raw)) return unproxy((raw as { value: unknown }).value);
    return raw;
}

/**
 * One-shot containers run to completion and are not kept running: the release step has
 * attach true (the provider waits for it to exit) and mustRun false. Everything else is long-running.
 */
export const isOneShot = (c: ContainerProps): boolean => c.attach === true || c.mustRun === false;

const RESTART_POLICIES = ["always", "unless-stopped", "on-failure"];
const hasHealthcheck = (c: ContainerProps): boolean => {
    const tests = c.healthcheck?.tests ?? [];
    return tests.length > 0 && tests[0] !== "NONE";
};
const labelValue = (c: ContainerProps, label: string): string | undefined => (c.labels ?? []).find((l) => l.label === label)?.value;

export const AUTOHEAL_LABEL = "autoheal";
export const POSTGRES_DATA_DIR = "/var/lib/postgresql/data";

export const onlyProxyPublishesPorts: ResourceValidationPolicy = {
    name: "only-proxy-publishes-ports",
    description: "No container but the proxy publishes ports on the host (or shares the host's network).",
    enforcementLevel: "mandatory",
    validateResource: forTypes<ContainerProps>([TYPES.container], (c, args, reportViolation) => {
        if (isProxy(args)) return;
        const name = containerName(args);
        const ports = c.ports ?? [];
        if (ports.length > 0) {
            const published = ports.map((p) => `${p.external ?? "(random)"}->${p.internal}`).join(", ");
            reportViolation(`Container ${name} publishes ${published}; only the proxy may publish ports. ` +
                "Reach it through the proxy (a frontend network) instead. (proxy none is for dev only.)");
        }
        if (c.networkMode === "host") {
            reportViolation(`Container ${name} uses the host's network, which exposes every port it listens on; only the proxy may be reachable.`);
        }
    }),
};

export const databaseVolumeAndHealthcheck: ResourceValidationPolicy = {
    name: "database-volume-and-healthcheck",
    description: "The database container keeps its data directory on a persistent volume and has a healthcheck.",
    enforcementLevel: "mandatory",
    validateResource: forTypes<ContainerProps>([TYPES.container], (c, args, reportViolation) => {
        if (!isDatabase(args)) return;
        const name = containerName(args);
        const covers = (path: string | undefined) =>
            path !== undefined && (POSTGRES_DATA_DIR === path || POSTGRES_DATA_DIR.startsWith(`${path.replace(/\/$/, "")}/`));
        // Presence of volumeName/hostPath is enough: a volume name can be unknown during a preview.
        const volume = (c.volumes ?? []).some((v) => covers(v.containerPath) && ("volumeName" in v || "hostPath" in v));
        const mount = (c.mounts ?? []).some((m) => covers(m.target) && (m.type === "volume" || m.type === "bind"));
        if (!volume && !mount) {
            reportViolation(`Database container ${name} has no persistent volume at ${POSTGRES_DATA_DIR}: ` +
                "its data would go with the container. Mount a named volume or a directory on the host's data disk there.");
        }
        if (!hasHealthcheck(c)) {
            reportViolation(`Database container ${name} has no healthcheck; add one (pg_isready) so that dependants wait for it and autoheal can restart it.`);
        }
    }),
};

/**
 * Containers that autoheal deliberately leaves alone, by resource name or container-name suffix:
 * the backup container, whose healthcheck turns unhealthy when the last backup is too old, which
 * needs an operator rather than a restart. They still need a restart policy and a healthcheck.
 */
export const DEFAULT_AUTOHEAL_EXEMPT = ["backup"];

const isExempt = (args: { name: string; props: unknown }, exempt: string[]) =>
    exempt.some((entry) => args.name === entry || containerName(args).endsWith(`-${entry}`));

export const longRunningRestartAndAutoheal: ResourceValidationPolicy = {
    name: "long-running-restart-and-autoheal",
    description: "Every long-running container has a restart policy and a healthcheck; all but the autoheal watcher " +
        "(and the configured exemptions) carry autoheal=true.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            autohealExempt: {
                type: "array",
                items: { type: "string" },
                default: DEFAULT_AUTOHEAL_EXEMPT,
                description: "Containers autoheal does not watch, by resource name or container-name suffix.",
            },
        },
    },
    validateResource: forTypes<ContainerProps>([TYPES.container], (c, args, reportViolation) => {
        if (isOneShot(c)) return;
        const name = containerName(args);
        if (!RESTART_POLICIES.includes(c.restart ?? "no")) {
            reportViolation(`Container ${name} is long-running but has restart "${c.restart ?? "no"}"; ` +
                `set restart to "unless-stopped" (or "always"/"on-failure") so it comes back after a crash or a reboot.`);
        }
        if (isAutohealWatcher(args)) return;
        const exempt = args.getConfig<{ autohealExempt?: string[] }>().autohealExempt ?? DEFAULT_AUTOHEAL_EXEMPT;
        if (labelValue(c, AUTOHEAL_LABEL) !== "true" && !isExempt(args, exempt)) {
            reportViolation(`Container ${name} is not watched by autoheal: add the label ${AUTOHEAL_LABEL}=true ` +
                "(or list it in this policy's autohealExempt config, if a restart cannot help it).");
        }
        if (!hasHealthcheck(c)) {
            reportViolation(`Container ${name} has no healthcheck, so neither autoheal nor an operator can see it unhealthy; add one.`);
        }
    }),
};

/** Stack-level half of the autoheal rule: the watcher exists wherever containers ask to be watched. */
export const autohealWatcherPresent: StackValidationPolicy = {
    name: "autoheal-watcher-present",
    description: "A stack whose containers carry autoheal=true also runs an autoheal container that watches that label.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const containers = args.resources.filter((r) => r.type === TYPES.container);
        const byProvider = new Map<string, PolicyResource[]>();
        for (const c of containers) {
            const key = c.provider?.urn ?? "";
            byProvider.set(key, [...(byProvider.get(key) ?? []), c]);
        }
        for (const group of byProvider.values()) {
            const watchers = group.filter((c) => isAutohealWatcher(c));
            const labels = watchers.map((w) => autohealWatchedLabel(w.props) ?? AUTOHEAL_LABEL);
            for (const c of group) {
                if (rawLabelValue(c.props, AUTOHEAL_LABEL) !== "true") continue;
                if (watchers.length === 0) {
                    reportViolation(`Container ${containerName(c)} carries ${AUTOHEAL_LABEL}=true but no autoheal container runs on its Docker host.`, c.urn);
                } else if (!labels.some((l) => l === AUTOHEAL_LABEL || l === "all")) {
                    reportViolation(`Container ${containerName(c)} carries ${AUTOHEAL_LABEL}=true but autoheal watches ${labels.join(", ")}.`, c.urn);
                }
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// Secrets in container environments
// ---------------------------------------------------------------------------------------------

/** Keys whose value is a credential. */
export const SECRET_KEY_PATTERN = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL/i;
/** A URL with a password in it (postgres://user:password@host/db), whatever its key. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

export function looksSecret(key: string, value: string): boolean {
    if (value === "") return false;
    return SECRET_KEY_PATTERN.test(key) || URL_WITH_PASSWORD.test(value);
}

export interface EnvSecrecy {
    /** Keys whose credential is in plain text. */
    plaintext: string[];
    /** Some of the environment is unknown (a preview): nothing can be said about it. */
    unknown: boolean;
}

/**
 * Which secret-looking entries of a container's `envs` are not secret. `envs` is the raw
 * property value: a secret marker around the whole list or around an entry makes it secret.
 */
export function envSecrecy(envs: unknown): EnvSecrecy {
    const result: EnvSecrecy = { plaintext: [], unknown: false };
    const raw = unproxy(envs);
    if (raw === undefined || raw === null || isSecretMarker(raw)) return result;
    if (isUnknown(raw) || !Array.isArray(raw)) return { ...result, unknown: isUnknown(raw) };
    for (const item of raw) {
        const entry = unproxy(item);
        if (isSecretMarker(entry)) continue;
        if (isUnknown(entry)) { result.unknown = true; continue; }
        if (typeof entry !== "string") continue;
        const eq = entry.indexOf("=");
        const key = eq < 0 ? entry : entry.slice(0, eq);
        if (looksSecret(key, eq < 0 ? "" : entry.slice(eq + 1))) result.plaintext.push(key);
    }
    return result;
}

/**
 * What the remediation pass saw, per resource URN, for the analysis pass that follows it.
 *
 * Why: the engine sends secrets to policy packs marked as secrets, but @pulumi/policy (1.21)
 * unwraps them silently before validateResource sees the properties (deserializeProperties with
 * proxySecrets=false), so a validation alone cannot tell `pulumi.secret(["PASSWORD=x"])` from a
 * plain ["PASSWORD=x"]. Only the remediation pass keeps the marks (as Secret objects behind a
 * proxy). For every resource the engine calls Remediate and then Analyze on the same policy
 * process, so the remediation of this policy (enforcement level "remediate") records what it saw
 * and changes nothing, and the validation reports it; the SDK reports a violation of a
 * "remediate" policy as mandatory. Without a record (the level was overridden, or the function is
 * called directly as in the unit tests) the validation inspects the properties it was given,
 * which is exact when they carry secret markers (the wire format, Pulumi's mocks) and strict
 * otherwise: keep this policy at "remediate".
 */
const observedEnvSecrecy = new Map<string, EnvSecrecy>();

export const containerSecretsAreSecret: ResourceValidationPolicy = {
    name: "container-env-secrets-are-secret",
    description: "A container environment value that holds a credential (PASSWORD, SECRET, TOKEN, KEY, a URL with a password) comes from a Pulumi secret.",
    // Must stay "remediate": see observedEnvSecrecy. Violations are reported as mandatory.
    enforcementLevel: "remediate",
    remediateResource: (args) => {
        if (args.type !== TYPES.container) return undefined;
        const raw = unproxy(args.props) as ContainerProps | undefined;
        observedEnvSecrecy.set(args.urn, envSecrecy(raw?.envs));
        return undefined;
    },
    validateResource: (args, reportViolation) => {
        if (args.type !== TYPES.container) return;
        const observed = observedEnvSecrecy.get(args.urn);
        observedEnvSecrecy.delete(args.urn);
        const secrecy = observed ?? envSecrecy((unproxy(args.props) as ContainerProps | undefined)?.envs);
        if (secrecy.plaintext.length > 0) {
            reportViolation(`Container ${containerName(args)} has ${secrecy.plaintext.join(", ")} in plain text in its environment; ` +
                "pass the value through pulumi.secret() (or config set --secret) so that state and diffs hide it.");
        }
    },
};

// ---------------------------------------------------------------------------------------------
// AWS hosts: EBS encryption, IMDSv2
// ---------------------------------------------------------------------------------------------

interface BlockDevice { encrypted?: boolean; deviceName?: string }
interface InstanceProps {
    rootBlockDevice?: BlockDevice;
    ebsBlockDevices?: BlockDevice[];
    metadataOptions?: { httpTokens?: string; httpEndpoint?: string };
}

export const ebsVolumesEncrypted: ResourceValidationPolicy = {
    name: "ebs-volumes-encrypted",
    description: "EBS volumes, and an EC2 instance's root and attached block devices, are encrypted.",
    enforcementLevel: "mandatory",
    validateResource: [
        forTypes<{ encrypted?: boolean }>([TYPES.ebsVolume], (v, args, reportViolation) => {
            if (v.encrypted !== true) reportViolation(`EBS volume ${args.name} is not encrypted; set encrypted: true.`);
        }),
        forTypes<InstanceProps>([TYPES.ec2Instance], (i, args, reportViolation) => {
            if (i.rootBlockDevice?.encrypted !== true) {
                reportViolation(`EC2 instance ${args.name}'s root volume is not encrypted; set rootBlockDevice.encrypted: true.`);
            }
            for (const device of i.ebsBlockDevices ?? []) {
                if (device.encrypted !== true) {
                    reportViolation(`EC2 instance ${args.name}'s block device ${device.deviceName ?? ""} is not encrypted; set encrypted: true.`);
                }
            }
        }),
    ],
};

export const imdsv2Required: ResourceValidationPolicy = {
    name: "ec2-imdsv2-required",
    description: "EC2 instances require IMDSv2 session tokens (metadataOptions.httpTokens \"required\"), or have no metadata endpoint.",
    enforcementLevel: "mandatory",
    validateResource: forTypes<InstanceProps>([TYPES.ec2Instance], (i, args, reportViolation) => {
        const options = i.metadataOptions;
        if (options?.httpEndpoint === "disabled" || options?.httpTokens === "required") return;
        reportViolation(`EC2 instance ${args.name} allows IMDSv1 (httpTokens is ${JSON.stringify(options?.httpTokens ?? "optional")}); ` +
            "set metadataOptions.httpTokens to \"required\".");
    }),
};

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

// ---------------------------------------------------------------------------------------------
// The backup bucket is not public
// ---------------------------------------------------------------------------------------------

const PUBLIC_CANNED_ACLS = ["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_GRANTEES = /acs\.amazonaws\.com\/groups\/global\/(AllUsers|AuthenticatedUsers)$/;
export const PUBLIC_ACCESS_BLOCK_SETTINGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** Statements of a bucket policy (JSON text or object) that allow anyone in, without a condition. */
export function publicPolicyStatements(policy: unknown): number {
    let document = policy;
    if (typeof document === "string") {
        if (isUnknown(document)) return 0;
        try {
            document = JSON.parse(document);
        } catch {
            return 0;
        }
    }
    const statements = asArray((document as { Statement?: unknown } | undefined)?.Statement as Record<string, unknown>[]);
    const anyone = (principal: unknown): boolean => {
        if (principal === "*") return true;
        if (typeof principal === "object" && principal !== null) {
            return Object.values(principal).some((p) => asArray(p as unknown[]).includes("*"));
        }
        return false;
    };
    return statements.filter((s) => s?.Effect === "Allow" && (anyone(s.Principal) || s.NotPrincipal !== undefined) && s.Condition === undefined).length;
}

export const backupBucketNotPublic: ResourceValidationPolicy = {
    name: "backup-bucket-not-public",
    description: "Buckets (S3, DigitalOcean Spaces) are never public: private ACLs, no grants or policies to everyone, public access blocked.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const p = args.props as Record<string, unknown>;
        const name = args.name;
        switch (args.type) {
            case TYPES.s3Bucket:
            case TYPES.s3BucketV2:
            case TYPES.s3BucketAcl:
            case TYPES.s3BucketAclV2: {
                if (typeof p.acl === "string" && PUBLIC_CANNED_ACLS.includes(p.acl)) {
                    reportViolation(`${name} has the public ACL "${p.acl}"; use "private" (or no ACL, with ownership enforced).`);
                }
                const grants = [
                    ...asArray(p.grants as { uri?: string }[]).map((g) => g?.uri),
                    ...asArray((p.accessControlPolicy as { grants?: { grantee?: { uri?: string } }[] } | undefined)?.grants).map((g) => g?.grantee?.uri),
                ];
                if (grants.some((uri) => typeof uri === "string" && PUBLIC_GRANTEES.test(uri))) {
                    reportViolation(`${name} grants access to all (authenticated) AWS users; remove that grant.`);
                }
                if (publicPolicyStatements(p.policy) > 0) reportViolation(`${name}'s policy allows anyone (Principal "*") in.`);
                return;
            }
            case TYPES.s3BucketPolicy:
            case TYPES.spacesBucketPolicy:
                if (publicPolicyStatements(p.policy) > 0) reportViolation(`${name} allows anyone (Principal "*") into the bucket.`);
                return;
            case TYPES.s3PublicAccessBlock: {
                const off = PUBLIC_ACCESS_BLOCK_SETTINGS.filter((key) => p[key] !== true);
                if (off.length > 0) reportViolation(`${name} leaves ${off.join(", ")} off; set all four to true.`);
                return;
            }
            case TYPES.spacesBucket:
            case TYPES.spacesBucketObject:
                if (p.acl !== undefined && p.acl !== "private") reportViolation(`${name} has acl "${String(p.acl)}"; Spaces buckets and objects must be "private".`);
                return;
            default:
                return;
        }
    },
};

/** Stack-level half: every S3 bucket has a public access block (with all four settings, checked above). */
export const s3BucketsBlockPublicAccess: StackValidationPolicy = {
    name: "s3-buckets-block-public-access",
    description: "Every S3 bucket has a BucketPublicAccessBlock. A stack without buckets passes.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const buckets = args.resources.filter((r) => r.type === TYPES.s3Bucket || r.type === TYPES.s3BucketV2);
        const blocks = args.resources.filter((r) => r.type === TYPES.s3PublicAccessBlock);
        for (const bucket of buckets) {
            const raw = unproxy(bucket.props) as Record<string, unknown>;
            const names = [raw.id, raw.bucket].filter((n) => typeof n === "string" && !isUnknown(n));
            const covered = blocks.some((block) => {
                const target = (unproxy(block.props) as Record<string, unknown>).bucket;
                const dependsOn = (block.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn);
                return dependsOn || names.includes(target);
            });
            if (!covered) {
                reportViolation(`S3 bucket ${bucket.name} has no BucketPublicAccessBlock; add one with all four settings true.`, bucket.urn);
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------

export const resourcePolicies: ResourceValidationPolicy[] = [
    onlyProxyPublishesPorts,
    databaseVolumeAndHealthcheck,
    longRunningRestartAndAutoheal,
    containerSecretsAreSecret,
    ebsVolumesEncrypted,
    imdsv2Required,
    noWorldSshOnProd,
    backupBucketNotPublic,
];

export const stackPolicies: StackValidationPolicy[] = [autohealWatcherPresent, s3BucketsBlockPublicAccess];

export const policies = [...resourcePolicies, ...stackPolicies];
