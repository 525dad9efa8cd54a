/**
 * The database as the program deploys it, on a real PostgreSQL 15 with Debian's q3c:
 * the db image's initdb.d scripts, the app's migrations and q3c cone search (through the app's
 * HTTP endpoint and in SQL, against an independent great-circle computation), the planner's use
 * of the q3c index, and the db container's healthcheck command.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { InitSqlFile, initSqlUploads } from "../../components/database";
import { renderStack, container, containerCommand, containerEnv, healthcheckCommand } from "./program";
import {
    appEnv, baseEnv, Gunicorn, httpGet, INITDB_DIR, Postgres, requireBinary, requireDjangoApp, requirePostgres,
    run, runInApp, tempDir,
} from "./servers";

/** Great-circle distance in degrees (haversine), independent of q3c. */
function angularDistance(ra1: number, dec1: number, ra2: number, dec2: number): number {
    const rad = Math.PI / 180;
    const h = Math.sin(((dec2 - dec1) * rad) / 2) ** 2
        + Math.cos(dec1 * rad) * Math.cos(dec2 * rad) * Math.sin(((ra2 - ra1) * rad) / 2) ** 2;
    return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / rad;
}

interface Cone { label: string; ra: number; dec: number; radius: number }
interface Position { name: string; ra: number; dec: number; inside?: string }

/** Hand-placed positions, each clearly inside (`inside`: the cone's label) or outside the cones. */
const CONES: Cone[] = [
    { label: "A", ra: 150, dec: 30, radius: 2 },
    // Straddles ra = 0/360.
    { label: "B", ra: 359.8, dec: 5, radius: 1 },
    // Contains the north pole.
    { label: "C", ra: 45, dec: 89.5, radius: 1 },
    { label: "D", ra: 10, dec: -45, radius: 0.3 },
    // Larger cones: dozens to hundreds of generated rows.
    { label: "E", ra: 270, dec: -60, radius: 5 },
    { label: "F", ra: 30, dec: 0, radius: 10 },
];
const PLACED: Position[] = [
    { name: "A-center", ra: 150, dec: 30, inside: "A" },
    { name: "A-north-1.5", ra: 150, dec: 31.5, inside: "A" },
    { name: "A-east-1.6", ra: 151.9, dec: 30, inside: "A" },
    { name: "A-south-2.5", ra: 150, dec: 27.5 },
    { name: "A-east-2.2", ra: 152.5, dec: 30 },
    { name: "B-ra-0", ra: 0, dec: 5, inside: "B" },
    { name: "B-east-across-0", ra: 0.5, dec: 5, inside: "B" },
    { name: "B-west", ra: 359.2, dec: 5.3, inside: "B" },
    { name: "B-east-1.4", ra: 1.2, dec: 5 },
    { name: "B-west-1.4", ra: 358.4, dec: 5 },
    { name: "B-opposite", ra: 179.8, dec: 5 },
    { name: "C-across-pole", ra: 225, dec: 89.8, inside: "C" },
    { name: "C-other-side", ra: 300, dec: 89.6, inside: "C" },
    { name: "C-south-1.3", ra: 45, dec: 88.2 },
    { name: "C-across-pole-far", ra: 225, dec: 88.9 },
    { name: "D-center", ra: 10, dec: -45, inside: "D" },
    { name: "D-edge-in", ra: 10.3, dec: -45.1, inside: "D" },
    { name: "D-out", ra: 10, dec: -45.5 },
];
const GENERATED_ROWS = 20_000;

