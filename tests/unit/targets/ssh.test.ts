/** Target ssh: a server the operator already has, reached by the docker provider over ssh://. */
import { expect } from "chai";
import { ofType, registeredSoFar, runWithConfig, stackConfig, unwrap } from "../../harness";
import { ConfigError, readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";

const SERVER = { target: "ssh", sshHost: "app.example.org", sshUser: "deploy", sshPrivateKeyPath: "~/.ssh/deploy_ed25519" };
const evaluate = (overrides: Record<string, unknown>) =>
    runWithConfig("stage", stackConfig("stage", { dnsZone: "", ...overrides }), () => buildStack(readSettings()));

describe("target ssh", () => {
    it("deploys to the server's engine over ssh://, creating nothing around it", async () => {
        const run = await evaluate({ ...SERVER, sshPort: 2222 });
        const provider = ofType(run.resources, "pulumi:providers:docker")[0];
        expect(provider.inputs.host).to.equal("ssh://deploy@app.example.org:2222");
        expect(JSON.parse(provider.inputs.sshOpts)).to.include.members(["-i", "~/.ssh/deploy_ed25519"]);
        expect(JSON.parse(provider.inputs.sshOpts)).not.to.include("-p");
        expect(provider.inputs.disableDockerDaemonCheck).to.equal("true");
        expect(run.resources.filter((r) => /^(digitalocean|aws):/.test(r.type))).to.deep.equal([]);
        const ready = ofType(run.resources, "command:local:Command").find((c) => c.name.endsWith("-ready"))!;
        expect(ready.inputs.create).to.include("'-p' '2222'").and.include("'deploy@app.example.org' 'docker version");
        expect(ready.inputs.create, "an existing server keeps its known host key").not.to.include("ssh-keygen -R");
        const release = ofType(run.resources, "command:local:Command").find((c) => c.name === "app-release")!;
        expect(String(unwrap(release.inputs.create))).to.match(/^ssh -o BatchMode=yes .*'-p' '2222' .*'deploy@app\.example\.org' 'set -u/s);
        // The server outlives every deploy: nothing is tied to a machine id.
        for (const r of run.resources.filter((x) => x.type.startsWith("docker:") && x.name !== "prune")) {
            expect(r.opts.replacementTrigger, r.name).to.equal(undefined);
        }
        expect(await new Promise((resolve) => run.result.outputs.sshCommand.apply(resolve)))
            .to.equal("ssh -p 2222 -i ~/.ssh/deploy_ed25519 deploy@app.example.org");
    });

    it("needs the server's address, and only ssh takes one", async () => {
        const missing = await evaluate({ target: "ssh" }).then(() => undefined, (e) => e);
        expect(missing).to.be.instanceOf(ConfigError);
        expect(registeredSoFar()).to.deep.equal([]);
        expect((missing as ConfigError).problems).to.deep.equal([
            "webstack:sshHost: target ssh needs the server's address, for example `pulumi config set sshHost app.example.org`",
        ]);
        const stray = await runWithConfig("dev", stackConfig("dev", { sshHost: "app.example.org" }), () => buildStack(readSettings())).then(() => undefined, (e) => e);
        expect((stray as ConfigError).problems[0]).to.match(/^webstack:sshHost: only target ssh uses it/);
        const bad = await evaluate({ ...SERVER, sshHost: "not a host" }).then(() => undefined, (e) => e);
        expect((bad as ConfigError).problems[0]).to.match(/^webstack:sshHost: expected a host name such as app.example.org or an IP address/);
    });
});
