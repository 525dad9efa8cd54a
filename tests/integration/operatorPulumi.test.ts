/**
 * bin/webstack against the real Pulumi CLI (built from the Go module proxy by
 * tests/toolchain/build-pulumi.sh; .ci/run does it), on a local file backend in a scratch copy of
 * the project's Pulumi.yaml and Pulumi.dev.yaml. The stack's outputs are the program's own
 * (rendered under mocks) put into the stack's state with `pulumi stack import`, since a real
 * `pulumi up` cannot run here (no provider plugins, docs/toolchain.md). What is real: how the CLI
 * reads outputs, a stack never deployed, an unknown stack, `pulumi config set/rm` on the stack
 * file, and a failing `pulumi up` (it fails here for want of plugins) passed on as one sentence.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { renderStackWithOutputs } from "./program";

const ROOT = path.resolve(__dirname, "..", "..");
const CACHE = process.env.PULUMI_TOOLCHAIN_CACHE ?? "/var/cache/webstack-toolchain";

/** The newest Pulumi CLI the toolchain script built, or a failure naming the step that builds it. */
function pulumiBinDir(): string {
    const dirs = fs.existsSync(CACHE) ? fs.readdirSync(CACHE).filter((d) => /^pulumi-v\d+\.\d+\.\d+$/.test(d) && fs.existsSync(path.join(CACHE, d, "bin", "pulumi"))) : [];
    const newest = dirs.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
    if (newest === undefined) {
        throw new Error(`no Pulumi CLI in ${CACHE}: build it with \`TOOLCHAIN_STEPS=pulumi PULUMI_CLI_VERSION=3.276.0 bash tests/toolchain/build-pulumi.sh\` (.ci/run does)`);
    }
    return path.join(CACHE, newest, "bin");
}

describe("bin/webstack with the real Pulumi CLI (file backend, imported outputs)", function () {
    this.timeout(120_000);
    let project = "";
    let env: NodeJS.ProcessEnv = {};
    let outputs: Record<string, any> = {};

    const pulumi = (args: string[]) => {
        const r = spawnSync("pulumi", args, { cwd: project, env, encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
        return r.stdout;
    };
    const webstack = (args: string[]) => {
        const r = spawnSync(path.join(ROOT, "bin", "webstack"), args, { cwd: project, env, encoding: "utf8", input: "", timeout: 60_000 });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    /** Puts outputs on the stack's root resource, as a deployment would, through export and import. */
    const importOutputs = (stackOutputs: Record<string, unknown>) => {
        const state = JSON.parse(pulumi(["stack", "export", "--stack", "dev"]));
        state.deployment.resources = [{
            urn: "urn:pulumi:dev::webstack::pulumi:pulumi:Stack::webstack-dev", custom: false, type: "pulumi:pulumi:Stack", outputs: stackOutputs,
        }];
        const file = path.join(project, "state.json");
        fs.writeFileSync(file, JSON.stringify(state));
        pulumi(["stack", "import", "--file", file, "--stack", "dev"]);
    };
    const stackFile = () => fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8");

    before(async () => {
        const bin = pulumiBinDir();
        project = fs.mkdtempSync(path.join(os.tmpdir(), "webstack-pulumi-cli-"));
        for (const file of ["Pulumi.yaml", "Pulumi.dev.yaml"]) fs.copyFileSync(path.join(ROOT, file), path.join(project, file));
        fs.mkdirSync(path.join(project, "state"));
        env = {
            ...process.env,
            PATH: `${bin}:${process.env.PATH ?? ""}`,
            PULUMI_HOME: path.join(project, "home"),
            PULUMI_BACKEND_URL: `file://${path.join(project, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "operator-cli-test",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        };
        pulumi(["stack", "init", "dev"]);
        outputs = (await renderStackWithOutputs("dev")).outputs;
    });

    after(() => { if (project) fs.rmSync(project, { recursive: true, force: true }); });

    it("a stack never deployed, and an unknown stack, get one sentence each", () => {
        const never = webstack(["status", "--stack", "dev"]);
        expect(never.code).to.equal(1);
        expect(never.stderr).to.equal("webstack status: stack 'dev' has never been deployed (it has no outputs); run `pulumi up --stack dev` first\n");
        const unknown = webstack(["logs", "--stack", "nope"]);
        expect(unknown.code).to.equal(1);
        expect(unknown.stderr).to.match(/^webstack logs: stack 'nope' does not exist in this Pulumi backend \(`pulumi stack ls` lists them.*\): no stack named 'nope' found\n$/);
    });

    it("reads the program's outputs from the state; maintenance on sets the typed setting, and a failed up is one sentence", () => {
        importOutputs({ siteUrl: outputs.siteUrl, operations: outputs.operations });
        const state = webstack(["maintenance", "--stack", "dev"]);
        expect(state.code, state.stderr).to.equal(0);
        expect(state.stdout).to.equal("maintenance is off for stack 'dev' (as of its last deploy)\n");

        const on = webstack(["maintenance", "on", "--yes", "--stack", "dev"]);
        expect(stackFile()).to.match(/^ {2}webstack:maintenance: "true"$/m);
        expect(pulumi(["config", "get", "maintenance", "--stack", "dev"]).trim()).to.equal("true");
        // `pulumi up` itself fails here: the program's plugins cannot be built on this machine.
        expect(on.code).to.not.equal(0);
        const last = on.stderr.trim().split("\n").pop()!;
        expect(last).to.match(/^webstack maintenance: pulumi up did not finish \(exit \d+\); the setting stays as set: .*`bin\/webstack maintenance off` to go back$/);
    });

    it("rollback --clear removes rollbackImage from the stack file", () => {
        pulumi(["config", "set", "rollbackImage", "webstack-dev-app:0123456789ab", "--stack", "dev"]);
        importOutputs({ operations: { ...outputs.operations, imageSource: "rollbackImage", appImage: "webstack-dev-app:0123456789ab" } });
        const cleared = webstack(["rollback", "--clear", "--yes", "--stack", "dev"]);
        expect(stackFile()).not.to.include("rollbackImage");
        expect(cleared.stdout).to.match(/^Clearing the rollback of stack 'dev'/);
        expect(cleared.stderr.trim().split("\n").pop()).to.match(/^webstack rollback: pulumi up did not finish/);
    });
});
