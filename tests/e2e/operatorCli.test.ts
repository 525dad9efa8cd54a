/**
 * The operator's commands (bin/webstack) against the dev stack's rendered containers on the real
 * Docker engine (tests/e2e/dockerCli.ts brings them up with the docker CLI; the docker provider
 * plugin cannot be built here). bin/webstack runs as operators run it, as a process, with the
 * real docker CLI. Only `pulumi` is a TEST-ONLY fake (tests/e2e/fakes/pulumi): it prints the
 * outputs the program renders under mocks, with the engine's real container names put in, and
 * records `config set` and `up`, which rollback and maintenance run. What those deploys do is
 * checked under mocks (tests/unit/cli, tests/unit/deploys.test.ts). Everything is named
 * webstack-dev-* and removed before and after; traffic goes only to 127.0.0.1.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { PROJECT, Registered } from "../harness";
import { renderStackWithOutputs } from "../integration/program";
import { docker, dockerOk } from "./dockerCli";
import { getLocal, stackSuite } from "./stackSuite";

const PREFIX = `${PROJECT}-dev-`;
const ROOT = path.resolve(__dirname, "..", "..");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "webstack-cli-e2e-"));
const OUTPUTS = path.join(scratch, "outputs.json");
const LOG = path.join(scratch, "pulumi.log");
/** A webhook receiver on the stack's frontend network (the monitor posts there; nothing leaves the engine). */
const HOOK = `${PREFIX}hook`;
const HOOK_URL = `http://${HOOK}:8080/hooks/ops`;
/** The receiver: records each POST's path and body, one JSON line each, in /tmp/posts. */
const HOOK_SERVER = `
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        with open("/tmp/posts", "a") as f:
            f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"), "body": body}) + "\\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()
`;

interface CliResult { code: number | null; stdout: string; stderr: string; seconds: number }

