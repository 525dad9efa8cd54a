/**
 * Swarm mode under mocks: a single-node Swarm on dev (replicas on the manager), and a stack on three
 * hosts, made by hand (a manager and two WorkerHosts) so that it does not depend on the targets.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { isSecretValue, MOCK_JOIN_TOKEN, ofType, Registered, resolve, Run, runWithConfig, stackConfig, unwrap } from "../../harness";
import { htpasswdLine, REGISTRY_USER } from "../../../components/registry";
import { renderSwarmInit, renderSwarmJoin } from "../../../components/swarm";
import { traefikArguments, traefikSwarmLabels } from "../../../components/traefikConfig";
import { serviceDuration } from "../../../components/healthchecks";
import { readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";
import { Host, WorkerHost } from "../../../targets/host";

type Stack = ReturnType<typeof buildStack>;
const runs = new Map<string, Promise<Run<Stack>>>();
const once = (key: string, run: () => Promise<Run<Stack>>) => {
    if (!runs.has(key)) runs.set(key, run());
    return runs.get(key)!;
};

const singleNode = () => once("dev", () => runWithConfig("dev", stackConfig("dev", { webReplicas: 3 }), () => buildStack(readSettings())));

const shell = (where: string) => (script: string) => pulumi.output(`ssh ${where} sh -s <<'EOF'\n${script}EOF`);
/** A manager at 10.0.0.2 with two workers, as a multi-host target yields it. */
function threeHosts(): Host {
    const workers: WorkerHost[] = [1, 2].map((i) => ({
        name: `worker-${i}`,
        privateAddress: pulumi.output(`10.0.0.${2 + i}`),
        shell: shell(`root@worker-${i}`),
        ready: [],
        machineId: pulumi.output(`machine-${i}`),
    }));
    return {
        provider: new docker.Provider("manager", { host: "ssh://root@203.0.113.5" }),
        address: pulumi.output("203.0.113.5"),
        shell: shell("root@manager"),
        privateAddress: pulumi.output("10.0.0.2"),
        machineId: pulumi.output("machine-0"),
        workers,
    };
}
const multiHost = (overrides: Record<string, unknown> = {}) => once(`multi ${JSON.stringify(overrides)}`, () => runWithConfig("stage", stackConfig("stage", {
    target: "ssh", dnsZone: undefined, sshHost: "203.0.113.5", sshWorkerHosts: ["10.0.0.3", "10.0.0.4"], webReplicas: 4, webMaxReplicasPerHost: 2, ...overrides,
}), () => buildStack(readSettings(), threeHosts())));

const one = (run: Run<Stack>, type: string, name: string): Registered => {
    const found = ofType(run.resources, type).filter((r) => r.name === name);
    expect(found, `${type} ${name}`).to.have.length(1);
    return found[0];
};
/** The task spec, unwrapped: it is secret as a whole, since the environment in it is. */
const taskSpec = (service: Registered) => unwrap(service.inputs.taskSpec) as any;
const service = (run: Run<Stack>) => one(run, "docker:index/service:Service", "webstack-stage-web");

