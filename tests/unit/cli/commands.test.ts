/** bin/webstack's pure parts: argument parsing, the docker command lines, parsing docker's output. */
import { expect } from "chai";
import { parseArgs, STACK_OPTION } from "../../../cli/args";
import { restoreArgs } from "../../../cli/commands/backups";
import { parseImageList, previousImage } from "../../../cli/commands/deploys";
import { logsArgs, logsRequest, mergeLogs } from "../../../cli/commands/logs";
import { appCommand, containerRuntime, dbshellArgs, envFile, oneOffArgs, serviceRuntime } from "../../../cli/commands/oneOff";
import { dedupeDisks, parseBackupListing, parseDf, renderStatus } from "../../../cli/commands/status";
import { ContainerInfo, containerOf } from "../../../cli/engine";
import { OperatorError, UsageError } from "../../../cli/errors";
import { COMMANDS, commandHelp, mainHelp } from "../../../cli/main";
import { Operations, operationsFrom } from "../../../cli/stack";

const OPS: Operations = {
    dockerHost: "", sshOptions: [], prefix: "webstack-dev",
    services: { db: "webstack-dev-db", web: "webstack-dev-web-1a2b3c4", proxy: "webstack-dev-proxy", backup: "webstack-dev-backup", autoheal: "webstack-dev-autoheal" },
    appImage: "webstack-dev-app:aaaaaaaaaaaa", appRepository: "webstack-dev-app", imageSource: "build", appKind: "django",
    backendNetwork: "webstack-dev-backend", database: { name: "app", user: "app" }, maintenance: false, proxy: "nginx",
    tls: false, siteHost: "localhost", backupDir: "/backups",
};
const thrown = (f: () => unknown) => { try { f(); } catch (e) { return e as Error; } throw new Error("did not throw"); };

describe("bin/webstack arguments", () => {
    it("takes --stack anywhere and refuses unknown options with the ones it takes", () => {
        expect(parseArgs(["web", "--stack", "prod", "-f"], [STACK_OPTION, { name: "follow", short: "f" }])).to.deep.equal({ options: { stack: "prod", follow: true }, positionals: ["web"], rest: [] });
        expect(parseArgs(["--stack=prod"], [STACK_OPTION]).options).to.deep.equal({ stack: "prod" });
        const err = thrown(() => parseArgs(["--folow"], [STACK_OPTION, { name: "follow" }]));
        expect(err).to.be.instanceOf(UsageError);
        expect(err.message).to.equal("unknown option '--folow'; this command takes --stack, --follow");
        expect(thrown(() => parseArgs(["--stack"], [STACK_OPTION])).message).to.equal("option --stack needs a value");
    });

    it("passes a command's own arguments on from its first word, option or --", () => {
        expect(parseArgs(["-s", "prod", "migrate", "--plan"], [STACK_OPTION], { passThrough: true })).to.deep.equal({ options: { stack: "prod" }, positionals: [], rest: ["migrate", "--plan"] });
        expect(parseArgs(["-c", "select 1"], [STACK_OPTION], { passThrough: true }).rest).to.deep.equal(["-c", "select 1"]);
        expect(parseArgs(["--", "--stack", "x"], [STACK_OPTION], { passThrough: true }).rest).to.deep.equal(["--stack", "x"]);
        expect(parseArgs(["migrate", "--plan", "--stack", "prod"], [STACK_OPTION], { passThrough: true })).to.deep.equal({ options: { stack: "prod" }, positionals: [], rest: ["migrate", "--plan"] });
        expect(parseArgs(["-c", "select 1", "--stack=prod", "--", "--stack", "kept"], [STACK_OPTION], { passThrough: true })).to.deep.equal({ options: { stack: "prod" }, positionals: [], rest: ["-c", "select 1", "--stack", "kept"] });
    });

    it("every command has a summary and a --help", () => {
        for (const name of Object.keys(COMMANDS)) {
            expect(mainHelp()).to.include(`  ${name} `);
            expect(commandHelp(name)).to.match(new RegExp(`^Usage: bin/webstack ${name}`));
        }
    });
});

