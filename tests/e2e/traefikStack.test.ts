/**
 * The dev stack with proxy traefik and a second web container at /app/ (webRoutes), as the
 * program renders it under mocks, brought up on the real Docker engine with the docker CLI
 * (tests/e2e/dockerCli.ts; the docker provider plugin cannot be built here). Traefik is the real
 * v3.2.3, built from the Go module proxy (tests/standins/traefik/build-binary.sh) into a TEST-ONLY
 * image; the route's container is the nginx stand-in. Traefik routes by the labels the program
 * puts on the containers: / to the app, /app/ to the route, and it answers its own ping.
 */
import * as http from "http";
import { expect } from "chai";
import { PROJECT } from "../harness";
import { renderStack } from "../integration/program";
import { stateOf, waitHealthy } from "./dockerCli";
import { stackSuite } from "./stackSuite";

const PREFIX = `${PROJECT}-dev-`;
const OVERRIDES = {
    proxy: "traefik",
    webRoutes: { frontend: { image: "nginx:1.27.3-alpine", port: 80, path: "/app/", healthcheckPath: "/" } },
};

function get(port: number, path: string): Promise<{ status: number; server: string; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path, agent: false, timeout: 20_000 }, (res) => {
            let body = "";
            res.on("data", (c) => { body += c; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, server: String(res.headers.server ?? ""), body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer within 20 s`)));
        req.on("error", reject);
        req.end();
    });
}

describe("Traefik routing by the program's labels on a real Docker engine (rendered containers, docker CLI, real Traefik)", function () {
    const suite = stackSuite({ title: "Traefik stack", label: "traefik e2e", prefix: PREFIX, render: () => renderStack("dev", OVERRIDES) });
    const deployment = () => suite.deployment();

    it("brings up Traefik, the app and the route's container, each healthy", async function () {
        this.timeout(900_000);
        await suite.up();
        for (const resource of ["proxy", "routes-frontend"]) {
            const name = deployment().containers.get(resource)!.name;
            await waitHealthy(name, 180);
            expect((await stateOf(name))?.Health?.Status, name).to.equal("healthy");
        }
        suite.record("traefik (ping) and the route container healthy", "yes");
    });

    it("sends / to the app and /app/ to the second web container, by their labels", async function () {
        this.timeout(120_000);
        const proxy = suite.resources().find((r) => r.name === "proxy" && r.type === "docker:index/container:Container")!;
        const port = Number(proxy.inputs.ports[0].external);
        // Traefik applies the labels shortly after the containers start: a bounded wait.
        const deadline = Date.now() + 60_000;
        let home = await get(port, "/");
        while (home.status !== 200 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1000));
            home = await get(port, "/");
        }
        expect(home.status, home.body.slice(0, 200)).to.equal(200);
        expect(home.server).to.match(/gunicorn/i);
        const route = await get(port, "/app/");
        expect(route.server, `/app/ answered by ${route.server} (${route.status})`).to.match(/nginx/i);
        const login = await get(port, "/accounts/login/");
        expect(login.status).to.equal(200);
        expect(login.server).to.match(/gunicorn/i);
        suite.record("/ and /accounts/login/ → app; /app/ → route", `app ${home.status} (${home.server}); route ${route.status} (${route.server})`);
    });
});