describe("Swarm mode", () => {
    describe("a single node (dev, webReplicas 3)", () => {
        it("runs the web tier as a service of 3 replicas after the release, with start-first updates that roll back", async () => {
            const run = await singleNode();
            expect(ofType(run.resources, "docker:index/container:Container").filter((c) => c.name.endsWith("-web"))).to.deep.equal([]);
            const web = one(run, "docker:index/service:Service", "webstack-dev-web");
            expect(web.inputs.name).to.equal("webstack-dev-web");
            expect(web.inputs.mode).to.deep.equal({ replicated: { replicas: 3 } });
            expect(web.inputs.updateConfig).to.deep.include({ parallelism: 1, order: "start-first", failureAction: "rollback", delay: "10s", monitor: "30s" });
            expect(web.inputs.rollbackConfig).to.deep.include({ order: "start-first" });
            expect(taskSpec(web).restartPolicy.condition).to.equal("any");
            expect(web.inputs.convergeConfig.timeout).to.equal("11m");
            // One node: no constraint, no registry, the image built on the manager.
            expect(taskSpec(web).placement).to.deep.equal({ constraints: [] });
            expect(web.inputs.auth).to.equal(undefined);
            expect(ofType(run.resources, "docker:index/container:Container").map((c) => c.name)).not.to.include("registry");
            expect(taskSpec(web).containerSpec.image).to.match(/^webstack-dev-app:[0-9a-f]{12}$/);
            expect(web.opts.dependsOn).to.include(run.result.parts.app.release);
            expect(web.opts.dependsOn).to.include(run.result.parts.swarm!.init);
            expect(web.opts.provider, "on the manager's engine").to.equal(run.result.parts.host.provider);
        });

        it("gives the service the container's command, environment (secret), healthcheck, mounts and networks, without autoheal", async () => {
            const run = await singleNode();
            const web = one(run, "docker:index/service:Service", "webstack-dev-web");
            const spec = taskSpec(web);
            expect(spec.containerSpec.args).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi:application"]);
            // The environment is secret, and with it the whole task spec (Pulumi marks the top-level input).
            expect(isSecretValue(web.inputs.taskSpec), "env is secret").to.equal(true);
            expect((unwrap(spec.containerSpec.env) as Record<string, string>).POSTGRES_HOST).to.equal("db");
            expect(spec.containerSpec.healthcheck).to.deep.include({ interval: "30s", timeout: "5s", startPeriod: "1m", retries: 3 });
            expect(spec.containerSpec.mounts.map((m: any) => [m.type, m.source, m.target])).to.deep.equal([
                ["volume", "webstack-dev-static", "/app/staticfiles"], ["volume", "webstack-dev-media", "/app/media"],
            ]);
            expect(spec.networksAdvanceds).to.deep.equal([{ id: "networks-backend-id" }, { id: "networks-frontend-id", aliases: ["web"] }]);
            expect(spec.containerSpec.labels).to.equal(undefined);
            expect(web.inputs.labels).to.deep.equal([]);
        });

        it("makes the networks attachable overlays (backend still internal) once the Swarm is initialised", async () => {
            const run = await singleNode();
            const backend = one(run, "docker:index/network:Network", "networks-backend");
            const frontend = one(run, "docker:index/network:Network", "networks-frontend");
            expect(backend.inputs).to.include({ driver: "overlay", attachable: true, internal: true });
            expect(frontend.inputs).to.include({ driver: "overlay", attachable: true });
            expect(frontend.opts.dependsOn).to.deep.equal([run.result.parts.swarm!.init]);
            // The proxy, database and autoheal stay plain containers on the manager, and nginx keeps `web`.
            expect(run.result.parts.proxy!.nginxConfig).not.to.equal(undefined);
            expect(String((await resolve(run.result.parts.proxy!.nginxConfig!)).value)).to.include("web:8000");
        });

        it("initialises the Swarm on the manager's private address, its token secret and never logged", async () => {
            const run = await singleNode();
            const init = one(run, "command:local:Command", "swarm-init");
            expect(init.inputs.create).to.equal(renderSwarmInit("127.0.0.1"));
            expect(init.inputs.create).to.include("docker swarm init --advertise-addr '127.0.0.1'");
            expect(init.inputs.create).to.match(/LocalNodeState[\s\S]*!= "active"/);
            expect(init.opts.additionalSecretOutputs).to.deep.equal(["stdout"]);
            expect(init.inputs).to.include({ logging: "stderr", addPreviousOutputInEnv: false });
            expect(ofType(run.resources, "command:local:Command").filter((c) => c.name.endsWith("-join"))).to.deep.equal([]);
            const token = await resolve(run.result.parts.swarm!.joinToken);
            expect(token).to.deep.equal({ value: MOCK_JOIN_TOKEN, secret: true });
        });

        it("says so in the operations output", async () => {
            const operations = (await resolve(pulumi.output((await singleNode()).result.outputs.operations))).value as any;
            expect(operations.webKind).to.equal("service");
            expect(operations.services.web).to.equal("webstack-dev-web");
            expect(operations.services).not.to.have.property("registry");
        });
    });

    describe("three hosts (a manager and two workers)", () => {
        it("joins each worker with the token on standard input, and leaves on delete", async () => {
            const run = await multiHost();
            for (const [i, worker] of [[1, "worker-1"], [2, "worker-2"]] as const) {
                const join = one(run, "command:local:Command", `swarm-${worker}-join`);
                expect(join.inputs.create).to.include(renderSwarmJoin({ managerAddress: "10.0.0.2", advertiseAddress: `10.0.0.${2 + i}` }));
                expect(join.inputs.create).to.match(new RegExp(`^ssh root@${worker} `));
                expect(join.inputs.create).to.include("token=$(cat)");
                expect(isSecretValue(join.inputs.stdin)).to.equal(true);
                expect(unwrap(join.inputs.stdin)).to.equal(`${MOCK_JOIN_TOKEN}\n`);
                expect(join.inputs.delete).to.include("docker swarm leave --force");
                expect(unwrap(join.inputs.triggers)).to.deep.equal([`machine-${i}`, "machine-0"]);
                expect(join.opts.dependsOn).to.include(run.result.parts.swarm!.init);
            }
        });

        it("pushes the built image to a registry with auth and TLS on the private address, and every node trusts its CA", async () => {
            const run = await multiHost();
            const registry = one(run, "docker:index/container:Container", "registry");
            expect(registry.inputs.image).to.equal("sha256:registry-image");
            expect(one(run, "docker:index/remoteImage:RemoteImage", "registry-image").inputs.name).to.equal("registry:2.8.3");
            expect(registry.inputs.envs).to.include.members(["REGISTRY_AUTH=htpasswd", "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/registry.crt"]);
            expect(registry.inputs.ports).to.deep.equal([{ internal: 5000, external: 5000, ip: "10.0.0.2" }]);
            expect(registry.inputs.volumes[0]).to.include({ containerPath: "/var/lib/registry" });
            const csr = one(run, "tls:index/certRequest:CertRequest", "registry-csr");
            expect(csr.inputs.ipAddresses).to.deep.equal(["10.0.0.2"]);
            for (const node of ["manager", "worker-1", "worker-2"]) {
                const trust = one(run, "command:local:Command", `registry-${node}-ca`);
                expect(trust.inputs.create).to.include("/etc/docker/certs.d/10.0.0.2:5000");
                expect(trust.inputs.create).to.match(new RegExp(`^ssh root@${node} `));
            }
            const image = one(run, "docker:index/image:Image", "app-image");
            expect(image.inputs.skipPush).to.equal(false);
            expect(image.inputs.imageName).to.match(/^10\.0\.0\.2:5000\/webstack-stage-app:[0-9a-f]{12}$/);
            // Secret as a whole, since the password is in it.
            expect(isSecretValue(image.inputs.registry)).to.equal(true);
            expect(unwrap(image.inputs.registry)).to.deep.include({ server: "10.0.0.2:5000", username: REGISTRY_USER, password: "generated-registry-password-password" });
        });

        it("has the service pull by digest with the registry's auth, on workers only, at most maxReplicasPerHost each", async () => {
            const run = await multiHost();
            const web = service(run);
            expect(taskSpec(web).containerSpec.image).to.match(/^10\.0\.0\.2:5000\/webstack-stage-app@sha256:/);
            expect(isSecretValue(web.inputs.auth)).to.equal(true);
            expect(unwrap(web.inputs.auth)).to.deep.include({ serverAddress: "10.0.0.2:5000", username: REGISTRY_USER, password: "generated-registry-password-password" });
            expect(taskSpec(web).placement).to.deep.equal({ constraints: ["node.role==worker"], maxReplicas: 2 });
            expect(web.inputs.mode.replicated.replicas).to.equal(4);
            for (const dep of [...run.result.parts.swarm!.ready, ...run.result.parts.registry!.ready]) expect(web.opts.dependsOn).to.include(dep);
            const operations = (await resolve(pulumi.output(run.result.outputs.operations))).value as any;
            expect(operations.services).to.include({ web: "webstack-stage-web", registry: "webstack-stage-registry" });
            // The manager prunes (and bin/webstack rolls back among) the images it built under the registry's name.
            expect(operations.appRepository).to.equal("10.0.0.2:5000/webstack-stage-app");
            const prune = one(run, "docker:index/container:Container", "prune");
            expect(String((unwrap(prune.inputs.command) as string[])[0])).to.include("for repo in webstack-stage-db webstack-stage-backup 10.0.0.2:5000/webstack-stage-app;");
        });

        it("routes with Traefik's Swarm provider, from the service's labels", async () => {
            const run = await multiHost();
            const proxy = one(run, "docker:index/container:Container", "proxy");
            expect(proxy.inputs.command).to.include.members(["--providers.swarm=true", "--providers.swarm.exposedbydefault=false", "--providers.docker=true"]);
            const labels = Object.fromEntries((unwrap(service(run).inputs.labels) as any[]).map((l) => [l.label, l.value]));
            expect(labels).to.include({ "traefik.swarm.network": "webstack-stage-frontend" });
            expect(labels).not.to.have.property("traefik.swarm.lbswarm");
            expect(labels["traefik.http.services.webstack-stage.loadbalancer.server.port"]).to.equal("8000");
            expect(labels).not.to.have.property("traefik.docker.network");
            expect(labels).not.to.have.property("autoheal");
        });

        it("keeps the join token, the registry password and its htpasswd hash out of every plain input and output", async () => {
            const run = await multiHost();
            const password = "generated-registry-password-password";
            const hash = htpasswdLine(REGISTRY_USER, password, "abcdefghijklmnopqrstuv").trim().split(":")[1];
            const secrets = [MOCK_JOIN_TOKEN, password, hash];
            const plain: string[] = [];
            const walk = (value: unknown, where: string) => {
                if (isSecretValue(value)) return;
                if (typeof value === "string") {
                    if (secrets.some((s) => value.includes(s))) plain.push(where);
                } else if (Array.isArray(value)) {
                    value.forEach((v, i) => walk(v, `${where}[${i}]`));
                } else if (typeof value === "object" && value !== null) {
                    for (const [k, v] of Object.entries(value)) walk(v, `${where}.${k}`);
                }
            };
            for (const r of run.resources) walk(r.inputs, `${r.type} ${r.name}`);
            // The hash is really there, behind a secret.
            const uploads = unwrap(one(run, "docker:index/container:Container", "registry").inputs.uploads) as { file: string; content: string }[];
            expect(uploads.find((u) => u.file === "/auth/htpasswd")!.content).to.include(hash);
            for (const [name, output] of Object.entries(run.result.outputs)) {
                const { value, secret } = await resolve(pulumi.output(output as pulumi.Input<unknown>));
                if (!secret) walk(value, `output ${name}`);
            }
            expect(plain).to.deep.equal([]);
            expect((await resolve(pulumi.output(run.result.outputs.operations))).secret, "operations is all plain").to.equal(false);
        });

        it("uses a given appImage as is, without a registry", async () => {
            const run = await multiHost({ appImage: "ghcr.io/org/app:1.0" });
            expect(ofType(run.resources, "docker:index/container:Container").map((c) => c.name)).not.to.include("registry");
            expect(taskSpec(service(run)).containerSpec.image).to.equal("ghcr.io/org/app:1.0@sha256:0000");
            expect(service(run).inputs.auth).to.equal(undefined);
        });
    });

    it("pure parts: Traefik's flags and labels, service durations", () => {
        expect(traefikArguments({ network: "n" })).not.to.include("--providers.swarm=true");
        expect(traefikArguments({ network: "n", swarm: true })).to.include("--providers.swarm.network=n");
        expect(traefikSwarmLabels([{ label: "traefik.docker.network", value: "n" }])).to.deep.equal([
            { label: "traefik.swarm.network", value: "n" },
        ]);
        expect(["1m0s", "1h0m0s", "1m30s", "30s", "0s"].map(serviceDuration)).to.deep.equal(["1m", "1h", "1m30s", "30s", "0s"]);
    });
});
