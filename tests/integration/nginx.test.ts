/**
 * The program's nginx site (renderNginxSite) served by a real nginx, in front of gunicorn
 * serving the app after the program's release step: proxying, static files from the collected
 * root (by nginx itself, compressed, cached), unknown hosts refused, no escape from the
 * static/media roots, and the health port with the proxy container's own probe.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { expect } from "chai";
import { renderNginxSite } from "../../components/nginxConfig";
import { releaseOf, renderStack, container, containerCommand, containerEnv, healthcheckCommand, withUrlPort } from "./program";
import {
    APP_DIR, appEnv, baseEnv, cookies, freePort, Gunicorn, httpGet, httpRequest, Nginx, Postgres, requireBinary,
    requireDjangoApp, requirePostgres, run, RunResult, runInApp, tempDir,
} from "./servers";

const SITE = "test.example.org";
const SENTINEL = "SENTINEL-outside-the-static-root-7f3a9c";

interface CurlResult { exit: number | null; status: number; body: string; result: RunResult }

/** GET with curl, the path sent exactly as written (--path-as-is). */
async function curl(port: number, requestPath: string, host: string, out: string): Promise<CurlResult> {
    const result = await run("curl", [
        "-sS", "--path-as-is", "--max-time", "10", "-H", `Host: ${host}`, "-o", out, "-w", "%{http_code}",
        `http://127.0.0.1:${port}${requestPath}`,
    ]);
    const body = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
    fs.rmSync(out, { force: true });
    return { exit: result.code, status: Number(result.stdout.trim()), body, result };
}

