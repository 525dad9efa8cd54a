/** The policy pack's Swarm rules, on hand-built resources: Swarm ports never open to the world, a registry with a login. */
import { expect } from "chai";
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { registryEnvironment } from "../../../components/registry";
import * as P from "../../../policy/policies";

const urn = (type: string, name: string) => `urn:pulumi:prod::webstack::${type}::${name}`;
function args(type: string, name: string, props: Record<string, unknown>): ResourceValidationArgs & PolicyResource {
    return {
        type, name, props, urn: urn(type, name), dependencies: [], propertyDependencies: {},
        opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } },
        stackTags: new Map(),
        isType: () => false,
        asType: (() => undefined) as never,
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    };
}
async function violations(policy: ResourceValidationPolicy, type: string, name: string, props: Record<string, unknown>): Promise<string[]> {
    const found: string[] = [];
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    for (const validate of validations) await validate(args(type, name, props), (m) => { found.push(m); });
    return found;
}
async function stackViolations(resources: PolicyResource[]): Promise<string[]> {
    const found: string[] = [];
    await P.swarmPortsNotWorldOpen.validateStack({
        resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    }, (m) => { found.push(m); });
    return found;
}

const join = args("command:local:Command", "swarm-worker-1-join", { create: "ssh ..." });
const doFirewall = (inboundRules: unknown[]) => args(P.TYPES.doFirewall, "swarm", { inboundRules });
const securityGroup = (ingress: unknown[]) => args(P.TYPES.securityGroup, "aws-swarm", { ingress });
const world = ["0.0.0.0/0", "::/0"];

describe("policy: swarm-ports-not-world-open", () => {
    it("refuses Swarm's ports open to the world in a DigitalOcean firewall of a multi-host stack", async () => {
        const found = await stackViolations([join, doFirewall([
            { protocol: "tcp", portRange: "2377", sourceAddresses: world },
            { protocol: "udp", portRange: "4789", sourceAddresses: ["0.0.0.0/0"] },
        ])]);
        expect(found).to.have.length(1);
        expect(found[0]).to.include("2377/tcp from 0.0.0.0/0, ::/0; 4789/udp from 0.0.0.0/0");
        // "all" ports, any tcp range over 7946.
        expect(await stackViolations([join, doFirewall([{ protocol: "tcp", portRange: "all", sourceAddresses: ["::/0"] }])])).to.have.length(1);
        expect(await stackViolations([join, doFirewall([{ protocol: "tcp", portRange: "7000-8000", sourceAddresses: world }])])).to.have.length(1);
    });

    it("refuses them in an AWS security group, a group rule or an ingress rule, all protocols included", async () => {
        expect(await stackViolations([join, securityGroup([{ protocol: "udp", fromPort: 7946, toPort: 7946, cidrBlocks: ["0.0.0.0/0"] }])])).to.have.length(1);
        expect(await stackViolations([join, securityGroup([{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }])])).to.have.length(1);
        const rule = args(P.TYPES.securityGroupRule, "r", { type: "ingress", protocol: "tcp", fromPort: 2377, toPort: 2377, cidrBlocks: ["0.0.0.0/0"] });
        expect(await stackViolations([join, rule])).to.have.length(1);
        const ingress = args(P.TYPES.securityGroupIngressRule, "i", { ipProtocol: "udp", fromPort: 4789, toPort: 4789, cidrIpv4: "0.0.0.0/0" });
        expect(await stackViolations([join, ingress])).to.have.length(1);
    });

    it("passes the ports open between the stack's hosts only, and the web ports open to the world", async () => {
        const good = [
            join,
            doFirewall([
                { protocol: "tcp", portRange: "80", sourceAddresses: world },
                { protocol: "tcp", portRange: "2377", sourceDropletIds: [1, 2] },
                { protocol: "udp", portRange: "4789", sourceAddresses: ["10.110.0.0/20"] },
            ]),
            securityGroup([{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: world }, { protocol: "-1", fromPort: 0, toPort: 0, self: true }]),
        ];
        expect(await stackViolations(good)).to.deep.equal([]);
    });

    it("knows a multi-host stack by its joins or its machines, and leaves a single host alone", async () => {
        const open = doFirewall([{ protocol: "tcp", portRange: "all", sourceAddresses: world }]);
        expect(await stackViolations([open])).to.deep.equal([]);
        const droplet = (name: string) => args("digitalocean:index/droplet:Droplet", name, {});
        expect(await stackViolations([droplet("digitalocean"), open])).to.deep.equal([]);
        expect(await stackViolations([droplet("digitalocean"), droplet("digitalocean-worker-1"), open])).to.have.length(1);
        const instance = (name: string) => args(P.TYPES.ec2Instance, name, {});
        expect(await stackViolations([instance("aws"), instance("aws-worker-1"), open])).to.have.length(1);
    });
});

describe("policy: registry-requires-auth, and the registry under the other container rules", () => {
    const registry = () => ({
        name: "webstack-prod-registry", image: "sha256:0123", restart: "unless-stopped",
        envs: registryEnvironment(),
        ports: [{ internal: 5000, external: 5000, ip: "10.0.0.2" }],
        labels: [{ label: "autoheal", value: "true" }],
        healthcheck: { tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5001/debug/health"] },
    });
    const container = P.TYPES.container;

    it("passes the program's registry: a login, published on the private address only", async () => {
        for (const policy of [P.registryRequiresAuth, P.onlyProxyPublishesPorts, P.longRunningRestartAndAutoheal, P.containerSecretsAreSecret]) {
            expect(await violations(policy, container, "registry", registry()), policy.name).to.deep.equal([]);
        }
    });

    it("refuses a registry without REGISTRY_AUTH=htpasswd, by name or by image", async () => {
        const open = { ...registry(), envs: ["REGISTRY_HTTP_ADDR=0.0.0.0:5000"] };
        expect(await violations(P.registryRequiresAuth, container, "registry", open)).to.have.length(1);
        const byImage = { name: "cache", image: "registry:2.8.3", envs: [] };
        expect((await violations(P.registryRequiresAuth, container, "cache", byImage))[0]).to.match(/^Registry container cache has no login/);
        expect(await violations(P.registryRequiresAuth, container, "webstack-prod-web", { name: "webstack-prod-web", image: "app:1" })).to.deep.equal([]);
    });

    it("refuses a registry published on every address of the host", async () => {
        for (const ip of [undefined, "0.0.0.0", "::"]) {
            const everywhere = { ...registry(), ports: [{ internal: 5000, external: 5000, ...(ip === undefined ? {} : { ip }) }] };
            expect(await violations(P.onlyProxyPublishesPorts, container, "registry", everywhere), String(ip)).to.have.length(1);
        }
    });

    it("takes an env entry that names a credential's file for what it is, not a credential", () => {
        expect(P.looksSecret("REGISTRY_AUTH_HTPASSWD_PATH", "/auth/htpasswd")).to.equal(false);
        expect(P.looksSecret("POSTGRES_PASSWORD_FILE", "/run/secrets/db")).to.equal(false);
        expect(P.looksSecret("POSTGRES_PASSWORD_FILE", "hunter2")).to.equal(true);
        expect(P.looksSecret("DB_PASSWORD", "/not/a/file/key")).to.equal(true);
        expect(P.looksSecret("REGISTRY_AUTH_HTPASSWD_REALM", "webstack")).to.equal(false);
    });
});
