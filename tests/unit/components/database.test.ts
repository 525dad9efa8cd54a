import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { isSecretValue, ofType, Registered, runWithConfig, stackConfig, unwrap } from "../../harness";
import { Database, DatabaseArgs, INITDB_DIR, initSqlUploads } from "../../../components/database";
import { EXTENSION_NAME_MAX_LENGTH, extensionName, extensionNameProblem } from "../../../components/extensions";
import { localHost } from "../../../targets/local";
import * as v from "../../../config/validators";

describe("extension names (extensionNameProblem)", () => {
    it("accepts every name form PostgreSQL and the Debian/PGDG packages use, hyphens included", () => {
        for (const name of ["pg_trgm", "uuid-ossp", "btree_gist", "q3c", "postgis_tiger_geocoder", "pg_stat_statements",
            "earthdistance", "plpgsql", "h3", "x", "a".repeat(EXTENSION_NAME_MAX_LENGTH)]) {
            expect(extensionNameProblem(name), name).to.equal(undefined);
        }
    });

    it("refuses what PostgreSQL refuses, and anything that needs more than double quotes", () => {
        const cases: [string, RegExp][] = [
            ["", /empty/],
            ["a".repeat(EXTENSION_NAME_MAX_LENGTH + 1), /64 characters long; PostgreSQL names have at most 63/],
            ["-lead", /starts or ends with "-"/],
            ["trail-", /starts or ends with "-"/],
            ["dou--ble", /contains "--"/],
            ["Uuid-Ossp", /contains "U", "O".*lower case: "uuid-ossp"\?/],
            ["pg_trgm; DROP", /contains ";", " ", "D", "R", "O", "P"/],
            ['"quoted"', /contains "\\""/],
            ["a.b", /contains "\."/],
            ["../evil", /contains "\.", "\/"/],
            ["tab\there", /contains "\\t"/],
        ];
        for (const [name, problem] of cases) expect(extensionNameProblem(name), JSON.stringify(name)).to.match(problem);
    });

    it("extensionName is the same check as a config parser, for v.listOf", () => {
        expect(extensionName("uuid-ossp")).to.equal("uuid-ossp");
        expect(() => extensionName("a--b")).to.throw(v.InvalidValue, /contains "--"/);
        const parse = v.listOf(extensionName, "extension names such as pg_trgm or uuid-ossp");
        expect(parse('["uuid-ossp","pg_trgm"]')).to.deep.equal(["uuid-ossp", "pg_trgm"]);
        expect(() => parse('["pg_trgm","bad name"]')).to.throw(v.InvalidValue, /"bad name" is not one/);
    });
});

describe("first-time schema SQL (initSqlUploads)", () => {
    it("goes to /docker-entrypoint-initdb.d/50-app-NN-<name>.sql, in the given order, content unchanged", () => {
        const content = "CREATE TABLE t (id int);\n-- ünïcode, 'quotes' and $$dollars$$\n";
        expect(initSqlUploads([
            { name: "db/schema/001_tables.sql", content },
            { name: "C:\\app\\Seed Data.SQL", content: "" },
            { name: "...", content: "SELECT 1;" },
        ])).to.deep.equal([
            { file: `${INITDB_DIR}/50-app-01-001_tables.sql`, content },
            { file: `${INITDB_DIR}/50-app-02-seed-data.sql`, content: "" },
            { file: `${INITDB_DIR}/50-app-03-schema.sql`, content: "SELECT 1;" },
        ]);
        expect(INITDB_DIR).to.equal("/docker-entrypoint-initdb.d");
    });

    it("numbers wide enough to keep the order when sorted by name", () => {
        const files = initSqlUploads(Array.from({ length: 120 }, (_, i) => ({ name: `f${i}.sql`, content: "" }))).map((u) => u.file);
        expect(files[0]).to.equal(`${INITDB_DIR}/50-app-001-f0.sql`);
        expect([...files].sort()).to.deep.equal(files);
    });

    it("refuses a file without a name, or with binary content", () => {
        expect(() => initSqlUploads([{ name: " ", content: "" }])).to.throw(/initSql\[0\]: the file has no name/);
        expect(() => initSqlUploads([{ name: "a.sql", content: "x\0y" }])).to.throw(/a\.sql.*NUL byte/);
    });
});

describe("the Database component", function () {
    this.timeout(20_000);

    async function render(extra: Partial<DatabaseArgs>): Promise<Registered[]> {
        const { resources } = await runWithConfig("dev", stackConfig("dev"), () => {
            const host = localHost("local");
            const network = new docker.Network("backend", { name: "t-backend" }, { provider: host.provider });
            return new Database("db", {
                host,
                prefix: "t",
                postgresVersion: 16,
                name: "app",
                user: "app",
                password: pulumi.secret("pw"),
                extensions: [],
                data: { name: pulumi.output("t-pgdata"), mount: (containerPath) => ({ volumeName: "t-pgdata", containerPath }) },
                network,
                ...extra,
            });
        });
        return resources;
    }
    const dbContainer = (resources: Registered[]) => ofType(resources, "docker:index/container:Container").find((c) => c.name === "db")!;
    const dbImage = (resources: Registered[]) => ofType(resources, "docker:index/image:Image").find((i) => i.name === "db-image")!;

    it("passes the extensions to the image build and to initialisation, and uploads the schema SQL in plain text", async () => {
        const initSql = [{ name: "schema/001.sql", content: "CREATE TABLE a (id uuid DEFAULT uuid_generate_v4());\n" }, { name: "002.sql", content: "SELECT 1;\n" }];
        const resources = await render({ extensions: ["uuid-ossp", "pg_trgm"], initSql });
        const image = dbImage(resources);
        expect(image.inputs.build.args).to.deep.equal({ PG_MAJOR: "16", POSTGRES_EXTRA_EXTENSIONS: "uuid-ossp,pg_trgm" });
        expect(image.inputs.imageName).to.match(/^t-db:pg16-[0-9a-f]{12}$/);
        const container = dbContainer(resources);
        expect((unwrap(container.inputs.envs) as string[])).to.include("POSTGRES_EXTRA_EXTENSIONS=uuid-ossp,pg_trgm");
        expect(isSecretValue(container.inputs.uploads)).to.equal(false);
        expect(container.inputs.uploads).to.deep.equal(initSqlUploads(initSql));
        expect(container.inputs.uploads.map((u: { file: string }) => u.file)).to.deep.equal([
            "/docker-entrypoint-initdb.d/50-app-01-001.sql", "/docker-entrypoint-initdb.d/50-app-02-002.sql",
        ]);
    });

    it("without extensions or schema SQL: only PG_MAJOR as build argument, no uploads", async () => {
        const resources = await render({});
        expect(dbImage(resources).inputs.build.args).to.deep.equal({ PG_MAJOR: "16" });
        expect(dbContainer(resources).inputs).to.not.have.property("uploads");
    });

    it("refuses an extension name PostgreSQL would refuse, naming it", async () => {
        let failure: unknown;
        try {
            await render({ extensions: ["pg_trgm", "bad;name"] });
        } catch (err) {
            failure = err;
        }
        expect(String(failure)).to.match(/Database db: "bad;name" contains ";"/);
    });
});
