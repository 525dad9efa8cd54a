/**
 * A stack with a Celery worker and a Redis accessory (appWorkers, accessories, appEnvMap), as the
 * program renders it under mocks, brought up on the real Docker engine with the docker CLI
 * (tests/e2e/dockerCli.ts; the docker provider plugin cannot be built here). The app is a test
 * fixture (tests/fixtures/celery-app: Flask + Celery from one image); Redis, Python and the other
 * official images are the TEST-ONLY stand-ins of tests/standins. The check: a request through the
 * proxy on 127.0.0.1 enqueues a task that the worker container runs over Redis, and the answer
 * comes back. Everything is named webstack-dev-* and removed before and after.
 */
import { expect } from "chai";
import { PROJECT } from "../harness";
import { renderStack } from "../integration/program";
import { docker } from "./dockerCli";
import { getLocal, stackSuite } from "./stackSuite";

const PREFIX = `${PROJECT}-dev-`;
const OVERRIDES = {
    appKind: "flask",
    appModule: "app:app",
    appContext: "tests/fixtures/celery-app",
    appHealthcheckPath: "/",
    appEnvMap: ["CELERY_BROKER_URL=redisUrl"],
    accessories: { redis: { version: "7.4.1" } },
    appWorkers: {
        celery: {
            command: ["celery", "-A", "tasks", "worker", "-l", "info", "-c", "1"],
            healthcheck: ["celery", "-A", "tasks", "inspect", "ping"],
            stopGraceSeconds: 30,
        },
    },
};

describe("a Celery worker and Redis on a real Docker engine (rendered containers, docker CLI, test stand-ins)", function () {
    const suite = stackSuite({ title: "Celery + Redis stack", label: "celery e2e", prefix: PREFIX, render: () => renderStack("dev", OVERRIDES) });
    const deployment = () => suite.deployment();

    it("brings up db, redis, the web app and the worker, each healthy", async function () {
        this.timeout(900_000);
        await suite.up();
        const names = [...deployment().containers.keys()];
        expect(names).to.include.members(["accessories-redis", "workers-celery", "db", "proxy"]);
        await suite.expectHealthy(["db", "accessories-redis", "workers-celery"]);
        const worker = deployment().containers.get("workers-celery")!.name;
        const env = (await docker(["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", worker])).stdout;
        expect(env).to.include("CELERY_BROKER_URL=redis://redis:6379/0");
        suite.record("containers healthy (db, redis, worker)", `${names.length} containers from the rendered stack`);
    });

    it("a request through the proxy is answered by a task the worker ran over Redis", async function () {
        this.timeout(120_000);
        const port = suite.proxyPort();
        const home = await getLocal(port, "/");
        expect(home.status, String(home.body)).to.equal(200);
        const answers: number[] = [];
        for (let i = 0; i < 5; i++) {
            const reply = await getLocal(port, `/add?x=${i}&y=40`);
            expect(reply.status, String(reply.body)).to.equal(200);
            expect(JSON.parse(String(reply.body)).result).to.equal(i + 40);
            answers.push(reply.ms);
        }
        const worker = deployment().containers.get("workers-celery")!.name;
        const logs = (await docker(["logs", worker])).output;
        expect(logs).to.match(/Task tasks\.add\[[0-9a-f-]+\] succeeded/);
        suite.record("5 tasks through proxy → web → Redis → worker", `all answered; slowest ${Math.max(...answers)} ms`);
    });
});
