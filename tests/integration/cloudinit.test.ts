/**
 * The cloud hosts' user-data and scripts, as the program renders them for the stage
 * (DigitalOcean) and prod (AWS) stacks, checked by the real consumers' tools: cloud-init's own
 * schema validator, and shellcheck for the setup script and the readiness wait. The same for a
 * worker host of each (swarmWorkers 2: worker-1's machine, which has no data volume).
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import * as YAML from "yaml";
import { ofType } from "../harness";
import { renderStack } from "./program";
import { requireBinary, run, RunResult, tempDir } from "./servers";

const CLOUD_INIT = "/usr/bin/cloud-init";
const SHELLCHECK = "/usr/bin/shellcheck";

interface Rendered { userData: string; waitScript: string }

const TARGETS: { key: string; stack: string; target: string; instanceType: string; worker?: string }[] = [
    { key: "stage", stack: "stage", target: "DigitalOcean", instanceType: "digitalocean:index/droplet:Droplet" },
    { key: "prod", stack: "prod", target: "AWS", instanceType: "aws:ec2/instance:Instance" },
    { key: "stage-worker", stack: "stage", target: "DigitalOcean worker", instanceType: "digitalocean:index/droplet:Droplet", worker: "digitalocean-worker-1" },
    { key: "prod-worker", stack: "prod", target: "AWS worker", instanceType: "aws:ec2/instance:Instance", worker: "aws-worker-1" },
];

describe("cloud-init: the hosts' user-data and scripts, checked by cloud-init and shellcheck", function () {
    let tmp: ReturnType<typeof tempDir> | undefined;
    const rendered = new Map<string, Rendered>();

    before(async function () {
        this.timeout(60_000);
        requireBinary(CLOUD_INIT, "cloud-init");
        requireBinary(SHELLCHECK, "shellcheck");
        tmp = tempDir("cloudinit");
        for (const t of TARGETS.filter((x) => x.worker === undefined)) {
            const resources = await renderStack(t.stack);
            const instances = ofType(resources, t.instanceType);
            expect(instances, `${t.stack}: ${t.instanceType}`).to.have.length(1);
            const waits = ofType(resources, "command:local:Command").filter((c) => c.name.endsWith("-ready"));
            expect(waits, `${t.stack}: the readiness command`).to.have.length(1);
            rendered.set(t.key, { userData: instances[0].inputs.userData, waitScript: waits[0].inputs.create });
        }
        for (const t of TARGETS.filter((x) => x.worker !== undefined)) {
            const resources = await renderStack(t.stack, { swarmWorkers: 2 });
            expect(ofType(resources, t.instanceType), `${t.key}: ${t.instanceType}`).to.have.length(3);
            const instance = ofType(resources, t.instanceType).find((r) => r.name === t.worker);
            const wait = ofType(resources, "command:local:Command").find((c) => c.name === `${t.worker}-ready`);
            expect(instance, t.worker).to.not.equal(undefined);
            expect(wait, `${t.worker}-ready`).to.not.equal(undefined);
            rendered.set(t.key, { userData: instance!.inputs.userData, waitScript: wait!.inputs.create });
        }
    });

    after(function () {
        tmp?.remove();
    });

    async function schema(name: string, content: string): Promise<RunResult> {
        const file = path.join(tmp!.path, name);
        fs.writeFileSync(file, content);
        return run(CLOUD_INIT, ["schema", "-c", file]);
    }

    async function shellcheck(name: string, script: string): Promise<RunResult> {
        const file = path.join(tmp!.path, name);
        fs.writeFileSync(file, script);
        return run(SHELLCHECK, ["-s", "sh", "-S", "style", file]);
    }

    for (const t of TARGETS) {
        describe(`${t.target} (${t.stack} stack)`, function () {
            it("cloud-init schema accepts the user-data", async function () {
                const userData = rendered.get(t.key)!.userData;
                expect(userData.startsWith("#cloud-config\n")).to.equal(true);
                const result = await schema(`${t.key}-user-data.yaml`, userData);
                expect(result.code, result.output).to.equal(0);
                expect(result.stdout).to.contain("Valid cloud-config");
                expect(result.output).to.not.match(/deprecat/i);
            });

            it("the setup script in write_files passes shellcheck and is what runcmd runs", async function () {
                const config = YAML.parse(rendered.get(t.key)!.userData) as {
                    write_files: { path: string; content: string; permissions: string }[];
                    runcmd: string[][];
                };
                const command = config.runcmd.flat()[0];
                const setup = config.write_files.find((f) => f.path === command);
                expect(setup, `write_files has ${command}`).to.not.equal(undefined);
                expect(setup!.permissions).to.equal("0755");
                expect(setup!.content.startsWith("#!/bin/sh\n")).to.equal(true);
                const result = await shellcheck(`${t.key}-setup.sh`, setup!.content);
                expect(result.code, result.output).to.equal(0);
                const syntax = await run("/bin/sh", ["-n", path.join(tmp!.path, `${t.key}-setup.sh`)]);
                expect(syntax.code, syntax.output).to.equal(0);
            });

            it("the readiness wait (renderWaitForHost) passes shellcheck", async function () {
                const result = await shellcheck(`${t.key}-wait.sh`, rendered.get(t.key)!.waitScript);
                expect(result.code, result.output).to.equal(0);
            });
        });
    }

    describe("controls: the checks can fail", function () {
        it("cloud-init schema rejects a broken user-data (runcmd: 5)", async function () {
            const result = await schema("broken.yaml", "#cloud-config\nruncmd: 5\n");
            expect(result.code).to.not.equal(0);
            expect(result.output).to.contain("runcmd: 5 is not of type 'array'");
        });

        it("shellcheck rejects an unquoted variable", async function () {
            const result = await shellcheck("broken.sh", "#!/bin/sh\nrm -rf $dir/cache\n");
            expect(result.code).to.not.equal(0);
            expect(result.output).to.contain("SC2086");
        });
    });
});
