/**
 * The pack as the Pulumi CLI runs it: policy/index.ts served by @pulumi/policy's own gRPC server
 * (a child process on 127.0.0.1), driven the way the engine drives an analyzer: Remediate then
 * Analyze for each resource, AnalyzeStack at the end. This is what shows that the secrets policy
 * sees secretness only through its remediation pass, and that the pack loads at all.
 */
import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { projectRoot } from "../../../config/settings";

/* eslint-disable @typescript-eslint/no-require-imports */
const grpc = require("@grpc/grpc-js");
const pb = require("@pulumi/pulumi/proto/analyzer_pb");
const rpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

const SIG = "4dabf18193072939515e22adb298388d";
const secret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });
const UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";
const CONTAINER = "docker:index/container:Container";
const LEVEL = ["advisory", "mandatory", "disabled", "remediate"];

interface Diagnostic { policy: string; level: string; message: string }

describe("the policy pack served over gRPC, as the CLI runs it", function () {
    this.timeout(20000);
    let server: ChildProcess;
    let client: any;
    const call = (method: string, request: unknown): Promise<any> =>
        new Promise((resolve, reject) => client[method](request, (err: Error | null, response: unknown) => (err ? reject(err) : resolve(response))));

    before(async () => {
        server = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], {
            cwd: path.join(projectRoot(), "policy"),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        server.stderr!.on("data", (chunk) => { stderr += chunk; });
        const port = await new Promise<string>((resolve, reject) => {
            server.stdout!.once("data", (chunk) => resolve(String(chunk).trim()));
            server.once("exit", (code) => reject(new Error(`the policy pack exited with ${code}:\n${stderr}`)));
        });
        expect(port).to.match(/^\d+$/);
        client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        server?.kill();
    });

    const request = (stack: string, type: string, name: string, props: Record<string, unknown>) => {
        const r = new pb.AnalyzeRequest();
        r.setUrn(`urn:pulumi:${stack}::webstack::${type}::${name}`);
        r.setType(type);
        r.setName(name);
        r.setProperties(Struct.fromJavaScript(props));
        r.setOptions(new pb.AnalyzerResourceOptions());
        return r;
    };
    const diagnostics = (response: any): Diagnostic[] => response.getDiagnosticsList().map((d: any) => ({
        policy: d.getPolicyname(), level: LEVEL[d.getEnforcementlevel()], message: d.getMessage(),
    }));
    /** One resource, as the engine checks it before an operation: Remediate, then Analyze. */
    async function check(stack: string, type: string, name: string, props: Record<string, unknown>): Promise<Diagnostic[]> {
        const remediated = await call("remediate", request(stack, type, name, props));
        expect(remediated.getRemediationsList(), "nothing is remediated").to.deep.equal([]);
        return diagnostics(await call("analyze", request(stack, type, name, props)));
    }

    const envs = ["DJANGO_DEBUG=0", "POSTGRES_PASSWORD=hunter2"];
    const web = { restart: "unless-stopped", labels: [{ label: "autoheal", value: "true" }], healthcheck: { tests: ["CMD", "true"] } };

    it("loads, with every policy and its enforcement level", async () => {
        const info = await call("getAnalyzerInfo", new Empty());
        expect(info.getName()).to.equal("webstack");
        const policies = Object.fromEntries(info.getPoliciesList().map((p: any) => [p.getName(), LEVEL[p.getEnforcementlevel()]]));
        expect(policies).to.deep.equal({
            "only-proxy-publishes-ports": "mandatory",
            "database-volume-and-healthcheck": "mandatory",
            "long-running-restart-and-autoheal": "mandatory",
            "container-env-secrets-are-secret": "remediate",
            "ebs-volumes-encrypted": "mandatory",
            "ec2-imdsv2-required": "mandatory",
            "no-world-ssh-on-prod": "mandatory",
            "backup-bucket-not-public": "mandatory",
            "autoheal-watcher-present": "mandatory",
            "s3-buckets-block-public-access": "mandatory",
            "registry-requires-auth": "mandatory",
            "swarm-ports-not-world-open": "mandatory",
        });
    });

    it("tells a secret container environment from a plain one, and reports the plain one as mandatory", async () => {
        expect(await check("prod", CONTAINER, "webstack-prod-web", { ...web, envs: secret(envs) })).to.deep.equal([]);
        const plain = await check("prod", CONTAINER, "webstack-prod-web", { ...web, envs });
        expect(plain.map((d) => [d.policy, d.level])).to.deep.equal([["container-env-secrets-are-secret", "mandatory"]]);
        expect(plain[0].message).to.include("POSTGRES_PASSWORD in plain text");
    });

    it("without its remediation pass, the analysis cannot see the secret (why the policy is at remediate)", async () => {
        const alone = diagnostics(await call("analyze", request("prod", CONTAINER, "alone", { ...web, envs: secret(envs) })));
        expect(alone.map((d) => d.policy)).to.deep.equal(["container-env-secrets-are-secret"]);
    });

    it("reports the other rules, and unknowns in a preview as advisory", async () => {
        const published = await check("prod", CONTAINER, "webstack-prod-web", { ...web, envs: secret(envs), ports: [{ internal: 8000, external: 8000 }] });
        expect(published.map((d) => [d.policy, d.level])).to.deep.equal([["only-proxy-publishes-ports", "mandatory"]]);
        const sg = { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }] };
        expect((await check("prod", "aws:ec2/securityGroup:SecurityGroup", "aws", sg)).map((d) => d.policy)).to.deep.equal(["no-world-ssh-on-prod"]);
        expect(await check("stage", "aws:ec2/securityGroup:SecurityGroup", "aws", sg)).to.deep.equal([]);
        const preview = await check("prod", CONTAINER, "webstack-prod-web", { ...web, envs: secret(envs), labels: UNKNOWN_ARRAY });
        expect(preview.map((d) => [d.policy, d.level])).to.deep.equal([["long-running-restart-and-autoheal", "advisory"]]);
        expect(preview[0].message).to.match(/during preview/);
    });

    it("runs the stack policies", async () => {
        const resource = new pb.AnalyzerResource();
        resource.setUrn(`urn:pulumi:prod::webstack::${CONTAINER}::web`);
        resource.setType(CONTAINER);
        resource.setName("web");
        resource.setProperties(Struct.fromJavaScript({ ...web, envs: secret(envs) }));
        resource.setOptions(new pb.AnalyzerResourceOptions());
        const stack = new pb.AnalyzeStackRequest();
        stack.setResourcesList([resource]);
        const found = diagnostics(await call("analyzeStack", stack));
        expect(found.map((d) => d.policy)).to.deep.equal(["autoheal-watcher-present"]);
    });
});
