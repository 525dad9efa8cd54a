/**
 * The db image itself (images/db), built and run on the real Docker engine
 * (tests/engine/dockerd.sh) on the postgres:15-bookworm stand-in (tests/standins/build.sh
 * postgres), with the official entrypoint's contract: what `docker logs` says when an extension
 * is missing, that the app's schema SQL runs on the first start only, and that a failed first
 * initialisation is never started later as if it had succeeded.
 *
 * The schema SQL is put where the program's `uploads` put it (initSqlUploads) with `docker cp`
 * between create and start, as the provider does. Everything talks to the containers through
 * `docker exec`: no port is published. Fails (never skips) when the engine or the stand-in is
 * missing. Removes its containers (with their volumes) and its image.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { InitSqlFile, initSqlUploads } from "../../components/database";
import { baseEnv, REPO, requireBinary, run, RunResult, tempDir } from "./servers";

const DOCKER = "/usr/bin/docker";
const BASE_IMAGE = "postgres:15-bookworm";
/** Per run, so that two runs on one engine do not remove each other's image. */
const IMAGE = `webstack-it-db:test-${process.pid}`;
const LABEL = `webstack.test=dbImage-${process.pid}`;
const ENV = { POSTGRES_USER: "app", POSTGRES_DB: "app", POSTGRES_PASSWORD: "it-password" };

function docker(args: string[], timeoutMs = 120_000): Promise<RunResult> {
    return run(DOCKER, args, { env: baseEnv({ DOCKER_BUILDKIT: "0" }), timeoutMs });
}

async function dockerOk(args: string[], timeoutMs?: number): Promise<string> {
    const result = await docker(args, timeoutMs);
    if (result.code !== 0) throw new Error(`docker ${args.join(" ")} exited with ${result.code ?? result.signal}:\n${result.output}`);
    return result.stdout.trim();
}

const SCHEMA: InitSqlFile = {
    name: "db/001_schema.sql",
    content: [
        "CREATE TABLE sponge_record (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), name text NOT NULL, ra float8, dec float8);",
        "CREATE INDEX ON sponge_record (q3c_ang2ipix(ra, dec));",
        "CREATE INDEX ON sponge_record USING gin (name gin_trgm_ops);",
        "CREATE TABLE init_runs (n serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());",
        "INSERT INTO init_runs DEFAULT VALUES;",
        "",
    ].join("\n"),
};
const BROKEN: InitSqlFile = { name: "db/002_broken.sql", content: "CREATE TABLE ok (id int);\nCREATE TABLE broken (id int,);\n" };

