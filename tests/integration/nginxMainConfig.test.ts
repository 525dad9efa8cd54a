/**
 * The nginx site exactly as the program uploads it into the proxy container, checked by a real
 * nginx under the main configurations it will meet: the official image's nginx.conf (as the
 * image ships it) and Debian's. A directive the site repeats from either (sendfile, gzip,
 * tcp_nopush...) makes nginx refuse to start, and the proxy restarts forever.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { NGINX_TLS_DIR } from "../../components/certificates";
import { NginxSiteOptions, renderNginxSite } from "../../components/nginxConfig";
import { unwrap } from "../harness";
import { container, renderStack } from "./program";
import { DEBIAN_NGINX_CONF, Nginx, OFFICIAL_NGINX_CONF, requireBinary, run, tempDir } from "./servers";

const SITE = "test.example.org";

/** The conf.d file of the proxy container (or another nginx container), as the program renders it for this stack. */
async function uploadedSite(stack: string, overrides: Record<string, unknown>, suffix = "-proxy"): Promise<string> {
    const proxy = container(await renderStack(stack, overrides), suffix);
    const uploads = unwrap(proxy.inputs.uploads) as { file: string; content: string }[];
    const site = uploads.find((u) => u.file === "/etc/nginx/conf.d/default.conf");
    if (site === undefined) throw new Error("the proxy container has no /etc/nginx/conf.d/default.conf upload");
    return site.content;
}

const VARIANTS: [string, string, Record<string, unknown>][] = [
    ["plain HTTP (dev)", "dev", {}],
    ["provided certificate (prod)", "prod", { domain: SITE, tls: "provided", tlsCertificate: "pem", tlsPrivateKey: "pem" }],
    ["Let's Encrypt (stage on nginx)", "stage", { proxy: "nginx", domain: SITE, acmeEmail: "ops@example.org" }],
    ["maintenance with a route and an admin UI (dev)", "dev", {
        maintenance: true,
        webRoutes: { frontend: { image: "nginx:1.27.3-alpine", port: 80, path: "/app/", healthcheckPath: "/" } },
        accessories: { redis: { version: "7.4.1" }, flower: { version: "2.0.1", path: "/flower/" } },
    }],
    ["maintenance over Let's Encrypt (stage on nginx)", "stage", { proxy: "nginx", domain: SITE, acmeEmail: "ops@example.org", maintenance: true }],
];

/** The renderer's optional parts, all at once, as the proxy container would get them. */
const OPTIONAL: NginxSiteOptions = {
    serverNames: [SITE], upstream: "web:8000", resolver: "127.0.0.11", listenPort: 80, healthPort: 8081, clientMaxBodySize: "20m",
    staticUrl: "/static/", staticRoot: "/srv/static/", mediaUrl: "/media/", mediaRoot: "/srv/media/",
    proxyTimeoutSeconds: 300,
    serveStatic: false,
    routes: [{ pathPrefix: "/app/", upstream: "frontend:3000" }, { pathPrefix: "/app/admin/", upstream: "admin:8080" }],
};
const OPTIONAL_VARIANTS: [string, (certDir: string) => NginxSiteOptions][] = [
    ["routes + timeout + serveStatic false", () => OPTIONAL],
    ["routes + timeout + static at /assets/, over TLS", (certDir) => ({
        ...OPTIONAL, serveStatic: true, staticUrl: "/assets/",
        tls: { certificate: `${certDir}/fullchain.pem`, key: `${certDir}/privkey.pem`, hsts: true, acmeWebroot: "/var/www/certbot" },
    })],
    ["default route / + appPaths + routes + static, over TLS", (certDir) => ({
        ...OPTIONAL, serveStatic: true,
        routes: [...OPTIONAL.routes!, { pathPrefix: "/", upstream: "frontend-vue:80" }],
        appPaths: ["/api/", "/docs", "/redoc", "/openapi.json"],
        tls: { certificate: `${certDir}/fullchain.pem`, key: `${certDir}/privkey.pem`, hsts: true, acmeWebroot: "/var/www/certbot" },
    })],
    ["default route / + appPaths + routes + static + maintenance, over TLS", (certDir) => ({
        ...OPTIONAL, serveStatic: true,
        routes: [...OPTIONAL.routes!, { pathPrefix: "/", upstream: "frontend-vue:80" }, { pathPrefix: "/flower/", upstream: "flower:5555", servedInMaintenance: true }],
        appPaths: ["/api/", "/docs", "/redoc", "/openapi.json"],
        maintenance: { healthcheckPath: "/docs" },
        tls: { certificate: `${certDir}/fullchain.pem`, key: `${certDir}/privkey.pem`, hsts: true, acmeWebroot: "/var/www/certbot" },
    })],
];

