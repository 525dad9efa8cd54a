/**
 * Evaluates the program under Pulumi's mocks with a stack's configuration, the way the CLI
 * would hand it over: Pulumi.yaml's defaults, overlaid with Pulumi.<stack>.yaml.
 * Import this before anything that imports the program.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { configString, projectRoot, projectSchema } from "../config/settings";

export const PROJECT = projectSchema().name;

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** Resource options, as recorded by a stack transformation (mocks do not receive them). */
    opts: pulumi.CustomResourceOptions;
}

/** The CLI's view of a stack's config: `project:key` (or `aws:region`) to string. */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    return configFromFile(path.join(projectRoot(), `Pulumi.${stack}.yaml`), overrides);
}

/** The same, from any stack file (examples/*.yaml). */
export function configFromFile(file: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    const schema = projectSchema();
    const config: Record<string, string> = {};
    for (const [key, declared] of Object.entries(schema.config)) {
        config[`${PROJECT}:${key}`] = configString(declared.default);
    }
    const stackFile = fs.existsSync(file) ? YAML.parse(fs.readFileSync(file, "utf8")) : {};
    for (const [key, value] of Object.entries<unknown>(stackFile?.config ?? {})) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        if (typeof value === "object" && value !== null && "secure" in value) {
            throw new Error(`${file}: ${key} is encrypted; the tests evaluate committed files, which hold no secrets`);
        }
        config[full] = configString(value);
    }
    for (const [key, value] of Object.entries(overrides)) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        if (value === undefined) delete config[full];
        else config[full] = configString(value);
    }
    return config;
}

/** 0 for a manager, N for the machine of worker-N (a multi-host stack's workers). */
function workerIndex(name: string): number {
    return Number(/-worker-(\d+)$/.exec(name)?.[1] ?? 0);
}

/** The join token the mocked Swarm init prints; it must never show in plain text. */
export const MOCK_JOIN_TOKEN = "SWMTKN-1-mockjointoken0123456789";

