/** Other web containers behind the proxy (webRoutes), exposed admin UIs, and the proxy's own settings. */
import { expect } from "chai";
import { labelsOf, ofType, registeredSoFar, runWithConfig, stackConfig, unwrap } from "../../harness";
import { ConfigError, readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";

const evaluate = (stack: string, overrides: Record<string, unknown>) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));
const FRONTEND = { frontend: { image: "ghcr.io/edgevalue/frontend:1.4.0", port: 80, path: "/app/" } };
const nginxSite = (run: Awaited<ReturnType<typeof evaluate>>) => {
    const proxy = ofType(run.resources, "docker:index/container:Container").find((c) => c.name === "proxy")!;
    return (unwrap(proxy.inputs.uploads) as { file: string; content: string }[]).find((u) => u.file.endsWith("default.conf"))!.content;
};

describe("web routes and the proxy's settings", () => {
    it("runs a second web container and routes its prefix to it with nginx", async () => {
        const run = await evaluate("dev", { webRoutes: FRONTEND, proxyTimeoutSeconds: 300 });
        const route = ofType(run.resources, "docker:index/container:Container").find((c) => c.name === "routes-frontend")!;
        expect(route.inputs.networksAdvanced).to.deep.equal([{ name: "webstack-dev-frontend", aliases: ["frontend"] }]);
        expect(route.inputs.healthcheck.tests[0]).to.equal("CMD-SHELL");
        expect(route.inputs.healthcheck.tests[1]).to.include("wget -q -O /dev/null http://127.0.0.1:80/");
        expect(route.opts.deleteBeforeReplace).to.equal(false);
        expect(route.inputs.ports ?? []).to.deep.equal([]);
        expect(ofType(run.resources, "docker:index/remoteImage:RemoteImage").map((i) => i.inputs.name)).to.include("ghcr.io/edgevalue/frontend:1.4.0");
        const site = nginxSite(run);
        expect(site).to.include("location ^~ /app/ {").and.include("http://frontend:80");
        expect(site).to.include("proxy_read_timeout 300s;");
    });

    it("routes with Traefik through labels on the route's container, ahead of the app", async () => {
        const run = await evaluate("stage", { webRoutes: FRONTEND });
        const labels = labelsOf(ofType(run.resources, "docker:index/container:Container").find((c) => c.name === "routes-frontend")!);
        expect(labels["traefik.http.routers.webstack-stage-frontend.rule"]).to.equal("(Host(`stage.example.org`)) && PathPrefix(`/app/`)");
        expect(labels["traefik.http.services.webstack-stage-frontend.loadbalancer.server.port"]).to.equal("80");
        expect(labels.autoheal).to.equal("true");
    });

    it("exposes an admin UI only under its path, behind the proxy", async () => {
        const run = await evaluate("dev", { accessories: { redis: { version: "7.4.1" }, flower: { version: "2.0.1", path: "/flower/" } } });
        const flower = ofType(run.resources, "docker:index/container:Container").find((c) => c.name === "accessories-flower")!;
        expect(flower.inputs.networksAdvanced.map((n: any) => n.name)).to.deep.equal(["webstack-dev-backend", "webstack-dev-frontend"]);
        expect(nginxSite(run)).to.include("location ^~ /flower/ {").and.include("http://flower:5555");
        const env = (unwrap(flower.inputs.envs) as string[]);
        expect(env).to.include("FLOWER_URL_PREFIX=flower");
        expect(env.some((e) => e.startsWith("FLOWER_BASIC_AUTH=admin:"))).to.equal(true);
    });

    it("lets the app serve its own static files", async () => {
        const run = await evaluate("dev", { proxyServeStatic: false });
        expect(nginxSite(run)).not.to.include("location ^~ /static/");
        const proxy = ofType(run.resources, "docker:index/container:Container").find((c) => c.name === "proxy")!;
        expect(proxy.inputs.volumes.map((v: any) => v.containerPath)).not.to.include("/srv/static");
    });

    it("refuses a route that collides with another or with the static URL, and routes without a proxy", async () => {
        const failure = await evaluate("dev", { webRoutes: {
            frontend: { image: "ghcr.io/x/frontend:1", port: 80, path: "/static/" },
            docs: { port: 80, path: "/docs/" },
        } }).then(() => undefined, (e) => e);
        expect(failure).to.be.instanceOf(ConfigError);
        expect(registeredSoFar()).to.deep.equal([]);
        const problems = (failure as ConfigError).problems.join("\n");
        expect(problems).to.include("webstack:webRoutes: route \"/static/\" collides with the static URL /static/")
            .and.include("webstack:webRoutes.docs: set either image (a pinned reference) or context (a directory to build), not neither");
        const twice = await evaluate("dev", { webRoutes: { a: { image: "x/a:1", port: 80, path: "/a/" }, b: { image: "x/b:1", port: 80, path: "/a/" } } })
            .then(() => undefined, (e) => e);
        expect((twice as ConfigError).problems.join("\n")).to.include("\"/a/\"");
        const none = await evaluate("dev", { proxy: "none", webRoutes: FRONTEND }).then(() => undefined, (e) => e);
        expect((none as ConfigError).problems).to.deep.equal(["webstack:proxy: webRoutes and admin UIs with a path are served by the proxy; expected nginx or traefik"]);
    });
});