describe("database: PostgreSQL 15 + q3c as the program deploys it", function () {
    let pg: Postgres | undefined;
    let web: Gunicorn | undefined;
    let tmp: ReturnType<typeof tempDir> | undefined;
    let dbEnv: Record<string, string>;
    let dbHealthcheck: string[];
    let webEnv: Record<string, string>;
    let webCommand: string[];

    before(async function () {
        this.timeout(120_000);
        requirePostgres();
        requireDjangoApp();
        // The dev stack, asking for one extension besides q3c.
        const resources = await renderStack("dev", { dbExtensions: ["pg_trgm"] });
        const db = container(resources, "-db");
        dbEnv = containerEnv(db);
        dbHealthcheck = healthcheckCommand(db);
        const webContainer = container(resources, "-web");
        webCommand = containerCommand(webContainer);
        tmp = tempDir("database");
        pg = await Postgres.start({ containerEnv: dbEnv });
        webEnv = appEnv(containerEnv(webContainer), {
            ...pg.appOverrides(),
            DJANGO_STATIC_ROOT: path.join(tmp.path, "static"),
            DJANGO_MEDIA_ROOT: path.join(tmp.path, "media"),
        });
    });

    after(async function () {
        this.timeout(60_000);
        try {
            await web?.stop();
        } finally {
            await pg?.destroy();
            tmp?.remove();
        }
    });

    describe("the image's initdb.d scripts", function () {
        it("are given the default role and database, and the extra extension", function () {
            expect(dbEnv).to.include({ POSTGRES_USER: "app", POSTGRES_DB: "app", POSTGRES_EXTRA_EXTENSIONS: "pg_trgm" });
        });

        it("leave POSTGRES_USER a superuser that owns POSTGRES_DB", async function () {
            const owner = await pg!.query("SELECT r.rolname, r.rolsuper FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = current_database()");
            expect(owner).to.equal("app|t");
        });

        it("10-q3c.sql creates q3c: q3c_version() answers", async function () {
            expect(pg!.initOutput).to.have.property("10-q3c.sql").that.contains("CREATE EXTENSION");
            const version = await pg!.query("SELECT q3c_version()");
            expect(version).to.match(/\d+\.\d+/);
        });

        it("20-extra-extensions.sh creates POSTGRES_EXTRA_EXTENSIONS (pg_trgm)", async function () {
            expect(pg!.initOutput["20-extra-extensions.sh"]).to.contain('CREATE EXTENSION IF NOT EXISTS "pg_trgm" on database "app"');
            const extensions = (await pg!.query("SELECT extname FROM pg_extension ORDER BY extname")).split("\n");
            expect(extensions).to.include.members(["q3c", "pg_trgm"]);
            expect(await pg!.query("SELECT similarity('andromeda', 'andromede') > 0.5")).to.equal("t");
        });

        it("20-extra-extensions.sh refuses an invalid name before creating anything", async function () {
            const script = path.join(INITDB_DIR, "20-extra-extensions.sh");
            const result = await run(script, [], {
                env: pg!.tcpEnv({ POSTGRES_USER: pg!.user, POSTGRES_DB: pg!.database, POSTGRES_EXTRA_EXTENSIONS: "btree_gist, bad-name;" }),
            });
            expect(result.code, result.output).to.not.equal(0);
            expect(result.stderr).to.contain('invalid extension name "bad-name;"');
            expect(await pg!.query("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'")).to.equal("0");
        });
    });

    describe("the app's migrations and q3c cone search", function () {
        /** Every position in the table, read back, for the independent expectation. */
        let rows: { id: number; ra: number; dec: number }[] = [];
        const placedIds = new Map<string, number>();

        before(async function () {
            this.timeout(120_000);
            const migrate = await runInApp(["python3", "manage.py", "migrate", "--noinput"], webEnv);
            if (migrate.code !== 0) throw new Error(`manage.py migrate failed (${migrate.code}):\n${migrate.output}`);

            // A Fibonacci lattice: evenly spread over the sphere, deterministic.
            await pg!.query(`INSERT INTO sky_skyposition (name, ra, dec, created)
                SELECT 'gen-' || i,
                       ((i * 137.50776405003785) % 360)::float8,
                       degrees(asin(1 - 2 * (i - 0.5) / ${GENERATED_ROWS})),
                       now()
                FROM generate_series(1, ${GENERATED_ROWS}) AS i`);
            const values = PLACED.map((p) => `('${p.name}', ${p.ra}, ${p.dec}, now())`).join(", ");
            const inserted = await pg!.query(`INSERT INTO sky_skyposition (name, ra, dec, created) VALUES ${values} RETURNING name, id`);
            for (const line of inserted.split("\n")) {
                const [name, id] = line.split("|");
                placedIds.set(name, Number(id));
            }
            await pg!.query("ANALYZE sky_skyposition");
            rows = (await pg!.query("SELECT id, ra, dec FROM sky_skyposition")).split("\n").map((line) => {
                const [id, ra, dec] = line.split("|").map(Number);
                return { id, ra, dec };
            });
            web = await Gunicorn.start(webCommand, webEnv);
        });

        /** Ids of every row within the cone by the haversine formula; refuses rows too close to the edge to call. */
        function expectedIds(cone: Cone): number[] {
            const ids: number[] = [];
            for (const row of rows) {
                const d = angularDistance(cone.ra, cone.dec, row.ra, row.dec);
                if (Math.abs(d - cone.radius) < 1e-6) {
                    throw new Error(`row ${row.id} (${row.ra}, ${row.dec}) is ${d} deg from cone ${cone.label}: too close to its edge to test`);
                }
                if (d < cone.radius) ids.push(row.id);
            }
            return ids.sort((a, b) => a - b);
        }

        it("migrations created the q3c index on (ra, dec)", async function () {
            const def = await pg!.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'sky_skyposition_q3c_idx'");
            // pg_get_indexdef quotes "dec" (a keyword).
            expect(def).to.match(/USING btree \((public\.)?q3c_ang2ipix\(ra, "?dec"?\)\)/);
            expect(rows).to.have.length(GENERATED_ROWS + PLACED.length);
        });

        it("the hand-placed positions are where the test thinks (haversine)", function () {
            for (const p of PLACED) {
                for (const cone of CONES) {
                    const inside = angularDistance(cone.ra, cone.dec, p.ra, p.dec) < cone.radius;
                    expect(inside, `${p.name} in cone ${cone.label}`).to.equal(p.inside === cone.label);
                }
            }
        });

        for (const cone of CONES) {
            it(`GET /api/cone returns exactly the rows within cone ${cone.label} (ra=${cone.ra}, dec=${cone.dec}, r=${cone.radius})`, async function () {
                const expected = expectedIds(cone);
                const res = await httpGet(web!.port, `/api/cone?ra=${cone.ra}&dec=${cone.dec}&radius=${cone.radius}`, { Host: "localhost" });
                expect(res.status, res.body.toString()).to.equal(200);
                const body = JSON.parse(res.body.toString()) as { count: number; results: { id: number; name: string }[] };
                const ids = body.results.map((r) => r.id);
                expect(ids, "ordered by id").to.deep.equal([...ids].sort((a, b) => a - b));
                expect(expected.length, "rows expected in the cone").to.be.greaterThan(1);
                expect(ids).to.deep.equal(expected);
                expect(body.count).to.equal(expected.length);
                const names = new Set(body.results.map((r) => r.name));
                for (const p of PLACED) expect(names.has(p.name), p.name).to.equal(p.inside === cone.label);
            });

            it(`q3c_radial_query in SQL returns exactly the rows within cone ${cone.label}`, async function () {
                const out = await pg!.query(`SELECT id FROM sky_skyposition WHERE q3c_radial_query(ra, dec, ${cone.ra}, ${cone.dec}, ${cone.radius}) ORDER BY id`);
                const ids = out === "" ? [] : out.split("\n").map(Number);
                expect(ids).to.deep.equal(expectedIds(cone));
            });
        }

        it("GET /api/cone rejects out-of-range parameters with 400", async function () {
            for (const query of ["ra=360&dec=0&radius=1", "ra=10&dec=0&radius=0", "ra=10&dec=91&radius=1", "ra=nan&dec=0&radius=1"]) {
                const res = await httpGet(web!.port, `/api/cone?${query}`, { Host: "localhost" });
                expect(res.status, query).to.equal(400);
            }
        });

        it("the planner runs the app's cone query (views.CONE_SQL) on sky_skyposition_q3c_idx, without a seq scan", async function () {
            const explain = [
                "from django.db import connection",
                "from sky.views import CONE_SQL",
                "with connection.cursor() as cursor:",
                "    cursor.execute('EXPLAIN ' + CONE_SQL, [150.0, 30.0, 2.0])",
                "    print('\\n'.join(row[0] for row in cursor.fetchall()))",
            ].join("\n");
            const result = await runInApp(["python3", "manage.py", "shell", "-c", explain], webEnv);
            expect(result.code, result.output).to.equal(0);
            expect(result.stdout).to.contain("sky_skyposition_q3c_idx");
            expect(result.stdout).to.not.contain("Seq Scan");
        });
    });

    describe("the db container's healthcheck command", function () {
        it("is pg_isready against 127.0.0.1 (the real server, not the init-time socket)", function () {
            expect(dbHealthcheck.slice(0, 3)).to.deep.equal(["pg_isready", "-h", "127.0.0.1"]);
        });

        it("exits 0 while the server runs and non-zero once it is stopped", async function () {
            this.timeout(60_000);
            requireBinary("/usr/bin/pg_isready", "postgresql-client-15");
            // Unchanged command; only the port differs from the container's 5432.
            const env = baseEnv({ PGPORT: String(pg!.port) });
            const up = await run(dbHealthcheck[0], dbHealthcheck.slice(1), { env });
            expect(up.code, up.output).to.equal(0);
            expect(up.stdout).to.contain("accepting connections");

            await pg!.stopServer();
            const down = await run(dbHealthcheck[0], dbHealthcheck.slice(1), { env });
            expect(down.code, down.output).to.not.equal(0);
        });
    });
});

