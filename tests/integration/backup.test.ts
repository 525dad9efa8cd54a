/**
 * The backup image's commands (images/backup/{backup,restore,schedule}.sh) and the operator
 * commands (bin/webstack backup and restore, and their scripts/ shims), against real PostgreSQL 15 + q3c clusters:
 * A holds a q3c-indexed table, B and C start empty without q3c (as a database restored onto
 * a fresh server would). S3 (or Spaces), Pulumi and Docker are replaced by small fakes on
 * PATH that record how they are called.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import {
    ManagedProcess, PG_BIN, Postgres, REPO, RunResult, SYSTEM_PATH, freePort, requireBinary, requirePostgres, run,
    tempDir,
} from "./servers";

const IMAGE_DIR = path.join(REPO, "images", "backup");
const BACKUP = path.join(IMAGE_DIR, "backup.sh");
const RESTORE = path.join(IMAGE_DIR, "restore.sh");
const SCHEDULE = path.join(IMAGE_DIR, "schedule.sh");
/** pg_dump and friends from PostgreSQL 15 first, as in the postgres:15 image. */
const SCRIPT_PATH = `${PG_BIN}:${SYSTEM_PATH}`;
const ROWS = 20_000;
const DUMP_NAME = /^app-\d{8}T\d{6}Z\.dump$/;
const CONTAINER_ENV = { POSTGRES_USER: "app", POSTGRES_PASSWORD: "backup-test-password", POSTGRES_DB: "app" };

/** Everything that identifies the table's contents. */
const CHECKSUM_SQL = `SELECT count(*) || '/' || md5(string_agg(id || ':' || name || ':' || ra || ':' || dec || ':' || created, ',' ORDER BY id))
    FROM sky_skyposition`;
const USER_RELATIONS_SQL = `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'm', 'S', 'p', 'f') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'`;
const HAS_Q3C_SQL = "SELECT count(*) FROM pg_extension WHERE extname = 'q3c'";

const MEDIA_NAME = /^media-\d{8}T\d{6}Z\.tar\.gz$/;

/** Every entry under `root` with its type, mode, owner and content (or link target), sorted. */
function tree(root: string): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        const full = path.join(root, rel);
        const st = fs.lstatSync(full);
        const what = st.isSymbolicLink() ? `-> ${fs.readlinkSync(full)}` : st.isDirectory() ? "dir" : `${st.size} B ${fs.readFileSync(full).toString("base64").slice(0, 40)}`;
        out.push(`${rel || "."} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
        if (st.isDirectory() && !st.isSymbolicLink()) for (const n of fs.readdirSync(full)) walk(path.join(rel, n));
    };
    walk("");
    return out.sort();
}

/** Uploads as the app leaves them: its uid 10001, private and public modes, odd names, a link. */
function fillMedia(dir: string): void {
    fs.mkdirSync(path.join(dir, "uploads", "2025", "empty"), { recursive: true });
    fs.writeFileSync(path.join(dir, "uploads", "2025", "photo one.jpg"), Buffer.alloc(70_000, 7));
    fs.writeFileSync(path.join(dir, "uploads", "2025", "private.pdf"), "secret report");
    fs.writeFileSync(path.join(dir, ".hidden"), "dot file");
    fs.symlinkSync("2025/photo one.jpg", path.join(dir, "uploads", "latest.jpg"));
    for (const [rel, mode, uid] of [["uploads", 0o2775, 10001], ["uploads/2025", 0o750, 10001], ["uploads/2025/empty", 0o700, 10001],
        ["uploads/2025/photo one.jpg", 0o644, 10001], ["uploads/2025/private.pdf", 0o600, 10002], [".hidden", 0o640, 0]] as const) {
        fs.chownSync(path.join(dir, rel), uid, uid);
        fs.chmodSync(path.join(dir, rel), mode);
    }
    fs.lchownSync(path.join(dir, "uploads", "latest.jpg"), 10001, 10001);
    fs.chownSync(dir, 10001, 10001);
    fs.chmodSync(dir, 0o755);
}

function why(result: RunResult): string {
    return `exit ${result.code ?? result.signal}:\n${result.output}`;
}

function dumpsIn(dir: string): string[] {
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".dump")).sort() : [];
}

/** Whatever a failed run may have left: dumps and temporary files. */
function leftovers(dir: string): string[] {
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".dump") || f.startsWith(".")).sort() : [];
}

async function until(what: string, check: () => boolean, timeoutMs: number, log: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${log()}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Fakes for the aws, pulumi, docker and ssh CLIs; each appends its calls to calls.log. */
function writeFakes(bin: string): void {
    fs.mkdirSync(bin, { recursive: true });
    // aws s3 cp/ls against a directory ($FAKE_S3_ROOT/bucket/key), with awscli's exit codes.
    fs.writeFileSync(path.join(bin, "aws"), `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const root = process.env.FAKE_S3_ROOT;
let args = process.argv.slice(2);
let endpoint = "";
if (args[0] === "--endpoint-url") { endpoint = args[1]; args = args.slice(2); }
fs.appendFileSync(path.join(root, "calls.log"), JSON.stringify({ endpoint, args }) + "\\n");
const fail = (msg, code = 1) => { process.stderr.write(msg + "\\n"); process.exit(code); };
if (args[0] !== "s3") fail("fake aws: only s3 is faked", 2);
const [cmd, ...rest] = args.slice(1).filter((a) => a !== "--only-show-errors");
if (rest.some((a) => a.startsWith("--"))) fail("fake aws: unexpected option in " + rest.join(" "), 2);
const local = (uri) => {
    const m = /^s3:\\/\\/([^/]+)\\/?(.*)$/.exec(uri);
    if (!m) fail("fake aws: not an s3 URI: " + uri, 2);
    return path.join(root, "store", m[1], m[2]);
};
if (cmd === "ls") {
    const dir = local(rest[0]);
    const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    if (names.length === 0) process.exit(1);
    for (const n of names.sort()) {
        const st = fs.statSync(path.join(dir, n));
        console.log(st.isDirectory() ? "                           PRE " + n + "/" : "2025-01-01 03:00:00 " + String(st.size).padStart(10) + " " + n);
    }
} else if (cmd === "cp") {
    const [from, to] = rest;
    if (from.startsWith("s3://")) {
        if (!fs.existsSync(local(from))) fail("fatal error: An error occurred (404) when calling the HeadObject operation: Key not found");
        fs.copyFileSync(local(from), to);
    } else {
        fs.mkdirSync(path.dirname(local(to)), { recursive: true });
        fs.copyFileSync(from, local(to));
    }
} else fail("fake aws: s3 " + cmd + " is not faked", 2);
`, { mode: 0o755 });
    // pulumi stack output --stack S --json: prints $FAKE_OUTPUTS.
    fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh
printf 'pulumi %s\\n' "$*" >>"$FAKE_LOG"
[ "$1 $2 $3 $4" = "stack output --json --stack" ] || { echo "fake pulumi: unexpected $*" >&2; exit 2; }
[ "$5" = "$FAKE_STACK" ] || { echo "error: no stack named '$5' found" >&2; exit 255; }
cat "$FAKE_OUTPUTS"
`, { mode: 0o755 });
    // docker: records DOCKER_HOST and its arguments, and tries the ssh that docker would run.
    fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh
