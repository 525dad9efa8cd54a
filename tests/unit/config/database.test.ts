/** The database's settings: any shipped extension by name, first-time schema SQL, the majors. */
import { expect } from "chai";
import { ofType, registeredSoFar, runWithConfig, stackConfig, unwrap } from "../../harness";
import { ConfigError, readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";

const evaluate = (overrides: Record<string, unknown>) =>
    runWithConfig("dev", stackConfig("dev", overrides), () => buildStack(readSettings()));
const db = (run: Awaited<ReturnType<typeof evaluate>>) => ofType(run.resources, "docker:index/container:Container").find((c) => c.name === "db")!;

describe("database settings", () => {
    it("accepts real extension names such as uuid-ossp and uploads the schema SQL for first initialisation", async () => {
        const run = await evaluate({ dbExtensions: ["uuid-ossp", "pg_trgm"], dbInitSqlFiles: ["tests/fixtures/sql/schema.sql"] });
        expect((unwrap(db(run).inputs.envs) as string[])).to.include("POSTGRES_EXTRA_EXTENSIONS=uuid-ossp,pg_trgm");
        const uploads = unwrap(db(run).inputs.uploads) as { file: string; content: string }[];
        expect(uploads).to.deep.equal([{ file: "/docker-entrypoint-initdb.d/50-app-01-schema.sql", content: "CREATE TABLE charges (id serial PRIMARY KEY, name text NOT NULL);\n" }]);
    });

    it("refuses a malformed extension name, a missing schema file and an old major, naming the key", async () => {
        const failure = await evaluate({ dbExtensions: ["Bad;Name"], dbInitSqlFiles: ["../nowhere/schema.sql"], postgresVersion: 10 }).then(() => undefined, (e) => e);
        expect(failure).to.be.instanceOf(ConfigError);
        expect(registeredSoFar()).to.deep.equal([]);
        const problems = (failure as ConfigError).problems.join("\n");
        expect(problems).to.include('webstack:dbExtensions: expected a list of extension names such as pg_trgm or uuid-ossp; "Bad;Name" is not one')
            .and.include("webstack:postgresVersion: expected a whole number from 13 to 17; an older major moves by dump and restore, see docs/postgres.md, got \"10\"");
        const missing = await evaluate({ dbInitSqlFiles: ["../nowhere/schema.sql"] }).then(() => undefined, (e) => e);
        expect((missing as ConfigError).problems).to.deep.equal(["webstack:dbInitSqlFiles: ../nowhere/schema.sql is not a file (paths are relative to this project)"]);
    });
});
