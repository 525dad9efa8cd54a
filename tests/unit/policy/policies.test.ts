/**
 * The policy pack's rules, one by one on hand-built resources that pass and fail, and all together
 * on what each committed stack registers under mocks. policy/index.ts is never imported here:
 * constructing a PolicyPack starts the policy server.
 */
import { expect } from "chai";
import {
    PolicyResource, PolicyResourceOptions, ReportViolation, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy,
    Secret, StackValidationPolicy,
} from "@pulumi/policy";
import { evaluateExample, exampleFiles, exampleStack } from "../../examples";
import { PROJECT, Registered, runWithConfig, stackConfig } from "../../harness";
import { readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";
import * as P from "../../../policy/policies";

// The SDK's own property handling, to present properties exactly as the policy server does:
// deserializeProperties(props, proxySecrets) is what it calls for the remediation pass (true:
// secrets become Secret objects behind a proxy) and the analysis pass (false: secrets unwrapped),
// and unknownCheckingProxy wraps the result in both. Internal to @pulumi/policy (pinned ^1.21).
/* eslint-disable @typescript-eslint/no-require-imports */
const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
    deserializeProperties(struct: { toJavaScript(): unknown }, proxySecrets: boolean): Record<string, any>;
};
const { unknownCheckingProxy } = require("@pulumi/policy") as { unknownCheckingProxy<T>(value: T): T };
/* eslint-enable @typescript-eslint/no-require-imports */

const SIG = "4dabf18193072939515e22adb298388d";
const wireSecret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const OPTS: PolicyResourceOptions = {
    protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
};
const urnOf = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;

interface Target { type: string; name?: string; stack?: string; config?: Record<string, unknown>; opts?: PolicyResourceOptions }

function resourceArgs(props: Record<string, any>, t: Target): ResourceValidationArgs {
    const name = t.name ?? "test";
    return {
        type: t.type,
        props,
        urn: urnOf(t.stack ?? "prod", t.type, name),
        name,
        opts: t.opts ?? OPTS,
        stackTags: new Map(),
        isType: (cls) => (cls as unknown as { __pulumiType?: string }).__pulumiType === t.type,
        asType: (() => undefined) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => (t.config ?? {}) as T,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    };
}

async function violations(policy: ResourceValidationPolicy, props: Record<string, any>, t: Target): Promise<string[]> {
    const found: string[] = [];
    const report: ReportViolation = (message) => { found.push(message); };
    const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    for (const validate of validations) await validate(resourceArgs(props, t), report);
    return found;
}

function policyResource(props: Record<string, any>, t: Target & { propertyDependencies?: Record<string, PolicyResource[]> }): PolicyResource {
    const args = resourceArgs(props, t);
    return {
        type: args.type, props: args.props, urn: args.urn, name: args.name, opts: args.opts,
        dependencies: [], propertyDependencies: t.propertyDependencies ?? {},
        isType: args.isType, asType: (() => undefined) as PolicyResource["asType"],
    };
}

