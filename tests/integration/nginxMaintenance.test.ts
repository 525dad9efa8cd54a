/**
 * Maintenance mode under a real nginx and the official image's main config, in front of small
 * Node upstreams on 127.0.0.1 (the app, a webRoute's container, an admin UI): the page with 503,
 * Retry-After, no-store and the security headers for the app, a route and any method; the app's
 * healthcheck path (GET and HEAD), static and media files, the admin UI, /healthz and, over TLS,
 * the redirect and the ACME challenge as without maintenance. Then the Traefik maintenance
 * container's site, served the same way.
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { expect } from "chai";
import { MAINTENANCE_PAGE, MAINTENANCE_RETRY_AFTER_SECONDS, renderMaintenanceSite } from "../../components/maintenancePage";
import { NginxSiteOptions, renderNginxSite } from "../../components/nginxConfig";
import { freePort, httpRequest, HttpResponse, Nginx, requireBinary, run, tempDir } from "./servers";

const SITE = "maintenance.example.org";
const HEALTH_PATH = "/accounts/login/";

/** An upstream answering every request with who it is and what it got. */
async function echoServer(who: string): Promise<http.Server & { port: number }> {
    const server = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => {
            res.writeHead(200, { "Content-Type": "application/json" });
            res.end(JSON.stringify({ who, method: req.method, path: req.url }));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return Object.assign(server, { port: (server.address() as net.AddressInfo).port });
}

const who = (res: HttpResponse) => (JSON.parse(res.body.toString()) as { who: string }).who;

/** The maintenance answer: 503, the page, Retry-After, no-store, and the site's security headers. */
function expectPage(res: HttpResponse, label: string, body = true) {
    expect(res.status, label).to.equal(503);
    expect(res.headers["content-type"], label).to.equal("text/html; charset=utf-8");
    if (body) expect(res.body.toString(), label).to.equal(MAINTENANCE_PAGE);
    expect(res.headers["retry-after"], label).to.equal(String(MAINTENANCE_RETRY_AFTER_SECONDS));
    expect(res.headers["cache-control"], label).to.equal("no-store");
    expect(res.headers["x-frame-options"], label).to.equal("DENY");
    expect(res.headers["x-content-type-options"], label).to.equal("nosniff");
    expect(res.headers["referrer-policy"], label).to.equal("strict-origin-when-cross-origin");
}

describe("nginx: maintenance mode, under the official main config", function () {
    let tmp: ReturnType<typeof tempDir> | undefined;
    const servers: http.Server[] = [];
    const proxies: Nginx[] = [];
    let port: number;
    let healthPort: number;
    let httpPort: number;
    let httpsPort: number;
    let maintenancePort: number;
    let maintenanceHealthPort: number;
    let scratch: string;

    const get = (p: string, method = "GET", body?: string) =>
        httpRequest(port, method, p, { Host: SITE, ...(body === undefined ? {} : { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": String(body.length) }) }, body);

    /** curl over HTTPS to 127.0.0.1 with the site's name; status, headers and body. */
    async function curlTls(requestPath: string): Promise<{ status: number; headers: string; body: string }> {
        const headersFile = `${scratch}.headers`;
        const result = await run("curl", ["-sS", "-k", "--max-time", "10", "--resolve", `${SITE}:${httpsPort}:127.0.0.1`, "-D", headersFile,
            "-o", scratch, "-w", "%{http_code}", `https://${SITE}:${httpsPort}${requestPath}`]);
        if (result.code !== 0) throw new Error(`curl failed: ${result.output}`);
        const out = { status: Number(result.stdout.trim()), headers: fs.readFileSync(headersFile, "utf8"), body: fs.readFileSync(scratch, "utf8") };
        fs.rmSync(scratch, { force: true });
        fs.rmSync(headersFile, { force: true });
        return out;
    }

    before(async function () {
        this.timeout(60_000);
        requireBinary("/usr/sbin/nginx", "nginx");
        requireBinary("/usr/bin/curl", "curl");
        requireBinary("/usr/bin/openssl", "openssl");
        tmp = tempDir("nginx-maintenance");
        scratch = path.join(tmp.path, "curl-body");
        const staticRoot = path.join(tmp.path, "static");
        const mediaRoot = path.join(tmp.path, "media");
        const webroot = path.join(tmp.path, "acme");
        fs.mkdirSync(staticRoot);
        fs.mkdirSync(mediaRoot);
        fs.mkdirSync(path.join(webroot, ".well-known", "acme-challenge"), { recursive: true });
        fs.writeFileSync(path.join(staticRoot, "site.css"), "body { color: red; }\n", { mode: 0o644 });
        fs.writeFileSync(path.join(mediaRoot, "upload.txt"), "an uploaded file\n", { mode: 0o644 });
        fs.writeFileSync(path.join(webroot, ".well-known", "acme-challenge", "token-1"), "token-1.thumbprint", { mode: 0o644 });
        const key = path.join(tmp.path, "privkey.pem");
        const cert = path.join(tmp.path, "fullchain.pem");
        const made = await run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", `/CN=${SITE}`, "-addext", `subjectAltName=DNS:${SITE}`, "-keyout", key, "-out", cert]);
        if (made.code !== 0) throw new Error(`openssl could not make a test certificate:\n${made.output}`);

        const [app, frontend, admin] = await Promise.all([echoServer("app"), echoServer("frontend"), echoServer("admin")]);
        servers.push(app, frontend, admin);
        [port, healthPort, httpPort, httpsPort, maintenancePort, maintenanceHealthPort] = await Promise.all(Array.from({ length: 6 }, freePort));
        const common: NginxSiteOptions = {
            serverNames: [SITE], upstream: `127.0.0.1:${app.port}`, listenPort: port, healthPort, clientMaxBodySize: "1m",
            staticUrl: "/static/", staticRoot, mediaUrl: "/media/", mediaRoot,
            routes: [
                { pathPrefix: "/app/", upstream: `127.0.0.1:${frontend.port}` },
                { pathPrefix: "/pgadmin/", upstream: `127.0.0.1:${admin.port}`, servedInMaintenance: true },
            ],
            maintenance: { healthcheckPath: HEALTH_PATH },
        };
        const sites: [string, string, number[]][] = [
            ["plain", renderNginxSite(common), [port, healthPort]],
            ["tls", renderNginxSite({
                ...common, listenPort: httpPort, httpsListenPort: httpsPort, publicHttpsPort: httpsPort, healthPort: await freePort(),
                tls: { certificate: cert, key, hsts: true, acmeWebroot: webroot },
            }), [httpPort, httpsPort]],
            ["container", renderMaintenanceSite({ listenPort: maintenancePort, healthPort: maintenanceHealthPort }), [maintenancePort, maintenanceHealthPort]],
        ];
        for (const [name, site, ports] of sites) {
            const nginx = Nginx.prepare(site, path.join(tmp.path, name));
            const test = await nginx.test();
            if (test.code !== 0) throw new Error(`nginx -t refused the ${name} site:\n${test.output}\n--- site ---\n${site}`);
            await nginx.start(ports);
            proxies.push(nginx);
        }
    });

    after(async function () {
        this.timeout(30_000);
        try {
            for (const nginx of proxies) await nginx.stop();
        } finally {
            for (const server of servers) server.close();
            tmp?.remove();
        }
    });

    it("answers the app's paths with the page: 503, Retry-After, no-store, the security headers", async function () {
        for (const p of ["/", "/admin/", "/api/cone?ra=1&dec=2", "/accounts/logout/"]) expectPage(await get(p), p);
    });

    it("answers a webRoute's prefix, a POST, a HEAD and a POST to the healthcheck path with it too", async function () {
        expectPage(await get("/app/dashboard/"), "/app/dashboard/");
        expectPage(await get("/", "POST", "a=1"), "POST /");
        expectPage(await get("/app/x", "PUT", "a=1"), "PUT /app/x");
        expectPage(await get("/", "HEAD"), "HEAD /", false);
        expectPage(await get(HEALTH_PATH, "POST", "username=u&password=p"), `POST ${HEALTH_PATH}`);
    });

    it("still proxies GET and HEAD of the app's healthcheck path to the app", async function () {
        const res = await get(HEALTH_PATH);
        expect(res.status).to.equal(200);
        expect(who(res)).to.equal("app");
        expect((await get(HEALTH_PATH, "HEAD")).status).to.equal(200);
        // The path as nginx matches it: without the query, after normalisation.
        expect(who(await get(`${HEALTH_PATH}?next=/admin/`))).to.equal("app");
        expect(who(await get("/accounts/x/../login/"))).to.equal("app");
        // Only that exact path: what lies under it is in maintenance.
        expectPage(await get(`${HEALTH_PATH}x`), `${HEALTH_PATH}x`);
    });

    it("serves static and media files, the admin UI and /healthz as without maintenance", async function () {
        const css = await get("/static/site.css");
        expect(css.status).to.equal(200);
        expect(css.body.toString()).to.equal("body { color: red; }\n");
        expect((await get("/media/upload.txt")).status).to.equal(200);
        expect((await get("/static/missing.css")).status).to.equal(404);
        const admin = await get("/pgadmin/browser/", "POST", "x=1");
        expect(admin.status).to.equal(200);
        expect(who(admin)).to.equal("admin");
        const health = await httpRequest(healthPort, "GET", "/healthz");
        expect(health.status).to.equal(200);
        expect(health.body.toString()).to.equal("ok\n");
    });

    it("over TLS: HTTPS answers the page with HSTS; plain HTTP still redirects and serves the ACME challenge", async function () {
        const home = await curlTls("/");
        expect(home.status).to.equal(503);
        expect(home.body).to.equal(MAINTENANCE_PAGE);
        expect(home.headers).to.match(/^strict-transport-security: max-age=31536000; includeSubDomains\r?$/im);
        expect(home.headers).to.match(/^retry-after: \d+\r?$/im);
        expect((await curlTls(HEALTH_PATH)).status).to.equal(200);
        const redirect = await httpRequest(httpPort, "GET", "/", { Host: SITE });
        expect(redirect.status).to.equal(301);
        expect(redirect.headers.location).to.equal(`https://${SITE}:${httpsPort}/`);
        const acme = await httpRequest(httpPort, "GET", "/.well-known/acme-challenge/token-1", { Host: SITE });
        expect(acme.status).to.equal(200);
        expect(acme.body.toString()).to.equal("token-1.thumbprint");
    });

    it("the Traefik maintenance container's site: the page for every path and method, /healthz on its health port", async function () {
        for (const [method, p] of [["GET", "/"], ["GET", "/accounts/login/"], ["POST", "/api/x"], ["GET", "/static/site.css"]]) {
            const res = await httpRequest(maintenancePort, method, p, { Host: SITE });
            expect(res.status, `${method} ${p}`).to.equal(503);
            expect(res.body.toString()).to.equal(MAINTENANCE_PAGE);
            expect(res.headers["retry-after"]).to.equal(String(MAINTENANCE_RETRY_AFTER_SECONDS));
            expect(res.headers["cache-control"]).to.equal("no-store");
        }
        expect((await httpRequest(maintenanceHealthPort, "GET", "/healthz")).status).to.equal(200);
    });
});