describe("nginx: the program's site config in front of the app", function () {
    let pg: Postgres | undefined;
    let web: Gunicorn | undefined;
    let nginx: Nginx | undefined;
    let control: Nginx | undefined;
    let tmp: ReturnType<typeof tempDir> | undefined;
    let listenPort: number;
    let healthPort: number;
    let staticRoot: string;
    let mediaRoot: string;
    let staticUrl: string;
    let mediaUrl: string;
    let proxyProbe: string[];
    let nginxTest: RunResult;
    let scratch: string;
    let env: Record<string, string>;
    // The TLS variant (below) outlives its own describe: it is also asked once the app is gone.
    let tls: Nginx | undefined;
    let httpsPort: number;

    /** curl over HTTPS to 127.0.0.1, with `sni` as the host name (SNI and Host). */
    async function curlTls(sni: string, requestPath: string, extra: string[] = []): Promise<CurlResult & { headers: string }> {
        const headersFile = `${scratch}.headers`;
        const result = await run("curl", [
            "-sS", "-k", "--max-time", "10", "--resolve", `${sni}:${httpsPort}:127.0.0.1`, "-D", headersFile,
            "-o", scratch, "-w", "%{http_code}", ...extra, `https://${sni}:${httpsPort}${requestPath}`,
        ]);
        const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
        const out = { exit: result.code, status: Number(result.stdout.trim().split(" ")[0]), body: read(scratch), headers: read(headersFile), result };
        fs.rmSync(scratch, { force: true });
        fs.rmSync(headersFile, { force: true });
        return out;
    }

    /** The edge's security headers, all present. */
    function expectSecurityHeaders(headers: string, label: string) {
        expect(headers, label).to.match(/^strict-transport-security: max-age=31536000; includeSubDomains\r?$/im);
        expect(headers, label).to.match(/^x-content-type-options: nosniff\r?$/im);
        expect(headers, label).to.match(/^x-frame-options: DENY\r?$/im);
        expect(headers, label).to.match(/^referrer-policy: strict-origin-when-cross-origin\r?$/im);
        // Sent once: the app's own copies are hidden by the proxy.
        expect(headers.match(/^x-frame-options:/gim) ?? [], label).to.have.length(1);
    }

    before(async function () {
        this.timeout(120_000);
        requireBinary("/usr/sbin/nginx", "nginx");
        requireBinary("/usr/bin/curl", "curl");
        requireBinary("/usr/bin/wget", "wget");
        requirePostgres();
        requireDjangoApp();
        // prod with the test's host name, plain HTTP (TLS is checked below with the same renderer).
        const resources = await renderStack("prod", { domain: SITE, tls: "off" });
        const webContainer = container(resources, "-web");
        proxyProbe = healthcheckCommand(container(resources, "-proxy"));

        tmp = tempDir("nginx");
        staticRoot = path.join(tmp.path, "static");
        mediaRoot = path.join(tmp.path, "media");
        scratch = path.join(tmp.path, "curl-body");
        fs.mkdirSync(mediaRoot);
        fs.writeFileSync(path.join(mediaRoot, "upload.txt"), "an uploaded file\n", { mode: 0o644 });
        // Readable by nginx's workers, so that only the configuration can keep it from being served.
        fs.writeFileSync(path.join(tmp.path, "secret.txt"), `${SENTINEL}\n`, { mode: 0o644 });

        pg = await Postgres.start({ containerEnv: containerEnv(container(resources, "-db")) });
        env = appEnv(containerEnv(webContainer), {
            ...pg.appOverrides(),
            DJANGO_STATIC_ROOT: staticRoot,
            DJANGO_MEDIA_ROOT: mediaRoot,
            FORWARDED_ALLOW_IPS: "127.0.0.1",
        });
        staticUrl = env.DJANGO_STATIC_URL;
        mediaUrl = env.DJANGO_MEDIA_URL;
        const release = await runInApp(releaseOf(resources).command, env);
        if (release.code !== 0) throw new Error(`the release step failed (${release.code}):\n${release.output}`);
        web = await Gunicorn.start(containerCommand(webContainer), env);

        listenPort = await freePort();
        healthPort = await freePort();
        const site = renderNginxSite({
            serverNames: [SITE],
            upstream: `127.0.0.1:${web.port}`,
            listenPort,
            staticUrl,
            staticRoot,
            mediaUrl,
            mediaRoot,
            healthPort,
            clientMaxBodySize: "20m",
        });
        nginx = Nginx.prepare(site, tmp.path);
        nginxTest = await nginx.test();
        if (nginxTest.code !== 0) throw new Error(`nginx -t refused the rendered site:\n${nginxTest.output}\n--- site ---\n${site}`);
        await nginx.start([listenPort, healthPort]);
    });

    after(async function () {
        this.timeout(60_000);
        try {
            await control?.stop();
            await tls?.stop();
            await nginx?.stop();
            await web?.stop();
        } finally {
            await pg?.destroy();
            tmp?.remove();
        }
    });

    it("nginx -t accepts the rendered site", function () {
        expect(nginxTest.code, nginxTest.output).to.equal(0);
        expect(nginxTest.stderr).to.contain("test is successful");
    });

    it("proxies the login page to the app for the site's host name", async function () {
        const res = await httpGet(listenPort, "/accounts/login/", { Host: SITE });
        expect(res.status, res.body.toString()).to.equal(200);
        expect(res.body.toString()).to.contain("csrfmiddlewaretoken");
    });

    it("logs the release's superuser in through the proxy (CSRF cookie and token, session, database)", async function () {
        const page = await httpGet(listenPort, "/accounts/login/", { Host: SITE });
        const csrf = cookies(page).csrftoken;
        const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.body.toString())?.[1];
        expect(csrf, "csrftoken cookie").to.be.a("string");
        expect(token, "csrfmiddlewaretoken").to.be.a("string");
        const form = new URLSearchParams({
            csrfmiddlewaretoken: token!, username: env.DJANGO_SUPERUSER_USERNAME, password: env.DJANGO_SUPERUSER_PASSWORD,
        }).toString();
        const login = await httpRequest(listenPort, "POST", "/accounts/login/", {
            Host: SITE,
            Origin: `http://${SITE}`,
            Referer: `http://${SITE}/accounts/login/`,
            Cookie: `csrftoken=${csrf}`,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": String(Buffer.byteLength(form)),
        }, form);
        expect(login.status, login.body.toString()).to.equal(302);
        expect(login.headers.location).to.equal("/");
        const session = cookies(login).sessionid;
        expect(session, "sessionid cookie").to.be.a("string");
        const home = await httpGet(listenPort, "/", { Host: SITE, Cookie: `sessionid=${session}` });
        expect(home.status).to.equal(200);
        expect(home.body.toString()).to.contain(`<span class="site-nav__user">${env.DJANGO_SUPERUSER_USERNAME}</span>`);
    });

    it("drops requests for any other host without an answer (444: curl exit 52)", async function () {
        for (const host of ["other.example.net", "127.0.0.1"]) {
            const res = await curl(listenPort, "/accounts/login/", host, scratch);
            expect(res.exit, `Host: ${host}\n${res.result.output}`).to.equal(52);
        }
        // HTTP/1.0 without any Host header.
        const bare = await run("curl", ["-sS", "-0", "-H", "Host:", "--max-time", "10", `http://127.0.0.1:${listenPort}/`]);
        expect(bare.code, bare.output).to.equal(52);
    });

    it("never serves files from outside the static and media roots", async function () {
        this.timeout(60_000);
        const attempts = [
            `${staticUrl.replace(/\/$/, "")}../secret.txt`,
            `${staticUrl}../secret.txt`,
            `${staticUrl}%2e%2e/secret.txt`,
            `${staticUrl}%2E%2E/secret.txt`,
            `${staticUrl}..%2fsecret.txt`,
            `${staticUrl}%2e%2e%2fsecret.txt`,
            `${staticUrl.replace(/\/$/, "")}%2f..%2fsecret.txt`,
            `${staticUrl}sky/../../secret.txt`,
            `${staticUrl}../config/settings.py`,
            `${staticUrl}%2e%2e/config/settings.py`,
            `${staticUrl}../../../../etc/passwd`,
            `${staticUrl.replace(/\/$/, "")}../etc/passwd`,
            `${mediaUrl.replace(/\/$/, "")}../secret.txt`,
            `${mediaUrl}../secret.txt`,
            `${mediaUrl}%2e%2e/secret.txt`,
        ];
        const settings = fs.readFileSync(path.join(APP_DIR, "config", "settings.py"), "utf8");
        for (const attempt of attempts) {
            const res = await curl(listenPort, attempt, SITE, scratch);
            const what = `${attempt} -> curl ${res.exit}, HTTP ${res.status}`;
            expect(res.exit, what).to.equal(0);
            expect([400, 403, 404], what).to.include(res.status);
            expect(res.body, what).to.not.contain(SENTINEL);
            expect(res.body, what).to.not.contain("root:x:0:0");
            expect(res.body, what).to.not.contain(settings.slice(0, 200));
        }
    });

    it("serves uploaded files from the media root", async function () {
        const res = await httpGet(listenPort, `${mediaUrl}upload.txt`, { Host: SITE });
        expect(res.status).to.equal(200);
        expect(res.body.toString()).to.equal("an uploaded file\n");
    });

    it("answers 200 on the health port, and the proxy container's probe passes", async function () {
        const res = await httpGet(healthPort, "/healthz");
        expect(res.status).to.equal(200);
        expect(res.body.toString()).to.equal("ok\n");
        const probe = withUrlPort(proxyProbe, healthPort);
        const result = await run(probe[0], probe.slice(1));
        expect(result.code, `${probe.join(" ")}\n${result.output}`).to.equal(0);
    });

    describe("over TLS (the same renderer with a certificate, HSTS and the ACME webroot)", function () {
        let httpPort: number;
        let webroot: string;

        before(async function () {
            this.timeout(60_000);
            requireBinary("/usr/bin/openssl", "openssl");
            const dir = path.join(tmp!.path, "tls");
            webroot = path.join(dir, "acme");
            fs.mkdirSync(path.join(webroot, ".well-known", "acme-challenge"), { recursive: true });
            fs.writeFileSync(path.join(webroot, ".well-known", "acme-challenge", "token-123"), "token-123.thumbprint", { mode: 0o644 });
            const key = path.join(dir, "privkey.pem");
            const cert = path.join(dir, "fullchain.pem");
            const made = await run("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", `/CN=${SITE}`, "-addext", `subjectAltName=DNS:${SITE}`, "-keyout", key, "-out", cert,
            ]);
            if (made.code !== 0) throw new Error(`openssl could not make a test certificate:\n${made.output}`);
            httpPort = await freePort();
            httpsPort = await freePort();
            const site = renderNginxSite({
                serverNames: [SITE],
                upstream: `127.0.0.1:${web!.port}`,
                listenPort: httpPort,
                httpsListenPort: httpsPort,
                publicHttpsPort: httpsPort,
                tls: { certificate: cert, key, hsts: true, acmeWebroot: webroot },
                staticUrl, staticRoot, mediaUrl, mediaRoot,
                healthPort: await freePort(),
                clientMaxBodySize: "20m",
            });
            tls = Nginx.prepare(site, dir);
            const test = await tls.test();
            if (test.code !== 0) throw new Error(`nginx -t refused the TLS site:\n${test.output}\n--- site ---\n${site}`);
            await tls.start([httpPort, httpsPort]);
        });

        it("plain HTTP redirects the site to HTTPS, keeping path and query", async function () {
            const res = await httpGet(httpPort, "/accounts/login/?next=/admin/", { Host: SITE });
            expect(res.status).to.equal(301);
            expect(res.headers.location).to.equal(`https://${SITE}:${httpsPort}/accounts/login/?next=/admin/`);
        });

        it("plain HTTP serves the ACME HTTP-01 challenge from the webroot", async function () {
            const res = await httpGet(httpPort, "/.well-known/acme-challenge/token-123", { Host: SITE });
            expect(res.status).to.equal(200);
            expect(res.body.toString()).to.equal("token-123.thumbprint");
        });

        it("HTTPS proxies the app for the site's name, with HSTS", async function () {
            const res = await curlTls(SITE, "/accounts/login/");
            expect(res.exit, res.result.output).to.equal(0);
            expect(res.status).to.equal(200);
            expect(res.body).to.contain("csrfmiddlewaretoken");
            expect(res.headers).to.match(/^strict-transport-security: max-age=31536000; includeSubDomains\r?$/im);
        });

        it("HTTPS serves the hashed static file itself, with HSTS", async function () {
            const manifest = JSON.parse(fs.readFileSync(path.join(staticRoot, "staticfiles.json"), "utf8")) as { paths: Record<string, string> };
            const res = await curlTls(SITE, `${staticUrl}${manifest.paths["sky/site.css"]}`);
            expect(res.status, res.result.output).to.equal(200);
            expect(res.headers).to.match(/^strict-transport-security: /im);
            expect(res.headers).to.match(/^cache-control: .*max-age=\d+/im);
        });

        it("HTTPS refuses the handshake for any other name", async function () {
            const res = await curlTls("other.example.net", "/");
            expect(res.exit, res.result.output).to.equal(35);
        });

        it("speaks HTTP/2", async function () {
            const res = await curlTls(SITE, "/accounts/login/", ["--http2", "-w", "%{http_code} %{http_version}"]);
            expect(res.exit, res.result.output).to.equal(0);
            expect(res.result.stdout.trim()).to.equal("200 2");
        });

        it("sends the security headers on 200 and on 404, from the app and from nginx", async function () {
            const page = await curlTls(SITE, "/accounts/login/");
            expect(page.status).to.equal(200);
            expectSecurityHeaders(page.headers, "200 from the app");
            const appMissing = await curlTls(SITE, "/no-such-page/");
            expect(appMissing.status).to.equal(404);
            expectSecurityHeaders(appMissing.headers, "404 from the app");
            const staticMissing = await curlTls(SITE, `${staticUrl}sky/missing.css`);
            expect(staticMissing.status).to.equal(404);
            expectSecurityHeaders(staticMissing.headers, "404 from nginx's static location");
        });
    });

    describe("with the app server stopped", function () {
        let hashed: string;
        let source: Buffer;

        before(async function () {
            this.timeout(60_000);
            await web!.stop();
            const manifest = JSON.parse(fs.readFileSync(path.join(staticRoot, "staticfiles.json"), "utf8")) as { paths: Record<string, string> };
            hashed = manifest.paths["sky/site.css"];
            source = fs.readFileSync(path.join(APP_DIR, "sky", "static", "sky", "site.css"));
        });

        it("the app is really gone: the proxied login page is 502", async function () {
            const res = await httpGet(listenPort, "/accounts/login/", { Host: SITE });
            expect(res.status).to.equal(502);
        });

        it("over TLS, the 502 still carries the security headers", async function () {
            const res = await curlTls(SITE, "/accounts/login/");
            expect(res.status, res.result.output).to.equal(502);
            expectSecurityHeaders(res.headers, "502 from nginx");
        });

        it("nginx itself serves the hashed site.css, gzip-compressed, with cache headers", async function () {
            const res = await httpGet(listenPort, `${staticUrl}${hashed}`, { Host: SITE, "Accept-Encoding": "gzip" });
            expect(res.status).to.equal(200);
            expect(res.headers["content-type"]).to.match(/^text\/css/);
            expect(res.headers["content-encoding"]).to.equal("gzip");
            expect(res.headers.vary ?? "").to.match(/Accept-Encoding/i);
            expect(zlib.gunzipSync(res.body).equals(source), "decompressed body is site.css").to.equal(true);
            // gzip_static: the .gz collectstatic wrote, byte for byte (not compressed on the fly).
            expect(res.body.equals(fs.readFileSync(path.join(staticRoot, `${hashed}.gz`))), "body is the collected .gz").to.equal(true);
            const cacheControl = String(res.headers["cache-control"] ?? "");
            expect(cacheControl).to.contain("public");
            expect(Number(/max-age=(\d+)/.exec(cacheControl)?.[1] ?? 0), cacheControl).to.be.greaterThan(0);
            expect(res.headers["x-content-type-options"]).to.equal("nosniff");
            expect(res.headers.server ?? "").to.not.match(/gunicorn/i);
        });

        it("sends the plain file to clients that do not accept gzip", async function () {
            const res = await httpGet(listenPort, `${staticUrl}${hashed}`, { Host: SITE });
            expect(res.status).to.equal(200);
            expect(res.headers["content-encoding"]).to.equal(undefined);
            expect(res.body.equals(source)).to.equal(true);
        });

        it("answers 404 for a static file that was not collected", async function () {
            const res = await httpGet(listenPort, `${staticUrl}sky/missing.css`, { Host: SITE });
            expect(res.status).to.equal(404);
        });
    });

    describe("control: the traversal check catches a vulnerable alias", function () {
        it("a static location without its trailing slash leaks the file next to the root", async function () {
            this.timeout(30_000);
            const port = await freePort();
            const health = await freePort();
            const dir = path.join(tmp!.path, "control");
            fs.mkdirSync(dir);
            const vulnerable = renderNginxSite({
                serverNames: [SITE], upstream: "127.0.0.1:9", listenPort: port, healthPort: health,
                staticUrl: staticUrl.replace(/\/$/, ""), staticRoot, mediaUrl, mediaRoot, clientMaxBodySize: "1m",
            });
            control = Nginx.prepare(vulnerable, dir);
            await control.start([port]);
            const res = await curl(port, `${staticUrl.replace(/\/$/, "")}../secret.txt`, SITE, scratch);
            expect(res.status, res.result.output).to.equal(200);
            expect(res.body).to.contain(SENTINEL);
            await control.stop();
        });
    });

    describe("once nginx is stopped", function () {
        it("the proxy container's probe fails", async function () {
            this.timeout(30_000);
            await nginx!.stop();
            const probe = withUrlPort(proxyProbe, healthPort);
            const result = await run(probe[0], probe.slice(1), { env: baseEnv() });
            expect(result.code, result.output).to.not.equal(0);
        });
    });
});
