/**
 * The alert scripts of the backup image (images/backup/{notify.py,monitor.py,schedule.sh}) run
 * with this machine's python3 and openssl against a webhook listener on 127.0.0.1 that records
 * every request: the exact Slack and ntfy JSON, the disk and certificate checks (a local
 * `openssl s_server` with short-lived certificates, chosen by SNI), repeats and "resolved"
 * messages, a failed scheduled backup, and autoheal-style restarts on the real Docker engine
 * (containers named alerts-test-*, removed afterwards). No traffic leaves 127.0.0.1.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { expect } from "chai";
import { ManagedProcess, PG_BIN, REPO, RunResult, SYSTEM_PATH, freePort, requireBinary, run, tempDir, waitForPort } from "./servers";

const IMAGE_DIR = path.join(REPO, "images", "backup");
const NOTIFY = path.join(IMAGE_DIR, "notify.py");
const MONITOR = path.join(IMAGE_DIR, "monitor.py");
const SCHEDULE = path.join(IMAGE_DIR, "schedule.sh");
const DOCKER = "/usr/bin/docker";
const SECRET_PATH = "/services/T0001/B0001/alerts-test-secret-path";

interface Received { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

/** An HTTP listener on 127.0.0.1 that records requests and answers `status`. */
class Webhook {
    readonly received: Received[] = [];
    status = 200;
    private server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => { body += d; });
        req.on("end", () => {
            this.received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
            res.writeHead(this.status, { "Content-Type": "text/plain" }).end("ok");
        });
    });
    port = 0;
    async start(): Promise<void> {
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
        this.port = (this.server.address() as { port: number }).port;
    }
    stop(): Promise<void> { return new Promise((resolve) => this.server.close(() => resolve())); }
    take(): Received[] { return this.received.splice(0); }
    bodies(): Record<string, unknown>[] { return this.take().map((r) => JSON.parse(r.body)); }
}

function why(result: RunResult): string {
    return `exit ${result.code ?? result.signal}:\n${result.output}`;
}

