/**
 * The scripts the program runs on the host's engine, run here on a real Docker engine
 * (tests/engine/dockerd.sh) with the docker CLI: the release step (environment from stdin, exit
 * code passed through, failure kept for `docker logs`, timeout reported as such) and the image
 * pruning job (keeps the newest two and anything in use). Images are the tests' Debian base and
 * the autoheal stand-in (tests/standins), never pulled.
 */
import { expect } from "chai";
import { IMAGES_KEPT, renderImagePrune } from "../../components/imagePruning";
import { renderReleaseCleanup, renderReleaseRun } from "../../components/release";
import { PINNED_IMAGES } from "../../components/images";
import { requireBinary, run, RunResult } from "./servers";

const DOCKER = "docker";
const BASE = "webstack-standin/debian:bookworm";
const NETWORK = "webstack-it-release";
const VOLUME = "webstack-it-release-data";
const RELEASE = "webstack-it-release";

const docker = (args: string[], input?: string) => run(DOCKER, args, { input, timeoutMs: 120_000 });
async function ok(args: string[], input?: string): Promise<RunResult> {
    const result = await docker(args, input);
    if (result.code !== 0) throw new Error(`docker ${args.join(" ")} failed:\n${result.output}`);
    return result;
}
const release = (command: string[], input: string, timeoutSeconds = 60) => run("sh", ["-c", renderReleaseRun({
    name: RELEASE,
    image: BASE,
    network: NETWORK,
    mounts: [{ source: VOLUME, target: "/data" }],
    command,
    timeoutSeconds,
})], { input, timeoutMs: 120_000 });
const exists = async (name: string) => (await docker(["inspect", "--type", "container", name])).code === 0;

describe("host scripts on a real Docker engine", function () {
    this.timeout(180_000);

    before(async function () {
        requireBinary("/usr/bin/docker", "docker.io (tests/engine/dockerd.sh start)");
        const info = await docker(["info", "--format", "{{.ServerVersion}}"]);
        if (info.code !== 0) throw new Error(`no Docker engine answers; start one with tests/engine/dockerd.sh start:\n${info.output}`);
        for (const image of [BASE, PINNED_IMAGES.autoheal]) {
            if ((await docker(["image", "inspect", image])).code !== 0) {
                throw new Error(`${image} is missing; build the stand-ins with tests/standins/build.sh`);
            }
        }
        await docker(["rm", "-f", RELEASE]);
        await docker(["network", "rm", NETWORK]);
        await ok(["network", "create", "--internal", NETWORK]);
        await ok(["volume", "create", VOLUME]);
    });

    after(async function () {
        await docker(["rm", "-f", RELEASE]);
        await docker(["network", "rm", NETWORK]);
        await docker(["volume", "rm", VOLUME]);
    });

    it("release: passes the environment from stdin, mounts the volumes, exits 0 and removes its container", async () => {
        const result = await release(["sh", "-c", 'echo "greeting=$GREETING" | tee /data/out; test "$SECRET_KEY" = "a b=c"'],
            "GREETING=hello world\nSECRET_KEY=a b=c\n");
        expect(result.code, result.output).to.equal(0);
        expect(result.stdout).to.include("greeting=hello world");
        expect(await exists(RELEASE), "the container of a successful release is removed").to.equal(false);
        const data = await ok(["run", "--rm", "-v", `${VOLUME}:/data`, BASE, "cat", "/data/out"]);
        expect(data.stdout.trim()).to.equal("greeting=hello world");
    });

    it("release: a failure exits with the release's own code, says so, and keeps the container for docker logs", async () => {
        const result = await release(["sh", "-c", "echo migrating; echo 'no such table' >&2; exit 3"], "A=1\n");
        expect(result.code, result.output).to.equal(3);
        expect(result.stderr).to.include("release: exited with 3; the running web container was left as it was");
        expect(result.stderr).to.include(`docker logs ${RELEASE}`);
        const logs = await ok(["logs", RELEASE]);
        expect(logs.output).to.include("no such table");
        // The next run starts from a clean name; the cleanup removes a failed one.
        const again = await release(["true"], "A=1\n");
        expect(again.code, again.output).to.equal(0);
        await release(["false"], "A=1\n");
        expect(await exists(RELEASE)).to.equal(true);
        const cleanup = await run("sh", ["-c", renderReleaseCleanup(RELEASE)]);
        expect(cleanup.code).to.equal(0);
        expect(await exists(RELEASE)).to.equal(false);
    });

    it("release: one that runs out of time is stopped and reported as timed out (exit 124)", async () => {
        const started = Date.now();
        const result = await release(["sh", "-c", "trap 'exit 143' TERM; sleep 120 & wait"], "A=1\n", 3);
        const seconds = (Date.now() - started) / 1000;
        expect(result.code, result.output).to.equal(124);
        expect(result.stderr).to.include("release: timed out after 3 s (releaseTimeoutMinutes)");
        expect(seconds).to.be.below(30);
    });

    it("prune: keeps the newest two images of a repository and any image a container uses", async () => {
        const repo = "webstack-it-prune";
        const ids: string[] = [];
        for (let i = 1; i <= 4; i++) {
            const built = await ok(["build", "-q", "-t", `${repo}:${i}`, "-"], `FROM ${BASE}\nLABEL webstack.test.n=${i}\n`);
            ids.push(built.stdout.trim());
            await new Promise((r) => setTimeout(r, 1100)); // distinct creation times
        }
        await docker(["rm", "-f", "webstack-it-prune-user"]);
        await ok(["create", "--name", "webstack-it-prune-user", `${repo}:1`, "true"]);
        try {
            const result = await ok(["run", "--rm", "--network", "none", "-v", "/var/run/docker.sock:/var/run/docker.sock",
                "--entrypoint", "sh", PINNED_IMAGES.autoheal, "-c", renderImagePrune({ repositories: [repo], keep: IMAGES_KEPT })]);
            expect(result.stdout).to.include(`prune: removed ${repo} image ${ids[1]}`);
            expect(result.stdout).to.match(/prune: kept webstack-it-prune image sha256:\w+ \(in use\)/);
            const left = (await ok(["images", "--format", "{{.Tag}}", repo])).stdout.trim().split("\n").sort();
            expect(left).to.deep.equal(["1", "3", "4"]);
        } finally {
            await docker(["rm", "-f", "webstack-it-prune-user"]);
            for (let i = 1; i <= 4; i++) await docker(["rmi", `${repo}:${i}`]);
        }
    });
});