describe("bin/webstack stack outputs", () => {
    it("explains a stack never deployed, or deployed before the operations output", () => {
        expect(thrown(() => operationsFrom({}, "prod")).message).to.equal("stack 'prod' has never been deployed (it has no outputs); run `pulumi up --stack prod` first");
        expect(thrown(() => operationsFrom({ siteUrl: "https://x" })).message).to.match(/^the selected stack was deployed by a version of this program without operator commands/);
        expect(operationsFrom({ operations: OPS })).to.equal(OPS);
    });

    it("an unknown service names the ones there are", () => {
        const err = thrown(() => containerOf(OPS, "nginx"));
        expect(err).to.be.instanceOf(OperatorError);
        expect(err.message).to.equal("unknown service 'nginx'; this stack has db, web, proxy, backup, autoheal");
    });
});

describe("bin/webstack logs", () => {
    it("one service or all; --since and --tail checked", () => {
        const one = logsRequest(OPS, parseArgs(["web", "-f", "--since", "1h30m"], [{ name: "follow", short: "f" }, { name: "since", takesValue: true }]));
        expect(logsArgs(OPS.services.web, one, false)).to.deep.equal(["logs", "--follow", "--since", "1h30m", OPS.services.web]);
        const all = logsRequest(OPS, parseArgs([], []));
        expect(all.services).to.have.length(5);
        expect(all.tail).to.equal("100");
        for (const since of ["2026-11-30", "2026-11-30T08:00:00Z", "1764489600"]) {
            expect(logsRequest(OPS, { options: { since }, positionals: [], rest: [] }).since).to.equal(since);
        }
        expect(thrown(() => logsRequest(OPS, { options: { since: "yesterday" }, positionals: [], rest: [] }))).to.be.instanceOf(UsageError);
        expect(thrown(() => logsRequest(OPS, { options: { tail: "-3" }, positionals: [], rest: [] }))).to.be.instanceOf(UsageError);
    });

    it("merges services by docker's timestamps, prefixed", () => {
        expect(mergeLogs([
            { service: "web", text: "2026-11-30T10:00:02.000000000Z second\n2026-11-30T10:00:04.000000000Z fourth\n" },
            { service: "db", text: "2026-11-30T10:00:01.000000000Z first\n2026-11-30T10:00:03.000000000Z third\n" },
        ])).to.deep.equal(["db  | first", "web | second", "db  | third", "web | fourth"]);
    });
});

