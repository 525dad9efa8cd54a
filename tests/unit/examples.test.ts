/**
 * The stack file of each seed system (examples/, evaluated by tests/examples.ts): the containers
 * it runs, the variable names its app reads, secrecy, and routing.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import YAML from "yaml";
import { evaluateExample, EXAMPLES, exampleFiles, Stack } from "../examples";
import { isSecretValue, labelsOf, ofType, Registered, Run, unwrap } from "../harness";

const SECRET = "app-secret-from-config";
const evaluate = evaluateExample;
const containers = (run: Run<Stack>) => ofType(run.resources, "docker:index/container:Container");
const named = (run: Run<Stack>) => containers(run).map((c) => (c.name.endsWith("-web") ? "web" : c.name)).sort();
const web = (run: Run<Stack>) => containers(run).find((c) => c.name.endsWith("-web"))!;
const envOf = (c: Registered) => Object.fromEntries((unwrap(c.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
const site = (run: Run<Stack>) => (unwrap(containers(run).find((c) => c.name === "proxy")!.inputs.uploads) as { file: string; content: string }[])
    .find((u) => u.file.endsWith("default.conf"))!.content;
/** No secret value in any plain input of any resource. */
function expectNoPlainSecrets(run: Run<Stack>, values: string[]) {
    const env = envOf(web(run));
    for (const r of run.resources) {
        const plain = JSON.stringify(r.inputs, (_k, v) => (isSecretValue(v) ? "[secret]" : v));
        for (const value of [...values, env.POSTGRES_PASSWORD]) expect(plain, `${r.type} ${r.name}`).not.to.include(value);
    }
    expect(isSecretValue(web(run).inputs.envs)).to.equal(true);
}

