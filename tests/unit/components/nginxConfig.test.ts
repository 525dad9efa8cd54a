import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { ACME_CHALLENGE_PREFIX, renderNginxSite, routeProblems, siteReservedPrefixes } from "../../../components/nginxConfig";

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

    it("renders, without the new options, exactly the file it rendered before them (no proxy replacement on upgrade)", function () {
        // The fixtures were rendered by the renderer before proxyTimeoutSeconds, serveStatic and routes.
        const golden = { ...options, serverNames: ["www.example.org", "example.org"], staticRoot: "/srv/static/" };
        expect(renderNginxSite(golden)).to.equal(fs.readFileSync(path.join(SITES, "plain.conf"), "utf8"));
        expect(renderNginxSite({
            ...golden, publicHttpsPort: 443,
            tls: { certificate: "/etc/nginx/tls/fullchain.pem", key: "/etc/nginx/tls/privkey.pem", hsts: true, acmeWebroot: "/var/www/certbot" },
        })).to.equal(fs.readFileSync(path.join(SITES, "letsencrypt.conf"), "utf8"));
        expect(renderNginxSite({ ...options, serveStatic: true, routes: [] })).to.equal(conf);
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
        expect(routeProblems([route("/")], reserved)).to.deep.equal(['route "/": / is the app\'s own catch-all; a route needs a path under it such as /app/']);
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
