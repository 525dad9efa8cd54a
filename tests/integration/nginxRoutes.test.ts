/**
 * The site's optional parts under a real nginx and the official image's main config, in front
 * of small Node upstreams on 127.0.0.1: routes to a second container (found by name through the
 * resolver, like Docker's DNS), serveStatic false, another static prefix (/assets/, traversal
 * included), proxyTimeoutSeconds against an upstream that answers after 3 s, and a default
 * route "/" to a frontend with appPaths (/api/, /docs) left to the app.
 */
import * as dgram from "dgram";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { expect } from "chai";
import { renderNginxSite } from "../../components/nginxConfig";
import { freePort, httpGet, HttpResponse, Nginx, requireBinary, run, tempDir } from "./servers";

const SITE = "routes.example.org";
const SENTINEL = "SENTINEL-outside-the-assets-root-5d1e08";
const SLOW_MS = 3000;

interface Echo { who: string; path: string; headers: http.IncomingHttpHeaders }

/** An upstream answering every request with who it is, the path and headers it got; /slow/ after SLOW_MS. */
async function echoServer(who: string): Promise<http.Server & { port: number }> {
    const server = http.createServer((req, res) => {
        const answer = () => {
            res.writeHead(200, { "Content-Type": "application/json", "X-Frame-Options": "SAMEORIGIN" });
            res.end(JSON.stringify({ who, path: req.url ?? "", headers: req.headers } satisfies Echo));
        };
        if (req.url?.includes("/slow/")) setTimeout(answer, SLOW_MS);
        else answer();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return Object.assign(server, { port: (server.address() as net.AddressInfo).port });
}

/**
 * A DNS server for the test's names, each answered with 127.0.0.1 (A only, as nginx asks with
 * ipv6=off): nginx finds the upstreams by name through its resolver, as through Docker's DNS.
 */
async function fakeDns(names: string[]): Promise<{ port: number; asked: string[]; close: () => void }> {
    const socket = dgram.createSocket("udp4");
    const asked: string[] = [];
    socket.on("message", (query, from) => {
        let offset = 12;
        const labels: string[] = [];
        while (query[offset] !== 0) {
            labels.push(query.subarray(offset + 1, offset + 1 + query[offset]).toString("ascii"));
            offset += query[offset] + 1;
        }
        const questionEnd = offset + 5;
        const name = labels.join(".").toLowerCase();
        const type = query.readUInt16BE(offset + 1);
        asked.push(name);
        const known = names.includes(name) && type === 1;
        const header = Buffer.alloc(12);
        query.copy(header, 0, 0, 2);
        header.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
        header.writeUInt16BE(1, 4);
        header.writeUInt16BE(known ? 1 : 0, 6);
        const answer = known ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 127, 0, 0, 1]) : Buffer.alloc(0);
        socket.send(Buffer.concat([header, query.subarray(12, questionEnd), answer]), from.port, from.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return { port: socket.address().port, asked, close: () => socket.close() };
}

const echo = (res: HttpResponse) => JSON.parse(res.body.toString()) as Echo;

/** GET with curl, the path sent as written (--path-as-is). */
async function curl(port: number, requestPath: string, out: string): Promise<{ exit: number | null; status: number; body: string }> {
    const result = await run("curl", ["-sS", "--path-as-is", "--max-time", "10", "-H", `Host: ${SITE}`, "-o", out, "-w", "%{http_code}", `http://127.0.0.1:${port}${requestPath}`]);
    const body = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
    fs.rmSync(out, { force: true });
    return { exit: result.code, status: Number(result.stdout.trim()), body };
}

describe("nginx: routes, serveStatic, static prefix and proxy timeout, under the official main config", function () {
    let tmp: ReturnType<typeof tempDir> | undefined;
    let dns: Awaited<ReturnType<typeof fakeDns>> | undefined;
    const servers: http.Server[] = [];
    const proxies: Nginx[] = [];
    /** serveStatic false, routes /app/ and /app/admin/ by name, timeout 2 s. */
    let routed: number;
    /** Static files at /assets/, timeout 5 s. */
    let assets: number;
    /** Default route / to the frontend by name, appPaths /api/ and /docs to the app, static at /static/. */
    let fallback: number;
    let fallbackNginx: Nginx;
    let mediaRoot: string;
    let scratch: string;

    before(async function () {
        this.timeout(60_000);
        requireBinary("/usr/sbin/nginx", "nginx");
        requireBinary("/usr/bin/curl", "curl");
        tmp = tempDir("nginx-routes");
        scratch = path.join(tmp.path, "curl-body");
        mediaRoot = path.join(tmp.path, "media");
        const build = path.join(tmp.path, "build");
        fs.mkdirSync(mediaRoot);
        fs.mkdirSync(build);
        const staticRoot = path.join(tmp.path, "static");
        fs.mkdirSync(staticRoot);
        fs.writeFileSync(path.join(staticRoot, "site.css"), "body { color: red; }\n", { mode: 0o644 });
        fs.writeFileSync(path.join(mediaRoot, "upload.txt"), "an uploaded file\n", { mode: 0o644 });
        fs.writeFileSync(path.join(build, "main.js"), "console.log('built');\n", { mode: 0o644 });
        fs.writeFileSync(path.join(tmp.path, "secret.txt"), `${SENTINEL}\n`, { mode: 0o644 });

        const [app, frontend, admin] = await Promise.all([echoServer("app"), echoServer("frontend"), echoServer("admin")]);
        servers.push(app, frontend, admin);
        dns = await fakeDns(["app.webstack.test", "frontend.webstack.test"]);
        routed = await freePort();
        assets = await freePort();
        fallback = await freePort();
        const common = { serverNames: [SITE], mediaUrl: "/media/", mediaRoot, clientMaxBodySize: "1m" };
        const sites: [string, string, number][] = [
            ["routed", renderNginxSite({
                ...common,
                upstream: `app.webstack.test:${app.port}`,
                resolver: `127.0.0.1:${dns.port}`,
                listenPort: routed,
                healthPort: await freePort(),
                staticUrl: "/static/",
                staticRoot: path.join(tmp.path, "no-such-dir"),
                serveStatic: false,
                proxyTimeoutSeconds: 2,
                routes: [
                    { pathPrefix: "/app/", upstream: `frontend.webstack.test:${frontend.port}` },
                    { pathPrefix: "/app/admin/", upstream: `127.0.0.1:${admin.port}` },
                ],
            }), routed],
            ["assets", renderNginxSite({
                ...common,
                upstream: `127.0.0.1:${app.port}`,
                listenPort: assets,
                healthPort: await freePort(),
                staticUrl: "/assets/",
                staticRoot: build,
                proxyTimeoutSeconds: 5,
            }), assets],
            ["fallback", renderNginxSite({
                ...common,
                upstream: `app.webstack.test:${app.port}`,
                resolver: `127.0.0.1:${dns.port}`,
                listenPort: fallback,
                healthPort: await freePort(),
                staticUrl: "/static/",
                staticRoot,
                routes: [
                    { pathPrefix: "/", upstream: `frontend.webstack.test:${frontend.port}` },
                    { pathPrefix: "/admin/", upstream: `127.0.0.1:${admin.port}` },
                ],
                appPaths: ["/api/", "/docs"],
            }), fallback],
        ];
        for (const [name, site, port] of sites) {
            const nginx = Nginx.prepare(site, path.join(tmp.path, name));
            const test = await nginx.test();
            if (test.code !== 0) throw new Error(`nginx -t refused the ${name} site:\n${test.output}\n--- site ---\n${site}`);
            await nginx.start([port]);
            proxies.push(nginx);
            if (name === "fallback") fallbackNginx = nginx;
        }
    });

    after(async function () {
        this.timeout(30_000);
        try {
            for (const nginx of proxies) await nginx.stop();
        } finally {
            for (const server of servers) server.close();
            dns?.close();
            tmp?.remove();
        }
    });

    it("sends the route's prefix to the second upstream, found by name through the resolver", async function () {
        const res = await httpGet(routed, "/app/dashboard/?tab=1", { Host: SITE });
        expect(res.status, res.body.toString()).to.equal(200);
        expect(echo(res)).to.deep.include({ who: "frontend", path: "/app/dashboard/?tab=1" });
        expect(dns!.asked).to.include("frontend.webstack.test");
    });

    it("the longer of two nested prefixes wins", async function () {
        expect(echo(await httpGet(routed, "/app/admin/users/", { Host: SITE })).who).to.equal("admin");
        expect(echo(await httpGet(routed, "/app/adminx", { Host: SITE })).who).to.equal("frontend");
    });

    it("the bare prefix is redirected to the route, relative to whatever port the client used", async function () {
        const res = await httpGet(routed, "/app?x=1", { Host: SITE });
        expect(res.status).to.equal(301);
        expect(res.headers.location).to.equal("/app/?x=1");
    });

    it("everything else still goes to the app, by name too", async function () {
        const res = await httpGet(routed, "/api/items/", { Host: SITE });
        expect(echo(res)).to.deep.include({ who: "app", path: "/api/items/" });
        expect(dns!.asked).to.include("app.webstack.test");
    });

    it("the route gets the app's forwarded headers and answers with the edge's security headers only", async function () {
        const res = await httpGet(routed, "/app/", { Host: SITE, "X-Forwarded-Proto": "https" });
        const { headers } = echo(res);
        expect(headers.host).to.equal(SITE);
        expect(headers["x-forwarded-proto"]).to.equal("http");
        expect(headers["x-forwarded-host"]).to.equal(SITE);
        expect(headers["x-real-ip"]).to.equal("127.0.0.1");
        expect(res.headers["x-frame-options"]).to.equal("DENY");
        expect(res.headers["x-content-type-options"]).to.equal("nosniff");
        expect(res.headers["referrer-policy"]).to.equal("strict-origin-when-cross-origin");
    });

    it("serveStatic false: /static/ goes to the app, media still comes from nginx", async function () {
        const res = await httpGet(routed, "/static/x.css", { Host: SITE });
        expect(res.status).to.equal(200);
        expect(echo(res)).to.deep.include({ who: "app", path: "/static/x.css" });
        const media = await httpGet(routed, "/media/upload.txt", { Host: SITE });
        expect(media.status).to.equal(200);
        expect(media.body.toString()).to.equal("an uploaded file\n");
    });

    it("staticUrl /assets/: nginx serves the build itself, and /static/ is the app's", async function () {
        const res = await httpGet(assets, "/assets/main.js", { Host: SITE });
        expect(res.status).to.equal(200);
        expect(res.body.toString()).to.equal("console.log('built');\n");
        expect(res.headers["cache-control"]).to.equal("public, max-age=3600");
        expect(echo(await httpGet(assets, "/static/main.js", { Host: SITE })).who).to.equal("app");
    });

    it("staticUrl /assets/: never serves a file from outside its root", async function () {
        this.timeout(30_000);
        for (const attempt of [
            "/assets../secret.txt", "/assets/../secret.txt", "/assets/%2e%2e/secret.txt", "/assets/..%2fsecret.txt",
            "/assets/%2e%2e%2fsecret.txt", "/assets%2f..%2fsecret.txt", "/assets/x/../../secret.txt", "/assets/../../../../etc/passwd",
        ]) {
            const res = await curl(assets, attempt, scratch);
            const what = `${attempt} -> curl ${res.exit}, HTTP ${res.status}`;
            expect(res.exit, what).to.equal(0);
            expect(res.body, what).not.to.contain(SENTINEL);
            expect(res.body, what).not.to.contain("root:x:0:0");
            // What nginx does not refuse reaches the app (which decides), never the disk.
            if (![400, 403, 404].includes(res.status)) expect(JSON.parse(res.body).who, what).to.equal("app");
        }
    });

    it("proxyTimeoutSeconds applies: an answer after 3 s is a 504 at 2 s, and a 200 at 5 s", async function () {
        this.timeout(15_000);
        const started = Date.now();
        const timed = async (port: number, p: string) => {
            const t0 = Date.now();
            const res = await httpGet(port, p, { Host: SITE });
            return { res, ms: Date.now() - t0 };
        };
        const [short, long, route] = await Promise.all([timed(routed, "/slow/"), timed(assets, "/slow/"), timed(routed, "/app/slow/")]);
        expect(short.res.status).to.equal(504);
        expect(short.ms).to.be.within(1900, SLOW_MS - 200);
        expect(route.res.status, "the route has the same timeout").to.equal(504);
        expect(long.res.status).to.equal(200);
        expect(echo(long.res).who).to.equal("app");
        expect(long.ms).to.be.at.least(SLOW_MS - 100);
        expect(Date.now() - started).to.be.below(SLOW_MS + 2000);
    });

    describe("default route / with appPaths", function () {
        const who = async (p: string) => {
            const res = await httpGet(fallback, p, { Host: SITE });
            expect(res.status, `${p}: ${res.body.toString()}`).to.equal(200);
            return echo(res);
        };

        it("nginx -t accepts the site under the official main config", async function () {
            const result = await fallbackNginx.test();
            expect(result.code, result.output).to.equal(0);
            expect(result.output).not.to.contain("duplicate");
        });

        it("sends / and every path nothing else claims to the default route's upstream, found by name", async function () {
            expect(await who("/")).to.deep.include({ who: "frontend", path: "/" });
            expect(await who("/about/team?x=1")).to.deep.include({ who: "frontend", path: "/about/team?x=1" });
            expect(dns!.asked).to.include("frontend.webstack.test");
        });

        it("sends the app paths to the app: /api/ as a prefix, /docs as the path and its directory", async function () {
            expect(await who("/api/x")).to.deep.include({ who: "app", path: "/api/x" });
            expect(await who("/api/")).to.deep.include({ who: "app", path: "/api/" });
            expect(await who("/docs")).to.deep.include({ who: "app", path: "/docs" });
            expect(await who("/docs?x=1")).to.deep.include({ who: "app", path: "/docs?x=1" });
            expect(await who("/docs/oauth2-redirect")).to.deep.include({ who: "app", path: "/docs/oauth2-redirect" });
        });

        it("only those: /docsx, /apix and /api-v2/ are the default route's; a bare /api is redirected to /api/", async function () {
            expect((await who("/docsx")).who).to.equal("frontend");
            expect((await who("/apix")).who).to.equal("frontend");
            expect((await who("/api-v2/x")).who).to.equal("frontend");
            const bare = await httpGet(fallback, "/api?x=1", { Host: SITE });
            expect(bare.status).to.equal(301);
            expect(bare.headers.location).to.equal("/api/?x=1");
        });

        it("other routes, static and media files stay where they were", async function () {
            expect((await who("/admin/users/")).who).to.equal("admin");
            const css = await httpGet(fallback, "/static/site.css", { Host: SITE });
            expect(css.status).to.equal(200);
            expect(css.body.toString()).to.equal("body { color: red; }\n");
            expect(css.headers["cache-control"]).to.equal("public, max-age=3600");
            expect((await httpGet(fallback, "/static/missing.css", { Host: SITE })).status).to.equal(404);
            const media = await httpGet(fallback, "/media/upload.txt", { Host: SITE });
            expect(media.status).to.equal(200);
            expect(media.body.toString()).to.equal("an uploaded file\n");
        });

        it("both upstreams get the forwarded headers and answer with the edge's security headers only", async function () {
            for (const p of ["/", "/api/x", "/docs"]) {
                const res = await httpGet(fallback, p, { Host: SITE, "X-Forwarded-Proto": "https" });
                const { headers } = echo(res);
                expect(headers["x-forwarded-proto"], p).to.equal("http");
                expect(headers["x-forwarded-host"], p).to.equal(SITE);
                expect(res.headers["x-frame-options"], p).to.equal("DENY");
                expect(res.headers["x-content-type-options"], p).to.equal("nosniff");
            }
        });

        it("matches the normalised path: dot segments and escapes neither reach the app outside its paths nor the disk", async function () {
            this.timeout(30_000);
            const cases: [string, "app" | "frontend" | "refused"][] = [
                ["/api/../secret.txt", "frontend"], ["/api/%2e%2e/secret.txt", "frontend"], ["/docs/../x", "frontend"],
                ["/x/../api/y", "app"], ["/%61pi/y", "app"], ["/docs/./", "app"],
                ["/static/../secret.txt", "frontend"], ["/static/..%2fsecret.txt", "frontend"], ["/static/%2e%2e/%2e%2e/secret.txt", "refused"],
                ["/api/../../../../etc/passwd", "refused"],
            ];
            for (const [attempt, expected] of cases) {
                const res = await curl(fallback, attempt, scratch);
                const what = `${attempt} -> curl ${res.exit}, HTTP ${res.status}: ${res.body.slice(0, 200)}`;
                expect(res.exit, what).to.equal(0);
                expect(res.body, what).not.to.contain(SENTINEL);
                expect(res.body, what).not.to.contain("root:x:0:0");
                const got = [400, 403, 404].includes(res.status) ? "refused" : (JSON.parse(res.body) as Echo).who;
                expect(got, what).to.equal(expected);
            }
        });
    });
});