async function stackViolations(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<{ message: string; urn?: string }[]> {
    const found: { message: string; urn?: string }[] = [];
    await policy.validateStack({
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    }, (message, urn) => { found.push({ message, urn }); });
    return found;
}

function expectOnly(found: string[], pattern: RegExp) {
    expect(found).to.have.length(1);
    expect(found[0]).to.match(pattern);
}

const CONTAINER = P.TYPES.container;
const autohealLabels = [{ label: "autoheal", value: "true" }, { label: "autoheal.stop.timeout", value: "30" }];
const healthcheck = { tests: ["CMD", "true"], interval: "30s", timeout: "5s", startPeriod: "60s", retries: 3 };
const web = () => ({
    image: "webstack-prod-app:abc", ports: [], restart: "unless-stopped", labels: autohealLabels, healthcheck,
    envs: ["DJANGO_DEBUG=0", "POSTGRES_HOST=db"],
});
const db = () => ({
    name: "webstack-prod-db", image: "webstack-prod-db:pg15-abc", restart: "unless-stopped", labels: autohealLabels,
    healthcheck: { ...healthcheck, tests: ["CMD", "pg_isready", "-h", "127.0.0.1"] },
    volumes: [{ containerPath: "/var/lib/postgresql/data", volumeName: "webstack-prod-pgdata", readOnly: false }],
});
const proxy = () => ({ name: "webstack-prod-proxy", ports: [{ internal: 80, external: 80 }], restart: "unless-stopped", labels: autohealLabels, healthcheck });
const release = () => ({ image: "webstack-prod-app:abc", attach: true, mustRun: false, restart: "no", envs: ["DJANGO_DEBUG=0"] });
const autoheal = () => ({
    name: "webstack-prod-autoheal", restart: "unless-stopped", networkMode: "none",
    envs: ["AUTOHEAL_CONTAINER_LABEL=autoheal", "AUTOHEAL_INTERVAL=10"],
    volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
});

describe("policy: only-proxy-publishes-ports", () => {
    const policy = P.onlyProxyPublishesPorts;
    it("lets the proxy publish, by resource name or by container name", async () => {
        expect(await violations(policy, proxy(), { type: CONTAINER, name: "proxy" })).to.deep.equal([]);
        expect(await violations(policy, proxy(), { type: CONTAINER, name: "edge" })).to.deep.equal([]);
    });
    it("passes containers that publish nothing", async () => {
        expect(await violations(policy, web(), { type: CONTAINER, name: "webstack-prod-web" })).to.deep.equal([]);
        expect(await violations(policy, db(), { type: CONTAINER, name: "db" })).to.deep.equal([]);
    });
    it("fails any other container with ports, or on the host's network", async () => {
        const published = await violations(policy, { ...web(), ports: [{ internal: 8000, external: 8080 }] }, { type: CONTAINER, name: "webstack-dev-web" });
        expect(published).to.have.length(1);
        expect(published[0]).to.match(/webstack-dev-web publishes 8080->8000; only the proxy/);
        expect(await violations(policy, { ...db(), networkMode: "host" }, { type: CONTAINER, name: "db" })).to.have.length(1);
        // "proxy" inside a name is not enough.
        expect(await violations(policy, { ...proxy(), name: "webstack-prod-proxy-admin" }, { type: CONTAINER, name: "admin" })).to.have.length(1);
    });
    it("ignores other resource types", async () => {
        expect(await violations(policy, { ports: [{ internal: 1 }] }, { type: "docker:index/service:Service" })).to.deep.equal([]);
    });
});

describe("policy: database-volume-and-healthcheck", () => {
    const policy = P.databaseVolumeAndHealthcheck;
    const target = { type: CONTAINER, name: "db" };
    it("passes a named volume, a host directory or a mount over the data directory, with a healthcheck", async () => {
        expect(await violations(policy, db(), target)).to.deep.equal([]);
        const hostDir = { ...db(), volumes: [{ containerPath: "/var/lib/postgresql/data", hostPath: "/mnt/data/postgres" }] };
        expect(await violations(policy, hostDir, target)).to.deep.equal([]);
        const parentMount = { ...db(), volumes: undefined, mounts: [{ target: "/var/lib/postgresql", type: "volume", source: "pg" }] };
        expect(await violations(policy, parentMount, target)).to.deep.equal([]);
    });
    it("fails without a persistent data volume", async () => {
        for (const bad of [
            { ...db(), volumes: undefined },
            { ...db(), volumes: [{ containerPath: "/srv/data", volumeName: "x" }] },
            { ...db(), volumes: undefined, mounts: [{ target: "/var/lib/postgresql/data", type: "tmpfs" }] },
        ]) {
            const found = await violations(policy, bad, target);
            expect(found, JSON.stringify(bad.volumes ?? bad)).to.have.length(1);
            expect(found[0]).to.match(/no persistent volume at \/var\/lib\/postgresql\/data/);
        }
    });
    it("fails without a healthcheck", async () => {
        expectOnly(await violations(policy, { ...db(), healthcheck: undefined }, target), /no healthcheck/);
        expect(await violations(policy, { ...db(), healthcheck: { tests: ["NONE"] } }, target)).to.have.length(1);
    });
    it("recognises the database by container name or image, and leaves other containers alone", async () => {
        const bare = { ...db(), volumes: undefined, healthcheck: undefined };
        expect(await violations(policy, bare, { type: CONTAINER, name: "database" })).to.have.length(2);
        expect(await violations(policy, { ...bare, name: undefined, image: "postgres:16" }, { type: CONTAINER, name: "pg" })).to.have.length(2);
        expect(await violations(policy, web(), { type: CONTAINER, name: "webstack-prod-web" })).to.deep.equal([]);
    });
});

describe("policy: long-running-restart-and-autoheal", () => {
    const policy = P.longRunningRestartAndAutoheal;
    it("passes long-running containers with a restart policy, autoheal=true and a healthcheck", async () => {
        expect(await violations(policy, web(), { type: CONTAINER, name: "webstack-prod-web" })).to.deep.equal([]);
        expect(await violations(policy, db(), { type: CONTAINER, name: "db" })).to.deep.equal([]);
        expect(await violations(policy, { ...db(), restart: "on-failure" }, { type: CONTAINER, name: "db" })).to.deep.equal([]);
    });
    it("passes one-shot containers (the release step) without restart or label", async () => {
        expect(await violations(policy, release(), { type: CONTAINER, name: "app-release" })).to.deep.equal([]);
    });
    it("asks the autoheal watcher only for a restart policy", async () => {
        expect(await violations(policy, autoheal(), { type: CONTAINER, name: "autoheal" })).to.deep.equal([]);
        const watcher = await violations(policy, { ...autoheal(), restart: undefined, name: "watcher" }, { type: CONTAINER, name: "watcher" });
        expect(watcher).to.have.length(1);
        expect(watcher[0]).to.match(/restart "no"/);
    });
    it("fails a long-running container without a restart policy", async () => {
        for (const restart of [undefined, "no"]) {
            const found = await violations(policy, { ...web(), restart }, { type: CONTAINER, name: "webstack-prod-web" });
            expect(found, String(restart)).to.have.length(1);
            expect(found[0]).to.match(/long-running but has restart "no"/);
        }
        // A container that would run one-shot but is kept running (mustRun default) counts as long-running.
        expect(await violations(policy, { ...release(), attach: false, mustRun: undefined }, { type: CONTAINER, name: "job" })).to.have.length(3);
    });
    it("lets configured exemptions (the backup, by default) go unwatched, but not without a healthcheck", async () => {
        const backup = { ...web(), name: "webstack-prod-backup", labels: [{ label: "autoheal", value: "false" }] };
        expect(await violations(policy, backup, { type: CONTAINER, name: "backup" })).to.deep.equal([]);
        expect(await violations(policy, backup, { type: CONTAINER, name: "backup", config: { autohealExempt: [] } })).to.have.length(1);
        expect(await violations(policy, { ...backup, name: "webstack-prod-cron" }, { type: CONTAINER, name: "cron", config: { autohealExempt: ["cron"] } })).to.deep.equal([]);
        expectOnly(await violations(policy, { ...backup, healthcheck: undefined }, { type: CONTAINER, name: "backup" }), /no healthcheck/);
    });
    it("fails a long-running container that autoheal does not watch, or cannot see unhealthy", async () => {
        const unlabelled = await violations(policy, { ...web(), labels: [] }, { type: CONTAINER, name: "w" });
        expect(unlabelled).to.have.length(1);
        expect(unlabelled[0]).to.match(/not watched by autoheal/);
        expect(await violations(policy, { ...web(), labels: [{ label: "autoheal", value: "false" }] }, { type: CONTAINER, name: "w" })).to.have.length(1);
        const blind = await violations(policy, { ...web(), healthcheck: undefined }, { type: CONTAINER, name: "w" });
        expect(blind).to.have.length(1);
        expect(blind[0]).to.match(/no healthcheck/);
    });
});

describe("policy: autoheal-watcher-present (stack)", () => {
    const policy = P.autohealWatcherPresent;
    const c = (props: Record<string, any>, name: string) => policyResource(props, { type: CONTAINER, name });
    it("passes a stack whose watched containers have a watcher, and a stack with nothing to watch", async () => {
        expect(await stackViolations(policy, [c(web(), "web"), c(db(), "db"), c(autoheal(), "autoheal")])).to.deep.equal([]);
        expect(await stackViolations(policy, [c({ ...web(), labels: [] }, "web")])).to.deep.equal([]);
        const all = { ...autoheal(), envs: ["AUTOHEAL_CONTAINER_LABEL=all"] };
        expect(await stackViolations(policy, [c(web(), "web"), c(all, "autoheal")])).to.deep.equal([]);
    });
    it("fails labelled containers without a watcher, or with one that watches another label", async () => {
        const alone = await stackViolations(policy, [c(web(), "web"), c(db(), "db")]);
        expect(alone.map((v) => v.urn)).to.deep.equal([urnOf("prod", CONTAINER, "web"), urnOf("prod", CONTAINER, "db")]);
        expect(alone[0].message).to.match(/no autoheal container runs/);
        const elsewhere = { ...autoheal(), envs: ["AUTOHEAL_CONTAINER_LABEL=watch-me"] };
        const mismatch = await stackViolations(policy, [c(web(), "web"), c(elsewhere, "autoheal")]);
        expect(mismatch).to.have.length(1);
        expect(mismatch[0].message).to.match(/autoheal watches watch-me/);
    });
});

describe("policy: container-env-secrets-are-secret", () => {
    const policy = P.containerSecretsAreSecret;
    const target = { type: CONTAINER, name: "webstack-prod-web" };
    const envs = ["DJANGO_DEBUG=0", "POSTGRES_PASSWORD=hunter2", "DATABASE_URL=postgres://app:hunter2@db:5432/app"];

    it("passes an environment marked secret as a whole or entry by entry (wire format, Secret objects)", async () => {
        expect(await violations(policy, { envs: wireSecret(envs) }, target)).to.deep.equal([]);
        expect(await violations(policy, { envs: [envs[0], wireSecret(envs[1]), wireSecret(envs[2])] }, target)).to.deep.equal([]);
        expect(await violations(policy, { envs: new Secret(envs) }, target)).to.deep.equal([]);
    });
    it("passes plain environments without credentials, empty values and unknowns", async () => {
        expect(await violations(policy, { envs: ["DJANGO_DEBUG=0", "AUTOHEAL_CONTAINER_LABEL=autoheal", "API_KEY="] }, target)).to.deep.equal([]);
        expect(await violations(policy, { envs: UNKNOWN }, target)).to.deep.equal([]);
        expect(await violations(policy, {}, target)).to.deep.equal([]);
    });
    it("fails credentials in plain text: secret-looking keys, and URLs with a password under any key", async () => {
        const found = await violations(policy, { envs }, target);
        expect(found).to.have.length(1);
        expect(found[0]).to.match(/webstack-prod-web has POSTGRES_PASSWORD, DATABASE_URL in plain text/);
        const partly = await violations(policy, { envs: [wireSecret(envs[1]), "BACKUP_TARGET=s3://key:s3cr3t@bucket/x", "GITHUB_TOKEN=t"] }, target);
        expect(partly[0]).to.match(/has BACKUP_TARGET, GITHUB_TOKEN in plain text/);
        expect(P.looksSecret("DJANGO_SECRET_KEY", "x")).to.equal(true);
        expect(P.looksSecret("AWS_SECRET_ACCESS_KEY", "x")).to.equal(true);
        expect(P.looksSecret("DJANGO_SECURE_PROXY_SSL_HEADER", "1")).to.equal(false);
    });

    describe("through the policy server's two passes", () => {
        /** What the engine does per resource: Remediate (this policy records), then Analyze (it reports). */
        async function engine(wireProps: Record<string, unknown>, urnName = "webstack-prod-web"): Promise<string[]> {
            const t = { type: CONTAINER, name: urnName };
            const remediated = await policy.remediateResource!(resourceArgs(sdkProps(wireProps, "remediate"), t));
            expect(remediated, "the remediation changes nothing").to.equal(undefined);
            const found: string[] = [];
            await (policy.validateResource as ResourceValidation)(resourceArgs(sdkProps(wireProps, "analyze"), t), (m) => { found.push(m); });
            return found;
        }
        it("the analysis pass alone cannot tell: @pulumi/policy unwraps secrets before validateResource", () => {
            const analyzed = sdkProps({ envs: wireSecret(envs) }, "analyze");
            expect([...analyzed.envs]).to.deep.equal(envs);
            const remediation = sdkProps({ envs: wireSecret(envs) }, "remediate");
            expect(P.isSecretMarker((P.unproxy(remediation) as Record<string, unknown>).envs)).to.equal(true);
        });
        it("passes a secret environment and fails a plain one", async () => {
            expect(await engine({ envs: wireSecret(envs) })).to.deep.equal([]);
            expect(await engine({ envs: [envs[0], wireSecret(envs[1]), wireSecret(envs[2])] })).to.deep.equal([]);
            const plain = await engine({ envs });
            expect(plain).to.have.length(1);
            expect(plain[0]).to.match(/POSTGRES_PASSWORD, DATABASE_URL in plain text/);
        });
        it("survives unknowns in a preview", async () => {
            expect(await engine({ envs: UNKNOWN })).to.deep.equal([]);
            expect(await engine({ envs: wireSecret(UNKNOWN) })).to.deep.equal([]);
        });
    });
});

describe("policy: ebs-volumes-encrypted", () => {
    const policy = P.ebsVolumesEncrypted;
    const instance = () => ({ rootBlockDevice: { encrypted: true, volumeSize: 30 }, metadataOptions: { httpTokens: "required" } });
    it("passes encrypted volumes and instances with encrypted disks", async () => {
        expect(await violations(policy, { encrypted: true, size: 50 }, { type: P.TYPES.ebsVolume })).to.deep.equal([]);
        expect(await violations(policy, instance(), { type: P.TYPES.ec2Instance })).to.deep.equal([]);
        expect(await violations(policy, { ...instance(), ebsBlockDevices: [{ deviceName: "/dev/sdg", encrypted: true }] }, { type: P.TYPES.ec2Instance })).to.deep.equal([]);
    });
    it("fails unencrypted volumes, root disks and block devices", async () => {
        expectOnly(await violations(policy, { size: 50 }, { type: P.TYPES.ebsVolume, name: "data" }), /EBS volume data is not encrypted/);
        expect(await violations(policy, { encrypted: false }, { type: P.TYPES.ebsVolume })).to.have.length(1);
        expect(await violations(policy, { ...instance(), rootBlockDevice: undefined }, { type: P.TYPES.ec2Instance })).to.have.length(1);
        expect(await violations(policy, { ...instance(), ebsBlockDevices: [{ deviceName: "/dev/sdg" }] }, { type: P.TYPES.ec2Instance })).to.have.length(1);
    });
});

describe("policy: ec2-imdsv2-required", () => {
    const policy = P.imdsv2Required;
    const target = { type: P.TYPES.ec2Instance, name: "host" };
    it("passes required session tokens, or no metadata endpoint at all", async () => {
        expect(await violations(policy, { metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" } }, target)).to.deep.equal([]);
        expect(await violations(policy, { metadataOptions: { httpEndpoint: "disabled" } }, target)).to.deep.equal([]);
    });
    it("fails optional or unset tokens", async () => {
        expectOnly(await violations(policy, { metadataOptions: { httpTokens: "optional" } }, target), /host allows IMDSv1/);
        expect(await violations(policy, {}, target)).to.have.length(1);
    });
});

describe("policy: no-world-ssh-on-prod", () => {
    const policy = P.noWorldSshOnProd;
    const sg = (ssh: Record<string, unknown>) => ({
        ingress: [
            { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
            { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["198.51.100.7/32"], ipv6CidrBlocks: [], ...ssh },
        ],
    });
    const fw = (ssh: Record<string, unknown>) => ({
        inboundRules: [
            { protocol: "tcp", portRange: "443", sourceAddresses: ["0.0.0.0/0", "::/0"] },
            { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24"], ...ssh },
        ],
    });
    const SG = P.TYPES.securityGroup;
    const FW = P.TYPES.doFirewall;

    it("passes SSH from operators' addresses, and the web from anywhere", async () => {
        expect(await violations(policy, sg({}), { type: SG })).to.deep.equal([]);
        expect(await violations(policy, fw({}), { type: FW })).to.deep.equal([]);
        expect(await violations(policy, fw({ protocol: "udp", sourceAddresses: ["0.0.0.0/0"] }), { type: FW })).to.deep.equal([]);
    });
    it("fails SSH from the world on prod: security groups, their rules, and DigitalOcean firewalls", async () => {
        const found = await violations(policy, sg({ cidrBlocks: ["0.0.0.0/0"] }), { type: SG, name: "aws" });
        expect(found).to.have.length(1);
        expect(found[0]).to.match(/aws lets SSH in from 0\.0\.0\.0\/0 on prod/);
        for (const bad of [
            sg({ ipv6CidrBlocks: ["::/0"] }),
            sg({ fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] }),
            sg({ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }),
        ]) {
            expect(await violations(policy, bad, { type: SG }), JSON.stringify(bad.ingress[1])).to.have.length(1);
        }
        expect(await violations(policy, { type: "ingress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }, { type: P.TYPES.securityGroupRule })).to.have.length(1);
        expect(await violations(policy, { type: "egress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }, { type: P.TYPES.securityGroupRule })).to.deep.equal([]);
        expect(await violations(policy, { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv6: "::/0" }, { type: P.TYPES.securityGroupIngressRule })).to.have.length(1);
        expect(await violations(policy, { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" }, { type: P.TYPES.securityGroupIngressRule })).to.have.length(1);
        for (const portRange of ["22", "1-65535", "all", "20-30"]) {
            expect(await violations(policy, fw({ portRange, sourceAddresses: ["::/0"] }), { type: FW }), portRange).to.have.length(1);
        }
    });
    it("applies to prod only: by policy config, else the stack name, else prod", async () => {
        const open = sg({ cidrBlocks: ["0.0.0.0/0"] });
        expect(await violations(policy, open, { type: SG, stack: "stage" })).to.deep.equal([]);
        expect(await violations(policy, open, { type: SG, stack: "dev" })).to.deep.equal([]);
        expect(await violations(policy, open, { type: SG, stack: "feature-x" }), "unknown stacks are prod").to.have.length(1);
        expect(await violations(policy, open, { type: SG, stack: "feature-x", config: { environment: "stage" } })).to.deep.equal([]);
        expect(await violations(policy, open, { type: SG, stack: "stage", config: { environment: "prod" } })).to.have.length(1);
        expect(P.environmentOf({ urn: urnOf("prod", SG, "x") })).to.equal("prod");
        expect(P.stackOfUrn(urnOf("stage", "webstack:targets:AwsHost$aws:ec2/securityGroup:SecurityGroup", "aws"))).to.equal("stage");
    });
});

describe("policy: backup-bucket-not-public", () => {
    const policy = P.backupBucketNotPublic;
    const PAB = P.TYPES.s3PublicAccessBlock;
    const blockAll = { bucket: "webstack-prod-backups", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
    const publicPolicy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }] });

    it("passes private buckets, full public access blocks and scoped policies", async () => {
        expect(await violations(policy, blockAll, { type: PAB })).to.deep.equal([]);
        expect(await violations(policy, { bucket: "webstack-prod-backups" }, { type: P.TYPES.s3BucketV2 })).to.deep.equal([]);
        expect(await violations(policy, { acl: "private" }, { type: P.TYPES.s3Bucket })).to.deep.equal([]);
        expect(await violations(policy, { acl: "private", name: "backups", region: "fra1" }, { type: P.TYPES.spacesBucket })).to.deep.equal([]);
        expect(await violations(policy, { name: "backups", region: "fra1" }, { type: P.TYPES.spacesBucket })).to.deep.equal([]);
        const scoped = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:role/backup" }, Action: "s3:PutObject" }] });
        expect(await violations(policy, { bucket: "b", policy: scoped }, { type: P.TYPES.s3BucketPolicy })).to.deep.equal([]);
        const conditioned = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Condition: { IpAddress: { "aws:SourceIp": "203.0.113.0/24" } } }] });
        expect(await violations(policy, { bucket: "b", policy: conditioned }, { type: P.TYPES.s3BucketPolicy })).to.deep.equal([]);
        expect(await violations(policy, { bucket: "b", policy: UNKNOWN }, { type: P.TYPES.s3BucketPolicy })).to.deep.equal([]);
    });
    it("fails public ACLs, grants, policies and partial public access blocks", async () => {
        const partial = await violations(policy, { ...blockAll, restrictPublicBuckets: false, ignorePublicAcls: undefined }, { type: PAB, name: "backups" });
        expect(partial).to.have.length(1);
        expect(partial[0]).to.match(/backups leaves ignorePublicAcls, restrictPublicBuckets off/);
        expect(await violations(policy, { acl: "public-read" }, { type: P.TYPES.s3Bucket })).to.have.length(1);
        expect(await violations(policy, { bucket: "b", acl: "authenticated-read" }, { type: P.TYPES.s3BucketAclV2 })).to.have.length(1);
        const grant = { grants: [{ grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" }, permission: "READ" }], owner: { id: "o" } };
        expect(await violations(policy, { bucket: "b", accessControlPolicy: grant }, { type: P.TYPES.s3BucketAcl })).to.have.length(1);
        expect(await violations(policy, { bucket: "b", policy: publicPolicy }, { type: P.TYPES.s3BucketPolicy })).to.have.length(1);
        expect(await violations(policy, { policy: JSON.parse(publicPolicy) }, { type: P.TYPES.s3BucketV2 })).to.have.length(1);
        const awsStar = JSON.stringify({ Statement: { Effect: "Allow", Principal: { AWS: ["*"] }, Action: "s3:*" } });
        expect(await violations(policy, { bucket: "b", region: "fra1", policy: awsStar }, { type: P.TYPES.spacesBucketPolicy })).to.have.length(1);
        expectOnly(await violations(policy, { acl: "public-read" }, { type: P.TYPES.spacesBucket, name: "backups" }), /backups has acl "public-read"/);
    });
});

describe("policy: s3-buckets-block-public-access (stack)", () => {
    const policy = P.s3BucketsBlockPublicAccess;
    const bucket = policyResource({ id: "webstack-prod-backups-1a2b", bucket: "webstack-prod-backups-1a2b" }, { type: P.TYPES.s3BucketV2, name: "backups" });
    const blockFor = (target: string, deps: PolicyResource[] = []) => policyResource(
        { bucket: target, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        { type: P.TYPES.s3PublicAccessBlock, name: "backups", propertyDependencies: { bucket: deps } });
    it("passes a stack without buckets, and buckets that have a public access block", async () => {
        expect(await stackViolations(policy, [])).to.deep.equal([]);
        expect(await stackViolations(policy, [bucket, blockFor(UNKNOWN, [bucket])]), "by dependency").to.deep.equal([]);
        expect(await stackViolations(policy, [bucket, blockFor("webstack-prod-backups-1a2b")]), "by name").to.deep.equal([]);
    });
    it("fails a bucket without one", async () => {
        const found = await stackViolations(policy, [bucket, blockFor("another-bucket")]);
        expect(found).to.have.length(1);
        expect(found[0]).to.deep.include({ urn: bucket.urn });
        expect(found[0].message).to.match(/S3 bucket backups has no BucketPublicAccessBlock/);
    });
});

// ---------------------------------------------------------------------------------------------
// The committed stacks, as the policy server would see them
// ---------------------------------------------------------------------------------------------

/** Registered inputs are in the engine's wire format already (secrets wrapped); JSON drops undefined. */
function sdkProps(inputs: Record<string, unknown>, pass: "remediate" | "analyze"): Record<string, any> {
    const wire = JSON.parse(JSON.stringify(inputs ?? {}));
    return unknownCheckingProxy(deserializeProperties({ toJavaScript: () => wire }, pass === "remediate"));
}

function policyOptions(r: Registered): PolicyResourceOptions {
    return {
        ...OPTS,
        protect: r.opts.protect ?? false,
        ignoreChanges: r.opts.ignoreChanges ?? [],
        deleteBeforeReplace: r.opts.deleteBeforeReplace,
        additionalSecretOutputs: r.opts.additionalSecretOutputs ?? [],
    };
}

interface Finding { policy: string; resource: string; message: string }

/** Every policy over every resource of a run: remediation pass, analysis pass, then the stack policies. */
async function checkStack(stack: string, resources: Registered[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    const target = (r: Registered) => ({ type: r.type, name: r.name, stack, opts: policyOptions(r) });
    for (const r of resources) {
        for (const p of P.resourcePolicies) {
            if (p.enforcementLevel === "remediate" && p.remediateResource) {
                expect(await p.remediateResource(resourceArgs(sdkProps(r.inputs, "remediate"), target(r))), `${p.name} remediates nothing`).to.equal(undefined);
            }
        }
        for (const p of P.resourcePolicies) {
            const validations = Array.isArray(p.validateResource) ? p.validateResource : p.validateResource ? [p.validateResource] : [];
            for (const validate of validations) {
                await validate(resourceArgs(sdkProps(r.inputs, "analyze"), target(r)), (message) => {
                    findings.push({ policy: p.name, resource: `${r.type}::${r.name}`, message });
                });
            }
        }
    }
    // Stack policies see outputs; the mocks' outputs are the inputs plus an id, `<name>-id` for
    // the resources that matter here (tests/harness.ts, mockId), which is what references carry.
    const all = resources.map((r) => policyResource(sdkProps({ id: `${r.name}-id`, ...r.inputs }, "analyze"), target(r)));
    for (const p of P.stackPolicies) {
        for (const v of await stackViolations(p, all)) findings.push({ policy: p.name, resource: v.urn ?? "(stack)", message: v.message });
    }
    return findings;
}

describe("the policy pack on the committed stacks", () => {
    const runs: Record<string, Registered[]> = {};
    before(async function () {
        this.timeout(60000);
        for (const stack of ["dev", "stage", "prod"]) {
            runs[stack] = (await runWithConfig(stack, stackConfig(stack), () => buildStack(readSettings()))).resources;
        }
    });

    for (const stack of ["dev", "stage", "prod"]) {
        it(`${stack} passes every policy`, async () => {
            const resources = runs[stack];
            expect(resources.filter((r) => r.type === CONTAINER).length, "containers were checked").to.be.at.least(5);
            expect(await checkStack(stack, resources)).to.deep.equal([]);
        });
    }

    it("each stack has what the rules look for: one proxy that publishes, a database, a watcher, firewalls on the cloud targets", () => {
        for (const stack of ["dev", "stage", "prod"]) {
            const containers = runs[stack].filter((r) => r.type === CONTAINER).map((r) => ({ name: r.name, props: r.inputs }));
            expect(containers.filter(P.isProxy).map((c) => c.name), stack).to.deep.equal(["proxy"]);
            expect(containers.filter(P.isDatabase).map((c) => c.name), stack).to.deep.equal(["db"]);
            expect(containers.filter(P.isAutohealWatcher).map((c) => c.name), stack).to.deep.equal(["autoheal"]);
        }
        expect(runs.stage.filter((r) => r.type === P.TYPES.doFirewall)).to.have.length(1);
        expect(runs.prod.filter((r) => r.type === P.TYPES.securityGroup)).to.have.length(1);
    });

    it("every seed system's stack file (examples/) passes every policy", async function () {
        this.timeout(60000);
        for (const file of exampleFiles()) {
            const { resources } = await evaluateExample(file, file.startsWith("004") ? { appSecrets: { SMTP_PASSWORD: "x" } } : {});
            expect(await checkStack(exampleStack(file), resources), file).to.deep.equal([]);
        }
    });

    it("dev in maintenance with Traefik (the maintenance container) passes every policy", async function () {
        this.timeout(20000);
        const { resources } = await runWithConfig("dev", stackConfig("dev", { proxy: "traefik", maintenance: true }), () => buildStack(readSettings()));
        expect(resources.filter((r) => r.type === CONTAINER).map((r) => r.name)).to.include("maintenance");
        expect(await checkStack("dev", resources)).to.deep.equal([]);
    });

    it("prod with alertWebhookUrl (the monitor container) passes every policy", async function () {
        this.timeout(20000);
        const { resources } = await runWithConfig("prod", stackConfig("prod", { alertWebhookUrl: "https://ntfy.sh/webstack-policy-test" }),
            () => buildStack(readSettings()), { secretKeys: ["webstack:alertWebhookUrl"] });
        expect(resources.filter((r) => r.type === CONTAINER).map((r) => r.name)).to.include("monitor");
        expect(await checkStack("prod", resources)).to.deep.equal([]);
    });

    it("stage on three hosts (Swarm, its registry, the workers' firewalls) passes every policy, and fails with Swarm open to the world", async function () {
        this.timeout(20000);
        const { resources } = await runWithConfig("stage", stackConfig("stage", { swarmWorkers: 2, webReplicas: 4 }), () => buildStack(readSettings()));
        expect(resources.filter((r) => r.type === CONTAINER).map((r) => r.name)).to.include("registry");
        expect(await checkStack("stage", resources)).to.deep.equal([]);
        const open = resources.map((r) => (r.type !== P.TYPES.doFirewall ? r : {
            ...r, inputs: { ...r.inputs, inboundRules: [...r.inputs.inboundRules, { protocol: "udp", portRange: "4789", sourceAddresses: ["0.0.0.0/0"] }] },
        }));
        expect([...new Set((await checkStack("stage", open)).map((f) => f.policy))]).to.deep.equal(["swarm-ports-not-world-open"]);
    });

    it("stage's Spaces bucket fails once it is public", async () => {
        const stage = runs.stage.map((r) => (r.type === P.TYPES.spacesBucket ? { ...r, inputs: { ...r.inputs, acl: "public-read" } } : r));
        const findings = await checkStack("stage", stage);
        expect(findings.map((f) => f.policy)).to.deep.equal(["backup-bucket-not-public"]);
    });

    it("the same resources fail once they break a rule", async () => {
        const prod = runs.prod.map((r) => ({ ...r, inputs: JSON.parse(JSON.stringify(r.inputs)) as Record<string, any> }));
        const find = (type: string, name: string) => prod.find((r) => r.type === type && (r.name === name || r.name.endsWith(`-${name}`)))!;
        find(P.TYPES.securityGroup, "aws").inputs.ingress.find((i: any) => i.fromPort === 22).cidrBlocks.push("0.0.0.0/0");
        find(P.TYPES.ec2Instance, "aws").inputs.metadataOptions.httpTokens = "optional";
        find(P.TYPES.ebsVolume, "aws-data").inputs.encrypted = false;
        const webEnvs = find(CONTAINER, "web").inputs;
        webEnvs.envs = webEnvs.envs.value; // the secret mark lost
        webEnvs.ports = [{ internal: 8000, external: 8000 }];
        delete find(CONTAINER, "db").inputs.healthcheck;
        find(CONTAINER, "autoheal").inputs.restart = "no";
        const withoutBlock = prod.filter((r) => r.type !== P.TYPES.s3PublicAccessBlock);
        const findings = await checkStack("prod", withoutBlock);
        expect([...new Set(findings.map((f) => f.policy))].sort()).to.deep.equal([
            "container-env-secrets-are-secret", "database-volume-and-healthcheck", "ebs-volumes-encrypted", "ec2-imdsv2-required",
            "long-running-restart-and-autoheal", "no-world-ssh-on-prod", "only-proxy-publishes-ports", "s3-buckets-block-public-access",
        ]);
        expect(findings.find((f) => f.policy === "container-env-secrets-are-secret")!.message).to.match(/webstack-prod-web has DJANGO_SECRET_KEY, .*POSTGRES_PASSWORD, DATABASE_URL in plain text/);
    });
});
