/** The settings of a stack past one machine, checked without evaluating a stack (parseSettings alone). */
import { expect } from "chai";
import { PROJECT, stackConfig } from "../../harness";
import { ConfigError, parseSettings, Settings } from "../../../config/settings";

/** The stack file's values (Pulumi.yaml's defaults under them), with overrides, as parseSettings takes them. */
function parse(stack: string, overrides: Record<string, unknown>): Settings {
    const config = stackConfig(stack, overrides);
    const values = Object.fromEntries(Object.entries(config)
        .filter(([key]) => key.startsWith(`${PROJECT}:`))
        .map(([key, value]) => [key.slice(PROJECT.length + 1), value]));
    return parseSettings({ project: PROJECT, stack, values, awsRegion: config["aws:region"] });
}
const problems = (stack: string, overrides: Record<string, unknown>): string[] => {
    try {
        parse(stack, overrides);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    return [];
};
const ssh = { target: "ssh", sshHost: "203.0.113.5", dnsZone: "" };

describe("scale settings", () => {
    it("one host and one web container unless asked: swarm off", () => {
        expect(parse("dev", {}).scale).to.deep.equal({ swarm: false, webReplicas: 1, workers: 0, sshWorkerHosts: [], maxReplicasPerHost: 0, registry: "auto" });
        expect(parse("prod", {}).scale.swarm).to.equal(false);
    });

    it("replicas alone make a single-node Swarm; workers make a multi-host one", () => {
        expect(parse("dev", { webReplicas: 3 }).scale).to.include({ swarm: true, webReplicas: 3, workers: 0 });
        expect(parse("prod", { swarmWorkers: 2 }).scale).to.include({ swarm: true, webReplicas: 1, workers: 2 });
        expect(parse("stage", { ...ssh, sshWorkerHosts: ["10.0.0.3", "10.0.0.4"] }).scale).to.include({ swarm: true, workers: 2 });
    });

    it("refuses workers on the local target, and swarmWorkers that disagree with sshWorkerHosts", () => {
        expect(problems("dev", { swarmWorkers: 1 })).to.deep.equal([
            "webstack:swarmWorkers: the local target is this one machine; more hosts need target digitalocean, aws or ssh (sshWorkerHosts), so leave it at 0 here",
        ]);
        expect(problems("stage", { ...ssh, sshWorkerHosts: ["10.0.0.3"], swarmWorkers: 2 })[0]).to.match(/^webstack:swarmWorkers: target ssh takes its workers from sshWorkerHosts \(1 listed\)/);
        expect(problems("stage", { sshWorkerHosts: ["10.0.0.3"] })[0]).to.match(/^webstack:sshWorkerHosts: only target ssh uses it/);
    });

    it("refuses more replicas than the hosts hold at webMaxReplicasPerHost", () => {
        expect(problems("prod", { swarmWorkers: 2, webReplicas: 5, webMaxReplicasPerHost: 2 })).to.deep.equal([
            "webstack:webReplicas: 5 replicas do not fit on 2 hosts at webMaxReplicasPerHost 2 (at most 4); lower webReplicas or add hosts",
        ]);
        expect(problems("dev", { webReplicas: 3, webMaxReplicasPerHost: 2 })[0]).to.match(/3 replicas do not fit on 1 host at/);
        expect(problems("prod", { swarmWorkers: 2, webReplicas: 4, webMaxReplicasPerHost: 2 })).to.deep.equal([]);
    });

    it("refuses a multi-host stack that builds its image without a registry, or has no proxy", () => {
        expect(problems("prod", { swarmWorkers: 1, appRegistry: "none" })[0]).to.match(/^webstack:appRegistry: a stack on 2 hosts builds appContext on the manager/);
        expect(problems("prod", { swarmWorkers: 1, appRegistry: "none", appImage: "ghcr.io/org/app:1.0" })).to.deep.equal([]);
        expect(problems("dev", { ...ssh, sshWorkerHosts: ["10.0.0.3"], proxy: "none" })).to.include(
            "webstack:proxy: a multi-host stack needs a proxy in front of its web replicas; set nginx or traefik");
    });

    it("refuses values out of range", () => {
        expect(problems("dev", { webReplicas: 0 })).to.deep.equal(['webstack:webReplicas: expected a whole number from 1 to 100, got "0"']);
        expect(problems("prod", { swarmWorkers: 51 })).to.deep.equal(['webstack:swarmWorkers: expected a whole number from 0 to 50, got "51"']);
        expect(problems("dev", { appRegistry: "docker.io" })[0]).to.match(/^webstack:appRegistry: expected one of auto, none/);
        expect(problems("stage", { ...ssh, sshWorkerHosts: ["10.0.0.3", "app-3.example.org"] })).to.deep.equal([
            "webstack:sshWorkerHosts: a Swarm advertises and joins by IP address; give sshHost and sshWorkerHosts as the addresses the servers reach each other on (a private network), not names (app-3.example.org)",
        ]);
        expect(problems("stage", { ...ssh, sshWorkerHosts: ["not a host!"] })[0]).to.match(/^webstack:sshWorkerHosts: expected .*server addresses/);
    });
});