async function until(what: string, check: () => boolean, timeoutMs: number, log: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${log()}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

describe("alerts (images/backup: notify.py, monitor.py, schedule.sh)", function () {
    this.timeout(60_000);
    const hook = new Webhook();
    let tmp: ReturnType<typeof tempDir>;
    let slackUrl = "";
    const dir = (...parts: string[]) => path.join(tmp.path, ...parts);
    const env = (extra: Record<string, string> = {}) => ({
        PATH: SYSTEM_PATH, HOME: tmp.path, LANG: "C.UTF-8",
        ALERT_WEBHOOK_URL: slackUrl, ALERT_FORMAT: "slack", ALERT_SOURCE: "webstack-test", ...extra,
    });
    const once = (extra: Record<string, string>) => run("/usr/bin/python3", [MONITOR, "--once"], { env: env(extra) });

    before(async function () {
        requireBinary("/usr/bin/python3", "python3");
        requireBinary("/usr/bin/openssl", "openssl");
        tmp = tempDir("alerts");
        await hook.start();
        slackUrl = `http://127.0.0.1:${hook.port}${SECRET_PATH}`;
    });

    after(async function () {
        await hook.stop();
        tmp?.remove();
    });

    afterEach(() => { hook.take(); hook.status = 200; });

    it("notify.py posts Slack's {\"text\"} to the URL itself", async function () {
        const result = await run("/usr/bin/python3", [NOTIFY, "--title", "Backup failed", "pg_dump said no"], { env: env() });
        expect(result.code, why(result)).to.equal(0);
        const [request] = hook.take();
        expect(request.method).to.equal("POST");
        expect(request.url).to.equal(SECRET_PATH);
        expect(request.headers["content-type"]).to.equal("application/json");
        expect(request.body).to.equal(JSON.stringify({ text: "[webstack-test] Backup failed\npg_dump said no" }));
        expect(result.output).to.not.include(SECRET_PATH).and.to.not.include(String(hook.port));
    });

    it("notify.py posts ntfy's JSON to the server's root, the topic from the URL, credentials as Basic auth", async function () {
        const url = `http://alice:s3cret@127.0.0.1:${hook.port}/alerts-test-topic`;
        const result = await run("/usr/bin/python3", [NOTIFY, "--title", "Disk full", "--priority", "5", "--tags", "warning,floppy_disk", "99% used"],
            { env: env({ ALERT_WEBHOOK_URL: url, ALERT_FORMAT: "ntfy" }) });
        expect(result.code, why(result)).to.equal(0);
        const [request] = hook.take();
        expect(request.url).to.equal("/");
        expect(request.headers.authorization).to.equal(`Basic ${Buffer.from("alice:s3cret").toString("base64")}`);
        expect(request.body).to.equal(JSON.stringify({
            topic: "alerts-test-topic", title: "[webstack-test] Disk full", message: "99% used", priority: 5, tags: ["warning", "floppy_disk"],
        }));
        expect(result.output).to.not.include("s3cret").and.to.not.include("alerts-test-topic");
    });

    it("notify.py exits 1 when the webhook refuses or is unreachable (one retry), never printing the URL", async function () {
        hook.status = 500;
        const refused = await run("/usr/bin/python3", [NOTIFY, "x"], { env: env() });
        expect(refused.code, why(refused)).to.equal(1);
        expect(refused.stderr).to.include("the webhook answered HTTP 500");
        expect(hook.take()).to.have.lengthOf(2);
        const closed = await freePort();
        const unreachable = await run("/usr/bin/python3", [NOTIFY, "x"], { env: env({ ALERT_WEBHOOK_URL: `http://127.0.0.1:${closed}${SECRET_PATH}` }) });
        expect(unreachable.code, why(unreachable)).to.equal(1);
        expect(unreachable.stderr).to.include("could not be reached");
        for (const r of [refused, unreachable]) expect(r.output).to.not.include(SECRET_PATH);
    });

    it("monitor.py: a full disk is sent once, again only after the repeat interval, and resolved when it clears", async function () {
        const state = dir("disk-state.json");
        const disk = { ALERT_DISKS: `${tmp.path}=the test disk,/tmp`, MONITOR_STATE: state };
        const full = await once({ ...disk, ALERT_DISK_PERCENT: "0.01" });
        expect(full.code, why(full)).to.equal(0);
        const [alert, ...more] = hook.bodies() as { text: string }[];
        expect(more, "one filesystem, one message (the second path is on it too)").to.deep.equal([]);
        expect(alert.text).to.match(new RegExp(`^\\[webstack-test\\] Disk \\d+% full\\nThe disk of ${tmp.path} \\(the test disk\\) is \\d+% full, over the 0% threshold: [\\d.]+ GiB free of [\\d.]+ GiB\\.$`));

        expect((await once({ ...disk, ALERT_DISK_PERCENT: "0.01" })).code).to.equal(0);
        expect(hook.take(), "not repeated within 24 h").to.deep.equal([]);
        expect((await once({ ...disk, ALERT_DISK_PERCENT: "0.01", ALERT_REPEAT_SECONDS: "0" })).code).to.equal(0);
        const [again] = hook.bodies() as { text: string }[];
        expect(again.text).to.include("(still, since");

        const clear = await once({ ...disk, ALERT_DISK_PERCENT: "99.999" });
        expect(clear.code, why(clear)).to.equal(0);
        const [resolved] = hook.bodies() as { text: string }[];
        expect(resolved.text).to.match(/^\[webstack-test\] Resolved: Disk \d+% full\nResolved: Disk \d+% full \(now .* \d+%\)$/);
        expect((await once({ ...disk, ALERT_DISK_PERCENT: "99.999" })).code).to.equal(0);
        expect(hook.take(), "resolved once").to.deep.equal([]);
        for (const r of [full, clear]) expect(r.output).to.not.include(SECRET_PATH);
    });

    it("monitor.py: the certificate served for the site's name (SNI) close to expiry, in ntfy's form", async function () {
        const cert = (name: string, days: number) => {
            const r = spawnSync("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", String(days), "-subj", `/CN=${name}`,
                "-addext", `subjectAltName=DNS:${name}`, "-keyout", dir(`${name}.key`), "-out", dir(`${name}.pem`)], { encoding: "utf8" });
            expect(r.status, r.stderr).to.equal(0);
        };
        cert("default.alerts.test", 365);
        cert("site.alerts.test", 3);
        const port = await freePort();
        const server = new ManagedProcess("s_server", "/usr/bin/openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-naccept", "20", "-www",
            "-cert", dir("default.alerts.test.pem"), "-key", dir("default.alerts.test.key"),
            "-servername", "site.alerts.test", "-cert2", dir("site.alerts.test.pem"), "-key2", dir("site.alerts.test.key")], { env: env(), cwd: tmp.path });
        try {
            await waitForPort(port, { child: server });
            const ntfy = { ALERT_WEBHOOK_URL: `http://127.0.0.1:${hook.port}/site-alerts`, ALERT_FORMAT: "ntfy", ALERT_TLS_ADDRESS: `127.0.0.1:${port}` };
            const soon = await once({ ...ntfy, ALERT_TLS_SERVERNAME: "site.alerts.test", ALERT_CERTIFICATE_DAYS: "14", MONITOR_STATE: dir("cert-state.json") });
            expect(soon.code, why(soon)).to.equal(0);
            const [alert, ...more] = hook.bodies() as Record<string, any>[];
            expect(more).to.deep.equal([]);
            expect(alert).to.deep.include({ topic: "site-alerts", title: "[webstack-test] TLS certificate expires in 2 days", priority: 4, tags: ["warning"] });
            expect(alert.message).to.match(/^The certificate for site\.alerts\.test expires on \d{4}-\d\d-\d\d \d\d:\d\d UTC, in 2\.\d days \(alert threshold 14 days\)\.$/);

            // Another name gets the year-long default certificate: nothing to say.
            const later = await once({ ...ntfy, ALERT_TLS_SERVERNAME: "default.alerts.test", MONITOR_STATE: dir("cert-state-2.json") });
            expect(later.code, why(later)).to.equal(0);
            expect(hook.take()).to.deep.equal([]);
            // A threshold of 1 day: the 3-day certificate is resolved for the first state.
            const fine = await once({ ...ntfy, ALERT_TLS_SERVERNAME: "site.alerts.test", ALERT_CERTIFICATE_DAYS: "1", MONITOR_STATE: dir("cert-state.json") });
            expect(fine.code, why(fine)).to.equal(0);
            const [resolved] = hook.bodies() as Record<string, any>[];
            expect(resolved).to.deep.include({ title: "[webstack-test] Resolved: TLS certificate expires in 2 days", priority: 3, tags: ["white_check_mark"] });
        } finally {
            await server.stop();
        }
        // Unreachable: logged, no alert, and no "resolved" for an open one.
        const closed = await freePort();
        const down = await once({ ALERT_TLS_ADDRESS: `127.0.0.1:${closed}`, ALERT_TLS_SERVERNAME: "site.alerts.test", MONITOR_STATE: dir("cert-state.json") });
        expect(down.code, why(down)).to.equal(0);
        expect(down.stderr).to.include(`cannot read the certificate for site.alerts.test at 127.0.0.1:${closed}`);
        expect(hook.take()).to.deep.equal([]);
    });

    it("schedule.sh sends a failed scheduled backup at once, with backup.sh's ERROR line", async function () {
        const closed = await freePort();
        const schedule = new ManagedProcess("schedule.sh", SCHEDULE, [], {
            env: env({
                PATH: `${PG_BIN}:${SYSTEM_PATH}`, PGHOST: "127.0.0.1", PGPORT: String(closed), PGDATABASE: "app", PGUSER: "app",
                BACKUP_DIR: dir("scheduled"), BACKUP_ON_START: "true", BACKUP_STATUS_FILE: dir("last-backup-ok"),
            }),
            cwd: tmp.path,
        });
        try {
            await until("the alert", () => hook.received.length > 0, 30_000, () => schedule.log);
        } finally {
            await schedule.stop("SIGTERM", 5_000);
        }
        const [alert] = hook.bodies() as { text: string }[];
        expect(alert.text).to.match(new RegExp(`^\\[webstack-test\\] Backup failed\\nThe scheduled backup of 'app' failed \\(exit 1\\) at \\S+Z; the next try is at 03:00 UTC\\. ` +
            `backup: ERROR: database server not reachable at 127\\.0\\.0\\.1:${closed} \\(pg_isready failed\\); no backup taken$`));
        expect(schedule.log).to.include("notify: sent").and.to.not.include(SECRET_PATH);
        expect(fs.existsSync(dir("last-backup-ok"))).to.equal(false);
    });

    describe("on the real Docker engine", function () {
        const prefix = `alerts-test-${process.pid}-`;
        const docker = (args: string[]) => spawnSync(DOCKER, args, { encoding: "utf8", timeout: 60_000 });
        const cleanup = () => {
            const names = docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=${prefix}`]).stdout.split("\n").filter((n) => n.startsWith(prefix));
            if (names.length) docker(["rm", "-f", ...names]);
        };

        before(function () {
            if (!fs.existsSync(DOCKER) || docker(["version", "--format", "{{.Server.Version}}"]).status !== 0) {
                throw new Error("no Docker engine answers on /var/run/docker.sock: start one with tests/engine/dockerd.sh start");
            }
            cleanup();
        });
        after(cleanup);

        it("monitor.py sends a restart of an autoheal=true container at once, once a day, and ignores others", async function () {
            const heartbeat = dir("monitor-alive");
            const monitor = new ManagedProcess("monitor.py", "/usr/bin/python3", [MONITOR], {
                env: env({ MONITOR_INTERVAL_SECONDS: "3600", MONITOR_STATE: dir("events-state.json"), MONITOR_HEARTBEAT: heartbeat, DOCKER_SOCKET: "/var/run/docker.sock" }),
                cwd: tmp.path,
            });
            try {
                await until("the event watcher", () => monitor.log.includes("watching Docker restart events"), 20_000, () => monitor.log);
                await until("the heartbeat", () => fs.existsSync(heartbeat), 5_000, () => monitor.log);
                for (const [name, labels] of [["watched", ["--label", "autoheal=true"]], ["other", ["--label", "autoheal=false"]]] as const) {
                    const r = docker(["run", "-d", "--name", `${prefix}${name}`, ...labels, "webstack-standin/debian:bookworm", "sleep", "600"]);
                    expect(r.status, r.stderr).to.equal(0);
                }
                for (const name of ["other", "watched"]) expect(docker(["restart", "-t", "0", `${prefix}${name}`]).status).to.equal(0);
                await until("the restart alert", () => hook.received.length > 0, 20_000, () => monitor.log);
                await new Promise((r) => setTimeout(r, 1000));
                const [alert, ...more] = hook.bodies() as { text: string }[];
                expect(more, "the unlabelled container is not reported").to.deep.equal([]);
                expect(alert.text).to.match(new RegExp(`^\\[webstack-test\\] Container ${prefix}watched restarted\\nContainer ${prefix}watched was restarted by autoheal \\(its healthcheck said unhealthy\\) at .* UTC\\.$`));

                expect(docker(["restart", "-t", "0", `${prefix}watched`]).status).to.equal(0);
                await until("the second restart in the log", () => monitor.log.includes("restarted again"), 20_000, () => monitor.log);
                expect(hook.take(), "a second restart within 24 h is counted, not sent").to.deep.equal([]);
                expect(monitor.log).to.not.include(SECRET_PATH);
            } finally {
                await monitor.stop("SIGTERM", 5_000);
            }
            expect(monitor.exitStatus, "exits 0 on SIGTERM").to.equal("0");
        });
    });
});