describe("examples: one stack file per seed system", () => {
    it("has a stack file for each of the five seeds, with no plaintext secret", () => {
        const files = exampleFiles();
        expect(files.map((f) => f.slice(0, 3))).to.deep.equal(["000", "001", "002", "003", "004"]);
        for (const f of files) {
            const config = YAML.parse(fs.readFileSync(path.join(EXAMPLES, f), "utf8")).config;
            for (const [key, value] of Object.entries<unknown>(config)) {
                expect(typeof value === "object" && value !== null && "secure" in value, `${f} ${key}`).to.equal(false);
                expect(key, f).not.to.match(/password|secretKey|token/i);
            }
        }
    });

    it("001 MWA transients: gunicorn, PostgreSQL 15 + Q3C, nginx serving static, the app's SQL_* names", async () => {
        const run = await evaluate("001-mwa-transients.yaml");
        expect(named(run)).to.deep.equal(["autoheal", "backup", "db", "proxy", "proxy-certbot", "prune", "web"]);
        expect(web(run).inputs.command).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:8000", "webapp.wsgi:application"]);
        const env = envOf(web(run));
        expect(env).to.include({ SQL_HOST: "db", SQL_PORT: "5432", SQL_DATABASE: "transients", SQL_USER: "transients", DEBUG: "0", DATABASE: "postgres" });
        expect(env.SQL_PASSWORD).to.equal(env.POSTGRES_PASSWORD);
        expect(env.DJANGO_ALLOWED_HOSTS).to.equal("transients.example.org localhost");
        expect(site(run)).to.include("location ^~ /static/ {");
        expect(ofType(run.resources, "pulumi:providers:docker")[0].inputs.host).to.equal("ssh://deploy@transients.example.org");
        expectNoPlainSecrets(run, []);
    });

    it("000 CivicTechJobs: daphne through an entrypoint override, Whitenoise static, AWS", async () => {
        const run = await evaluate("000-civictechjobs.yaml");
        expect(web(run).inputs.command).to.deep.equal(["daphne", "--bind", "0.0.0.0", "--port", "8000", "backend.asgi:application"]);
        expect(web(run).inputs.entrypoints).to.deep.equal(["/usr/bin/env"]);
        const release = ofType(run.resources, "command:local:Command").find((c) => c.name === "app-release")!;
        expect(String(unwrap(release.inputs.create))).to.include("--entrypoint");
        const env = envOf(web(run));
        expect(env.SECRET_KEY).to.equal(env.DJANGO_SECRET_KEY);
        expect(env.SQL_PASSWORD).to.equal(env.POSTGRES_PASSWORD);
        expect(site(run)).not.to.include("location ^~ /static/");
        expect(ofType(run.resources, "aws:ec2/instance:Instance")).to.have.length(1);
        expectNoPlainSecrets(run, []);
    });

    it("002 RecordSponge: Flask from a pinned image, libpq names, schema SQL, 300 s proxy timeout, DigitalOcean", async () => {
        const run = await evaluate("002-recordsponge.yaml");
        expect(web(run).inputs.command).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:5000", "expungeservice.app:app"]);
        expect(ofType(run.resources, "command:local:Command").map((c) => c.name), "no release step").to.deep.equal(["digitalocean-ready"]);
        expect(envOf(web(run))).to.include({ PGHOST: "db", PGDATABASE: "record_expunge", PGUSER: "expungeservice", TIER: "production" });
        expect(Object.keys(envOf(web(run))).some((k) => k.startsWith("DJANGO_"))).to.equal(false);
        expect(site(run)).to.include("proxy_read_timeout 300s;");
        const db = containers(run).find((c) => c.name === "db")!;
        expect((unwrap(db.inputs.uploads) as { file: string }[]).map((u) => u.file)).to.deep.equal(["/docker-entrypoint-initdb.d/50-app-01-schema.sql"]);
        expect(ofType(run.resources, "docker:index/remoteImage:RemoteImage").map((i) => i.inputs.name)).to.include("recordsponge/expungeservice:prod-2024.06.1");
        expectNoPlainSecrets(run, []);
    });

    it("003 Django base template: Celery worker and beat, a nightly job, Redis, Flower behind /flower/", async () => {
        const run = await evaluate("003-django-base-template.yaml");
        expect(named(run)).to.include.members(["workers-celery", "workers-beat", "workers-clearsessions", "accessories-redis", "accessories-flower"]);
        const env = envOf(web(run));
        expect(env.CELERY_BROKER_URL).to.equal("redis://redis:6379/0");
        for (const worker of ["workers-celery", "workers-beat", "workers-clearsessions"]) {
            const c = containers(run).find((x) => x.name === worker)!;
            expect(envOf(c), worker).to.deep.equal(env);
            expect(c.inputs.ports ?? []).to.deep.equal([]);
        }
        expect(site(run)).to.include("location ^~ /flower/ {");
        expectNoPlainSecrets(run, []);
    });

    it("004 edgevalue: FastAPI with its own prestart, Vue frontend at /, Traefik, RabbitMQ, Celery, Flower, pgAdmin, SMTP secret", async () => {
        const run = await evaluate("004-edgevalue.yaml", { appSecrets: { SMTP_PASSWORD: SECRET, FIRST_SUPERUSER_PASSWORD: `${SECRET}-2` } });
        const env = envOf(web(run));
        expect(env).to.include({ SMTP_PASSWORD: SECRET, POSTGRES_SERVER: "db" });
        expect(env.SECRET_KEY).to.equal(env.DJANGO_SECRET_KEY ?? env.SECRET_KEY);
        expect(Object.keys(env).some((k) => k.startsWith("DJANGO_"))).to.equal(false);
        const frontend = containers(run).find((c) => c.name === "routes-frontend")!;
        const labels = labelsOf(frontend);
        expect(labels["traefik.http.routers.webstack-prod-frontend.rule"]).to.include("PathPrefix(`/`)");
        const webLabels = labelsOf(web(run));
        expect(webLabels["traefik.http.routers.webstack-prod.rule"]).to.include("PathPrefix(`/api/`)");
        expect(named(run)).to.include.members(["workers-celery", "accessories-rabbitmq", "accessories-flower", "accessories-pgadmin"]);
        expect(env.CELERY_BROKER_URL).to.match(/^amqp:\/\/app:/);
        expectNoPlainSecrets(run, [SECRET]);
    });
});