describe("the db image (images/db) on the real Docker engine", function () {
    const containers: string[] = [];
    let tmp: ReturnType<typeof tempDir> | undefined;
    let imageBuilt = false;

    /** `docker create` with the program's environment, the schema SQL copied in, then started. */
    async function startContainer(suffix: string, extensions: string, files: InitSqlFile[]): Promise<string> {
        const name = `webstack-it-db-${suffix}-${process.pid}`;
        const env = { ...ENV, POSTGRES_EXTRA_EXTENSIONS: extensions };
        await dockerOk(["create", "--name", name, "--label", LABEL, ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]), IMAGE]);
        containers.push(name);
        for (const upload of initSqlUploads(files)) {
            const local = path.join(tmp!.path, `${suffix}-${path.posix.basename(upload.file)}`);
            fs.writeFileSync(local, upload.content, { mode: 0o644 });
            await dockerOk(["cp", local, `${name}:${upload.file}`]);
        }
        await dockerOk(["start", name]);
        return name;
    }

    /** Waits until the container exits; resolves with its exit code. */
    async function exited(name: string, timeoutMs = 90_000): Promise<number> {
        const code = await dockerOk(["wait", name], timeoutMs);
        return Number(code);
    }

    /** Waits until the real server (not the init-time socket-only one) answers on TCP in the container. */
    async function ready(name: string, timeoutMs = 90_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const state = await dockerOk(["inspect", "-f", "{{.State.Status}}", name]);
            if (state === "exited") throw new Error(`${name} exited:\n${await logs(name)}`);
            const probe = await docker(["exec", name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "app", "-d", "app"]);
            if (probe.code === 0) return;
            if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs} ms:\n${await logs(name)}`);
            await new Promise((r) => setTimeout(r, 500));
        }
    }

    async function logs(name: string): Promise<string> {
        return (await docker(["logs", name])).output;
    }

    async function sql(name: string, query: string): Promise<string> {
        return dockerOk(["exec", name, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", "app", "-d", "app", "-At", "-c", query]);
    }

    before(async function () {
        this.timeout(900_000);
        requireBinary(DOCKER, "docker.io (then start the engine: tests/engine/dockerd.sh start)");
        const info = await docker(["info", "--format", "{{.ServerVersion}}"], 20_000);
        if (info.code !== 0) throw new Error(`no Docker engine answers; start one with tests/engine/dockerd.sh start:\n${info.output}`);
        const base = await docker(["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE]);
        if (base.code !== 0) {
            throw new Error(`${BASE_IMAGE} is not on the engine (Docker Hub is not reachable from the tests): build the stand-in with ` +
                `tests/standins/build.sh postgres\n${base.output}`);
        }
        tmp = tempDir("dbimage");
        // The accepting side of the build-time check: both are shipped by PostgreSQL 15.
        const build = await docker(["build", "--force-rm", "--build-arg", "PG_MAJOR=15", "--build-arg", "POSTGRES_EXTRA_EXTENSIONS=uuid-ossp,pg_trgm",
            "-t", IMAGE, path.join(REPO, "images", "db")], 840_000);
        if (build.code !== 0) throw new Error(`docker build of images/db failed (${build.code}):\n${build.output}`);
        imageBuilt = true;
        expect(build.output).to.contain("20-extra-extensions.sh: PostgreSQL 15 ships every extension asked for: uuid-ossp pg_trgm");
    });

    after(async function () {
        this.timeout(120_000);
        const problems: string[] = [];
        for (const name of containers) {
            const rm = await docker(["rm", "-f", "-v", name]);
            if (rm.code !== 0) problems.push(rm.output);
        }
        if (imageBuilt) {
            const rmi = await docker(["rmi", "-f", IMAGE]);
            if (rmi.code !== 0) problems.push(rmi.output);
        }
        tmp?.remove();
        if (problems.length > 0) throw new Error(`cleanup failed:\n${problems.join("\n")}`);
    });

    it("refuses to build when POSTGRES_EXTRA_EXTENSIONS names an extension PostgreSQL 15 does not ship", async function () {
        this.timeout(300_000);
        const build = await docker(["build", "--force-rm", "--build-arg", "PG_MAJOR=15", "--build-arg", "POSTGRES_EXTRA_EXTENSIONS=uuid-ossp,no_such_ext",
            path.join(REPO, "images", "db")], 280_000);
        expect(build.code, build.output).to.not.equal(0);
        expect(build.output).to.match(/20-extra-extensions\.sh: ERROR: extension\(s\) not shipped by this image's PostgreSQL 15: no_such_ext\. /);
    });

    describe("asked for uuid-ossp,no_such_ext", function () {
        let name: string;
        let firstLogs: string;

        before(async function () {
            this.timeout(120_000);
            name = await startContainer("missing", "uuid-ossp,no_such_ext", [SCHEMA]);
            const code = await exited(name);
            firstLogs = await logs(name);
            expect(code, firstLogs).to.not.equal(0);
        });

        it("stops at first initialisation, and docker logs has one line naming the extension, the major and what to do", function () {
            const lines = firstLogs.split("\n").filter((l) => l.includes("ERROR:"));
            expect(lines, firstLogs).to.have.length(1);
            expect(lines[0]).to.match(/^20-extra-extensions\.sh: ERROR: extension\(s\) not shipped by this image's PostgreSQL 15: no_such_ext\. /);
            expect(lines[0]).to.contain("install the package that ships it in images/db/Dockerfile (usually postgresql-15-<name>");
            expect(lines[0]).to.contain("or remove it from dbExtensions");
            // The schema SQL never ran.
            expect(firstLogs).to.not.contain("50-app-01");
        });

        it("refuses every later start on the half-initialised data directory, saying why", async function () {
            this.timeout(60_000);
            await dockerOk(["start", name]);
            expect(await exited(name)).to.equal(1);
            const again = await logs(name);
            expect(firstLogs).to.not.contain("webstack-entrypoint.sh: ERROR");
            expect(again).to.contain("webstack-entrypoint.sh: ERROR: the first initialisation of /var/lib/postgresql/data did not complete");
            expect(again).to.not.match(/skipping initialization/i);
        });
    });

    describe("asked for uuid-ossp,pg_trgm with a schema SQL file", function () {
        let name: string;

        before(async function () {
            this.timeout(120_000);
            name = await startContainer("ok", "uuid-ossp,pg_trgm", [SCHEMA]);
            await ready(name);
        });

        it("creates the extensions, then runs the schema SQL as the app's role", async function () {
            expect(await sql(name, "SELECT string_agg(extname, ',' ORDER BY oid) FROM pg_extension WHERE extname <> 'plpgsql'")).to.equal("q3c,uuid-ossp,pg_trgm");
            expect(await sql(name, "SELECT tableowner FROM pg_tables WHERE tablename = 'sponge_record'")).to.equal("app");
            expect(await sql(name, "SELECT count(*) FROM init_runs")).to.equal("1");
            const out = await logs(name);
            expect(out).to.contain("/docker-entrypoint-initdb.d/50-app-01-001_schema.sql");
            expect(out).to.contain("99-init-complete.sh: initialisation complete");
        });

        it("runs it on the first start only: a restart skips initialisation and keeps the data", async function () {
            this.timeout(120_000);
            await sql(name, "INSERT INTO sponge_record (name, ra, dec) VALUES ('vega', 279.23, 38.78)");
            // stdout and stderr interleave differently on each read: count lines, do not slice.
            const count = (text: string, pattern: RegExp) => text.split("\n").filter((l) => pattern.test(l)).length;
            const before = await logs(name);
            expect(count(before, /skipping initialization/i), before).to.equal(0);
            expect(count(before, /running \/docker-entrypoint-initdb\.d\/50-app-01-001_schema\.sql/), before).to.equal(1);
            await dockerOk(["restart", "-t", "60", name], 90_000);
            await ready(name);
            const after = await logs(name);
            expect(count(after, /skipping initialization/i), after).to.equal(1);
            expect(count(after, /running \/docker-entrypoint-initdb\.d\/50-app-01-001_schema\.sql/), after).to.equal(1);
            expect(await sql(name, "SELECT count(*) FROM init_runs")).to.equal("1");
            expect(await sql(name, "SELECT name FROM sponge_record")).to.equal("vega");
        });
    });

    describe("with a broken schema SQL file", function () {
        let name: string;
        let firstLogs: string;

        before(async function () {
            this.timeout(120_000);
            name = await startContainer("broken", "uuid-ossp,pg_trgm", [SCHEMA, BROKEN]);
            const code = await exited(name);
            firstLogs = await logs(name);
            expect(code, firstLogs).to.not.equal(0);
        });

        it("stops first initialisation with psql's error, naming the file and line", function () {
            expect(firstLogs).to.match(/psql:\/docker-entrypoint-initdb\.d\/50-app-02-002_broken\.sql:2: ERROR: {1,2}syntax error at or near "\)"/);
            expect(firstLogs).to.not.contain("99-init-complete.sh");
        });

        it("and refuses later starts instead of serving the half-initialised database", async function () {
            this.timeout(60_000);
            await dockerOk(["start", name]);
            expect(await exited(name)).to.equal(1);
            expect(firstLogs).to.not.contain("webstack-entrypoint.sh: ERROR");
            expect(await logs(name)).to.contain("webstack-entrypoint.sh: ERROR: the first initialisation");
        });
    });
});