/** bin/webstack as a process, with the fake pulumi first on PATH and the Debian docker CLI. */
function webstack(args: string[], env: Record<string, string> = {}, input?: string): CliResult {
    const started = Date.now();
    const r = spawnSync(path.join(ROOT, "bin", "webstack"), args, {
        encoding: "utf8",
        input: input ?? "",
        timeout: 300_000,
        env: {
            ...process.env,
            PATH: `${path.join(__dirname, "fakes")}:/usr/bin:/bin:/usr/sbin:/sbin:${process.env.PATH ?? ""}`,
            FAKE_PULUMI_OUTPUTS: OUTPUTS,
            FAKE_PULUMI_LOG: LOG,
            ...env,
        },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
}

/** The calls the fake pulumi received since the last look. */
function pulumiCalls(): string[] {
    const lines = fs.existsSync(LOG) ? fs.readFileSync(LOG, "utf8").split("\n").filter((l) => l !== "") : [];
    fs.writeFileSync(LOG, "");
    return lines.filter((l) => !l.startsWith("stack output"));
}

/** One sentence on stderr, no stack trace. */
function expectOneSentence(r: CliResult, command: string, pattern: RegExp) {
    expect(r.stderr.trim().split("\n"), r.stderr).to.have.length(1);
    expect(r.stderr).to.match(new RegExp(`^webstack ${command}: `));
    expect(r.stderr).to.match(pattern);
    expect(r.stderr).not.to.match(/\n\s+at /);
}

describe("operator commands (bin/webstack) on the dev stack, real Docker engine", function () {
    let outputs: Record<string, any> = {};
    const suite = stackSuite({
        title: "bin/webstack against the real engine",
        prefix: PREFIX,
        label: "cli",
        render: async () => {
            // The monitor exists only with a webhook; the suite's receiver stands in for Slack.
            const rendered = await renderStackWithOutputs("dev", { alertWebhookUrl: HOOK_URL, alertFormat: "slack" });
            outputs = rendered.outputs;
            return rendered.resources;
        },
    });

    /** The rendered outputs with the names the engine really gave the auto-named containers. */
    function writeOutputs(resources: Registered[], patch: (ops: any) => void = () => undefined) {
        const real = new Map<string, string>();
        for (const [resourceName, created] of suite.deployment().containers) {
            const registered = resources.find((r) => r.name === resourceName)!;
            real.set(String(registered.inputs.name ?? `${resourceName}-0000000`), created.name);
        }
        const ops = JSON.parse(JSON.stringify(outputs.operations));
        for (const service of Object.keys(ops.services)) ops.services[service] = real.get(ops.services[service]) ?? ops.services[service];
        patch(ops);
        fs.writeFileSync(OUTPUTS, JSON.stringify({ ...outputs, superuserPassword: "[secret]", databaseUrl: "[secret]", operations: ops }));
    }

    it("brings the stack up, and status shows every service with its health, the app image and the disks", async function () {
        this.timeout(900_000);
        await suite.up();
        await suite.expectHealthy(["db", `${PREFIX}web`, "proxy"]);
        writeOutputs(suite.resources());
        const r = webstack(["status", "--stack", "dev"]);
        expect(r.code, r.stderr).to.equal(0);
        for (const service of ["db", "web", "proxy", "backup", "autoheal", "monitor"]) expect(r.stdout).to.match(new RegExp(`^${service}\\s+${PREFIX}\\S*\\s+running`, "m"));
        expect(r.stdout).to.match(new RegExp(`^web\\s+${PREFIX}web-[0-9a-f]{7}\\s+running\\s+healthy\\s+\\d+ (s|min)\\s+${outputs.operations.appImage}`, "m"));
        expect(r.stdout).to.match(/^disk\s+\/backups: \d+% of \d/m);
        expect(r.stdout).to.match(/^certificate\s+none \(tls off\)/m);
        suite.record("status: 6 services running, web healthy", `exit 0 in ${r.seconds.toFixed(1)} s`);
    });

    it("logs: one service, all services in time order, and one sentence for an unknown service", function () {
        this.timeout(120_000);
        const web = webstack(["logs", "web", "--tail", "20"]);
        expect(web.code, web.stderr).to.equal(0);
        expect(web.stdout + web.stderr).to.match(/gunicorn|Listening at|Booting worker/i);
        const all = webstack(["logs", "--since", "1h"]);
        expect(all.code, all.stderr).to.equal(0);
        const services = new Set(all.stdout.split("\n").filter((l) => l.includes(" | ")).map((l) => l.split(" | ")[0].trim()));
        expect([...services]).to.include.members(["db", "web", "proxy"]);
        const unknown = webstack(["logs", "nosuch"]);
        expect(unknown.code).to.equal(1);
        expectOneSentence(unknown, "logs", /unknown service 'nosuch'; this stack has db, web, proxy, backup, autoheal, monitor/);
        const badSince = webstack(["logs", "web", "--since", "yesterday"]);
        expect(badSince.code).to.equal(2);
        expectOneSentence(badSince, "logs", /--since 'yesterday' is not a duration/);
        suite.record("logs: web, all (prefixed), bad input", `${services.size} services in the merged log`);
    });

    it("run, manage, shell: a one-off app container with the app's environment, exit codes passed through, removed after", async function () {
        this.timeout(300_000);
        const env = webstack(["run", "python3", "-c", "import os, sys; print(os.environ['DATABASE_URL'].split('@')[1]); sys.exit(7)"]);
        expect(env.code, env.stderr).to.equal(7);
        expect(env.stdout.trim()).to.match(/^db:5432\//);
        const migrations = webstack(["manage", "migrate", "--check"]);
        expect(migrations.code, migrations.stderr).to.equal(0);
        const django = webstack(["shell", "-c", "from django.contrib.auth.models import User; print(User.objects.filter(is_superuser=True).count())"]);
        expect(django.code, django.stderr).to.equal(0);
        // Django 5.2's shell first reports its automatic imports.
        expect(django.stdout.trim().split("\n").pop()).to.equal("1");
        const stdin = webstack(["run", "python3", "-"], {}, "print(6 * 7)\n");
        expect(stdin.stdout.trim()).to.equal("42");
        const failing = webstack(["manage", "nosuchcommand"]);
        expect(failing.code).to.equal(1);
        expect(failing.stderr).to.match(/Unknown command: 'nosuchcommand'/);
        const left = await dockerOk(["ps", "-a", "--filter", `name=${PREFIX}run-`, "--format", "{{.Names}}"]);
        expect(left.stdout.trim()).to.equal("");
        const noCommand = webstack(["run"]);
        expect(noCommand.code).to.equal(2);
        expectOneSentence(noCommand, "run", /run needs a command/);
        suite.record("run/manage/shell: env, stdin, exit 7 and 1 passed", `manage migrate --check ${migrations.seconds.toFixed(1)} s; 0 left`);
    });

    it("dbshell: psql on the app's database, its exit status passed through", function () {
        this.timeout(60_000);
        const count = webstack(["dbshell", "-X", "-A", "-t", "-c", "select count(*) > 0 from django_migrations"]);
        expect(count.code, count.stderr).to.equal(0);
        expect(count.stdout.trim()).to.equal("t");
        const q3c = webstack(["dbshell", "-X", "-A", "-t", "-c", "select q3c_dist(0, 0, 1, 0)"]);
        expect(Number(q3c.stdout.trim())).to.be.closeTo(1, 1e-9);
        const error = webstack(["dbshell", "-c", "select 1/0"]);
        expect(error.code).to.equal(1);
        expect(error.stderr).to.match(/division by zero/);
        suite.record("dbshell: query, q3c, error exit", "t; q3c_dist 1; exit 1");
    });

    it("backup (dump and media) then restore --force latest of both, and a refused restore of a missing file", async function () {
        this.timeout(300_000);
        const web = suite.deployment().containers.get(`${PREFIX}web`)!.name;
        // An upload, owned by the app's user as the app would write it.
        await dockerOk(["exec", web, "sh", "-c", "mkdir -p /app/media/uploads && echo sky > /app/media/uploads/field-1.txt"]);
        const taken = webstack(["backup"]);
        expect(taken.code, taken.stderr).to.equal(0);
        const [media, dump] = taken.stdout.trim().split("\n");
        expect(media).to.match(/^media-\d{8}T\d{6}Z\.tar\.gz$/);
        expect(dump).to.match(/^app-\d{8}T\d{6}Z\.dump$/);
        await dockerOk(["exec", web, "sh", "-c", "rm /app/media/uploads/field-1.txt && echo stray > /app/media/uploads/later.txt"]);
        const refused = webstack(["restore", "--media", "latest"]);
        expect(refused.code).to.equal(1);
        expect(refused.stderr).to.match(/not empty|--force/);
        const mediaBack = webstack(["restore", "--media", "--force", "latest"]);
        expect(mediaBack.code, mediaBack.stderr).to.equal(0);
        const files = await dockerOk(["exec", web, "sh", "-c", "ls /app/media/uploads; stat -c %u /app/media/uploads/field-1.txt; cat /app/media/uploads/field-1.txt"]);
        expect(files.stdout.trim().split("\n")).to.deep.equal(["field-1.txt", (await dockerOk(["exec", web, "id", "-u"])).stdout.trim(), "sky"]);
        const list = webstack(["backup", "--list"]);
        expect(list.stdout).to.include(dump);
        const status = webstack(["status"]);
        expect(status.stdout).to.match(new RegExp(`^last dump\\s+${dump.replace(/\./g, "\\.")}, \\d`, "m"));
        expect(status.stdout).to.match(new RegExp(`^last media\\s+${media.replace(/\./g, "\\.")}, \\d`, "m"));
        const restored = webstack(["restore", "--force", "latest"]);
        expect(restored.code, restored.stderr).to.equal(0);
        const home = await getLocal(suite.proxyPort(), "/");
        expect(home.status).to.equal(200);
        const missing = webstack(["restore", "app-19990101T000000Z.dump"]);
        expect(missing.code).to.not.equal(0);
        expect(missing.stderr).to.match(/not found|no such|does not exist/i);
        const bad = webstack(["restore", "../etc/passwd"]);
        expect(bad.code).to.equal(2);
        suite.record("backup + media, status, restore both --force", `${dump}, ${media}; backup ${taken.seconds.toFixed(1)} s, restore ${restored.seconds.toFixed(1)} + ${mediaBack.seconds.toFixed(1)} s`);
    });

    it("rollback picks the newest other app image on the host and deploys it through pulumi; clear undoes it", async function () {
        this.timeout(300_000);
        const current = outputs.operations.appImage as string;
        const previous = `${PREFIX}app:e2e-previous`;
        // A different image (another id) of the app's repository, newer than any other.
        await dockerOk(["build", "-t", previous, "-"], { input: `FROM ${current}\nLABEL webstack.e2e=previous\n`, timeoutMs: 120_000 });
        try {
            pulumiCalls();
            const r = webstack(["rollback", "--stack", "dev", "--yes"]);
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stdout).to.include(`from ${current} to ${previous}`);
            expect(pulumiCalls()).to.deep.equal([`config set rollbackImage ${previous} --stack dev`, "up --stack dev --yes"]);

            const failed = webstack(["rollback", "--stack", "dev", "--yes"], { FAKE_PULUMI_UP_EXIT: "255" });
            expect(failed.code).to.equal(255);
            expectOneSentence(failed, "rollback", /pulumi up did not finish \(exit 255\).*rollback --clear --stack dev/);

            writeOutputs(suite.resources(), (ops) => { ops.imageSource = "rollbackImage"; ops.appImage = previous; });
            pulumiCalls();
            const cleared = webstack(["rollback", "--clear", "--stack", "dev"]);
            expect(cleared.code, cleared.stderr).to.equal(0);
            expect(pulumiCalls()).to.deep.equal(["config rm rollbackImage --stack dev", "up --stack dev"]);

            // A repository with only the image the web container runs: nothing to roll back to.
            const solo = `${PREFIX}solo-app`;
            await dockerOk(["tag", current, `${solo}:only`]);
            writeOutputs(suite.resources(), (ops) => { ops.appRepository = solo; });
            const none = webstack(["rollback", "--yes"]);
            expect(none.code).to.equal(1);
            expectOneSentence(none, "rollback", new RegExp(`no previous image of ${solo} on the local Docker engine`));
            expect(pulumiCalls()).to.deep.equal([]);
            await docker(["rmi", `${solo}:only`]);
            suite.record("rollback: previous image chosen, pulumi called", `${previous}; up failure and no-image: one sentence`);
        } finally {
            await docker(["rmi", "-f", previous]);
            writeOutputs(suite.resources());
        }
    });

    it("maintenance on/off goes through pulumi config and up; stacks never deployed or unknown get one sentence", function () {
        this.timeout(60_000);
        pulumiCalls();
        const on = webstack(["maintenance", "on", "--yes", "-s", "dev"]);
        expect(on.code, on.stderr).to.equal(0);
        expect(pulumiCalls()).to.deep.equal(["config set maintenance true --stack dev", "up --stack dev --yes"]);
        const state = webstack(["maintenance"]);
        expect(state.stdout).to.match(/maintenance is off/);

        fs.writeFileSync(OUTPUTS, "{}");
        const never = webstack(["status", "--stack", "fresh"]);
        expect(never.code).to.equal(1);
        expectOneSentence(never, "status", /stack 'fresh' has never been deployed .*pulumi up --stack fresh/);
        const unknown = webstack(["logs", "--stack", "nope"], { FAKE_PULUMI_NO_STACK: "nope" });
        expectOneSentence(unknown, "logs", /stack 'nope' does not exist in this Pulumi backend/);
        writeOutputs(suite.resources());
        suite.record("maintenance via pulumi; never deployed; unknown", "one sentence each");
    });

    it("alerts: a restart of a watched container reaches the webhook as Slack JSON, without the URL in any log", async function () {
        this.timeout(120_000);
        const network = `${PREFIX}frontend`;
        await docker(["rm", "-f", HOOK]);
        await dockerOk(["run", "-d", "--name", HOOK, "--network", network, "python:3.12-slim-bookworm", "python3", "-c", HOOK_SERVER]);
        try {
            const monitor = suite.deployment().containers.get("monitor")!.name;
            await suite.expectHealthy(["monitor"], 120);
            const web = suite.deployment().containers.get(`${PREFIX}web`)!.name;
            const restarted = Date.now();
            await dockerOk(["restart", "-t", "10", web], { timeoutMs: 60_000 });
            let posts: { path: string; type: string; body: string }[] = [];
            for (let i = 0; i < 60 && posts.length === 0; i++) {
                await new Promise((r) => setTimeout(r, 1000));
                const read = await docker(["exec", HOOK, "cat", "/tmp/posts"]);
                posts = read.code === 0 ? read.stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)) : [];
            }
            const seconds = (Date.now() - restarted) / 1000;
            expect(posts, "no POST reached the webhook within 60 s").to.have.length.greaterThan(0);
            expect(posts[0].path).to.equal("/hooks/ops");
            expect(posts[0].type).to.match(/^application\/json/);
            const body = JSON.parse(posts[0].body);
            expect(Object.keys(body)).to.deep.equal(["text"]);
            expect(body.text).to.include(web);
            const logs = await docker(["logs", monitor]);
            expect(logs.stdout + logs.stderr).not.to.include(HOOK_URL);
            await suite.expectHealthy([`${PREFIX}web`], 120);
            suite.record("alert: restart of web -> webhook (Slack JSON)", `${posts.length} POST, first within ${seconds.toFixed(1)} s`);
        } finally {
            await docker(["rm", "-f", HOOK]);
        }
    });
});
