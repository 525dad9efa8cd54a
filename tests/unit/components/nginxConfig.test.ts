import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { ACME_CHALLENGE_PREFIX, isAppPath, renderNginxSite, routeProblems, siteReservedPrefixes } from "../../../components/nginxConfig";

const SITES = path.join(__dirname, "..", "..", "fixtures", "nginx", "sites");

const options = {
    serverNames: ["www.example.org"],
    upstream: "web:8000",
    resolver: "127.0.0.11",
    listenPort: 80,
    staticUrl: "/static/",
    staticRoot: "/srv/static",
    mediaUrl: "/media/",
    mediaRoot: "/srv/media/",
    healthPort: 8081,
    clientMaxBodySize: "20m",
};

/** Directives outside any block: in conf.d/ they sit in the main config's http block. */
function topLevelDirectives(conf: string): string[] {
    let depth = 0;
    const found: string[] = [];
    for (const raw of conf.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        if (line === "") continue;
        if (depth === 0 && !line.startsWith("server {")) found.push(line.split(/\s+/)[0]);
        depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    }
    return found;
}

describe("renderNginxSite", () => {
    const conf = renderNginxSite(options);

    it("holds only server blocks at http level, so nothing repeats the image's nginx.conf", () => {
        const tls = renderNginxSite({ ...options, tls: { certificate: "/c.pem", key: "/k.pem", hsts: true, acmeWebroot: "/w" } });
        expect(topLevelDirectives(conf)).to.deep.equal([]);
        expect(topLevelDirectives(tls)).to.deep.equal([]);
        // Compression and sendfile are set per server instead.
        expect(conf).to.match(/server \{\n    listen 80;\n(.*\n)*?    gzip on;/);
        expect(tls).to.match(/listen 443 ssl http2;\n(.*\n)*?    gzip on;/);
    });

    it("refuses unknown hosts in a default server", () => {
        expect(conf).to.match(/listen 80 default_server;\s+server_name _;\s+return 444;/);
        expect(conf).to.include("server_name www.example.org;");
    });

    it("matches trailing slashes on static and media aliases", () => {
        expect(conf).to.include("location ^~ /static/ {\n        alias /srv/static/;");
        expect(conf).to.include("location ^~ /media/ {\n        alias /srv/media/;");
    });

    it("re-resolves the app through the resolver, so a replaced web container is found", () => {
        expect(conf).to.include("resolver 127.0.0.11 valid=10s ipv6=off;");
        expect(conf).to.include("set $app_upstream http://web:8000;");
        expect(conf).to.include("proxy_pass $app_upstream;");
        expect(renderNginxSite({ ...options, resolver: undefined })).not.to.include("resolver");
    });

    it("passes the forwarded headers Django and gunicorn trust", () => {
        for (const header of ["Host $host", "X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme"]) {
            expect(conf).to.include(`proxy_set_header ${header};`);
        }
    });

    it("serves precompressed static files, hashed ones cached for a year", () => {
        expect(conf).to.include("gzip_static on;");
        expect(conf).to.include('add_header Cache-Control "public, max-age=31536000, immutable" always;');
        expect(conf).to.include("open_file_cache max=2000 inactive=60s;");
    });

    it("repeats the security headers in every block that adds headers of its own", () => {
        const lines = renderNginxSite({ ...options, tls: { certificate: "/c.pem", key: "/k.pem", hsts: true } }).split("\n");
        const own = lines.flatMap((line, i) => (line.includes("add_header Cache-Control") ? [lines.slice(i, i + 6).join("\n")] : []));
        expect(own).to.have.length(2);
        for (const block of own) {
            for (const header of ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]) {
                expect(block, header).to.include(`add_header ${header}`);
            }
        }
    });

    it("with TLS: redirects HTTP except ACME challenges, and rejects unknown names at the handshake", () => {
        const secured = renderNginxSite({ ...options, publicHttpsPort: 8443, tls: { certificate: "/c.pem", key: "/k.pem", hsts: false, acmeWebroot: "/var/www/certbot" } });
        expect(secured).to.include("return 301 https://$host:8443$request_uri;");
        expect(secured).to.include("root /var/www/certbot;");
        expect(secured).to.include("ssl_reject_handshake on;");
        expect(secured).not.to.include("add_header Strict-Transport-Security");
        expect(secured).to.include("ssl_protocols TLSv1.2 TLSv1.3;");
    });

    it("answers the healthcheck on loopback only", () => {
        expect(conf).to.include("listen 127.0.0.1:8081;");
    });

    it("renders, without the new options, exactly the golden file (a change replaces the proxy on the next deploy: make it on purpose)", function () {
        // Rendered with the default options; last changed on purpose for proxy_connect_timeout.
        const golden = { ...options, serverNames: ["www.example.org", "example.org"], staticRoot: "/srv/static/" };
        expect(renderNginxSite(golden)).to.equal(fs.readFileSync(path.join(SITES, "plain.conf"), "utf8"));
        expect(renderNginxSite({
            ...golden, publicHttpsPort: 443,
            tls: { certificate: "/etc/nginx/tls/fullchain.pem", key: "/etc/nginx/tls/privkey.pem", hsts: true, acmeWebroot: "/var/www/certbot" },
        })).to.equal(fs.readFileSync(path.join(SITES, "letsencrypt.conf"), "utf8"));
        expect(renderNginxSite({ ...options, serveStatic: true, routes: [] })).to.equal(conf);
    });

    it("gives up on a dead upstream address at once during a web deploy and tries the next one", function () {
        const site = renderNginxSite({ ...options, routes: [{ pathPrefix: "/app/", upstream: "frontend:3000" }] });
        expect(site.match(/proxy_connect_timeout 2s;/g)).to.have.length(2);
        expect(site.match(/proxy_next_upstream error timeout;/g)).to.have.length(2);
    });

    describe("proxyTimeoutSeconds", function () {
        it("sets proxy_read_timeout and proxy_send_timeout in every proxied location", function () {
            const site = renderNginxSite({ ...options, proxyTimeoutSeconds: 300, routes: [{ pathPrefix: "/app/", upstream: "frontend:3000" }] });
            expect(site.match(/proxy_read_timeout 300s;/g)).to.have.length(2);
            expect(site.match(/proxy_send_timeout 300s;/g)).to.have.length(2);
            expect(site).not.to.match(/proxy_(read|send)_timeout 60s/);
        });

        it("unset, keeps nginx's 60 s (read written out, send nginx's default)", function () {
            expect(conf.match(/proxy_read_timeout 60s;/g)).to.have.length(1);
            expect(conf).not.to.include("proxy_send_timeout");
            const explicit = renderNginxSite({ ...options, proxyTimeoutSeconds: 60 });
            expect(explicit).to.include("proxy_read_timeout 60s;");
            expect(explicit).to.include("proxy_send_timeout 60s;");
        });

        it("refuses anything but a whole number of seconds above 0", function () {
            for (const bad of [0, -5, 1.5, Number.NaN]) {
                expect(() => renderNginxSite({ ...options, proxyTimeoutSeconds: bad }), String(bad)).to.throw(/proxyTimeoutSeconds/);
            }
        });
    });

    describe("serveStatic", function () {
        const off = renderNginxSite({ ...options, serveStatic: false });

        it("false: no static location, so staticUrl goes to the app; media stays with nginx", function () {
            expect(off).not.to.include("location ^~ /static/");
            expect(off).not.to.include("alias /srv/static/");
            expect(off).not.to.include("gzip_static");
            expect(off).to.include("location ^~ /media/ {\n        alias /srv/media/;");
            expect(off).to.include("location / {\n        set $app_upstream http://web:8000;");
            expect(topLevelDirectives(off)).to.deep.equal([]);
        });

        it("false: the security headers still come from the server block, for the app's answers", function () {
            expect(off).to.include('    add_header X-Frame-Options "DENY" always;');
            expect(off).not.to.include("add_header Cache-Control");
        });

        it("serves any prefix, such as /assets/, with matching trailing slashes on location and alias", function () {
            const assets = renderNginxSite({ ...options, staticUrl: "/assets/", staticRoot: "/srv/build" });
            expect(assets).to.include("location ^~ /assets/ {\n        alias /srv/build/;");
            expect(assets).to.include('# Trailing slashes on both sides: "/assets../" cannot escape the root.');
            expect(assets).not.to.include("/static/");
        });
    });

    describe("routes", function () {
        const routes = [
            { pathPrefix: "/app/", upstream: "frontend:3000" },
            { pathPrefix: "/app/admin/", upstream: "admin-ui:8080" },
        ];
        const site = renderNginxSite({ ...options, routes, proxyTimeoutSeconds: 120 });
        const block = (prefix: string) => {
            const start = site.indexOf(`    location ^~ ${prefix} {`);
            return site.slice(start, site.indexOf("\n    }\n", start));
        };
        const app = site.slice(site.indexOf("    location / {"), site.indexOf("\n    }\n", site.indexOf("    location / {")));

        it("proxies each prefix to its upstream, re-resolved like the app", function () {
            expect(block("/app/")).to.include("set $route2_upstream http://frontend:3000;\n        proxy_pass $route2_upstream;");
            expect(block("/app/admin/")).to.include("set $route1_upstream http://admin-ui:8080;\n        proxy_pass $route1_upstream;");
            expect(site).to.include("resolver 127.0.0.11 valid=10s ipv6=off;");
        });

        it("with the app's proxy headers, hidden headers and timeouts, line for line", function () {
            const body = (b: string) => b.split("\n").filter((l) => !/^\s*(set|proxy_pass|absolute_redirect) |location|redirect to/.test(l)).join("\n");
            expect(body(block("/app/"))).to.equal(body(app));
            expect(body(block("/app/admin/"))).to.equal(body(app));
            expect(block("/app/")).to.include("proxy_read_timeout 120s;");
        });

        it("redirects the bare prefix (/app to /app/) with a relative Location, right behind a published port", function () {
            expect(block("/app/")).to.include("absolute_redirect off;");
            expect(app).not.to.include("absolute_redirect");
        });

        it("adds no headers of its own, so the server's security headers apply", function () {
            expect(block("/app/")).not.to.include("add_header");
            const tls = renderNginxSite({ ...options, routes, tls: { certificate: "/c.pem", key: "/k.pem", hsts: true } });
            const https = tls.slice(tls.indexOf("ssl http2;"));
            expect(https).to.include("location ^~ /app/ {");
            expect(https).to.include("add_header Strict-Transport-Security");
            // Plain HTTP only redirects.
            expect(tls.slice(0, tls.indexOf("ssl http2;"))).not.to.include("location ^~ /app/");
        });

        it("are written longest first, before the app's location, at server level only", function () {
            expect(site.indexOf("location ^~ /app/admin/")).to.be.lessThan(site.indexOf("location ^~ /app/ {"));
            expect(site.indexOf("location ^~ /app/ {")).to.be.lessThan(site.indexOf("location / {"));
            expect(topLevelDirectives(site)).to.deep.equal([]);
        });

        it("refuses routes routeProblems refuses, naming them", function () {
            expect(() => renderNginxSite({ ...options, routes: [{ pathPrefix: "/media/", upstream: "f:1" }] })).to.throw(/route "\/media\/" collides with the media URL \/media\//);
            expect(() => renderNginxSite({ ...options, routes: [{ pathPrefix: "/x/ { return 200; } location /y/", upstream: "f:1" }] })).to.throw(/expected a URL prefix/);
            expect(() => renderNginxSite({ ...options, routes: [{ pathPrefix: "/x/", upstream: "f:1; root /" }] })).to.throw(/not host:port/);
            // With the app serving its static files, their URL is free for a route.
            expect(renderNginxSite({ ...options, serveStatic: false, routes: [{ pathPrefix: "/static/", upstream: "f:1" }] })).to.match(/location \^~ \/static\/ \{\n(.*\n){2}        set \$route1_upstream http:\/\/f:1;/);
        });
    });
});

describe("renderNginxSite: default route and appPaths", function () {
    const appPaths = ["/api/", "/docs", "/redoc", "/openapi.json"];
    const routes = [{ pathPrefix: "/", upstream: "frontend:80" }, { pathPrefix: "/admin/", upstream: "admin-ui:8080" }];
    const site = renderNginxSite({ ...options, routes, appPaths, proxyTimeoutSeconds: 120 });
    const block = (opening: string) => {
        const start = site.indexOf(`    ${opening} {`);
        expect(start, opening).to.be.at.least(0);
        return site.slice(start, site.indexOf("\n    }\n", start));
    };
    const plainApp = (() => {
        const plain = renderNginxSite({ ...options, proxyTimeoutSeconds: 120 });
        const start = plain.indexOf("    location / {");
        return plain.slice(start, plain.indexOf("\n    }\n", start));
    })();
    const body = (b: string) => b.split("\n").filter((l) => !/^\s*(set|proxy_pass|absolute_redirect) |location|redirect to/.test(l)).join("\n");

    it("sends / to the default route's upstream, re-resolved like the app", function () {
        expect(block("location /")).to.include("set $default_upstream http://frontend:80;\n        proxy_pass $default_upstream;");
        expect(site).not.to.match(/location \/ \{\n\s+set \$app_upstream/);
    });

    it("a path with a trailing slash is a prefix location; one without is that path and its directory, not /docsx", function () {
        expect(block("location ^~ /api/")).to.include("absolute_redirect off;");
        for (const p of ["/docs", "/redoc", "/openapi.json"]) {
            expect(block(`location = ${p}`), p).to.include("set $app_upstream http://web:8000;\n        proxy_pass $app_upstream;");
            expect(block(`location ^~ ${p}/`), p).to.include("set $app_upstream http://web:8000;\n        proxy_pass $app_upstream;");
        }
        expect(block("location ^~ /api/")).to.include("set $app_upstream http://web:8000;");
        expect(site).not.to.match(/location (\^~ )?\/docs \{/);
        expect(site).not.to.match(/location \^~ \/api \{/);
    });

    it("every app and default-route location has the app's proxy headers, hidden headers and timeouts, line for line", function () {
        for (const opening of ["location /", "location ^~ /api/", "location = /docs", "location ^~ /docs/", "location ^~ /admin/"]) {
            expect(body(block(opening)), opening).to.equal(body(plainApp));
            expect(block(opening), opening).not.to.include("add_header");
        }
        expect(block("location /")).to.include("proxy_read_timeout 120s;");
    });

    it("keeps the static, media and other routes' locations as they were, longest first before /", function () {
        const without = renderNginxSite({ ...options, routes: [routes[1]], proxyTimeoutSeconds: 120 });
        const upTo = (conf: string, opening: string) => conf.slice(0, conf.indexOf(opening));
        expect(upTo(site, "    # The app serves only these paths")).to.equal(upTo(without, "    location / {"));
        expect(site.indexOf("location ^~ /openapi.json/")).to.be.lessThan(site.indexOf("location ^~ /api/"));
        expect(site.indexOf("location ^~ /api/")).to.be.lessThan(site.indexOf("location / {"));
        expect(site.match(/location \/ \{/g)).to.have.length(1);
        expect(topLevelDirectives(site)).to.deep.equal([]);
    });

    it("over TLS: in the HTTPS server only, plain HTTP still just redirects", function () {
        const tls = renderNginxSite({ ...options, routes, appPaths, tls: { certificate: "/c.pem", key: "/k.pem", hsts: true } });
        const split = tls.indexOf("ssl http2;");
        expect(tls.slice(split)).to.include("location ^~ /api/ {");
        expect(tls.slice(split)).to.include("set $default_upstream http://frontend:80;");
        expect(tls.slice(0, split)).not.to.include("/api/");
    });

    it("empty appPaths without a default route change nothing", function () {
        expect(renderNginxSite({ ...options, appPaths: [] })).to.equal(renderNginxSite(options));
    });

    it("throws what routeProblems reports", function () {
        expect(() => renderNginxSite({ ...options, routes: [routes[0]] })).to.throw(/nginx routes: route "\/": .*set appPaths/);
        expect(() => renderNginxSite({ ...options, appPaths: ["/api/"] })).to.throw(/only used with a default route/);
        expect(() => renderNginxSite({ ...options, routes, appPaths: ["/api/ { return 200; } location /x/"] })).to.throw(/appPath .*expected a path such as \/api\//);
        expect(() => renderNginxSite({ ...options, routes, appPaths: ["/static/"] })).to.throw(/appPath "\/static\/" collides with the static URL \/static\//);
    });
});

describe("routeProblems: default route and appPaths", function () {
    const reserved = siteReservedPrefixes({ staticUrl: "/static/", mediaUrl: "/media/" });
    const route = (pathPrefix: string, upstream = "frontend:3000") => ({ pathPrefix, upstream });
    const appPaths = ["/api/", "/docs", "/redoc", "/openapi.json"];

    it("accepts one default route with appPaths clear of everything else", function () {
        expect(routeProblems([route("/")], reserved, { appPaths })).to.deep.equal([]);
        expect(routeProblems([route("/"), route("/admin/", "admin:80")], reserved, { appPaths })).to.deep.equal([]);
        expect(routeProblems([route("/app/")], reserved, { appPaths: [] })).to.deep.equal([]);
        expect(routeProblems([route("/")], reserved, { appPaths: ["/staticky", "/v1/api/"] })).to.deep.equal([]);
    });

    it("refuses the default route without appPaths, naming what to set", function () {
        for (const options of [undefined, {}, { appPaths: [] }]) {
            expect(routeProblems([route("/")], reserved, options)).to.deep.equal([
                'route "/": / is the app\'s own catch-all unless appPaths names the paths the app still serves (such as ["/api/", "/docs"]); set appPaths, or give the route a path under / such as /app/',
            ]);
        }
    });

    it("refuses appPaths without a default route, saying why", function () {
        expect(routeProblems([route("/app/")], reserved, { appPaths: ["/api/"] })).to.deep.equal([
            'appPaths ["/api/"]: only used with a default route "/"; without one the app already gets every path no route claims, so remove appPaths or add a route for "/"',
        ]);
    });

    it("refuses a second default route, and checks its upstream", function () {
        expect(routeProblems([route("/"), route("/", "other:80")], reserved, { appPaths })).to.deep.equal([
            'route "/" collides with another route of the same prefix',
        ]);
        expect(routeProblems([route("/", "frontend")], reserved, { appPaths })).to.deep.equal([
            'route "/": upstream "frontend" is not host:port such as frontend:3000',
        ]);
    });

    it("refuses app paths that are, lie under or hold the static, media, ACME or a route's prefix", function () {
        const check = (paths: string[], routes = [route("/")]) => routeProblems(routes, reserved, { appPaths: paths });
        expect(check(["/static/"])).to.deep.equal(['appPath "/static/" collides with the static URL /static/']);
        expect(check(["/static"])).to.deep.equal(['appPath "/static" collides with the static URL /static/']);
        expect(check(["/media/x/"])).to.deep.equal(['appPath "/media/x/" collides with the media URL /media/: it lies under it']);
        expect(check(["/.well-known"])).to.deep.equal([
            'appPath "/.well-known" collides with the ACME HTTP-01 challenge path /.well-known/acme-challenge/: it would take part of it',
        ]);
        expect(check(["/admin/api/"], [route("/"), route("/admin/", "admin:80")])).to.deep.equal([
            'appPath "/admin/api/" collides with route "/admin/": it lies under it',
        ]);
        expect(check(["/admin"], [route("/"), route("/admin/", "admin:80")])).to.deep.equal(['appPath "/admin" collides with route "/admin/"']);
        // Not reserved when the app serves its own static files.
        expect(routeProblems([route("/")], siteReservedPrefixes({ staticUrl: "/static/", mediaUrl: "/media/", serveStatic: false }), { appPaths: ["/static/"] })).to.deep.equal([]);
    });

    it("refuses app paths that claim the same or nested paths", function () {
        const check = (paths: string[]) => routeProblems([route("/")], reserved, { appPaths: paths });
        expect(check(["/docs", "/docs/"])).to.deep.equal(['appPath "/docs/" collides with appPath "/docs"']);
        expect(check(["/api/", "/api/"])).to.deep.equal(['appPath "/api/" collides with appPath "/api/"']);
        expect(check(["/api/", "/api/v2/"])).to.deep.equal(['appPath "/api/v2/" collides with appPath "/api/": it lies under it']);
        expect(check(["/api/v2", "/api/"])).to.deep.equal(['appPath "/api/" collides with appPath "/api/v2": it would take part of it']);
    });

    it("refuses app paths that are not /name/ or /name (no dot segments, no nginx or rule syntax)", function () {
        for (const bad of ["/", "", "api/", "api", "//", "/api//", "/a b", "/../x", "/x/..", "/./", "/a;b", "/a{b}/", "/a`)/", "/x/ { return 200; }", "/a?b", "/a#b", "/a%2f"]) {
            expect(isAppPath(bad), bad).to.equal(false);
            expect(routeProblems([route("/")], reserved, { appPaths: [bad] }), bad).to.deep.equal([
                `appPath ${JSON.stringify(bad)}: expected a path such as /api/ (that prefix) or /docs (that path and everything under /docs/), with letters, digits and ._~- between the slashes`,
            ]);
        }
        for (const good of ["/api/", "/docs", "/openapi.json", "/v1/api/", "/a..b", "/~x/"]) expect(isAppPath(good), good).to.equal(true);
    });
});

describe("routeProblems", function () {
    const reserved = siteReservedPrefixes({ staticUrl: "/static/", mediaUrl: "/media/" });
    const route = (pathPrefix: string, upstream = "frontend:3000") => ({ pathPrefix, upstream });

    it("accepts distinct routes clear of the reserved prefixes, nested ones included (the longer wins)", function () {
        expect(routeProblems([], reserved)).to.deep.equal([]);
        expect(routeProblems([route("/app/"), route("/app/admin/", "admin:8080"), route("/docs/", "10.0.0.5:80")], reserved)).to.deep.equal([]);
        expect(routeProblems([route("/staticky/"), route("/med/")], reserved)).to.deep.equal([]);
    });

    it("reports the same prefix twice", function () {
        expect(routeProblems([route("/app/"), route("/app/", "other:1")], reserved)).to.deep.equal([
            'route "/app/" collides with another route of the same prefix',
        ]);
    });

    it("reports a prefix that is, lies under or holds the static or media URL, naming both", function () {
        expect(routeProblems([route("/static/")], reserved)).to.deep.equal(['route "/static/" collides with the static URL /static/']);
        expect(routeProblems([route("/media/avatars/")], reserved)).to.deep.equal(['route "/media/avatars/" collides with the media URL /media/: it lies under it']);
        const nested = siteReservedPrefixes({ staticUrl: "/site/static/", mediaUrl: "/media/" });
        expect(routeProblems([route("/site/")], nested)).to.deep.equal(['route "/site/" collides with the static URL /site/static/: it would take part of it']);
    });

    it("always reserves the ACME challenge path", function () {
        expect(routeProblems([route(ACME_CHALLENGE_PREFIX)], [])).to.deep.equal([
            'route "/.well-known/acme-challenge/" collides with the ACME HTTP-01 challenge path /.well-known/acme-challenge/',
        ]);
        expect(routeProblems([route("/.well-known/")], [])).to.deep.equal([
            'route "/.well-known/" collides with the ACME HTTP-01 challenge path /.well-known/acme-challenge/: it would take part of it',
        ]);
    });

    it("takes plain strings as reserved prefixes too", function () {
        expect(routeProblems([route("/assets/")], ["/assets/"])).to.deep.equal(['route "/assets/" collides with a reserved path /assets/']);
    });

    it("without serveStatic, the static URL is not reserved", function () {
        expect(siteReservedPrefixes({ staticUrl: "/static/", mediaUrl: "/media/", serveStatic: false })).to.deep.equal([{ prefix: "/media/", what: "the media URL" }]);
    });

    it("reports prefixes and upstreams that are not of their form", function () {
        expect(routeProblems([route("/")], reserved)).to.deep.equal([
            'route "/": / is the app\'s own catch-all unless appPaths names the paths the app still serves (such as ["/api/", "/docs"]); set appPaths, or give the route a path under / such as /app/',
        ]);
        for (const bad of ["app/", "/app", "/a b/", "/app/../", "/./", "/a;b/", "/a{b/", "/a`b/", "//", ""]) {
            const problems = routeProblems([route(bad)], reserved);
            expect(problems, bad).to.have.length(1);
            expect(problems[0], bad).to.match(/expected a URL prefix with leading and trailing slashes/);
            expect(problems[0], bad).to.include(JSON.stringify(bad));
        }
        for (const bad of ["frontend", "frontend:", ":3000", "front end:3000", "frontend:3000;", "frontend:0", "frontend:70000", "http://frontend:3000"]) {
            expect(routeProblems([route("/app/", bad)], reserved), bad).to.deep.equal([`route "/app/": upstream ${JSON.stringify(bad)} is not host:port such as frontend:3000`]);
        }
    });
});

describe("renderNginxSite: maintenance", function () {
    const maintenance = { healthcheckPath: "/accounts/login/" };
    const routes = [
        { pathPrefix: "/app/", upstream: "frontend:3000" },
        { pathPrefix: "/pgadmin/", upstream: "pgadmin:80", servedInMaintenance: true },
    ];
    const site = renderNginxSite({ ...options, routes, maintenance });
    const block = (conf: string, opening: string) => {
        const start = conf.indexOf(`    ${opening} {`);
        expect(start, opening).to.be.at.least(0);
        return conf.slice(start, conf.indexOf("\n    }\n", start));
    };
    const guarded = (b: string) => /return 503;\n(.*\n)*\s+set \$\w+_upstream/.test(b);

    it("off (unset), the site is exactly as before", function () {
        expect(renderNginxSite({ ...options, routes, maintenance: undefined })).to.equal(renderNginxSite({ ...options, routes }));
        expect(renderNginxSite({ ...options, routes })).not.to.match(/503|@maintenance|Retry-After/);
    });

    it("every location that proxies answers 503 first, but the admin UI served in maintenance", function () {
        expect(guarded(block(site, "location /")), "the app").to.equal(true);
        expect(guarded(block(site, "location ^~ /app/")), "a webRoute").to.equal(true);
        expect(block(site, "location ^~ /pgadmin/")).not.to.include("503");
        expect(block(site, "location ^~ /pgadmin/")).to.include("proxy_pass $route1_upstream;");
    });

    it("lets GET and HEAD of the healthcheck path through only where it can be, and proxies it as before", function () {
        const app = block(site, "location /");
        expect(app).to.include('if ($request_method !~ "^(GET|HEAD)$") {\n            return 503;\n        }');
        expect(app).to.include('if ($uri != "/accounts/login/") {\n            return 503;\n        }');
        expect(app.slice(app.indexOf("set $app_upstream"))).to.equal(block(renderNginxSite(options), "location /").slice(block(renderNginxSite(options), "location /").indexOf("set $app_upstream")));
        // /app/ cannot hold /accounts/login/: a plain 503.
        expect(block(site, "location ^~ /app/")).not.to.include("$uri");
        const underRoute = renderNginxSite({ ...options, routes, maintenance: { healthcheckPath: "/app/health" } });
        expect(block(underRoute, "location ^~ /app/")).to.include('if ($uri != "/app/health")');
    });

    it("leaves static and media files, the health port and the server's headers as they were", function () {
        const plain = renderNginxSite({ ...options, routes });
        for (const opening of ["location ^~ /static/", "location ^~ /media/"]) expect(block(site, opening), opening).to.equal(block(plain, opening));
        expect(site.slice(site.indexOf("listen 127.0.0.1:8081"))).to.equal(plain.slice(plain.indexOf("listen 127.0.0.1:8081")));
        expect(topLevelDirectives(site)).to.deep.equal([]);
    });

    it("sends the page from one named location: 503, text/html, Retry-After, no-store and the security headers", function () {
        expect(site.match(/error_page 503 @maintenance;/g)).to.have.length(1);
        const page = block(site, "location @maintenance");
        expect(page).to.include("default_type text/html;");
        expect(page).to.match(/add_header Retry-After \d+ always;/);
        expect(page).to.include('add_header Cache-Control "no-store" always;');
        for (const header of ["X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]) expect(page, header).to.include(`add_header ${header}`);
        expect(page).to.match(/return 503 '<!doctype html>\n(.*\n)*.*<title>Down for maintenance<\/title>/);
        expect(page, "no external assets").not.to.match(/\b(src|href)=|url\(|@import/);
    });

    it("over TLS: in the HTTPS server, with HSTS; plain HTTP still only redirects and answers ACME", function () {
        const tlsOptions = { ...options, routes, tls: { certificate: "/c.pem", key: "/k.pem", hsts: true, acmeWebroot: "/var/www/certbot" } };
        const tls = renderNginxSite({ ...tlsOptions, maintenance });
        const split = tls.indexOf("ssl http2;");
        const plain = renderNginxSite(tlsOptions);
        expect(tls.slice(0, split)).to.equal(plain.slice(0, plain.indexOf("ssl http2;")));
        expect(block(tls.slice(split), "location @maintenance")).to.include("add_header Strict-Transport-Security");
        expect(guarded(block(tls.slice(split), "location /"))).to.equal(true);
    });

    it("with a default route and appPaths: the app's paths and the default route in maintenance too", function () {
        const fallback = renderNginxSite({
            ...options, routes: [...routes, { pathPrefix: "/", upstream: "frontend-vue:80" }], appPaths: ["/api/", "/docs"], maintenance: { healthcheckPath: "/docs" },
        });
        for (const opening of ["location /", "location ^~ /api/", "location = /docs", "location ^~ /docs/", "location ^~ /app/"]) {
            expect(guarded(block(fallback, opening)), opening).to.equal(true);
        }
        expect(block(fallback, "location = /docs")).to.include('if ($uri != "/docs")');
        expect(block(fallback, "location ^~ /api/")).not.to.include("$uri");
    });

    it("refuses a healthcheck path nginx could not compare safely", function () {
        for (const bad of ["/a$b", "/a'b", "/a%20b", "/a;b", "/a\"b", "/a b"]) {
            expect(() => renderNginxSite({ ...options, maintenance: { healthcheckPath: bad } }), bad).to.throw(/maintenance: the healthcheck path .* must be a plain path/);
        }
    });
});