/** Outputs the mocks add to a resource's inputs, like the real providers would. */
function computed(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
    switch (type) {
        case "digitalocean:index/droplet:Droplet":
            return { ipv4Address: `192.0.2.${10 + workerIndex(name)}`, ipv4AddressPrivate: `10.110.0.${2 + workerIndex(name)}`, vpcUuid: inputs.vpcUuid ?? "mock-vpc-uuid" };
        case "aws:ec2/instance:Instance":
            return { publicIp: `192.0.2.${100 + workerIndex(name)}`, privateIp: `172.31.0.${10 + workerIndex(name)}` };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${name}`, repoDigest: `${inputs.name}@sha256:0000` };
        case "docker:index/container:Container":
            return { name: inputs.name ?? `${name}-0000000`, exitCode: 0 };
        case "docker:index/network:Network":
            return { name: inputs.name ?? name, ipamConfigs: [{ subnet: "172.30.0.0/16", gateway: "172.30.0.1" }] };
        case "digitalocean:index/reservedIp:ReservedIp":
            return { ipAddress: "203.0.113.10" };
        case "digitalocean:index/spacesKey:SpacesKey":
            return { accessKey: "DO00MOCKACCESSKEY", secretKey: "mock-spaces-secret" };
        case "aws:s3/bucket:Bucket":
            return { bucket: `${name}-0123`, arn: `arn:aws:s3:::${name}-0123` };
        case "aws:iam/instanceProfile:InstanceProfile":
            return { name: `${name}-profile` };
        case "aws:ec2/eip:Eip":
            return { publicIp: "198.51.100.20", allocationId: "eipalloc-0123" };
        case "random:index/randomPassword:RandomPassword":
            return { result: `generated-${name}-password` };
        case "random:index/randomString:RandomString":
            return { result: "abcdefghijklmnopqrstuvwxyz0123456789".slice(0, inputs.length) };
        case "docker:index/image:Image":
            // Only an image that is pushed has a digest in a registry.
            return inputs.skipPush === false ? { repoDigest: `${String(inputs.imageName).replace(/:[^:/]*$/, "")}@sha256:1111` } : {};
        case "command:local:Command":
            // What `docker swarm join-token --quiet worker` prints.
            return name.endsWith("swarm-init") ? { stdout: `${MOCK_JOIN_TOKEN}\n` } : {};
        default:
            return {};
    }
}

function mockId(type: string, name: string): string {
    if (type === "digitalocean:index/droplet:Droplet") return workerIndex(name) === 0 ? "424242" : String(424300 + workerIndex(name));
    if (type === "aws:ebs/volume:Volume") return "vol-0123456789abcdef0";
    return `${name}-id`;
}

let registered: Registered[] = [];
const optionsByName = new Map<string, pulumi.CustomResourceOptions>();

const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
        if (args.type !== "pulumi:pulumi:Stack") {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs, opts: optionsByName.get(`${args.type}::${args.name}`) ?? {} });
        }
        return { id: mockId(args.type, args.name), state: { ...args.inputs, ...computed(args.type, args.name, args.inputs) } };
    },
    call(args) {
        switch (args.token) {
            case "aws:ec2/getSubnets:getSubnets":
                return { ids: ["subnet-0bbbbbbbbbbbbbbbb", "subnet-0aaaaaaaaaaaaaaaa"] };
            case "aws:ec2/getSubnet:getSubnet":
                return { id: args.inputs.id, vpcId: "vpc-0123", availabilityZone: "eu-west-1a" };
            case "aws:ec2/getAmi:getAmi":
                return { id: "ami-0123456789abcdef0" };
            case "aws:route53/getZone:getZone":
                return { zoneId: "Z0123456789", name: args.inputs.name };
            default:
                return args.inputs;
        }
    },
};

// waitForRPCs is internal to the SDK: it resolves once every registration has completed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

/** What the last run registered, also when it failed. */
export function registeredSoFar(): Registered[] {
    return [...registered];
}

export interface Run<T> {
    resources: Registered[];
    result: T;
}

/**
 * Runs `program` under mocks with the given config and returns what it registered. The program
 * runs inside a root stack so that a stack transformation can record each resource's options.
 */
export async function runWithConfig<T>(
    stack: string,
    config: Record<string, string>,
    program: () => T,
    opts: { preview?: boolean; secretKeys?: string[] } = {},
): Promise<Run<T>> {
    registered = [];
    optionsByName.clear();
    // The SDK takes a stack trace for every promise it tracks; with ts-node's source maps
    // each one costs a source-map lookup per frame. V8's plain traces keep a run fast.
    // No frames at all while the program runs: the SDK only keeps them to report leaked promises.
    const prepareStackTrace = Error.prepareStackTrace;
    const stackTraceLimit = Error.stackTraceLimit;
    (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
    Error.stackTraceLimit = 0;
    try {
        return await evaluate(stack, config, program, opts);
    } finally {
        Error.prepareStackTrace = prepareStackTrace;
        Error.stackTraceLimit = stackTraceLimit;
    }
}

async function evaluate<T>(
    stack: string,
    config: Record<string, string>,
    program: () => T,
    opts: { preview?: boolean; secretKeys?: string[] },
): Promise<Run<T>> {
    pulumi.runtime.setAllConfig(config, opts.secretKeys ?? []);
    await pulumi.runtime.setMocks(mocks, PROJECT, stack, opts.preview ?? false);
    let result: T | undefined;
    let failure: unknown;
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            optionsByName.set(`${args.type}::${args.name}`, args.opts);
            return undefined;
        });
        try {
            result = program();
        } catch (err) {
            failure = err;
        }
        return {};
    });
    await waitForRPCs();
    if (failure !== undefined) throw failure;
    return { resources: registered, result: result as T };
}

/** Resolves an output; for secrets, also says so. */
export function resolve<T>(output: pulumi.Input<T>): Promise<{ value: T; secret: boolean }> {
    const out = pulumi.output(output);
    return Promise.all([
        new Promise<T>((res) => out.apply((value) => { res(value as T); return value; })),
        (out as any).isSecret as Promise<boolean>,
    ]).then(([value, secret]) => ({ value, secret }));
}

/** The wrapper Pulumi puts around secret values in resource inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export function isSecretValue(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270";
}

/** Finds resources by type token (suffix match: "Container" finds docker containers). */
export function ofType(resources: Registered[], type: string): Registered[] {
    return resources.filter((r) => r.type === type || r.type.endsWith(`:${type}`));
}

export function labelsOf(container: Registered): Record<string, string> {
    const labels = unwrap(container.inputs.labels) as { label: string; value: string }[] | undefined;
    return Object.fromEntries((labels ?? []).map((l) => [l.label, l.value]));
}

/** Strips secret wrappers, so tests can read the values inside. */
export function unwrap(value: unknown): unknown {
    if (isSecretValue(value)) return unwrap((value as { value: unknown }).value);
    if (Array.isArray(value)) return value.map(unwrap);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
    }
    return value;
}
