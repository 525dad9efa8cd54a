/**
 * A stack past one machine: the manager (today's host) plus swarmWorkers worker hosts on
 * DigitalOcean and AWS, or sshWorkerHosts on target ssh. Each stack is evaluated once, in `before`;
 * the targets alone (createHost) for the machines and rules, the whole program once per cloud.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import * as YAML from "yaml";
import { isSecretValue, ofType, Registered, resolve, Run, runWithConfig, stackConfig, MOCK_JOIN_TOKEN, unwrap } from "../../harness";
import { readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";
import { createHost, Host } from "../../../targets";
import { renderSetupScript } from "../../../targets/cloudInit";
import { SWARM_PORTS } from "../../../targets/workers";

const WORLD = ["0.0.0.0/0", "::/0"];
const STAGE_SSH = ["203.0.113.0/24"];
const PROD_SSH = ["198.51.100.7/32"];
const SSH_SERVERS = {
    target: "ssh", dnsZone: "", sshHost: "203.0.113.5", sshUser: "deploy", sshPort: 2222, sshPrivateKeyPath: "~/.ssh/deploy_ed25519",
    sshWorkerHosts: ["10.0.0.12", "10.0.0.13"],
};

const targetOnly = (stack: string, overrides: Record<string, unknown>) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => {
        const settings = readSettings();
        return createHost(settings.target, settings);
    });
const wholeStack = (stack: string, overrides: Record<string, unknown>) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));

const value = async <T>(o: pulumi.Input<T>) => (await resolve(o)).value;
const urnOf = (r: Registered) => value(r.opts.parent!.urn);
const readySteps = (resources: Registered[]) => ofType(resources, "command:local:Command").filter((c) => c.name.endsWith("-ready"));
const named = (resources: Registered[], type: string, name: string) => {
    const found = ofType(resources, type).filter((r) => r.name === name);
    expect(found, `${type} ${name}`).to.have.length(1);
    return found[0];
};
/** Where `needle` shows in a resource's inputs outside a secret: "name.path" for each. */
const inTheClear = (resources: Registered[], needle: string) => resources.flatMap((r) => {
    const found: string[] = [];
    const walk = (v: unknown, path: string): void => {
        if (isSecretValue(v)) return;
        if (typeof v === "string") { if (v.includes(needle)) found.push(`${r.name}${path}`); return; }
        if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    walk(r.inputs, "");
    return found;
});
const byName = (resources: Registered[]) => [...resources].sort((a, b) => a.name.localeCompare(b.name));
/** The manager's side: every resource but the workers', their group or firewall and the Swarm's. */
const managerSide = (resources: Registered[]) => byName(resources)
    .filter((r) => !/-(worker-\d+|workers|swarm)(-ready)?$/.test(r.name))
    .map((r) => ({
        type: r.type, name: r.name, inputs: r.inputs,
        opts: {
            protect: r.opts.protect, retainOnDelete: r.opts.retainOnDelete, deleteBeforeReplace: r.opts.deleteBeforeReplace,
            ignoreChanges: r.opts.ignoreChanges, replaceOnChanges: r.opts.replaceOnChanges, replacementTrigger: r.opts.replacementTrigger,
            dependsOn: ([] as unknown[]).concat(r.opts.dependsOn ?? []).length,
        },
    }));
const workerSide = (resources: Registered[], worker: string) =>
    byName(resources).filter((r) => new RegExp(`-${worker}(-ready)?$`).test(r.name)).map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }));