const MAIN_CONFIGS: [string, string][] = [
    ["the official image's nginx.conf", OFFICIAL_NGINX_CONF],
    ["Debian's nginx.conf", DEBIAN_NGINX_CONF],
];

describe("nginx: the uploaded site under the real main configurations", function () {
    let tmp: ReturnType<typeof tempDir>;
    let certDir: string;

    before(async function () {
        requireBinary("/usr/sbin/nginx", "nginx");
        requireBinary("/usr/bin/openssl", "openssl");
        tmp = tempDir("nginx-main");
        certDir = path.join(tmp.path, "tls");
        fs.mkdirSync(certDir);
        const made = await run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", `/CN=${SITE}`, "-keyout", path.join(certDir, "privkey.pem"), "-out", path.join(certDir, "fullchain.pem"),
        ]);
        if (made.code !== 0) throw new Error(`openssl could not make a test certificate:\n${made.output}`);
    });

    after(() => tmp?.remove());

    it("the official image's main config is the one the image ships: sendfile on in http, conf.d included", function () {
        const main = fs.readFileSync(OFFICIAL_NGINX_CONF, "utf8");
        expect(main).to.match(/^\s*sendfile\s+on;/m);
        expect(main).to.match(/^\s*include \/etc\/nginx\/conf\.d\/\*\.conf;/m);
    });

    for (const [variant, stack, overrides] of VARIANTS) {
        for (const [mainName, mainConfig] of MAIN_CONFIGS) {
            it(`${variant}: nginx -t accepts it under ${mainName}`, async function () {
                const site = (await uploadedSite(stack, overrides)).split(NGINX_TLS_DIR).join(certDir);
                const dir = path.join(tmp.path, `${stack}-${MAIN_CONFIGS.findIndex((m) => m[1] === mainConfig)}`);
                const nginx = Nginx.prepare(site, dir, 1, mainConfig);
                const result = await nginx.test();
                expect(result.code, `${result.output}\n--- site ---\n${site}`).to.equal(0);
                expect(result.output).not.to.contain("duplicate");
            });
        }
    }

    for (const [mainName, mainConfig] of MAIN_CONFIGS) {
        it(`the Traefik maintenance container's site (dev, proxy traefik): nginx -t accepts it under ${mainName}`, async function () {
            const site = await uploadedSite("dev", { proxy: "traefik", maintenance: true }, "-maintenance");
            const dir = path.join(tmp.path, `maintenance-${MAIN_CONFIGS.findIndex((m) => m[1] === mainConfig)}`);
            const result = await Nginx.prepare(site, dir, 1, mainConfig).test();
            expect(result.code, `${result.output}\n--- site ---\n${site}`).to.equal(0);
            expect(result.output).not.to.contain("duplicate");
        });
    }

    for (const [variant, options] of OPTIONAL_VARIANTS) {
        for (const [mainName, mainConfig] of MAIN_CONFIGS) {
            it(`${variant}: nginx -t accepts it under ${mainName}`, async function () {
                const site = renderNginxSite(options(certDir));
                const dir = path.join(tmp.path, `optional-${OPTIONAL_VARIANTS.findIndex((v) => v[0] === variant)}-${MAIN_CONFIGS.findIndex((m) => m[1] === mainConfig)}`);
                const result = await Nginx.prepare(site, dir, 1, mainConfig).test();
                expect(result.code, `${result.output}\n--- site ---\n${site}`).to.equal(0);
                expect(result.output).not.to.contain("duplicate");
            });
        }
    }
});
