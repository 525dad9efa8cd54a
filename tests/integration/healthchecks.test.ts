/**
 * The web container's healthcheck, exactly as the program renders it, run against gunicorn
 * serving the app with the program's environment (after the program's release step, as in a
 * deploy): healthy while the app answers, unhealthy once it is gone.
 */
import * as path from "path";
import { expect } from "chai";
import { releaseOf, renderStack, container, containerCommand, containerEnv, healthcheckCommand, withUrlPort } from "./program";
import { appEnv, Gunicorn, Postgres, requireDjangoApp, requirePostgres, run, runInApp, tempDir } from "./servers";

describe("healthchecks: the web container's probe against a real gunicorn", function () {
    let pg: Postgres | undefined;
    let web: Gunicorn | undefined;
    let tmp: ReturnType<typeof tempDir> | undefined;
    let probe: string[];
    let env: Record<string, string>;

    before(async function () {
        this.timeout(120_000);
        requirePostgres();
        requireDjangoApp();
        // prod: DEBUG off, allowed hosts derived from the domain.
        const resources = await renderStack("prod");
        const webContainer = container(resources, "-web");
        probe = healthcheckCommand(webContainer);
        tmp = tempDir("healthchecks");
        pg = await Postgres.start({ containerEnv: containerEnv(container(resources, "-db")) });
        env = appEnv(containerEnv(webContainer), {
            ...pg.appOverrides(),
            DJANGO_STATIC_ROOT: path.join(tmp.path, "static"),
            DJANGO_MEDIA_ROOT: path.join(tmp.path, "media"),
            // gunicorn trusts X-Forwarded-* from the proxy's network; here the proxy would be local.
            FORWARDED_ALLOW_IPS: "127.0.0.1",
        });
        const release = await runInApp(releaseOf(resources).command, env);
        if (release.code !== 0) throw new Error(`the release step failed (${release.code}):\n${release.output}`);
        web = await Gunicorn.start(containerCommand(webContainer), env);
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

    it("probes http://localhost:<appPort><appHealthcheckPath>, and localhost is an allowed host", function () {
        expect(probe[0]).to.equal("python3");
        expect(probe[probe.length - 1]).to.equal("http://localhost:8000/accounts/login/");
        expect(env.DJANGO_DEBUG).to.equal("0");
        expect(env.DJANGO_ALLOWED_HOSTS.split(",")).to.include("localhost");
    });

    it("exits 0 while the app is up", async function () {
        const result = await run(probe[0], withUrlPort(probe, web!.port).slice(1), { env });
        expect(result.code, result.output).to.equal(0);
    });

    it("exits non-zero when the path answers 404 (it does look at the status)", async function () {
        const missing = withUrlPort(probe, web!.port).map((a) => a.replace("/accounts/login/", "/no-such-page/"));
        const result = await run(missing[0], missing.slice(1), { env });
        expect(result.code, result.output).to.not.equal(0);
        expect(result.stderr).to.contain("HTTP 404");
    });

    it("the image's own app/healthcheck.py agrees (Host from DJANGO_ALLOWED_HOSTS)", async function () {
        const result = await runInApp(["python3", "healthcheck.py", `http://127.0.0.1:${web!.port}/accounts/login/`], env);
        expect(result.code, result.output).to.equal(0);
    });

    it("exits non-zero once gunicorn is stopped", async function () {
        this.timeout(60_000);
        await web!.stop();
        const result = await run(probe[0], withUrlPort(probe, web!.port).slice(1), { env });
        expect(result.code, result.output).to.not.equal(0);
        expect(result.stderr).to.contain("unreachable");
    });
});