describe("multi-host stacks: worker hosts beside the manager", function () {
    this.timeout(30_000);
    const runs: {
        do: Run<Host>[]; aws: Run<Host>[]; ssh?: Run<Host>;
        doStack?: Run<ReturnType<typeof buildStack>>; awsStack?: Run<ReturnType<typeof buildStack>>;
    } = { do: [], aws: [] };

    before(async () => {
        for (const workers of [0, 1, 2]) {
            runs.do.push(await targetOnly("stage", { swarmWorkers: workers }));
            runs.aws.push(await targetOnly("prod", { swarmWorkers: workers }));
        }
        runs.ssh = await targetOnly("stage", SSH_SERVERS);
        runs.doStack = await wholeStack("stage", { swarmWorkers: 2 });
        runs.awsStack = await wholeStack("prod", { swarmWorkers: 2 });
    });

    describe("DigitalOcean, swarmWorkers 2", () => {
        it("makes two worker droplets like the manager, without volume or reserved IP, each with its readiness step", async () => {
            const { resources } = runs.do[2];
            const droplets = ofType(resources, "digitalocean:index/droplet:Droplet");
            expect(droplets.map((d) => d.name)).to.deep.equal(["digitalocean", "digitalocean-worker-1", "digitalocean-worker-2"]);
            const [manager, ...workers] = droplets;
            for (const w of workers) {
                expect(w.inputs).to.include({ region: manager.inputs.region, size: manager.inputs.size, image: manager.inputs.image, vpcUuid: "mock-vpc-uuid" });
                expect(w.inputs.tags).to.deep.equal([...manager.inputs.tags, "webstack-stage-worker"]);
                expect(w.opts.provider, "the default DigitalOcean provider, as the manager").to.equal(undefined);
                expect(await urnOf(w)).to.match(/webstack:targets:DigitalOceanHost\$webstack:targets:DigitalOceanWorker::digitalocean-worker-\d$/);
            }
            expect(manager.inputs).not.to.have.property("vpcUuid");
            expect(ofType(resources, "digitalocean:index/volume:Volume")).to.have.length(1);
            expect(ofType(resources, "digitalocean:index/volumeAttachment:VolumeAttachment").map((a) => a.inputs.dropletId)).to.deep.equal([424242]);
            expect(ofType(resources, "digitalocean:index/reservedIpAssignment:ReservedIpAssignment").map((a) => a.inputs.dropletId)).to.deep.equal([424242]);
            expect(ofType(resources, "pulumi:providers:docker"), "the workers are reached by ssh, not by a provider").to.have.length(1);

            const ready = readySteps(resources);
            expect(ready.map((c) => c.name)).to.deep.equal(["digitalocean-ready", "digitalocean-worker-1-ready", "digitalocean-worker-2-ready"]);
            for (const [i, step] of ready.slice(1).entries()) {
                expect(step.inputs.create).to.include(`'deploy@192.0.2.${11 + i}'`).and.include("test -f /var/lib/webstack/ready && docker info")
                    .and.include(`ssh-keygen -R '192.0.2.${11 + i}'`).and.not.include("mountpoint").and.not.include("resize2fs");
                expect(step.inputs.triggers).to.deep.equal([String(424301 + i)]);
                expect(step.opts.dependsOn, "its firewalls exist first").to.have.length(2);
                expect(await urnOf(step)).to.match(new RegExp(`webstack:targets:DigitalOceanWorker::digitalocean-worker-${i + 1}$`));
            }
        });

        it("yields the workers (private IPv4, ssh shell, readiness, droplet id) and the manager's private address", async () => {
            const host = runs.do[2].result;
            expect(await value(host.privateAddress!)).to.equal("10.110.0.2");
            expect(host.workers.map((w) => w.name)).to.deep.equal(["worker-1", "worker-2"]);
            for (const [i, w] of host.workers.entries()) {
                expect(await value(w.privateAddress)).to.equal(`10.110.0.${3 + i}`);
                expect(await value(w.machineId!)).to.equal(String(424301 + i));
                expect(await value(w.shell("docker info"))).to.match(new RegExp(`^ssh -o BatchMode=yes .*'UserKnownHostsFile=~/.ssh/known_hosts_webstack_stage' .*'deploy@192\\.0\\.2\\.${11 + i}' 'docker info'$`));
                expect(w.ready.map((r) => (r as unknown as { __name: string }).__name))
                    .to.deep.equal([`digitalocean-worker-${i + 1}-ready`, "digitalocean-workers", "digitalocean-swarm"]);
            }
            expect(runs.do[0].result.workers).to.deep.equal([]);
        });

        it("firewalls: Swarm and registry ports only between the stack's droplets; the world reaches 80/443 on the manager only; SSH from sshAllowedCidrs", () => {
            const firewalls = ofType(runs.do[2].resources, "digitalocean:index/firewall:Firewall");
            expect(firewalls.map((f) => f.name)).to.deep.equal(["digitalocean", "digitalocean-workers", "digitalocean-swarm"]);
            const [manager, workers, swarm] = firewalls;
            expect(manager.inputs.dropletIds).to.deep.equal([424242]);
            expect(workers.inputs.dropletIds).to.deep.equal([424301, 424302]);
            expect(workers.inputs.inboundRules).to.deep.equal([{ protocol: "tcp", portRange: "22", sourceAddresses: STAGE_SSH }]);
            expect(workers.inputs.outboundRules).to.deep.equal(manager.inputs.outboundRules);
            const stack = [424242, 424301, 424302];
            expect(swarm.inputs.dropletIds).to.deep.equal(stack);
            expect(swarm.inputs.inboundRules).to.deep.equal([
                { protocol: "tcp", portRange: "2377", sourceDropletIds: stack },
                { protocol: "tcp", portRange: "7946", sourceDropletIds: stack },
                { protocol: "udp", portRange: "7946", sourceDropletIds: stack },
                { protocol: "udp", portRange: "4789", sourceDropletIds: stack },
                { protocol: "tcp", portRange: "5000", sourceDropletIds: stack },
            ]);
            expect(swarm.inputs).not.to.have.property("outboundRules");
            for (const f of firewalls) {
                for (const rule of f.inputs.inboundRules as { protocol: string; portRange: string; sourceAddresses?: string[] }[]) {
                    const open = (rule.sourceAddresses ?? []).filter((a) => WORLD.includes(a));
                    if (open.length > 0) {
                        expect(f.name).to.equal("digitalocean");
                        expect(["80", "443"]).to.include(rule.portRange);
                    }
                    if (rule.portRange === "22") expect(rule.sourceAddresses).to.deep.equal(STAGE_SSH);
                    if (SWARM_PORTS.some((p) => String(p.port) === rule.portRange)) expect(rule).not.to.have.property("sourceAddresses");
                }
            }
        });

        it("the workers' user data: the manager's user, keys and Docker, without the data volume", () => {
            const droplets = ofType(runs.do[2].resources, "digitalocean:index/droplet:Droplet");
            const [manager, worker] = droplets.map((d) => YAML.parse(d.inputs.userData as string));
            expect(droplets[1].inputs.userData).to.equal(droplets[2].inputs.userData);
            expect((droplets[1].inputs.userData as string).startsWith("#cloud-config\n")).to.equal(true);
            for (const key of ["users", "ssh_pwauth", "package_update", "packages", "runcmd"]) expect(worker[key], key).to.deep.equal(manager[key]);
            const files = (c: { write_files: { path: string; content: string }[] }) => Object.fromEntries(c.write_files.map((f) => [f.path, f.content]));
            const [m, w] = [files(manager), files(worker)];
            expect(Object.keys(w)).to.deep.equal(Object.keys(m).filter((p) => !p.startsWith("/etc/systemd/system/docker.service.d/")));
            expect(w["/etc/docker/daemon.json"]).to.equal(m["/etc/docker/daemon.json"]);
            const setup = w["/usr/local/sbin/webstack-setup"];
            expect(setup).to.equal(renderSetupScript({ sshUser: "deploy", dataDevices: [] }));
            expect(setup).to.include("apt-get install -y -q docker.io").and.include("usermod -aG docker 'deploy'").and.include("touch '/var/lib/webstack/ready'");
            expect(setup).not.to.match(/mkfs|mount|blkid|\/mnt\/data/);
            // The manager's script is the worker's with the volume's part before Docker.
            expect(m["/usr/local/sbin/webstack-setup"].endsWith(setup.slice("#!/bin/sh\nset -eu\n".length))).to.equal(true);
        });
    });

    describe("AWS, swarmWorkers 2", () => {
        it("makes two worker instances like the manager (AMI, type, subnet, IMDSv2, encrypted root), without EBS volume, EIP or role", async () => {
            const { resources } = runs.aws[2];
            // Registered in the order their inputs resolve: sorted by name.
            const instances = byName(ofType(resources, "aws:ec2/instance:Instance"));
            expect(instances.map((i) => i.name)).to.deep.equal(["aws", "aws-worker-1", "aws-worker-2"]);
            const [manager, ...workers] = instances;
            for (const w of workers) {
                expect(w.inputs).to.include({ ami: manager.inputs.ami, instanceType: "t3.medium", subnetId: manager.inputs.subnetId, associatePublicIpAddress: true, userDataReplaceOnChange: true });
                expect(w.inputs.metadataOptions).to.include({ httpTokens: "required", httpEndpoint: "enabled" });
                expect(w.inputs.rootBlockDevice).to.deep.equal(manager.inputs.rootBlockDevice);
                expect(w.inputs.rootBlockDevice.encrypted).to.equal(true);
                expect(w.inputs).not.to.have.property("iamInstanceProfile");
                expect(w.opts.ignoreChanges).to.deep.equal(["ami"]);
                // prod and stage have the same user and keys: the same cloud-config as a DigitalOcean worker.
                expect(w.inputs.userData).to.equal(ofType(runs.do[2].resources, "digitalocean:index/droplet:Droplet")[1].inputs.userData);
                expect(await urnOf(w)).to.match(/webstack:targets:AwsHost\$webstack:targets:AwsWorker::aws-worker-\d$/);
            }
            expect(ofType(resources, "aws:ebs/volume:Volume")).to.have.length(1);
            expect(ofType(resources, "aws:ec2/volumeAttachment:VolumeAttachment").map((a) => a.inputs.instanceId)).to.deep.equal(["aws-id"]);
            expect(ofType(resources, "aws:ec2/eip:Eip")).to.have.length(1);
            expect(ofType(resources, "aws:iam/instanceProfile:InstanceProfile")).to.have.length(1);

            const ready = byName(readySteps(resources));
            expect(ready.map((c) => c.name)).to.deep.equal(["aws-ready", "aws-worker-1-ready", "aws-worker-2-ready"]);
            for (const [i, step] of ready.slice(1).entries()) {
                expect(step.inputs.create).to.include(`'deploy@192.0.2.${101 + i}'`).and.not.include("mountpoint");
                expect(step.inputs.triggers).to.deep.equal([`aws-worker-${i + 1}-id`]);
                expect(await urnOf(step)).to.match(new RegExp(`webstack:targets:AwsWorker::aws-worker-${i + 1}$`));
            }

            const host = runs.aws[2].result;
            expect(await value(host.privateAddress!)).to.equal("172.31.0.10");
            expect(await Promise.all(host.workers.map((w) => value(w.privateAddress)))).to.deep.equal(["172.31.0.11", "172.31.0.12"]);
            expect(await Promise.all(host.workers.map((w) => value(w.machineId!)))).to.deep.equal(["aws-worker-1-id", "aws-worker-2-id"]);
        });

        it("security groups: Swarm and registry ports only from the stack's own group; the world reaches 80/443 on the manager only; SSH from sshAllowedCidrs", () => {
            const { resources } = runs.aws[2];
            const groups = byName(ofType(resources, "aws:ec2/securityGroup:SecurityGroup"));
            expect(groups.map((g) => g.name)).to.deep.equal(["aws", "aws-swarm", "aws-workers"]);
            const group = Object.fromEntries(groups.map((g) => [g.name, g]));
            const instances = byName(ofType(resources, "aws:ec2/instance:Instance"));
            expect(instances.map((i) => i.inputs.vpcSecurityGroupIds)).to.deep.equal([
                ["aws-id", "aws-swarm-id"], ["aws-workers-id", "aws-swarm-id"], ["aws-workers-id", "aws-swarm-id"],
            ]);
            const swarm = group["aws-swarm"];
            expect(swarm.inputs.vpcId).to.equal("vpc-0123");
            expect(swarm.inputs.ingress.map((r: Record<string, unknown>) => [r.protocol, r.fromPort, r.toPort, r.self, r.cidrBlocks, r.ipv6CidrBlocks, r.securityGroups]))
                .to.deep.equal(SWARM_PORTS.map((p) => [p.protocol, p.port, p.port, true, undefined, undefined, undefined]));
            expect(swarm.inputs.egress).to.deep.equal([]);
            expect(group["aws-workers"].inputs.ingress).to.deep.equal([{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: PROD_SSH, ipv6CidrBlocks: [] }]);
            for (const g of groups) {
                for (const rule of g.inputs.ingress as { fromPort: number; toPort: number; cidrBlocks?: string[]; ipv6CidrBlocks?: string[] }[]) {
                    const blocks = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])];
                    if (blocks.some((b) => WORLD.includes(b))) {
                        expect(g.name).to.equal("aws");
                        expect([80, 443]).to.include(rule.fromPort);
                        expect(rule.toPort).to.equal(rule.fromPort);
                    }
                    if (rule.fromPort <= 22 && 22 <= rule.toPort) expect(blocks).to.deep.equal(PROD_SSH);
                }
            }
        });
    });

    describe("target ssh, two sshWorkerHosts", () => {
        it("readies each worker over ssh like the manager, creating nothing around them; addresses as given", async () => {
            const { resources, result: host } = runs.ssh!;
            expect(resources.filter((r) => /^(digitalocean|aws):/.test(r.type))).to.deep.equal([]);
            const ready = readySteps(resources);
            expect(ready.map((c) => c.name)).to.deep.equal(["ssh-ready", "ssh-worker-1-ready", "ssh-worker-2-ready"]);
            for (const [i, step] of ready.slice(1).entries()) {
                const address = SSH_SERVERS.sshWorkerHosts[i];
                expect(step.inputs.create).to.include("'-p' '2222'").and.include("'-i' '~/.ssh/deploy_ed25519'")
                    .and.include(`'deploy@${address}' 'docker version`).and.not.include("ssh-keygen -R");
                expect(await urnOf(step)).to.match(new RegExp(`webstack:targets:SshHost\\$webstack:targets:SshWorker::ssh-worker-${i + 1}$`));
            }
            expect(await value(host.privateAddress!)).to.equal("203.0.113.5");
            expect(host.workers.map((w) => w.name)).to.deep.equal(["worker-1", "worker-2"]);
            expect(await Promise.all(host.workers.map((w) => value(w.privateAddress)))).to.deep.equal(SSH_SERVERS.sshWorkerHosts);
            expect(host.workers.map((w) => w.machineId)).to.deep.equal([undefined, undefined]);
            expect(await value(host.workers[1].shell("docker info"))).to.match(/^ssh -o BatchMode=yes .*'-p' '2222' '-i' '~\/.ssh\/deploy_ed25519' 'deploy@10\.0\.0\.13' 'docker info'$/);
            expect(host.workers[0].ready).to.have.length(1);
        });
    });

    describe("growing and shrinking", () => {
        it("DigitalOcean: the manager's resources are the same with 0, 1 or 2 workers, and worker-1's with 1 or 2", () => {
            const [zero, one, two] = runs.do.map((r) => r.resources);
            expect(managerSide(one)).to.deep.equal(managerSide(zero));
            expect(managerSide(two)).to.deep.equal(managerSide(zero));
            expect(workerSide(two, "worker-1")).to.deep.equal(workerSide(one, "worker-1")).and.to.have.length(3);
            expect(zero.filter((r) => /worker|swarm/.test(r.name))).to.deep.equal([]);
        });

        it("AWS: the same, except that the first worker puts the manager into the Swarm group (in place: no new instance or volume)", () => {
            const [zero, one, two] = runs.aws.map((r) => r.resources);
            expect(managerSide(two)).to.deep.equal(managerSide(one));
            expect(workerSide(two, "worker-1")).to.deep.equal(workerSide(one, "worker-1")).and.to.have.length(3);
            const withoutGroups = (rs: Registered[]) => managerSide(rs).map((r) => r.type === "aws:ec2/instance:Instance"
                ? { ...r, inputs: { ...r.inputs, vpcSecurityGroupIds: undefined } } : r);
            expect(withoutGroups(one)).to.deep.equal(withoutGroups(zero));
            expect(named(zero, "aws:ec2/instance:Instance", "aws").inputs.vpcSecurityGroupIds).to.deep.equal(["aws-id"]);
            // vpcSecurityGroupIds is updated in place on a VPC instance; user data, AMI, subnet and
            // type (what would replace it) are unchanged, and so is the volume.
            expect(named(one, "aws:ebs/volume:Volume", "aws-data").inputs).to.deep.equal(named(zero, "aws:ebs/volume:Volume", "aws-data").inputs);
            expect(zero.filter((r) => /worker|swarm/.test(r.name))).to.deep.equal([]);
        });
    });

    describe("the whole program with two workers", () => {
        it("registers each cloud's workers and their readiness steps beside the stack's containers", () => {
            for (const [run, machine, prefix] of [
                [runs.doStack!, "digitalocean:index/droplet:Droplet", "digitalocean"],
                [runs.awsStack!, "aws:ec2/instance:Instance", "aws"],
            ] as const) {
                expect(ofType(run.resources, machine)).to.have.length(3);
                expect(readySteps(run.resources).map((c) => c.name)).to.include.members([`${prefix}-ready`, `${prefix}-worker-1-ready`, `${prefix}-worker-2-ready`]);
                expect(run.result.parts.host.workers).to.have.length(2);
            }
        });

        it("the Swarm joins each worker through its shell, after its readiness, again with a new machine; the token only in secrets", async () => {
            for (const [run, prefix, address, machine] of [
                [runs.doStack!, "digitalocean", (i: number) => `192.0.2.${11 + i}`, (i: number) => String(424301 + i)],
                [runs.awsStack!, "aws", (i: number) => `192.0.2.${101 + i}`, (i: number) => `aws-worker-${i + 1}-id`],
            ] as const) {
                const commands = ofType(run.resources, "command:local:Command");
                const init = named(commands, "command:local:Command", "swarm-init");
                expect(String(unwrap(init.inputs.create))).to.match(/^ssh -o BatchMode=yes .*docker swarm init --advertise-addr/s);
                for (const [i, worker] of run.result.parts.host.workers.entries()) {
                    const join = named(commands, "command:local:Command", `swarm-${worker.name}-join`);
                    const create = String(unwrap(join.inputs.create));
                    expect(create, prefix).to.match(new RegExp(`^ssh -o BatchMode=yes .*'deploy@${address(i).replace(/\./g, "\\.")}' 'set -eu\ntoken=\\$\\(cat\\)`));
                    expect(create).to.include("docker swarm join --token \"$token\"").and.include(`--advertise-addr '\\''${await value(worker.privateAddress)}'\\''`);
                    expect(join.inputs.triggers).to.include(machine(i));
                    const dependsOn = ([] as pulumi.Resource[]).concat((join.opts.dependsOn ?? []) as pulumi.Resource[]);
                    for (const r of worker.ready) expect(dependsOn, `${join.name} waits for ${(r as unknown as { __name: string }).__name}`).to.include(r);
                    expect(isSecretValue(join.inputs.stdin)).to.equal(true);
                    expect(unwrap(join.inputs.stdin)).to.equal(`${MOCK_JOIN_TOKEN}\n`);
                    expect(inTheClear([{ ...join, inputs: { stdin: unwrap(join.inputs.stdin) } }], MOCK_JOIN_TOKEN), "the control").to.have.length(1);
                }
                expect(inTheClear(run.resources, MOCK_JOIN_TOKEN), `${prefix}: the join token outside secret inputs`).to.deep.equal([]);
                expect(inTheClear(run.resources, "SWMTKN"), "the control: the token's prefix").to.deep.equal([]);
            }
        });
    });
});
