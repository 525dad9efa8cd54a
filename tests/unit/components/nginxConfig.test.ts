import { expect } from "chai";
import { renderNginxSite } from "../../../components/nginxConfig";

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
});
