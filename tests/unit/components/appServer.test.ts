import { expect } from "chai";
import { appEnvironment, appHealthcheck, serverCommand } from "../../../components/appServer";
import { releaseCommand, DJANGO_RELEASE_SCRIPT } from "../../../components/release";
import { databaseHealthcheck, goDuration } from "../../../components/healthchecks";
import { autohealLabels } from "../../../components/autoheal";
import { hostRule, traefikArguments, traefikRouterLabels } from "../../../components/traefikConfig";

describe("the app contract", () => {
    it("serves Django with gunicorn or daphne by default, or runs the configured command", () => {
        const app = { kind: "django" as const, command: [], module: "config", port: 8000 };
        expect(serverCommand({ ...app, server: "gunicorn" })).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi:application"]);
        expect(serverCommand({ ...app, server: "daphne" })).to.deep.equal(["daphne", "--bind", "0.0.0.0", "--port", "8000", "config.asgi:application"]);
        const flask = ["gunicorn", "-b", "0.0.0.0:5000", "app:app"];
        expect(serverCommand({ ...app, server: "gunicorn", command: flask })).to.deep.equal(flask);
    });

    it("serves Flask with gunicorn and FastAPI with uvicorn by default", () => {
        const app = { command: [], port: 5000, server: "gunicorn" as const };
        expect(serverCommand({ ...app, kind: "flask", module: "expungeservice.app:app" })).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:5000", "expungeservice.app:app"]);
        expect(serverCommand({ ...app, kind: "fastapi", module: "app.main:app" }))
            .to.deep.equal(["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "5000", "--proxy-headers"]);
    });

    it("probes the healthcheck path without curl, or runs the configured healthcheck", () => {
        const probe = appHealthcheck({ healthcheckCommand: [], port: 5000, healthcheckPath: "/health" });
        expect(probe.tests.slice(0, 3)).to.deep.equal(["CMD", "python3", "-c"]);
        expect(probe.tests.at(-1)).to.equal("http://localhost:5000/health");
        expect(appHealthcheck({ healthcheckCommand: ["/bin/check"], port: 5000, healthcheckPath: "/" }).tests).to.deep.equal(["CMD", "/bin/check"]);
    });

    it("runs the Django release script unless another release command is configured", () => {
        expect(releaseCommand("django", [])).to.deep.equal(["sh", "-c", DJANGO_RELEASE_SCRIPT]);
        expect(releaseCommand("django", ["flask", "db", "upgrade"])).to.deep.equal(["flask", "db", "upgrade"]);
        // Other kinds have no release step unless one is configured.
        for (const kind of ["flask", "fastapi", "other"]) expect(releaseCommand(kind, []), kind).to.deep.equal([]);
        expect(releaseCommand("flask", ["flask", "db", "upgrade"])).to.deep.equal(["flask", "db", "upgrade"]);
    });

    it("builds the environment, with an URL-encoded password in DATABASE_URL", () => {
        const env = appEnvironment({
            kind: "django",
            debug: false,
            secureCookies: true,
            allowedHosts: ["www.example.org", "localhost"],
            csrfTrustedOrigins: ["http://www.example.org"],
            secretKey: "k",
            database: { host: "db", port: 5432, name: "app", user: "app", password: "p@ss/word" },
            superuser: { name: "admin", email: "a@example.org", password: "x" },
            staticRoot: "/app/staticfiles",
            staticUrl: "/static/",
            mediaRoot: "/app/media",
            mediaUrl: "/media/",
            forwardedAllowIps: "172.30.0.0/16",
            extra: { SENTRY_ENVIRONMENT: "prod" },
        });
        expect(env).to.include("DATABASE_URL=postgres://app:p%40ss%2Fword@db:5432/app");
        expect(env).to.include("POSTGRES_PASSWORD=p@ss/word");
        expect(env).to.include("DJANGO_DEBUG=0");
        expect(env).to.include("DJANGO_SECURE_COOKIES=1");
        expect(env).to.include("DJANGO_ALLOWED_HOSTS=www.example.org,localhost");
        expect(env).to.include("FORWARDED_ALLOW_IPS=172.30.0.0/16");
        expect(env).to.include("SENTRY_ENVIRONMENT=prod");
    });
});

describe("healthchecks and autoheal", () => {
    it("checks the database over TCP, not the init-time socket", () => {
        const check = databaseHealthcheck("app", "sky");
        expect(check.tests).to.deep.equal(["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "app", "-d", "sky"]);
        // In the form the provider reads back (Go's Duration.String), or every preview shows a diff.
        expect(check.startPeriod).to.equal("2m0s");
    });

    it("writes durations as Go's time.Duration.String() does", () => {
        // Go 1.26: fmt.Println((time.Duration(s) * time.Second).String()) for each s.
        const go: [number, string][] = [
            [0, "0s"], [5, "5s"], [10, "10s"], [30, "30s"], [59, "59s"], [60, "1m0s"], [61, "1m1s"], [90, "1m30s"],
            [120, "2m0s"], [300, "5m0s"], [900, "15m0s"], [3599, "59m59s"], [3600, "1h0m0s"], [3661, "1h1m1s"], [86400, "24h0m0s"],
        ];
        for (const [seconds, text] of go) expect(goDuration(seconds), String(seconds)).to.equal(text);
        expect(() => goDuration(1.5)).to.throw(/whole seconds/);
    });

    it("labels watched containers with their stop timeout", () => {
        expect(autohealLabels(90)).to.deep.equal([{ label: "autoheal", value: "true" }, { label: "autoheal.stop.timeout", value: "90" }]);
    });
});

describe("Traefik configuration", () => {
    it("uses the Docker provider with nothing exposed by default", () => {
        const args = traefikArguments({ network: "webstack-stage-frontend" });
        expect(args).to.include("--providers.docker=true");
        expect(args).to.include("--providers.docker.exposedbydefault=false");
        expect(args).to.include("--providers.docker.network=webstack-stage-frontend");
        expect(args).to.include("--entrypoints.web.address=:80");
        expect(args).to.include("--ping=true");
    });

    it("routes the site's hosts to the app port", () => {
        expect(hostRule(["a.example.org", "b.example.org"])).to.equal("Host(`a.example.org`) || Host(`b.example.org`)");
        expect(hostRule([])).to.equal("PathPrefix(`/`)");
        const labels = Object.fromEntries(traefikRouterLabels({ router: "site", hosts: ["a.example.org"], port: 8000, network: "front", tls: false, hsts: false, maxBodySize: "20m" }).map((l) => [l.label, l.value]));
        expect(labels).to.deep.include({
            "traefik.enable": "true",
            "traefik.docker.network": "front",
            "traefik.http.routers.site.rule": "Host(`a.example.org`)",
            "traefik.http.routers.site.entrypoints": "web",
            "traefik.http.services.site.loadbalancer.server.port": "8000",
            "traefik.http.middlewares.site-headers.headers.contentTypeNosniff": "true",
            "traefik.http.middlewares.site-headers.headers.frameDeny": "true",
            "traefik.http.middlewares.site-body.buffering.maxRequestBodyBytes": String(20 * 1024 * 1024),
        });
        expect(labels).not.to.have.property("traefik.http.routers.site.tls.certresolver");
    });

    it("with TLS: routes on websecure with the Let's Encrypt resolver, and HSTS when asked", () => {
        const labels = Object.fromEntries(traefikRouterLabels({ router: "site", hosts: ["a.example.org"], port: 8000, network: "front", tls: true, hsts: true, maxBodySize: "1g" }).map((l) => [l.label, l.value]));
        expect(labels["traefik.http.routers.site.entrypoints"]).to.equal("websecure");
        expect(labels["traefik.http.routers.site.tls.certresolver"]).to.equal("letsencrypt");
        expect(labels["traefik.http.middlewares.site-headers.headers.stsSeconds"]).to.equal("31536000");
        expect(labels["traefik.http.routers.site.middlewares"]).to.equal("site-headers,site-body");
    });

    it("with ACME: redirects HTTP to HTTPS and stores certificates on the volume", () => {
        const args = traefikArguments({ network: "n", acme: { email: "ops@example.org", staging: true } });
        expect(args).to.include.members([
            "--entrypoints.websecure.address=:443",
            "--entrypoints.web.http.redirections.entrypoint.to=websecure",
            "--entrypoints.web.http.redirections.entrypoint.scheme=https",
            "--certificatesresolvers.letsencrypt.acme.tlschallenge=true",
            "--certificatesresolvers.letsencrypt.acme.email=ops@example.org",
            "--certificatesresolvers.letsencrypt.acme.storage=/letsencrypt/acme.json",
            "--certificatesresolvers.letsencrypt.acme.caserver=https://acme-staging-v02.api.letsencrypt.org/directory",
        ]);
        expect(traefikArguments({ network: "n", acme: { email: "e@x.org", staging: false } }).join(" ")).not.to.include("caserver");
        expect(args).to.include("--api.dashboard=false");
    });
});