printf 'docker DOCKER_HOST=%s args=%s\\n' "\${DOCKER_HOST:-}" "$*" >>"$FAKE_LOG"
if [ -n "\${DOCKER_HOST:-}" ]; then ssh -o BatchMode=yes probe-host; fi
echo "output of the command in the container"
`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "ssh"), `#!/bin/sh
printf 'ssh %s\\n' "$*" >>"$FAKE_LOG"
`, { mode: 0o755 });
}

describe("backup and restore (images/backup, bin/webstack backup|restore)", function () {
    this.timeout(120_000);
    let a: Postgres | undefined;
    let b: Postgres | undefined;
    let c: Postgres | undefined;
    let tmp: ReturnType<typeof tempDir> | undefined;
    let backupDir = "";
    let dumpName = "";
    let sourceChecksum = "";

    const dir = (...parts: string[]) => path.join(tmp!.path, ...parts);
    const envFor = (pg: Postgres, extra: Record<string, string> = {}) => pg.tcpEnv({ PATH: SCRIPT_PATH, BACKUP_DIR: backupDir, ...extra });
    const backup = (pg: Postgres, extra: Record<string, string> = {}) => run(BACKUP, [], { env: envFor(pg, extra) });
    const restore = (pg: Postgres, args: string[], extra: Record<string, string> = {}) => run(RESTORE, args, { env: envFor(pg, extra) });
    const state = async (pg: Postgres) => ({
        relations: await pg.query(USER_RELATIONS_SQL),
        q3c: await pg.query(HAS_Q3C_SQL),
        checksum: Number(await pg.query(USER_RELATIONS_SQL)) > 0 ? await pg.query(CHECKSUM_SQL) : "",
    });

    before(async function () {
        // Fail, naming the package, when a server or client binary is missing.
        requirePostgres();
        for (const bin of ["pg_dump", "pg_restore", "pg_isready", "psql"]) requireBinary(`${PG_BIN}/${bin}`, "postgresql-15");
        requireBinary("/usr/bin/sha256sum", "coreutils");
        tmp = tempDir("backup");
        backupDir = dir("backups");
        const empty = dir("no-initdb");
        fs.mkdirSync(empty);
        // A: as the db image initialises it (q3c created by images/db/initdb). B, C: no q3c.
        [a, b, c] = await Promise.all([
            Postgres.start({ containerEnv: CONTAINER_ENV }),
            Postgres.start({ containerEnv: CONTAINER_ENV, initdbDir: empty }),
            Postgres.start({ containerEnv: CONTAINER_ENV, initdbDir: empty }),
        ]);
        // The app's table (sky/migrations); a Fibonacci lattice: deterministic, even over the sky.
        await a.query(`
            CREATE TABLE sky_skyposition (
                id bigserial PRIMARY KEY,
                name varchar(200) NOT NULL,
                ra double precision NOT NULL,
                dec double precision NOT NULL,
                created timestamp with time zone NOT NULL,
                CONSTRAINT sky_skyposition_ra_range CHECK (ra >= 0 AND ra < 360),
                CONSTRAINT sky_skyposition_dec_range CHECK (dec >= -90 AND dec <= 90)
            );
            INSERT INTO sky_skyposition (name, ra, dec, created)
                SELECT 'star-' || g, mod(g * 137.50776405, 360)::double precision,
                       degrees(asin((2 * g - 1)::double precision / ${ROWS} - 1)),
                       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
                FROM generate_series(1, ${ROWS}) AS g;
            CREATE INDEX sky_skyposition_q3c_idx ON sky_skyposition (q3c_ang2ipix(ra, dec));
            ANALYZE sky_skyposition;`);
        sourceChecksum = await a.query(CHECKSUM_SQL);
        expect(sourceChecksum).to.match(new RegExp(`^${ROWS}/[0-9a-f]{32}$`));
    });

    after(async function () {
        await Promise.all([a?.destroy(), b?.destroy(), c?.destroy()]);
        tmp?.remove();
    });

    it("passes shellcheck (backup.sh, restore.sh, schedule.sh, scripts/backup, scripts/restore)", async function () {
        const shellcheck = "/usr/bin/shellcheck";
        if (!fs.existsSync(shellcheck)) throw new Error(`${shellcheck} is missing: install the Debian package shellcheck (apt-get install -y shellcheck)`);
        const files = [BACKUP, RESTORE, SCHEDULE, "scripts/backup", "scripts/restore"];
        const result = await run(shellcheck, ["-x", ...files], { cwd: REPO });
        expect(result.code, result.output).to.equal(0);
    });

    it("backup.sh writes a verified, checksummed custom-format dump and prints its name", async function () {
        const result = await backup(a!);
        expect(result.code, why(result)).to.equal(0);
        dumpName = result.stdout.trim().split("\n").pop()!;
        expect(dumpName).to.match(DUMP_NAME);
        expect(dumpsIn(backupDir)).to.deep.equal([dumpName]);
        expect(leftovers(backupDir), "no temporary files").to.deep.equal([dumpName]);
        const dump = path.join(backupDir, dumpName);
        expect(fs.statSync(dump).mode & 0o077, "dumps are private").to.equal(0);
        const sums = await run("/usr/bin/sha256sum", ["-c", `${dumpName}.sha256`], { cwd: backupDir });
        expect(sums.code, why(sums)).to.equal(0);
        const toc = await run(`${PG_BIN}/pg_restore`, ["--list", dump]);
        expect(toc.stdout).to.match(/EXTENSION - q3c/).and.to.match(/TABLE DATA public sky_skyposition/)
            .and.to.match(/INDEX public sky_skyposition_q3c_idx/);
    });

    it("restore.sh latest loads it into an empty database without q3c, index and all", async function () {
        expect(await state(b!)).to.deep.equal({ relations: "0", q3c: "0", checksum: "" });
        const result = await restore(b!, ["latest"]);
        expect(result.code, why(result)).to.equal(0);
        expect(result.output).to.include(dumpName).and.to.match(/restored .* 1 tables, 2 indexes, q3c /);
        expect(await b!.query(CHECKSUM_SQL)).to.equal(sourceChecksum);
        expect(await b!.query("SELECT last_value FROM sky_skyposition_id_seq")).to.equal(String(ROWS));
        expect(await b!.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'sky_skyposition_q3c_idx'"))
            .to.match(/q3c_ang2ipix\(ra, "?dec"?\)/);
        const cone = "SELECT count(*) FROM sky_skyposition WHERE q3c_radial_query(ra, dec, 150.0, 30.0, 2.0)";
        const inCone = await a!.query(cone);
        expect(Number(inCone)).to.be.greaterThan(0);
        expect(await b!.query(cone)).to.equal(inCone);
        const plan = await b!.query(`SET enable_seqscan = off; EXPLAIN ${cone}`);
        expect(plan).to.include("sky_skyposition_q3c_idx");
    });

    it("restore.sh refuses a non-empty database unless --force, which replaces the dump's objects", async function () {
        const refused = await restore(b!, [dumpName]);
        expect(refused.code, why(refused)).to.not.equal(0);
        expect(refused.stderr).to.include("not empty").and.to.include("--force");
        expect(await b!.query(CHECKSUM_SQL)).to.equal(sourceChecksum);

        // Changes since the dump, and an object outside it that depends on q3c: --clean
        // must not try to drop the extension from under it.
        await b!.query(`DELETE FROM sky_skyposition WHERE id % 3 = 0;
            UPDATE sky_skyposition SET name = 'renamed' WHERE id = 1;
            CREATE TABLE scratch (ra double precision, dec double precision);
            CREATE INDEX scratch_q3c ON scratch (q3c_ang2ipix(ra, dec));`);
        expect(await b!.query(CHECKSUM_SQL)).to.not.equal(sourceChecksum);
        const forced = await restore(b!, ["--force", dumpName]);
        expect(forced.code, why(forced)).to.equal(0);
        expect(forced.stdout).to.include("--force");
        expect(await b!.query(CHECKSUM_SQL)).to.equal(sourceChecksum);
        expect(await b!.query("SELECT count(*) FROM pg_indexes WHERE indexname IN ('sky_skyposition_q3c_idx', 'scratch_q3c')")).to.equal("2");
        await b!.query("DROP TABLE scratch");
    });

    it("backup.sh fails loudly and leaves nothing behind when the server is unreachable or refuses it", async function () {
        const failDir = dir("failed-backups");
        const closed = await freePort();
        const unreachable = await backup(a!, { PGPORT: String(closed), BACKUP_DIR: failDir });
        expect(unreachable.code, why(unreachable)).to.not.equal(0);
        expect(unreachable.stderr).to.include(`127.0.0.1:${closed}`).and.to.include("not reachable");
        expect(unreachable.stdout.trim()).to.equal("");
        expect(leftovers(failDir)).to.deep.equal([]);

        // Reachable, but pg_dump cannot log in: fails after the temporary file exists.
        const refused = await backup(a!, { PGPASSWORD: "wrong", BACKUP_DIR: failDir });
        expect(refused.code, why(refused)).to.not.equal(0);
        expect(refused.stderr).to.include("pg_dump").and.to.include("password authentication failed");
        expect(leftovers(failDir)).to.deep.equal([]);
    });

    it("restore.sh refuses missing, truncated and corrupted dumps before touching the target", async function () {
        const bBefore = await state(b!);
        const cBefore = await state(c!);
        expect(cBefore).to.deep.equal({ relations: "0", q3c: "0", checksum: "" });

        const missing = await restore(c!, ["app-20000101T000000Z.dump"]);
        expect(missing.code, why(missing)).to.not.equal(0);
        expect(missing.stderr).to.include("no such backup: app-20000101T000000Z.dump").and.to.include(dumpName);

        // The first half of the bytes, no .sha256: the TOC still reads (pg_restore --list
        // succeeds on it), the data does not.
        const bytes = fs.readFileSync(path.join(backupDir, dumpName));
        const truncated = "app-20000101T000001Z-truncated.dump";
        fs.writeFileSync(path.join(backupDir, truncated), bytes.subarray(0, Math.floor(bytes.length / 2)));
        for (const [pg, args] of [[b!, ["--force", truncated]], [c!, [truncated]]] as const) {
            const result = await restore(pg, [...args]);
            expect(result.code, why(result)).to.not.equal(0);
            expect(result.stderr).to.include("truncated or corrupt").and.to.include("not touched");
        }

        // Same size, one byte changed, its .sha256 from the original.
        const corrupted = "app-20000101T000002Z-corrupted.dump";
        const copy = Buffer.from(bytes);
        copy[Math.floor(copy.length * 0.75)] ^= 0xff;
        fs.writeFileSync(path.join(backupDir, corrupted), copy);
        const sum = fs.readFileSync(path.join(backupDir, `${dumpName}.sha256`), "utf8").split(/\s+/)[0];
        fs.writeFileSync(path.join(backupDir, `${corrupted}.sha256`), `${sum}  ${corrupted}\n`);
        for (const [pg, args] of [[b!, ["--force", corrupted]], [c!, [corrupted]]] as const) {
            const result = await restore(pg, [...args]);
            expect(result.code, why(result)).to.not.equal(0);
            expect(result.stderr).to.include("checksum mismatch");
        }

        for (const bad of ["../etc/passwd", ".hidden.dump"]) {
            const result = await restore(c!, [bad]);
            expect(result.code, why(result)).to.not.equal(0);
        }

        expect(await state(b!), "B untouched").to.deep.equal(bBefore);
        expect(await state(c!), "C still empty, without q3c").to.deep.equal(cBefore);
        // "latest" goes by the timestamp in the name: still the real dump.
        for (const f of [truncated, corrupted, `${corrupted}.sha256`]) fs.rmSync(path.join(backupDir, f));
    });

    it("uploads to S3/Spaces (--endpoint-url) and restores the latest dump from there", async function () {
        const fakes = dir("fake-bin");
        writeFakes(fakes);
        const s3Root = dir("fake-s3");
        fs.mkdirSync(s3Root);
        const s3 = {
            PATH: `${fakes}:${SCRIPT_PATH}`, FAKE_S3_ROOT: s3Root,
            BACKUP_S3_URI: "s3://backups-bucket/stage/db/", BACKUP_S3_ENDPOINT: "https://fra1.digitaloceanspaces.com",
        };
        const uploadDir = dir("upload-backups");
        // Two backups, so that "latest" has a choice (one name per second).
        const first = await backup(a!, { ...s3, BACKUP_DIR: uploadDir });
        expect(first.code, why(first)).to.equal(0);
        await a!.query("INSERT INTO sky_skyposition (name, ra, dec, created) VALUES ('late', 10, 10, '2024-06-01Z')");
        // Local retention (14 days by default), and the leftovers of an interrupted run.
        const aged = (name: string, days: number) => {
            fs.writeFileSync(path.join(uploadDir, name), "old");
            const when = new Date(Date.now() - days * 86_400_000);
            fs.utimesSync(path.join(uploadDir, name), when, when);
        };
        aged("app-20000101T000000Z.dump", 15);
        aged("app-20000101T000000Z.dump.sha256", 15);
        aged("app-20000102T000000Z.dump", 13);
        aged(".backup-AbC123", 2);
        const second = await backup(a!, { ...s3, BACKUP_DIR: uploadDir });
        expect(second.code, why(second)).to.equal(0);
        expect(second.stderr).to.include("pruned").and.to.include("app-20000101T000000Z.dump");
        expect(leftovers(uploadDir)).to.deep.equal(["app-20000102T000000Z.dump", first.stdout.trim(), second.stdout.trim()].sort());
        expect(fs.existsSync(path.join(uploadDir, "app-20000101T000000Z.dump.sha256"))).to.equal(false);
        fs.rmSync(path.join(uploadDir, "app-20000102T000000Z.dump"));
        const [name1, name2] = [first, second].map((r) => r.stdout.trim().split("\n").pop()!);
        expect(name2 > name1, `${name2} sorts after ${name1}`).to.equal(true);
        const stored = fs.readdirSync(path.join(s3Root, "store", "backups-bucket", "stage", "db")).sort();
        expect(stored).to.deep.equal([name1, `${name1}.sha256`, name2, `${name2}.sha256`]);
        const calls = fs.readFileSync(path.join(s3Root, "calls.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
        expect(calls.every((call) => call.endpoint === s3.BACKUP_S3_ENDPOINT), JSON.stringify(calls)).to.equal(true);

        // A new host: nothing local, the newest dump comes from S3 into BACKUP_DIR.
        const freshDir = dir("fresh-host-backups");
        const restored = await restore(c!, [], { ...s3, BACKUP_DIR: freshDir });
        expect(restored.code, why(restored)).to.equal(0);
        expect(restored.stderr).to.include(`latest dump is ${name2}`).and.to.include("checksum of");
        expect(dumpsIn(freshDir)).to.deep.equal([name2]);
        expect(fs.existsSync(path.join(freshDir, `${name2}.sha256`))).to.equal(true);
        expect(await c!.query(CHECKSUM_SQL)).to.equal(await a!.query(CHECKSUM_SQL));
        expect(await c!.query("SELECT name FROM sky_skyposition ORDER BY id DESC LIMIT 1")).to.equal("late");
        expect(await c!.query(HAS_Q3C_SQL)).to.equal("1");

        // S3 configured but unreachable: "latest" cannot be decided, so nothing happens.
        const broken = await restore(c!, ["--force"], { ...s3, BACKUP_DIR: freshDir, BACKUP_S3_URI: "s3://no-such-bucket" });
        expect(broken.code, why(broken)).to.not.equal(0);
        expect(broken.stderr).to.include("could not list s3://no-such-bucket/");
    });

    it("schedule.sh validates BACKUP_TIME, computes the next run, and reports failures through the status file", async function () {
        const bad = await run(SCHEDULE, [], { env: envFor(a!, { BACKUP_TIME: "3:00" }) });
        expect(bad.code, why(bad)).to.equal(1);
        expect(bad.stderr).to.include("BACKUP_TIME must be HH:MM");
        const late = await run(SCHEDULE, [], { env: envFor(a!, { BACKUP_TIME: "24:00" }) });
        expect(late.code, why(late)).to.equal(1);

        const now = new Date();
        const at = new Date(now.getTime() + 5 * 60_000);
        const hhmm = `${String(at.getUTCHours()).padStart(2, "0")}:${String(at.getUTCMinutes()).padStart(2, "0")}`;
        const next = await run(SCHEDULE, ["--next-in"], { env: envFor(a!, { BACKUP_TIME: hhmm }) });
        expect(next.code, why(next)).to.equal(0);
        const expected = 5 * 60 - now.getUTCSeconds();
        expect(Number(next.stdout.trim())).to.be.within(expected - 2, expected + 1);

        const status = dir("last-backup-ok");
        const scheduleDir = dir("scheduled-backups");
        const start = (extra: Record<string, string>) => new ManagedProcess("schedule.sh", SCHEDULE, [], {
            env: envFor(a!, { BACKUP_DIR: scheduleDir, BACKUP_STATUS_FILE: status, BACKUP_ON_START: "true", ...extra }),
            cwd: tmp!.path,
        });

        // A failed backup: logged, status file removed, the loop carries on.
        fs.writeFileSync(status, "");
        const failing = start({ PGPORT: String(await freePort()) });
        try {
            await until("the failed backup", () => failing.log.includes("backup failed"), 20_000, () => failing.log);
            expect(fs.existsSync(status), "status file removed").to.equal(false);
            expect(failing.log).to.include("next backup in");
            await new Promise((r) => setTimeout(r, 300));
            expect(failing.exited, failing.log).to.equal(false);
        } finally {
            await failing.stop("SIGTERM", 5_000);
        }
        expect(failing.exitStatus, "exits at once on SIGTERM, with 0").to.equal("0");

        const working = start({});
        try {
            await until("the status file", () => fs.existsSync(status), 20_000, () => working.log);
            expect(dumpsIn(scheduleDir)).to.have.lengthOf(1);
            // The documented healthcheck, on the real file name.
            const health = await run("/bin/sh", ["-c", `find "$1" -mmin -1560 | grep -q .`, "sh", status]);
            expect(health.code, why(health)).to.equal(0);
        } finally {
            await working.stop("SIGTERM", 5_000);
        }
        const stale = await run("/bin/sh", ["-c", `touch -d '27 hours ago' "$1" && find "$1" -mmin -1560 | grep -q .`, "sh", status]);
        expect(stale.code, "a backup older than 26 h is unhealthy").to.equal(1);
    });

    it("bin/webstack backup/restore (and the scripts/ shims) run the commands in the stack's backup container, over ssh with the stack's key", async function () {
        const fakes = dir("fake-bin");
        writeFakes(fakes);
        const fakeLog = dir("fake-cli.log");
        const outputs = dir("outputs.json");
        const env = (extra: Record<string, string> = {}) => ({
            PATH: `${fakes}:${SYSTEM_PATH}`, HOME: tmp!.path, LANG: "C.UTF-8",
            FAKE_LOG: fakeLog, FAKE_OUTPUTS: outputs, FAKE_STACK: "prod", ...extra,
        });
        const operator = async (command: string[], args: string[]) => {
            fs.writeFileSync(fakeLog, "");
            const result = await run(path.join(REPO, command[0]), [...command.slice(1), ...args], { env: env(), cwd: REPO });
            return { result, calls: fs.readFileSync(fakeLog, "utf8") };
        };
        const operations = (o: Record<string, unknown>) => JSON.stringify({
            siteUrl: "https://example.org",
            operations: {
                dockerHost: "", sshOptions: [], prefix: "webstack-prod", services: { db: "webstack-prod-db", backup: "webstack-prod-backup" },
                appImage: "webstack-prod-app:0123456789ab", appRepository: "webstack-prod-app", imageSource: "build", appKind: "django",
                backendNetwork: "webstack-prod-backend", database: { name: "app", user: "app" }, maintenance: false, proxy: "nginx",
                tls: true, siteHost: "example.org", backupDir: "/backups", ...o,
            },
        });

        for (const [shim, command] of [["scripts/backup", "backup"], ["scripts/restore", "restore"]]) {
            const help = await run(path.join(REPO, shim), ["--help"], { env: env() });
            expect(help.code, why(help)).to.equal(0);
            expect(help.stdout).to.include(`Usage: bin/webstack ${command}`);
        }

        // A remote host, with the provider's ssh options (the key, the stack's known_hosts file).
        fs.writeFileSync(outputs, operations({
            dockerHost: "ssh://deploy@203.0.113.10", sshOptions: ["-o", "UserKnownHostsFile=~/.ssh/known_hosts_webstack_prod", "-i", "/home/op/.ssh/prod"],
        }));
        let { result, calls } = await operator(["scripts/restore"], ["--stack", "prod", "--force", "app-20250101T030000Z.dump"]);
        expect(result.code, why(result)).to.equal(0);
        expect(result.stdout).to.include("output of the command in the container");
        expect(calls).to.include("pulumi stack output --json --stack prod");
        expect(calls).to.include("docker DOCKER_HOST=ssh://deploy@203.0.113.10 args=exec --interactive webstack-prod-backup /usr/local/bin/restore.sh --force app-20250101T030000Z.dump");
        expect(calls, "docker's ssh gets the key").to.include("ssh -o UserKnownHostsFile=~/.ssh/known_hosts_webstack_prod -i /home/op/.ssh/prod -o BatchMode=yes probe-host");

        ({ result, calls } = await operator(["bin/webstack", "restore"], ["--stack=prod", "--media"]));
        expect(result.code, why(result)).to.equal(0);
        expect(calls).to.include("args=exec --interactive webstack-prod-backup /usr/local/bin/restore.sh --media latest");

        ({ result, calls } = await operator(["bin/webstack", "backup"], ["--stack", "prod"]));
        expect(result.code, why(result)).to.equal(0);
        expect(calls).to.include("docker DOCKER_HOST=ssh://deploy@203.0.113.10 args=exec webstack-prod-backup /usr/local/bin/backup.sh");

        // Local Docker: no DOCKER_HOST.
        fs.writeFileSync(outputs, operations({ prefix: "webstack-dev", services: { backup: "webstack-dev-backup" } }));
        ({ result, calls } = await operator(["scripts/backup"], ["--stack", "prod"]));
        expect(result.code, why(result)).to.equal(0);
        expect(calls).to.include("docker DOCKER_HOST= args=exec webstack-dev-backup /usr/local/bin/backup.sh");

        // A stack deployed before the operator commands existed; an unknown stack: one sentence, no docker.
        fs.writeFileSync(outputs, JSON.stringify({ hostAddress: "localhost", sshCommand: "", backupContainer: "webstack-prod-backup" }));
        ({ result, calls } = await operator(["bin/webstack", "restore"], ["--stack", "prod"]));
        expect(result.code).to.equal(1);
        expect(result.stderr).to.equal("webstack restore: stack 'prod' was deployed by a version of this program without operator commands (no operations output); run `pulumi up --stack prod` first\n");
        expect(calls).to.not.include("docker ");
        ({ result } = await operator(["scripts/backup"], ["--stack", "nope"]));
        expect(result.code).to.equal(1);
        expect(result.stderr).to.equal("webstack backup: stack 'nope' does not exist in this Pulumi backend (`pulumi stack ls` lists them; logged in to the right one, in the project's directory?): no stack named 'nope' found\n");
    });

    describe("media (MEDIA_DIR): archive with each backup, restore.sh --media", function () {
        let mediaDir = "";
        let mediaBackups = "";
        let archive = "";
        let source: string[] = [];
        const mediaEnv = (extra: Record<string, string> = {}) => ({ BACKUP_DIR: mediaBackups, MEDIA_DIR: mediaDir, ...extra });
        const restoreMedia = (args: string[], extra: Record<string, string>) => run(RESTORE, ["--media", ...args], {
            // No PGDATABASE needed for --media: a bare environment.
            env: { PATH: SCRIPT_PATH, BACKUP_DIR: mediaBackups, ...extra },
        });

        before(function () {
            mediaDir = dir("media");
            mediaBackups = dir("media-backups");
            fs.mkdirSync(mediaDir);
            fillMedia(mediaDir);
            source = tree(mediaDir);
        });

        it("backup.sh writes a verified media-<timestamp>.tar.gz and prints its name before the dump's", async function () {
            const result = await backup(a!, mediaEnv());
            expect(result.code, why(result)).to.equal(0);
            const lines = result.stdout.trim().split("\n");
            expect(lines).to.have.lengthOf(2);
            expect(lines[0]).to.match(MEDIA_NAME);
            expect(lines[1], "the dump's name is still the last line").to.match(DUMP_NAME);
            archive = lines[0];
            expect(result.stderr).to.include(`wrote ${mediaBackups}/${archive}`).and.to.include("8 entries");
            expect(fs.readdirSync(mediaBackups).sort()).to.deep.equal([lines[1], `${lines[1]}.sha256`, archive, `${archive}.sha256`].sort());
            expect(fs.statSync(path.join(mediaBackups, archive)).mode & 0o077, "archives are private").to.equal(0);
            const sums = await run("/usr/bin/sha256sum", ["-c", `${archive}.sha256`], { cwd: mediaBackups });
            expect(sums.code, why(sums)).to.equal(0);
            const listing = await run("/usr/bin/tar", ["--list", "--verbose", "--numeric-owner", "--gzip", "--file", path.join(mediaBackups, archive)]);
            expect(listing.stdout).to.match(/^-rw------- 10002\/10002 .* \.\/uploads\/2025\/private\.pdf$/m)
                .and.to.match(/^drwxrwsr-x 10001\/10001 .* \.\/uploads\/$/m)
                .and.to.match(/^lrwxrwxrwx 10001\/10001 .* \.\/uploads\/latest\.jpg -> 2025\/photo one\.jpg$/m);
        });

        it("restore.sh --media restores owners, modes and links into an empty directory", async function () {
            const target = dir("media-restored");
            fs.mkdirSync(target);
            const result = await restoreMedia(["latest"], { MEDIA_DIR: target });
            expect(result.code, why(result)).to.equal(0);
            expect(result.stderr).to.include(`latest media archive is ${archive}`).and.to.include(`checksum of ${archive} verified`);
            expect(result.stdout.trim()).to.match(new RegExp(`^restored ${archive.replace(/\./g, "\\.")} \\(\\d+ bytes, 8 entries\\) into ${target} in \\d+s$`));
            expect(tree(target)).to.deep.equal(source);
        });

        it("restore.sh --media refuses a non-empty directory without --force; --force replaces it, no old file left", async function () {
            const target = dir("media-busy");
            fs.mkdirSync(path.join(target, "uploads"), { recursive: true });
            fs.writeFileSync(path.join(target, "uploads", "newer.png"), "uploaded after the backup");
            fs.writeFileSync(path.join(target, "stray.txt"), "old");
            const before = tree(target);
            const refused = await restoreMedia([archive], { MEDIA_DIR: target });
            expect(refused.code, why(refused)).to.not.equal(0);
            expect(refused.stderr).to.include("is not empty (2 entries at its top level)").and.to.include("--force").and.to.include("not touched");
            expect(tree(target)).to.deep.equal(before);

            const forced = await restoreMedia(["--force", archive], { MEDIA_DIR: target });
            expect(forced.code, why(forced)).to.equal(0);
            expect(forced.stdout).to.include("replacing 2 top-level entries (--force)");
            expect(tree(target), "exactly the archive: no old file, no temporary directory").to.deep.equal(source);
        });

        it("restore.sh --media refuses truncated and corrupted archives before touching the directory", async function () {
            const target = dir("media-kept");
            fs.mkdirSync(target);
            fs.writeFileSync(path.join(target, "keep.txt"), "must survive");
            const before = tree(target);
            const bytes = fs.readFileSync(path.join(mediaBackups, archive));
            const truncated = "media-20000101T000001Z.tar.gz";
            fs.writeFileSync(path.join(mediaBackups, truncated), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
            const flipped = Buffer.from(bytes);
            flipped[Math.floor(flipped.length / 2)] ^= 0xff;
            const corrupted = "media-20000101T000002Z.tar.gz";
            fs.writeFileSync(path.join(mediaBackups, corrupted), flipped);
            const sum = fs.readFileSync(path.join(mediaBackups, `${archive}.sha256`), "utf8").split(/\s+/)[0];
            const mismatched = "media-20000101T000003Z.tar.gz";
            fs.writeFileSync(path.join(mediaBackups, mismatched), flipped);
            fs.writeFileSync(path.join(mediaBackups, `${mismatched}.sha256`), `${sum}  ${mismatched}\n`);
            try {
                for (const [name, expected] of [[truncated, "truncated or corrupt"], [corrupted, "truncated or corrupt"], [mismatched, "checksum mismatch"]]) {
                    const result = await restoreMedia(["--force", name], { MEDIA_DIR: target });
                    expect(result.code, why(result)).to.not.equal(0);
                    expect(result.stderr, name).to.include(expected);
                    expect(tree(target), name).to.deep.equal(before);
                }
            } finally {
                for (const f of [truncated, corrupted, mismatched, `${mismatched}.sha256`]) fs.rmSync(path.join(mediaBackups, f));
            }
        });

        it("backup.sh fails the run when the media part fails: exit non-zero, an ERROR line, nothing printed, no partial archive", async function () {
            const fakes = dir("fake-gzip");
            fs.mkdirSync(fakes);
            // gzip that compresses, but whose check fails: the archive cannot be verified.
            fs.writeFileSync(path.join(fakes, "gzip"), `#!/bin/sh\nfor a; do [ "$a" = -t ] && { echo "gzip: unexpected end of file" >&2; exit 1; }; done\nexec /usr/bin/gzip "$@"\n`, { mode: 0o755 });
            const failDir = dir("media-failed-backups");
            const failed = await backup(a!, mediaEnv({ BACKUP_DIR: failDir, PATH: `${fakes}:${SCRIPT_PATH}` }));
            expect(failed.code, why(failed)).to.not.equal(0);
            expect(failed.stderr).to.match(/backup: ERROR: the media archive fails gzip -t .*there is no media backup/);
            expect(failed.stdout).to.equal("");
            const left = fs.readdirSync(failDir);
            expect(left.filter((f) => f.startsWith(".") || f.startsWith("media-")), "no temporary file, no archive").to.deep.equal([]);
            expect(left.filter((f) => f.endsWith(".dump")), "the verified dump is kept").to.have.lengthOf(1);

            const missing = await backup(a!, mediaEnv({ BACKUP_DIR: failDir, MEDIA_DIR: dir("no-such-media") }));
            expect(missing.code, why(missing)).to.not.equal(0);
            expect(missing.stderr).to.include("is not a directory (is the media volume mounted?)");
            expect(missing.stdout).to.equal("");
        });

        it("media archives get the dumps' retention and upload, and restore from the bucket on a new host", async function () {
            const fakes = dir("fake-bin");
            writeFakes(fakes);
            const s3Root = dir("fake-s3-media");
            fs.mkdirSync(s3Root);
            const s3 = { PATH: `${fakes}:${SCRIPT_PATH}`, FAKE_S3_ROOT: s3Root, BACKUP_S3_URI: "s3://backups-bucket/prod" };
            const aged = (name: string, days: number) => {
                fs.writeFileSync(path.join(mediaBackups, name), "old");
                const when = new Date(Date.now() - days * 86_400_000);
                fs.utimesSync(path.join(mediaBackups, name), when, when);
            };
            aged("media-20000101T000000Z.tar.gz", 15);
            aged("media-20000101T000000Z.tar.gz.sha256", 15);
            aged("media-20000102T000000Z.tar.gz", 13);
            const result = await backup(a!, mediaEnv({ ...s3, BACKUP_RETENTION_DAYS: "14" }));
            expect(result.code, why(result)).to.equal(0);
            const [media, dump] = result.stdout.trim().split("\n");
            expect(result.stderr).to.include(`pruned ${mediaBackups}/media-20000101T000000Z.tar.gz (older than 14 days)`)
                .and.to.include(`pruned ${mediaBackups}/media-20000101T000000Z.tar.gz.sha256`);
            const kept = fs.readdirSync(mediaBackups).filter((f) => f.startsWith("media-")).sort();
            expect(kept).to.deep.equal(["media-20000102T000000Z.tar.gz", archive, `${archive}.sha256`, media, `${media}.sha256`].sort());
            fs.rmSync(path.join(mediaBackups, "media-20000102T000000Z.tar.gz"));
            const stored = fs.readdirSync(path.join(s3Root, "store", "backups-bucket", "prod")).sort();
            expect(stored).to.deep.equal([dump, `${dump}.sha256`, media, `${media}.sha256`].sort());

            const freshDir = dir("fresh-media-backups");
            const target = dir("fresh-media");
            fs.mkdirSync(target);
            const restored = await restoreMedia([], { ...s3, BACKUP_DIR: freshDir, MEDIA_DIR: target });
            expect(restored.code, why(restored)).to.equal(0);
            expect(restored.stderr).to.include(`latest media archive is ${media}`).and.to.include(`fetching ${media}`);
            expect(fs.readdirSync(freshDir).sort()).to.deep.equal([media, `${media}.sha256`]);
            expect(tree(target)).to.deep.equal(source);
        });
    });
});
