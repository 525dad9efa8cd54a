/**
 * Maintenance mode in the stack: nginx answers it in its own site; Traefik gets the maintenance
 * container, registered only with proxy traefik and maintenance on.
 */
import { expect } from "chai";
import { labelsOf, ofType, Registered, runWithConfig, stackConfig, unwrap } from "../../harness";
import { readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";
import { goDuration } from "../../../components/healthchecks";
import { PINNED_IMAGES } from "../../../components/images";
import { renderMaintenanceSite } from "../../../components/maintenancePage";

const CONTAINER = "docker:index/container:Container";
const EXTRAS = {
    webRoutes: { frontend: { image: "nginx:1.27.3-alpine", port: 80, path: "/app/", healthcheckPath: "/" } },
    accessories: { redis: { version: "7.4.1" }, pgadmin: { version: "8.12", path: "/pgadmin/" } },
};

const runs = new Map<string, ReturnType<typeof runStack>>();
const runStack = (overrides: Record<string, unknown>) => runWithConfig("dev", stackConfig("dev", { ...EXTRAS, ...overrides }), () => buildStack(readSettings()));
/** Each configuration once: the runs under mocks are what takes the time. */
function render(overrides: { proxy: string; maintenance: boolean }) {
    const key = JSON.stringify(overrides);
    if (!runs.has(key)) runs.set(key, runStack(overrides));
    return runs.get(key)!;
}
const containerNamed = (resources: Registered[], name: string) => ofType(resources, CONTAINER).find((c) => c.inputs.name === name);
const siteOf = (c: Registered) => (unwrap(c.inputs.uploads) as { file: string; content: string }[]).find((u) => u.file === "/etc/nginx/conf.d/default.conf")!.content;

describe("maintenance", function () {
    this.timeout(30_000);

    it("traefik: a maintenance container from the pinned nginx image, healthy, watched, on the frontend network, ahead of the site's routers", async function () {
        const { resources, result } = await render({ proxy: "traefik", maintenance: true });
        const c = containerNamed(resources, "webstack-dev-maintenance")!;
        expect(c, "webstack-dev-maintenance").to.not.equal(undefined);
        const image = ofType(resources, "RemoteImage").find((i) => i.name === "maintenance-image")!;
        expect(image.inputs.name).to.equal(PINNED_IMAGES.nginx);
        expect(c.inputs.image).to.equal("sha256:maintenance-image");
        expect(siteOf(c)).to.equal(renderMaintenanceSite({ listenPort: 80, healthPort: 8081 }));
        expect(c.inputs.healthcheck.tests).to.deep.equal(["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8081/healthz"]);
        expect(c.inputs.healthcheck.interval).to.equal(goDuration(5));
        expect(c.inputs.restart).to.equal("unless-stopped");
        expect(c.inputs.wait).to.equal(true);
        expect(c.inputs.ports ?? []).to.deep.equal([]);
        expect(unwrap(c.inputs.networksAdvanced)).to.deep.equal([{ name: "webstack-dev-frontend" }]);
        expect(c.opts.deleteBeforeReplace).to.equal(true);
        expect(c.opts.parent).to.equal(result.parts.maintenance);
        const labels = labelsOf(c);
        expect(labels).to.include({ autoheal: "true", "traefik.enable": "true", "traefik.docker.network": "webstack-dev-frontend" });
        // The app's health path for Django, the static and media URLs and pgAdmin stay with their routers; /app/ does not.
        expect(labels["traefik.http.routers.webstack-dev-maintenance.rule"]).to.equal("PathPrefix(`/`) && !(Path(`/accounts/login/`) && (Method(`GET`) || Method(`HEAD`)))"
            + " && !PathPrefix(`/static/`) && !PathPrefix(`/media/`) && !PathPrefix(`/pgadmin/`)");
        const routePriority = Number(labelsOf(ofType(resources, CONTAINER).find((r) => r.name === "routes-frontend")!)["traefik.http.routers.webstack-dev-frontend.priority"]);
        expect(Number(labels["traefik.http.routers.webstack-dev-maintenance.priority"])).to.be.greaterThan(routePriority);
    });

    it("traefik without maintenance, and nginx with it: no maintenance container", async function () {
        for (const overrides of [{ proxy: "traefik", maintenance: false }, { proxy: "nginx", maintenance: true }, { proxy: "nginx", maintenance: false }]) {
            const { resources } = await render(overrides);
            expect(containerNamed(resources, "webstack-dev-maintenance"), JSON.stringify(overrides)).to.equal(undefined);
            expect(ofType(resources, "webstack:index:Maintenance"), JSON.stringify(overrides)).to.deep.equal([]);
        }
    });

    it("nginx: only the uploaded site changes; the app and /app/ answer 503, pgAdmin does not", async function () {
        const on = containerNamed((await render({ proxy: "nginx", maintenance: true })).resources, "webstack-dev-proxy")!;
        const off = containerNamed((await render({ proxy: "nginx", maintenance: false })).resources, "webstack-dev-proxy")!;
        const { uploads: uploadsOn, ...restOn } = unwrap(on.inputs) as Record<string, unknown>;
        const { uploads: uploadsOff, ...restOff } = unwrap(off.inputs) as Record<string, unknown>;
        expect(restOn).to.deep.equal(restOff);
        expect(uploadsOn).not.to.deep.equal(uploadsOff);
        const site = siteOf(on);
        const block = (opening: string) => site.slice(site.indexOf(`    ${opening} {`), site.indexOf("\n    }\n", site.indexOf(`    ${opening} {`)));
        expect(block("location /")).to.include('if ($uri != "/accounts/login/")');
        expect(block("location ^~ /app/")).to.include("return 503;");
        expect(block("location ^~ /pgadmin/")).not.to.include("503");
        expect(siteOf(off)).not.to.include("503");
    });
});
