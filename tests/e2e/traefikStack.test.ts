/**
 * The dev stack with proxy traefik and a second web container at /app/ (webRoutes), as the
 * program renders it under mocks, brought up on the real Docker engine with the docker CLI
 * (tests/e2e/dockerCli.ts; the docker provider plugin cannot be built here). Traefik is the real
 * v3.2.3, built from the Go module proxy (tests/standins/traefik/build-binary.sh) into a TEST-ONLY
 * image; the route's container is the nginx stand-in. Traefik routes by the labels the program
 * puts on the containers: / to the app, /app/ to the route, and it answers its own ping.
 */
import { expect } from "chai";
import { PROJECT } from "../harness";
import { renderStack } from "../integration/program";
import { getLocal, LocalReply, stackSuite } from "./stackSuite";

const PREFIX = `${PROJECT}-dev-`;
const OVERRIDES = {
    proxy: "traefik",
    webRoutes: { frontend: { image: "nginx:1.27.3-alpine", port: 80, path: "/app/", healthcheckPath: "/" } },
};

describe("Traefik routing by the program's labels on a real Docker engine (rendered containers, docker CLI, real Traefik)", function () {
    const suite = stackSuite({ title: "Traefik stack", label: "traefik e2e", prefix: PREFIX, render: () => renderStack("dev", OVERRIDES) });

    it("brings up Traefik, the app and the route's container, each healthy", async function () {
        this.timeout(900_000);
        await suite.up();
        await suite.expectHealthy(["proxy", "routes-frontend"]);
        suite.record("traefik (ping) and the route container healthy", "yes");
    });

    it("sends / to the app and /app/ to the second web container, by their labels", async function () {
        this.timeout(120_000);
        const port = suite.proxyPort();
        const server = (reply: LocalReply) => String(reply.headers.server ?? "");
        // Traefik applies the labels shortly after the containers start: a bounded wait.
        const deadline = Date.now() + 60_000;
        let home = await getLocal(port, "/");
        while (home.status !== 200 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1000));
            home = await getLocal(port, "/");
        }
        expect(home.status, String(home.body).slice(0, 200)).to.equal(200);
        expect(server(home)).to.match(/gunicorn/i);
        const route = await getLocal(port, "/app/");
        expect(server(route), `/app/ answered by ${server(route)} (${route.status})`).to.match(/nginx/i);
        const login = await getLocal(port, "/accounts/login/");
        expect(login.status).to.equal(200);
        expect(server(login)).to.match(/gunicorn/i);
        suite.record("/ and /accounts/login/ → app; /app/ → route", `app ${home.status} (${server(home)}); route ${route.status} (${server(route)})`);
    });
});
