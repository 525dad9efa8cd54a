/**
 * The Proxy component's optional arguments (timeout, static files, routes), on a second proxy
 * built beside the stack's own from its parts, under Pulumi's mocks.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { ofType, Registered, runWithConfig, stackConfig, unwrap } from "../../harness";
import { readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";
import { Proxy, ProxyArgs } from "../../../components/proxy";

type Extra = Partial<Pick<ProxyArgs, "proxyTimeoutSeconds" | "serveStatic" | "routes" | "appPaths">>;

/** The stack, plus a proxy named "edge" of `kind` with `extra` on top of what the stack gives its own. */
async function edge(kind: "nginx" | "traefik", extra: Extra): Promise<Registered> {
    const run = await runWithConfig("dev", stackConfig("dev", { proxy: kind }), () => {
        const settings = readSettings();
        const { parts } = buildStack(settings);
        return new Proxy("edge", {
            host: parts.host,
            prefix: "edge",
            kind,
            serverNames: pulumi.output(["www.example.org"]),
            app: parts.app,
            frontend: parts.networks.frontend,
            volumes: parts.volumes,
            staticUrl: settings.app.staticUrl,
            mediaUrl: settings.app.mediaUrl,
            httpPort: 18080,
            httpsPort: 18443,
            edge: settings.edge,
            ...extra,
        });
    });
    const found = ofType(run.resources, "docker:index/container:Container").filter((c) => c.name === "edge");
    expect(found).to.have.length(1);
    return found[0];
}

const siteOf = (c: Registered) => (unwrap(c.inputs.uploads) as { file: string; content: string }[])
    .find((u) => u.file === "/etc/nginx/conf.d/default.conf")!.content;
const mountsOf = (c: Registered) => (unwrap(c.inputs.volumes) as { containerPath: string }[]).map((v) => v.containerPath);

describe("Proxy: timeout, static files and routes", function () {
    this.timeout(30_000);

    it("nginx: without them, the site and mounts are the stack's own", async function () {
        const c = await edge("nginx", {});
        expect(siteOf(c)).to.include("proxy_read_timeout 60s;");
        expect(siteOf(c)).not.to.include("proxy_send_timeout");
        expect(mountsOf(c)).to.include.members(["/srv/static", "/srv/media"]);
    });

    it("nginx: passes the timeout and routes into the site; serveStatic false drops the static location and volume", async function () {
        const c = await edge("nginx", { proxyTimeoutSeconds: 300, serveStatic: false, routes: [{ pathPrefix: "/app/", upstream: "edge-frontend:3000" }] });
        const site = siteOf(c);
        expect(site).to.include("proxy_read_timeout 300s;");
        expect(site).to.include("proxy_send_timeout 300s;");
        expect(site).to.include("location ^~ /app/ {");
        expect(site).to.include("set $route1_upstream http://edge-frontend:3000;\n        proxy_pass $route1_upstream;");
        expect(site).not.to.include("alias /srv/static/");
        expect(site).to.include("alias /srv/media/;");
        expect(mountsOf(c)).to.deep.equal(["/srv/media"]);
    });

    it("nginx: a default route / with appPaths sends only those paths to the app", async function () {
        const c = await edge("nginx", { routes: [{ pathPrefix: "/", upstream: "edge-frontend:80" }], appPaths: ["/api/", "/docs"] });
        const site = siteOf(c);
        expect(site).to.include("location / {\n        set $default_upstream http://edge-frontend:80;");
        expect(site).to.include("location ^~ /api/ {");
        expect(site).to.include("location = /docs {");
        expect(site).to.include("location ^~ /docs/ {");
        expect(site).to.include("alias /srv/static/;");
    });

    it("traefik: the timeout becomes the default transport's responseHeaderTimeout; unset, no flag", async function () {
        const withTimeout = unwrap((await edge("traefik", { proxyTimeoutSeconds: 300 })).inputs.command) as string[];
        expect(withTimeout).to.include("--serverstransport.forwardingtimeouts.responseheadertimeout=300s");
        const without = unwrap((await edge("traefik", {})).inputs.command) as string[];
        expect(without.join(" ")).not.to.include("responseheadertimeout");
    });
});
