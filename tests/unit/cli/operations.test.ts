/**
 * What bin/webstack reads from a deployed stack (the operations output) and what rollbackImage
 * does to the program, under mocks: the deploy that `bin/webstack rollback` starts.
 */
import { expect } from "chai";
import { ofType, resolve, runWithConfig, stackConfig, unwrap } from "../../harness";
import { ConfigError, readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";

const evaluate = (stack: string, overrides: Record<string, unknown> = {}) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));

async function operationsOf(stack: string, overrides: Record<string, unknown> = {}) {
    const run = await evaluate(stack, overrides);
    const { value, secret } = await resolve(run.result.outputs.operations as any);
    return { run, ops: unwrap(value) as any, secret };
}

describe("operations output", () => {
    it("dev: the local engine, every service's container, the app image; nothing secret", async () => {
        const { ops, secret } = await operationsOf("dev");
        expect(secret).to.equal(false);
        expect(ops.dockerHost).to.equal("");
        expect(ops.sshOptions).to.deep.equal([]);
        expect(Object.keys(ops.services)).to.deep.equal(["db", "web", "proxy", "backup", "autoheal"]);
        expect(ops.services.web).to.match(/^webstack-dev-web-0000000$/);
        expect(ops.appImage).to.match(/^webstack-dev-app:[0-9a-f]{12}$/);
        expect(ops).to.include({ appRepository: "webstack-dev-app", imageSource: "build", appKind: "django", maintenance: false, backupDir: "/backups" });
        expect(ops.database).to.deep.equal({ name: "app", user: "app" });
        const text = JSON.stringify(ops);
        expect(text).not.to.match(/generated-.*-password/);
    });

    it("stage (DigitalOcean) and ssh: the provider's ssh:// host and options, so the CLI reaches the same engine", async () => {
        const stage = await operationsOf("stage");
        expect(stage.ops.dockerHost).to.equal("ssh://deploy@203.0.113.10");
        expect(stage.ops.sshOptions).to.include("StrictHostKeyChecking=accept-new");
        expect(stage.ops.sshOptions.join(" ")).to.include("UserKnownHostsFile=~/.ssh/known_hosts_webstack_stage");
        const ssh = await operationsOf("stage", { target: "ssh", dnsZone: "", sshHost: "app.example.org", sshPort: 2222, sshPrivateKeyPath: "~/.ssh/k" });
        expect(ssh.ops.dockerHost).to.equal("ssh://deploy@app.example.org:2222");
        expect(ssh.ops.sshOptions).to.include.members(["-i", "~/.ssh/k"]);
        expect(ssh.ops.sshOptions).not.to.include("-p");
    });

    it("workers and accessories are services too", async () => {
        const { ops } = await operationsOf("dev", {
            accessories: { redis: { version: "7.4.1" } },
            appWorkers: { celery: { command: ["celery", "worker"], healthcheck: ["celery", "inspect", "ping"] } },
        });
        expect(ops.services).to.include({ celery: "webstack-dev-celery", redis: "webstack-dev-redis" });
    });
});

describe("rollbackImage", () => {
    it("runs that image for the release and the web container, and builds nothing for the app", async () => {
        const image = "webstack-dev-app:0123456789ab";
        const { run, ops } = await operationsOf("dev", { rollbackImage: image });
        expect(ofType(run.resources, "docker:index/image:Image").map((r) => r.inputs.imageName)).not.to.include.members([ops.appImage]);
        expect(ofType(run.resources, "docker:index/image:Image").some((r) => String(r.inputs.imageName).startsWith("webstack-dev-app:"))).to.equal(false);
        const web = ofType(run.resources, "docker:index/container:Container").find((r) => r.name === "webstack-dev-web")!;
        expect(web.inputs.image).to.equal(image);
        const release = ofType(run.resources, "command:local:Command").find((r) => r.name.endsWith("-release"))!;
        expect(String(unwrap(release.inputs.create))).to.include(image);
        expect(ops).to.include({ appImage: image, imageSource: "rollbackImage", appRepository: "webstack-dev-app" });
    });

    it("is refused beside appImage, with the way to roll back a pinned image", async () => {
        const err = await evaluate("dev", { appImage: "ghcr.io/example/app:1.2.0", rollbackImage: "webstack-dev-app:0123456789ab" }).then(() => undefined, (e) => e);
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as ConfigError).problems).to.deep.equal([
            "webstack:rollbackImage: this stack runs appImage ghcr.io/example/app:1.2.0; roll back by setting appImage to the previous tag, and leave rollbackImage empty",
        ]);
    });
});

describe("alertWebhookUrl", () => {
    it("is checked without being shown", async () => {
        const err = await evaluate("dev", { alertWebhookUrl: "hooks.slack.com/services/T0/B0/secretpart" }).then(() => undefined, (e) => e);
        expect(err).to.be.instanceOf(ConfigError);
        expect(err.message).to.include("webstack:alertWebhookUrl: expected an http(s) URL");
        expect(err.message).not.to.include("secretpart");
    });
});
