/**
 * What a real `pulumi up` meets that mocks do not show by themselves: a machine replaced behind
 * the same address, volume attachments, the web container's replacement order, the release
 * step's failure, AWS user data, disk filled by old images, previews that never settle.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { resourceShape } from "./swarm/shape";
import { isSecretValue, ofType, Registered, Run, runWithConfig, stackConfig, unwrap } from "../harness";
import { goDuration } from "../../components/healthchecks";
import { IMAGES_KEPT } from "../../components/imagePruning";
import { ConfigError, readSettings } from "../../config/settings";
import { buildStack } from "../../stack";

type Stack = ReturnType<typeof buildStack>;
// Runs are read-only here: the same stack is evaluated once for all the tests that look at it.
const runs = new Map<string, Promise<Run<Stack>>>();
const evaluate = (stack: string, overrides: Record<string, unknown> = {}, preview = false): Promise<Run<Stack>> => {
    const key = JSON.stringify([stack, overrides, preview]);
    if (!runs.has(key)) runs.set(key, runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()), { preview }));
    return runs.get(key)!;
};
const onEngine = (run: Run<Stack>) => run.resources.filter((r) => r.type.startsWith("docker:index/"));
const byName = (run: Run<Stack>, type: string, suffix: string) => {
    const found = ofType(run.resources, type).filter((r) => r.name === suffix || r.name.endsWith(`-${suffix}`));
    expect(found, `${type} ${suffix}`).to.have.length(1);
    return found[0];
};

describe("deploys on the real engine", () => {
    it("a replaced droplet or instance gets every container, image, network and volume anew", async () => {
        for (const [stack, machine] of [["stage", "digitalocean:index/droplet:Droplet"], ["prod", "aws:ec2/instance:Instance"]] as const) {
            const run = await evaluate(stack);
            const resources = onEngine(run);
            expect(resources.length, stack).to.be.greaterThan(10);
            const machineId = await new Promise((resolve) => run.result.parts.host.machineId!.apply(resolve));
            expect(ofType(run.resources, machine), stack).to.have.length(1);
            expect(machineId, stack).to.equal(stack === "stage" ? "424242" : "aws-id");
            for (const r of resources) {
                const trigger = await new Promise((resolve) => (r.opts.replacementTrigger as any).apply(resolve));
                // The pruning job's trigger also carries the images it prunes after.
                const value = Array.isArray(trigger) ? trigger[0] : trigger;
                expect(value, `${stack} ${r.type} ${r.name}`).to.equal(machineId);
            }
            // The release runs again on a new machine too.
            const release = byName(run, "command:local:Command", "release");
            expect(unwrap(release.inputs.triggers)).to.deep.equal([machineId]);
        }
        // The local engine outlives every deploy: no trigger.
        for (const r of onEngine(await evaluate("dev")).filter((r) => r.name !== "prune")) {
            expect(r.opts.replacementTrigger, r.name).to.equal(undefined);
        }
    });

    it("detaches the data volume (and the address) from the old machine before attaching it to the new one", async () => {
        const stage = await evaluate("stage");
        expect(byName(stage, "digitalocean:index/volumeAttachment:VolumeAttachment", "digitalocean-data").opts.deleteBeforeReplace).to.equal(true);
        expect(byName(stage, "digitalocean:index/reservedIpAssignment:ReservedIpAssignment", "digitalocean-ip").opts.deleteBeforeReplace).to.equal(true);
        const prod = await evaluate("prod");
        expect(byName(prod, "aws:ec2/volumeAttachment:VolumeAttachment", "aws-data").opts.deleteBeforeReplace).to.equal(true);
        expect(byName(prod, "aws:ec2/eipAssociation:EipAssociation", "aws").opts.deleteBeforeReplace).to.equal(true);
    });

    it("replaces the web container without an outage: the new one runs and is healthy before the old one goes", async () => {
        for (const stack of ["dev", "stage", "prod"]) {
            const web = ofType((await evaluate(stack)).resources, "docker:index/container:Container").find((c) => c.name.endsWith("-web"))!;
            expect(web.opts.deleteBeforeReplace, stack).to.equal(false);
            expect(web.inputs.name, "an auto-generated name, so two can exist").to.equal(undefined);
            expect(web.inputs).to.include({ wait: true });
            expect(web.inputs.healthcheck.tests[0]).to.equal("CMD");
            const frontend = web.inputs.networksAdvanced.find((n: any) => /frontend$/.test(n.name));
            expect(frontend.aliases, "the proxy finds the new one by its alias").to.deep.equal(["web"]);
        }
    });

    it("runs the release as a command that fails the step, so a plain `up` after a failure runs it again", async () => {
        const run = await evaluate("dev", { releaseTimeoutMinutes: 7 });
        const release = byName(run, "command:local:Command", "release");
        const script = String(unwrap(release.inputs.create));
        expect(script).to.include("exit \"$code\"");
        expect(script).to.match(/while \[ "\$i" -lt 420 \]/);
        expect(script).to.include("timed out after 420 s (releaseTimeoutMinutes)");
        expect(release.opts.customTimeouts?.create).to.equal("12m");
        expect(release.opts.additionalSecretOutputs).to.include.members(["stdout", "stderr"]);
        expect(isSecretValue(release.inputs.stdin)).to.equal(true);
        const web = ofType(run.resources, "docker:index/container:Container").find((c) => c.name.endsWith("-web"))!;
        expect(web.opts.dependsOn).to.include(run.result.parts.app.release);
        // No one-shot docker container is left for the release: its recorded exit code would stick.
        expect(ofType(run.resources, "docker:index/container:Container").filter((c) => c.name.includes("release"))).to.deep.equal([]);
    });

    it("release timeout is a setting with one clear error", async () => {
        for (const bad of [0, 2000]) {
            const failure = await evaluate("dev", { releaseTimeoutMinutes: bad }).then(() => undefined, (e) => e);
            expect(failure).to.be.instanceOf(ConfigError);
            expect((failure as ConfigError).problems).to.deep.equal([`webstack:releaseTimeoutMinutes: expected a whole number from 1 to 1440, got "${bad}"`]);
        }
    });

    it("replaces the EC2 instance when its user data changes, since cloud-init runs once per instance", async () => {
        const instance = byName(await evaluate("prod"), "aws:ec2/instance:Instance", "aws");
        expect(instance.inputs.userDataReplaceOnChange).to.equal(true);
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb new@laptop";
        const changed = byName(await evaluate("prod", { sshPublicKeys: [key] }), "aws:ec2/instance:Instance", "aws");
        expect(unwrap(changed.inputs.userData)).to.include(key);
    });

    it("prunes old images after each deploy, keeping the current and the previous one", async () => {
        const run = await evaluate("dev");
        const prune = byName(run, "docker:index/container:Container", "prune");
        const script = String((unwrap(prune.inputs.command) as string[]).at(-1));
        expect(IMAGES_KEPT).to.equal(2);
        expect(script).to.include(".[2:]");
        expect(script).to.match(/for repo in webstack-dev-db webstack-dev-backup webstack-dev-app;/);
        expect(script).not.to.match(/force=1|force=true/);
        expect(prune.inputs).to.include({ mustRun: false, attach: true, restart: "no", networkMode: "none" });
        expect(prune.opts.dependsOn).to.include(run.result.parts.app.web);
        const trigger = await new Promise<unknown[]>((resolve) => (prune.opts.replacementTrigger as any).apply(resolve));
        expect(trigger.slice(1)).to.have.length(3);
        // A prebuilt app image is not the stack's to prune.
        const pulled = byName(await evaluate("dev", { appImage: "ghcr.io/org/app:1.0" }), "docker:index/container:Container", "prune");
        expect(String((unwrap(pulled.inputs.command) as string[]).at(-1))).to.match(/for repo in webstack-dev-db webstack-dev-backup;/);
    });

    it("gives containers that must not be cut off mid-work a destroy grace as long as their stop timeout", async () => {
        const run = await evaluate("prod");
        for (const name of ["db", "backup"]) {
            const c = byName(run, "docker:index/container:Container", name);
            expect(c.inputs.destroyGraceSeconds, name).to.be.at.least(c.inputs.stopTimeout);
            expect(c.inputs.stopTimeout, name).to.be.at.least(60);
        }
    });

    it("configures the docker provider the same way in previews and updates", async () => {
        for (const stack of ["stage", "prod"]) {
            const provider = async (preview: boolean) => ofType((await evaluate(stack, {}, preview)).resources, "pulumi:providers:docker")[0].inputs;
            expect(await provider(true), stack).to.deep.equal(await provider(false));
        }
    });

    it("writes every duration the provider reads back in Go's form, so previews settle", async () => {
        for (const stack of ["dev", "stage", "prod"]) {
            for (const c of ofType((await evaluate(stack, { proxy: "nginx" })).resources, "docker:index/container:Container")) {
                const check = unwrap(c.inputs.healthcheck) as Record<string, unknown> | undefined;
                if (check === undefined) continue;
                for (const field of ["interval", "timeout", "startPeriod", "startInterval"]) {
                    const value = check[field];
                    if (value === undefined) continue;
                    const seconds = parseGo(String(value));
                    expect(goDuration(seconds), `${stack} ${c.name} ${field}`).to.equal(value);
                }
            }
        }
    });

    it("registers exactly what it did before Swarm mode existed, with one host and one web container", async () => {
        // tests/fixtures/single-host-resources.json: taken before Swarm mode was added (the targets' own resources left out).
        const snapshot = JSON.parse(fs.readFileSync(path.join(__dirname, "../fixtures/single-host-resources.json"), "utf8"));
        for (const stack of ["dev", "stage", "prod"]) {
            const run = await evaluate(stack);
            expect(resourceShape(run.resources), stack).to.deep.equal(snapshot[stack]);
            expect(run.result.outputs.operations.webKind, stack).to.equal("container");
        }
    });
});

/** Seconds in a duration written as 1h2m3s, 5m0s or 30s. */
function parseGo(text: string): number {
    const match = /^(?:(\d+)h)?(?:(\d+)m)?(\d+)s$/.exec(text);
    if (!match) throw new Error(`not a Go duration: ${text}`);
    return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3]);
}

export type { Registered };
