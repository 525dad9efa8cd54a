/**
 * The MWA transients stack file (examples/001-mwa-transients.yaml), as the program renders it
 * under mocks, brought up on the real Docker engine with the docker CLI (tests/e2e/dockerCli.ts;
 * the docker provider plugin cannot be built here). Changed only where this machine cannot follow
 * it: target local instead of the team's server (no domain, so no Let's Encrypt), port 8080, and
 * the reference app (app/) in place of the MWA repository, which is not here, at its own paths.
 * Everything else is the example's: PostgreSQL 15 with Q3C, its database and role, nginx serving
 * the static volume, the SQL_* variable names and the space-separated host list the app reads.
 * Official images are the TEST-ONLY stand-ins of tests/standins.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import YAML from "yaml";
import { configFromFile, PROJECT, runWithConfig } from "../harness";
import { projectRoot, readSettings } from "../../config/settings";
import { buildStack } from "../../stack";
import { docker, dockerOk } from "./dockerCli";
import { getLocal, stackSuite } from "./stackSuite";

const FILE = path.join(projectRoot(), "examples", "001-mwa-transients.yaml");
const PREFIX = `${PROJECT}-prod-`;
const HERE = {
    target: "local", sshHost: "", domain: "", acmeEmail: "", httpPort: 8080, dataProtection: "off",
    appContext: "app", appDockerfile: "Dockerfile", appModule: "config", appStaticRoot: "/app/staticfiles", appMediaRoot: "/app/media",
};

describe("examples/001-mwa-transients.yaml on a real Docker engine (rendered containers, docker CLI, test stand-ins)", function () {
    const suite = stackSuite({
        title: "MWA transients example",
        label: "mwa e2e",
        prefix: PREFIX,
        render: async () => {
            const example = YAML.parse(fs.readFileSync(FILE, "utf8")).config as Record<string, unknown>;
            expect(example["webstack:appListSeparator"], "the example under test").to.equal("space");
            return (await runWithConfig("prod", configFromFile(FILE, HERE), () => buildStack(readSettings()))).resources;
        },
    });
    const deployment = () => suite.deployment();

    it("comes up healthy: PostgreSQL 15 + Q3C in its own database, the app, nginx", async function () {
        this.timeout(900_000);
        await suite.up();
        await suite.expectHealthy(["db", "proxy"]);
        const db = deployment().containers.get("db")!.name;
        const q3c = await dockerOk(["exec", db, "psql", "-X", "-A", "-t", "-U", "transients", "-d", "transients", "-c", "SELECT q3c_version()"]);
        expect(q3c.stdout.trim()).to.match(/^\d+\.\d+/);
        suite.record("db transients/transients with q3c", `q3c ${q3c.stdout.trim()}`);
    });

    it("hands the app its own variable names, hosts space-separated, and serves the site and static files", async function () {
        this.timeout(120_000);
        const web = [...deployment().containers.values()].find((c) => c.step.resource.name.endsWith("-web"))!.name;
        const env = Object.fromEntries((await docker(["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", web])).stdout
            .split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
        expect(env).to.include({ SQL_HOST: "db", SQL_PORT: "5432", SQL_DATABASE: "transients", SQL_USER: "transients", DEBUG: "0", DATABASE: "postgres" });
        expect(env.SQL_PASSWORD).to.equal(env.POSTGRES_PASSWORD);
        expect(env.DJANGO_ALLOWED_HOSTS).to.equal("localhost 127.0.0.1");
        const home = await getLocal(8080, "/", { Host: "localhost" });
        expect(home.status).to.equal(200);
        const css = (await dockerOk(["exec", web, "sh", "-c", "cd /app/staticfiles && ls sky/site.*.css | grep -v '\\.gz$' | head -n 1"])).stdout.trim();
        const file = await getLocal(8080, `/static/${css}`, { Host: "localhost", "Accept-Encoding": "gzip" });
        expect(file.status).to.equal(200);
        expect(file.headers["content-encoding"]).to.equal("gzip");
        suite.record("SQL_* names, space-separated hosts, site and static", `home 200; /static/${css} gzip ${file.body.length} B`);
    });
});
