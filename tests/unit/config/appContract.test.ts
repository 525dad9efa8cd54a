/**
 * The app's own contract in the stack file: its kind, its own secrets and variable names, its
 * entrypoint. Evaluated under mocks, as the CLI would hand the config over.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { isSecretValue, ofType, registeredSoFar, runWithConfig, stackConfig, unwrap } from "../../harness";
import { buildContextProblem, ConfigError, readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";

const evaluate = (overrides: Record<string, unknown>, secretKeys: string[] = []) =>
    runWithConfig("dev", stackConfig("dev", overrides), () => buildStack(readSettings()), { secretKeys });
const web = (run: Awaited<ReturnType<typeof evaluate>>) =>
    ofType(run.resources, "docker:index/container:Container").find((c) => c.name.endsWith("-web"))!;
const envOf = (entries: unknown) => Object.fromEntries((unwrap(entries) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
async function problems(overrides: Record<string, unknown>): Promise<string[]> {
    const failure = await evaluate(overrides).then(() => undefined, (e) => e);
    expect(failure, JSON.stringify(overrides)).to.be.instanceOf(ConfigError);
    expect(registeredSoFar()).to.deep.equal([]);
    return (failure as ConfigError).problems;
}

describe("the app contract in config", () => {
    it("hands appSecrets to the release and web containers, secret end to end", async () => {
        const run = await evaluate({ appSecrets: { SMTP_PASSWORD: "smtp-s3cret", SENTRY_DSN: "https://k@sentry" } }, ["webstack:appSecrets"]);
        expect(isSecretValue(web(run).inputs.envs)).to.equal(true);
        expect(envOf(web(run).inputs.envs)).to.include({ SMTP_PASSWORD: "smtp-s3cret", SENTRY_DSN: "https://k@sentry" });
        const release = ofType(run.resources, "command:local:Command").find((c) => c.name === "app-release")!;
        expect(isSecretValue(release.inputs.stdin)).to.equal(true);
        expect(String(unwrap(release.inputs.stdin))).to.include("SMTP_PASSWORD=smtp-s3cret\n");
        for (const r of run.resources) {
            const plain = JSON.stringify(r.inputs, (_k, v) => (isSecretValue(v) ? "[secret]" : v));
            expect(plain, `${r.type} ${r.name}`).not.to.include("smtp-s3cret");
        }
    });

    it("refuses a secret in appEnvironment with the setting to use instead", async () => {
        expect(await problems({ appEnvironment: ["SMTP_PASSWORD=x"] })).to.deep.equal([
            "webstack:appEnvironment: SMTP_PASSWORD looks like a secret, and appEnvironment is stored in plain text; " +
            "put it in appSecrets instead: `pulumi config set --secret --path 'appSecrets.SMTP_PASSWORD' <value>`",
        ]);
    });

    it("refuses bad appSecrets names, reserved names and a variable set twice", async () => {
        const found = await problems({ appSecrets: { "bad name": "x", DJANGO_SECRET_KEY: "y", SENTRY_DSN: "z" }, appEnvironment: ["SENTRY_DSN=plain"] });
        expect(found).to.have.length(3);
        expect(found.join("\n")).to.include('"bad name" is not an environment variable name')
            .and.include("DJANGO_SECRET_KEY is set by the program itself")
            .and.include("webstack:appSecrets: SENTRY_DSN is also set in appEnvironment");
    });

    it("maps the program's values onto the app's own names, lists joined as the app splits them", async () => {
        const run = await evaluate({
            appEnvMap: ["SQL_HOST=dbHost", "SQL_PORT=dbPort", "SQL_PASSWORD=dbPassword", "SECRET_KEY=secretKey", "ALLOWED_HOSTS=allowedHosts"],
            appListSeparator: "space",
        });
        const env = envOf(web(run).inputs.envs);
        expect(env).to.include({ SQL_HOST: "db", SQL_PORT: "5432", SQL_PASSWORD: env.POSTGRES_PASSWORD, SECRET_KEY: env.DJANGO_SECRET_KEY });
        expect(env.ALLOWED_HOSTS).to.equal("localhost 127.0.0.1");
        expect(await problems({ appEnvMap: ["SQL_HOST=dbhost"] })).to.deep.equal([
            'webstack:appEnvMap: expected a list of NAME=source entries with a source from dbHost, dbPort, dbName, dbUser, dbPassword, databaseUrl, secretKey, allowedHosts, csrfTrustedOrigins, debug, redisUrl, rabbitmqUrl; "SQL_HOST=dbhost" is not one, got "[\\"SQL_HOST=dbhost\\"]"; ' +
            "set items with `pulumi config set --path 'webstack:appEnvMap[0]' <value>` (then [1], ...) or as a YAML list under webstack:appEnvMap in the stack file",
        ]);
        // It may replace a variable the program sets, in the app's own format.
        const spaced = envOf(web(await evaluate({ appEnvMap: ["DJANGO_ALLOWED_HOSTS=allowedHosts"], appListSeparator: "space" })).inputs.envs);
        expect(spaced.DJANGO_ALLOWED_HOSTS).to.equal("localhost 127.0.0.1");
    });

    it("overrides the image's entrypoint for the release and web containers", async () => {
        const run = await evaluate({ appEntrypoint: ["/usr/bin/env", "--"] });
        expect(web(run).inputs.entrypoints).to.deep.equal(["/usr/bin/env", "--"]);
        const release = ofType(run.resources, "command:local:Command").find((c) => c.name === "app-release")!;
        expect(String(unwrap(release.inputs.create))).to.match(/--entrypoint '\/usr\/bin\/env' '[^']+' '--' 'sh' '-c'/);
        expect(web(await evaluate({})).inputs.entrypoints).to.equal(undefined);
    });

    it("gives each app kind its server, healthcheck path and release step", async () => {
        const flask = await evaluate({ appKind: "flask", appModule: "expungeservice.app:app", appPort: 5000 });
        expect(web(flask).inputs.command).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:5000", "expungeservice.app:app"]);
        expect(web(flask).inputs.healthcheck.tests.at(-1)).to.equal("http://localhost:5000/");
        expect(ofType(flask.resources, "command:local:Command"), "no release step by default").to.deep.equal([]);
        expect(Object.keys(envOf(web(flask).inputs.envs)).some((k) => k.startsWith("DJANGO_"))).to.equal(false);

        const fastapi = await evaluate({ appKind: "fastapi", appReleaseCommand: ["alembic", "upgrade", "head"] });
        expect(web(fastapi).inputs.command).to.deep.equal(["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]);
        expect(web(fastapi).inputs.healthcheck.tests.at(-1)).to.equal("http://localhost:8000/docs");
        const release = ofType(fastapi.resources, "command:local:Command");
        expect(String(unwrap(release[0].inputs.create))).to.include("'alembic' 'upgrade' 'head'");

        const django = await evaluate({});
        expect(web(django).inputs.command).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi:application"]);
        expect(web(django).inputs.healthcheck.tests.at(-1)).to.equal("http://localhost:8000/accounts/login/");
    });

    it("refuses an unknown kind, and kind other without a command, in one error", async () => {
        expect(await problems({ appKind: "rails" })).to.deep.equal(['webstack:appKind: expected one of django, flask, fastapi, other, got "rails"']);
        expect(await problems({ appKind: "other" })).to.deep.equal([
            'webstack:appCommand: appKind other has no default web command; set one, for example ["./start.sh"]',
        ]);
        expect((await problems({ appModule: "config:application" }))[0]).to.include("for django, expected the package that holds wsgi.py");
    });
});

describe("the app's build context", () => {
    it("may sit outside the project (a monorepo's ../my-app), but never holds the operator's home", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "webstack-context-"));
        try {
            fs.mkdirSync(path.join(root, "infra"));
            fs.mkdirSync(path.join(root, "my-app"));
            fs.writeFileSync(path.join(root, "my-app", "Dockerfile"), "FROM python:3.12-slim-bookworm\n");
            const infra = path.join(root, "infra");
            expect(buildContextProblem("../my-app", "Dockerfile", infra, "/home/ops")).to.equal(undefined);
            expect(buildContextProblem(path.join(root, "my-app"), "Dockerfile", infra, "/home/ops")).to.equal(undefined);
            expect(buildContextProblem("../nowhere", "Dockerfile", infra, "/home/ops")).to.match(/does not exist/);
            // The home directory itself, a parent of it, or the root: refused, with the reason.
            for (const [context, home] of [["..", root], ["../..", path.join(root, "infra", "x")], ["/", "/home/ops"]]) {
                expect(buildContextProblem(context, "Dockerfile", infra, home), context).to.match(/holds your home directory .*SSH keys and cloud credentials/);
            }
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