/**
 * What the program adds to a first initialisation, on the same real PostgreSQL 15: extensions
 * by any name PostgreSQL ships (uuid-ossp needs quoting), checked against
 * pg_available_extensions first, and the app's schema SQL uploaded as
 * /docker-entrypoint-initdb.d/50-app-NN-*.sql. The harness runs an initdb.d directory like the
 * entrypoint does; here that directory is images/db/initdb plus the files the Database component
 * would upload (initSqlUploads, the function it uses). That the files run only on an empty data
 * directory is the entrypoint's rule: tests/integration/dbImage.test.ts checks it with the image.
 */
describe("database: first initialisation with extensions and the app's schema SQL", function () {
    /** The dev stack's db container environment, as the program renders it. */
    let dbEnv: Record<string, string>;
    const servers: Postgres[] = [];
    const dirs: ReturnType<typeof tempDir>[] = [];

    const SCHEMA: InitSqlFile = {
        name: "db/schema/001_tables.sql",
        content: [
            "-- First-time schema, RecordSponge style: uses q3c (10-q3c.sql) and the dbExtensions.",
            "CREATE TABLE sponge_record (",
            "    id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),",
            "    name text NOT NULL,",
            "    ra double precision NOT NULL,",
            "    dec double precision NOT NULL",
            ");",
            "CREATE INDEX sponge_record_q3c_idx ON sponge_record (q3c_ang2ipix(ra, dec));",
            "CREATE INDEX sponge_record_name_trgm_idx ON sponge_record USING gin (name gin_trgm_ops);",
            "",
        ].join("\n"),
    };
    const SEED: InitSqlFile = {
        name: "db/schema/002 Seed Data.SQL",
        content: [
            "-- Needs 001's table: the files run in the given order.",
            "INSERT INTO sponge_record (name, ra, dec) VALUES ('andromeda', 10.68, 41.27), ('vega', 279.23, 38.78);",
            "CREATE TABLE init_runs (n serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());",
            "INSERT INTO init_runs DEFAULT VALUES;",
            "",
        ].join("\n"),
    };
    const BROKEN: InitSqlFile = {
        name: "broken.sql",
        content: [
            "CREATE TABLE before_the_error (id int);",
            "CREATE TABLE broken (id int,);",
            "CREATE TABLE after_the_error (id int);",
            "",
        ].join("\n"),
    };

    /** images/db/initdb (modes kept) plus the component's uploads, in a temporary initdb.d. */
    function initdbDir(files: InitSqlFile[], only?: (name: string) => boolean): string {
        const dir = tempDir("initdb");
        dirs.push(dir);
        for (const name of fs.readdirSync(INITDB_DIR)) {
            if (only !== undefined && !only(name)) continue;
            const target = path.join(dir.path, name);
            fs.copyFileSync(path.join(INITDB_DIR, name), target);
            fs.chmodSync(target, fs.statSync(path.join(INITDB_DIR, name)).mode & 0o777);
        }
        for (const upload of initSqlUploads(files)) {
            fs.writeFileSync(path.join(dir.path, path.posix.basename(upload.file)), upload.content, { mode: 0o644 });
        }
        return dir.path;
    }

    async function start(extensions: string, files: InitSqlFile[], only?: (name: string) => boolean): Promise<Postgres> {
        const pg = await Postgres.start({ containerEnv: { ...dbEnv, POSTGRES_EXTRA_EXTENSIONS: extensions }, initdbDir: initdbDir(files, only) });
        servers.push(pg);
        return pg;
    }

    /** Postgres.start's failure message: initialisation must fail. */
    async function initFailure(extensions: string, files: InitSqlFile[]): Promise<string> {
        try {
            // A failed start leaves its server to the harness's exit-time cleanup.
            await start(extensions, files);
        } catch (err) {
            return (err as Error).message;
        }
        throw new Error(`initialisation with POSTGRES_EXTRA_EXTENSIONS=${extensions} and ${files.map((f) => f.name).join(", ")} succeeded; it must fail`);
    }

    before(async function () {
        this.timeout(60_000);
        requirePostgres();
        dbEnv = containerEnv(container(await renderStack("dev", { dbExtensions: ["pg_trgm"] }), "-db"));
    });

    after(async function () {
        this.timeout(60_000);
        for (const pg of servers) await pg.destroy();
        for (const dir of dirs) dir.remove();
    });

    describe("a complete first initialisation: uuid-ossp, pg_trgm and two schema SQL files", function () {
        let pg: Postgres;

        before(async function () {
            this.timeout(60_000);
            pg = await start("uuid-ossp, pg_trgm", [SCHEMA, SEED]);
        });

        it("creates uuid-ossp (quoted) and pg_trgm, after q3c", async function () {
            const output = pg.initOutput["20-extra-extensions.sh"];
            expect(output).to.contain('CREATE EXTENSION IF NOT EXISTS "uuid-ossp" on database "app"');
            expect(output).to.contain('CREATE EXTENSION IF NOT EXISTS "pg_trgm" on database "app"');
            const extensions = (await pg.query("SELECT extname FROM pg_extension ORDER BY oid")).split("\n");
            expect(extensions.filter((e) => e !== "plpgsql")).to.deep.equal(["q3c", "uuid-ossp", "pg_trgm"]);
            expect(await pg.query("SELECT uuid_generate_v4()::text")).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        });

        it("runs the schema SQL files after the extensions, in the given order, named 50-app-NN-*.sql", function () {
            const order = Object.keys(pg.initOutput);
            expect(order).to.deep.equal([
                "00-init-started.sh", "10-q3c.sql", "20-extra-extensions.sh",
                "50-app-01-001_tables.sql", "50-app-02-002-seed-data.sql", "99-init-complete.sh",
            ]);
        });

        it("creates the tables, owned by the app's role, in the app's database, using q3c, uuid-ossp and pg_trgm", async function () {
            expect(await pg.query("SELECT tableowner FROM pg_tables WHERE tablename IN ('sponge_record', 'init_runs') ORDER BY tablename"))
                .to.equal("app\napp");
            expect(await pg.query("SELECT count(*) FROM sponge_record")).to.equal("2");
            expect(await pg.query("SELECT count(*) FROM init_runs")).to.equal("1");
            expect(await pg.query("SELECT name FROM sponge_record WHERE q3c_radial_query(ra, dec, 10.7, 41.3, 0.1)")).to.equal("andromeda");
            expect(await pg.query("SELECT name FROM sponge_record WHERE name % 'andromede'")).to.equal("andromeda");
            const indexes = await pg.query("SELECT indexname FROM pg_indexes WHERE tablename = 'sponge_record' ORDER BY indexname");
            expect(indexes.split("\n")).to.include.members(["sponge_record_q3c_idx", "sponge_record_name_trgm_idx"]);
        });

        it("leaves no 'initialisation incomplete' mark in the data directory", function () {
            expect(pg.initOutput["00-init-started.sh"]).to.contain("webstack-init-incomplete");
            expect(pg.initOutput["99-init-complete.sh"]).to.contain("initialisation complete");
            expect(fs.existsSync(path.join(pg.dataDir, "webstack-init-incomplete"))).to.equal(false);
        });
    });

    describe("a first initialisation that must fail", function () {
        it("an extension PostgreSQL 15 does not ship (no_such_ext): one line naming it, the major and what to do", async function () {
            this.timeout(60_000);
            const message = await initFailure("uuid-ossp,no_such_ext", [SCHEMA]);
            const line = message.split("\n").find((l) => l.includes("ERROR:"));
            expect(line, message).to.match(
                /^20-extra-extensions\.sh: ERROR: extension\(s\) not shipped by this image's PostgreSQL 15: no_such_ext\. /);
            expect(line).to.contain("install the package that ships it in images/db/Dockerfile (usually postgresql-15-<name>");
            expect(line).to.contain("or remove it from dbExtensions; none of the dbExtensions was created");
            // Stopped at 20-: the schema SQL never ran.
            expect(message).to.not.contain("50-app-");
        });

        it("... checked before anything is created: the data directory keeps its 'incomplete' mark", async function () {
            this.timeout(60_000);
            // Initialised up to q3c; then the extensions step, run the way the entrypoint runs it.
            const pg = await start("", [], (name) => name < "20");
            expect(fs.existsSync(path.join(pg.dataDir, "webstack-init-incomplete"))).to.equal(true);
            const result = await run(path.join(INITDB_DIR, "20-extra-extensions.sh"), [], {
                env: pg.tcpEnv({ POSTGRES_USER: pg.user, POSTGRES_DB: pg.database, POSTGRES_EXTRA_EXTENSIONS: "pg_trgm uuid-ossp no_such_ext other_missing" }),
            });
            expect(result.code, result.output).to.equal(1);
            expect(result.stderr.trim().split("\n"), "one line").to.have.length(1);
            expect(result.stderr).to.contain("PostgreSQL 15: no_such_ext, other_missing.");
            expect(await pg.query("SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension")).to.equal("plpgsql,q3c");
            expect(fs.existsSync(path.join(pg.dataDir, "webstack-init-incomplete"))).to.equal(true);
        });

        it("a broken schema SQL file: psql's error names the file and line, and nothing after it runs", async function () {
            this.timeout(60_000);
            const message = await initFailure("uuid-ossp,pg_trgm", [SCHEMA, BROKEN]);
            expect(message).to.match(/psql:\S*50-app-02-broken\.sql:2: ERROR: {1,2}syntax error at or near "\)"/);
            expect(message).to.not.contain("99-init-complete");
        });
    });

    describe("20-extra-extensions.sh --build-check (the image build's check, on the control files)", function () {
        const check = (extensions: string) => run(path.join(INITDB_DIR, "20-extra-extensions.sh"), ["--build-check"], {
            env: baseEnv({ PG_MAJOR: "15", POSTGRES_EXTRA_EXTENSIONS: extensions }),
        });

        it("passes when PostgreSQL 15 ships every extension", async function () {
            const result = await check("uuid-ossp,pg_trgm, q3c");
            expect(result.code, result.output).to.equal(0);
            expect(result.stdout).to.contain("PostgreSQL 15 ships every extension asked for: uuid-ossp pg_trgm q3c");
        });

        it("fails with the same line as initialisation when one is missing", async function () {
            const result = await check("uuid-ossp,no_such_ext");
            expect(result.code, result.output).to.equal(1);
            expect(result.stderr.trim()).to.match(/^20-extra-extensions\.sh: ERROR: extension\(s\) not shipped by this image's PostgreSQL 15: no_such_ext\. [^\n]*remove it from dbExtensions; none of the dbExtensions was created$/);
        });

        it("refuses names PostgreSQL would refuse", async function () {
            for (const bad of ["-lead", "trail-", "dou--ble", "Upper", "semi;colon", '"quoted"']) {
                const result = await check(bad);
                expect(result.code, bad).to.equal(1);
                expect(result.stderr, bad).to.contain(`invalid extension name "${bad}"`);
            }
        });
    });
});