describe("bin/webstack one-off containers", () => {
    const web = {
        Name: "/webstack-dev-web-1a2b3c4", Image: "sha256:abc",
        Config: { Image: "webstack-dev-app:aaaaaaaaaaaa", Env: ["A=1"], Entrypoint: ["tini", "--"], User: "10001", WorkingDir: "/app" },
    } as unknown as ContainerInfo;

    it("runs the web container's image, env, volumes and entrypoint on the backend network, removed after", () => {
        expect(oneOffArgs({ ops: OPS, app: containerRuntime(web), envFilePath: "/tmp/x/env", command: ["python3", "manage.py", "check"], tty: false, name: "webstack-dev-run-abc" })).to.deep.equal([
            "run", "--rm", "--interactive", "--name", "webstack-dev-run-abc", "--label", "webstack.one-off=true",
            "--env-file", "/tmp/x/env", "--volumes-from", "webstack-dev-web-1a2b3c4", "--network", "webstack-dev-backend",
            "--user", "10001", "--workdir", "/app", "--entrypoint", "tini", "sha256:abc", "--", "python3", "manage.py", "check",
        ]);
    });

    it("copies a Swarm web service's task spec: image by digest, env, entrypoint, volumes as --mount", () => {
        const app = serviceRuntime({
            Image: "10.0.0.2:5000/webstack-prod-app:aaaaaaaaaaaa@sha256:0123", Env: ["A=1"], Command: ["tini", "--"], User: "10001", Dir: "/app",
            Mounts: [{ Type: "volume", Source: "webstack-prod-static", Target: "/app/staticfiles" }, { Type: "volume", Source: "webstack-prod-media", Target: "/app/media", ReadOnly: true }],
        });
        expect(oneOffArgs({ ops: OPS, app, envFilePath: "/e", command: ["true"], tty: true, name: "n" })).to.deep.equal([
            "run", "--rm", "--interactive", "--tty", "--name", "n", "--label", "webstack.one-off=true", "--env-file", "/e",
            "--mount", "type=volume,source=webstack-prod-static,target=/app/staticfiles", "--mount", "type=volume,source=webstack-prod-media,target=/app/media,readonly",
            "--network", "webstack-dev-backend", "--user", "10001", "--workdir", "/app", "--entrypoint", "tini",
            "10.0.0.2:5000/webstack-prod-app:aaaaaaaaaaaa@sha256:0123", "--", "true",
        ]);
    });

    it("refuses an environment value docker's --env-file cannot carry", () => {
        expect(envFile(["A=1", "B=x y"])).to.equal("A=1\nB=x y\n");
        expect(thrown(() => envFile(["PEM=-----BEGIN\nabc"])).message).to.match(/^the app's variable PEM holds a line break/);
    });

    it("manage is Django's; shell is Django's shell or sh; dbshell is psql as the app's role", () => {
        expect(appCommand(OPS, "manage", ["migrate", "--plan"])).to.deep.equal(["python3", "manage.py", "migrate", "--plan"]);
        expect(appCommand({ ...OPS, appKind: "flask" }, "shell", [])).to.deep.equal(["sh"]);
        expect(thrown(() => appCommand({ ...OPS, appKind: "fastapi" }, "manage", ["x"])).message).to.match(/appKind fastapi; use `bin\/webstack run <command>`/);
        expect(thrown(() => appCommand(OPS, "manage", []))).to.be.instanceOf(UsageError);
        expect(dbshellArgs(OPS, ["-c", "select 1"], true)).to.deep.equal(["exec", "--interactive", "--tty", "webstack-dev-db", "psql", "--username", "app", "--dbname", "app", "-c", "select 1"]);
    });
});

describe("bin/webstack rollback", () => {
    const list = [
        { Repository: "webstack-dev-app", Tag: "old", ID: "sha256:1", CreatedAt: "2026-11-28 09:00:00 +0000 UTC" },
        { Repository: "webstack-dev-app", Tag: "prev", ID: "sha256:2", CreatedAt: "2026-11-29 09:00:00 +0000 UTC" },
        { Repository: "webstack-dev-app", Tag: "current", ID: "sha256:3", CreatedAt: "2026-11-30 09:00:00 +0000 UTC" },
        { Repository: "webstack-dev-app", Tag: "current-again", ID: "sha256:3", CreatedAt: "2026-11-30 09:00:00 +0000 UTC" },
        { Repository: "<none>", Tag: "<none>", ID: "sha256:4", CreatedAt: "2026-11-30 10:00:00 +0000 UTC" },
    ].map((r) => JSON.stringify(r)).join("\n");

    it("picks the newest image that is not the one running, by id", () => {
        const images = parseImageList(list);
        expect(images.map((i) => i.reference)).to.deep.equal(["webstack-dev-app:old", "webstack-dev-app:prev", "webstack-dev-app:current", "webstack-dev-app:current-again"]);
        expect(images[1].created.toISOString()).to.equal("2026-11-29T09:00:00.000Z");
        expect(previousImage(images, "sha256:3")?.reference).to.equal("webstack-dev-app:prev");
        expect(previousImage(images.filter((i) => i.id === "sha256:3"), "sha256:3")).to.equal(undefined);
    });
});

describe("bin/webstack backup, restore, status", () => {
    it("restore passes --media, --force and a checked name to restore.sh", () => {
        expect(restoreArgs(OPS, { options: { media: true, force: true }, positionals: ["media-20261130T030000Z.tar.gz"], rest: [] }))
            .to.deep.equal(["exec", "--interactive", "webstack-dev-backup", "/usr/local/bin/restore.sh", "--media", "--force", "media-20261130T030000Z.tar.gz"]);
        expect(restoreArgs(OPS, { options: {}, positionals: [], rest: [] }).pop()).to.equal("latest");
        expect(thrown(() => restoreArgs(OPS, { options: {}, positionals: ["../x"], rest: [] }))).to.be.instanceOf(UsageError);
    });

    it("renders one screen from docker's facts", () => {
        const now = new Date("2026-11-30T12:00:00Z");
        const container = (name: string, health?: string) => ({
            Name: `/${name}`, Image: "sha256:x", Created: "", RestartCount: name.endsWith("db") ? 2 : 0,
            Config: { Image: `${name}-image:1`, Env: [], Entrypoint: null, User: "", WorkingDir: "" },
            State: { Status: "running", Running: true, StartedAt: "2026-11-30T09:00:00Z", ExitCode: 0, ...(health ? { Health: { Status: health } } : {}) },
        });
        const containers = new Map(Object.values(OPS.services).filter((n) => !n.endsWith("autoheal")).map((n) => [n, container(n, "healthy") as ContainerInfo]));
        const backups = parseBackupListing("1796007600.5 33280 app-20261130T030000Z.dump\n1796007601 64 app-20261130T030000Z.dump.sha256\n1796007602 2048 media-20261130T030000Z.tar.gz\n1764000000 10 .backup-tmp\n");
        const disks = dedupeDisks(parseDf("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 264000000 237600000 26400000 90% /backups\n/dev/vda 264000000 237600000 26400000 90% /media\n"));
        const text = renderStatus({ name: "dev", siteUrl: "http://localhost:8080", operations: OPS }, { now, containers, backups, disks, certificate: undefined });
        expect(text).to.match(/^web\s+webstack-dev-web-1a2b3c4\s+running\s+healthy\s+3 h 0 min\s+webstack-dev-web-1a2b3c4-image:1$/m);
        expect(text).to.match(/^db\s+webstack-dev-db\s+running, 2 restarts\s+healthy/m);
        expect(text).to.match(/^autoheal\s+webstack-dev-autoheal\s+missing/m);
        expect(text).to.include("last dump    app-20261130T030000Z.dump, 33 KB, 9 h 0 min ago");
        expect(text).to.include("last media   media-20261130T030000Z.tar.gz, 2.0 KB, 8 h 59 min ago");
        expect(text.match(/^disk/gm)).to.have.length(1);
        expect(text).to.include("disk         /backups: 90% of 252 GB used  (over 85%)");
        expect(text).to.include("certificate  none (tls off)");
        const swarm = renderStatus({ operations: { ...OPS, webKind: "service", services: { web: "webstack-dev-web" } } }, {
            now, containers: new Map(), services: new Map([["webstack-dev-web", { Name: "webstack-dev-web", Replicas: "2/3", Image: "10.0.0.2:5000/webstack-dev-app:aaaaaaaaaaaa@sha256:0123" }]]),
        });
        expect(swarm).to.match(/^web\s+webstack-dev-web\s+service, 2\/3 replicas \(CONVERGING or FAILING\)\s+-\s+-\s+10\.0\.0\.2:5000\/webstack-dev-app/m);
        const tls = renderStatus({ operations: { ...OPS, tls: true } }, { now, containers, certificate: new Date("2027-01-09T12:00:00Z") });
        expect(tls).to.include("certificate  expires 2027-01-09, in 40 days");
        expect(tls).to.include("last dump    unknown (the backup container did not answer)");
    });
});
