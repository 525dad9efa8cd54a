/**
 * Maintenance mode on the real Docker engine, for both proxies, as `pulumi config set maintenance
 * true && pulumi up` would change the rendered stack (tests/e2e/dockerCli.ts; test stand-ins):
 *
 * - nginx: the site is an upload, so the proxy container is replaced delete-before-create. A
 *   request loop to 127.0.0.1 measures how long the site refuses connections while that happens,
 *   on the way in and on the way out; in between, the page, the healthcheck path and a static file.
 * - Traefik (real v3.2.3): the maintenance container is added, and later removed; the loop counts
 *   failed requests, and how long after its start the page is what / answers.
 *
 * Requests go to the published port on 127.0.0.1 only, in loops bounded in count and time.
 */
import { expect } from "chai";
import { PROJECT, Registered, unwrap } from "../harness";
import { renderStack } from "../integration/program";
import { MAINTENANCE_PAGE } from "../../components/maintenancePage";
import { dockerOk, planSteps, sleep } from "./dockerCli";
import { getLocal, LocalReply, stackSuite } from "./stackSuite";

const PREFIX = `${PROJECT}-dev-`;
const HEALTH_PATH = "/accounts/login/";
const ROUTE = { frontend: { image: "nginx:1.27.3-alpine", port: 80, path: "/app/", healthcheckPath: "/" } };

interface Probe { startMs: number; endMs: number; status: number; error?: string }

/**
 * GETs `path` one after the other, 20 ms apart, each bounded to timeoutMs, until `stop()` or the
 * bounds (maxRequests, maxSeconds). Returns every answer and failure with its timing.
 */
async function requestLoop(port: number, path: string, stop: () => boolean, timeoutMs = 2000, bounds = { maxRequests: 4000, maxSeconds: 120 }): Promise<Probe[]> {
    const probes: Probe[] = [];
    const deadline = Date.now() + bounds.maxSeconds * 1000;
    while (!stop() && Date.now() < deadline && probes.length < bounds.maxRequests) {
        const startMs = Date.now();
        try {
            const r = await Promise.race([
                getLocal(port, path),
                new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)),
            ]);
            probes.push({ startMs, endMs: Date.now(), status: r.status });
        } catch (err) {
            probes.push({ startMs, endMs: Date.now(), status: 0, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
        }
        await sleep(20);
    }
    return probes;
}

/** The time without an answer: from the last answer before the first failure to the first answer after the last one. */
function gap(probes: Probe[]): { seconds: number; failed: number; errors: string } {
    const failed = probes.filter((p) => p.status === 0);
    if (failed.length === 0) return { seconds: 0, failed: 0, errors: "" };
    const first = probes.indexOf(failed[0]);
    const last = probes.indexOf(failed[failed.length - 1]);
    const before = first > 0 ? probes[first - 1].endMs : failed[0].startMs;
    const after = last + 1 < probes.length ? probes[last + 1].endMs : failed[failed.length - 1].endMs;
    const counts = new Map<string, number>();
    for (const f of failed) counts.set(f.error!, (counts.get(f.error!) ?? 0) + 1);
    return { seconds: (after - before) / 1000, failed: failed.length, errors: [...counts].map(([e, n]) => `${n} ${e}`).join(", ") };
}

const containerInputs = (resources: Registered[], name: string) =>
    unwrap(resources.find((r) => r.type === "docker:index/container:Container" && r.name === name)!.inputs) as Record<string, any>;

function expectPage(reply: LocalReply, label: string) {
    expect(reply.status, `${label}: ${reply.body.toString().slice(0, 200)}`).to.equal(503);
    expect(reply.body.toString(), label).to.equal(MAINTENANCE_PAGE);
    expect(reply.headers["retry-after"], label).to.match(/^\d+$/);
    expect(reply.headers["cache-control"], label).to.equal("no-store");
    expect(reply.headers["x-frame-options"], label).to.equal("DENY");
}

/** Polls until `path` answers `status`, bounded; the seconds it took. */
async function untilStatus(port: number, path: string, status: number, timeoutSeconds: number): Promise<number> {
    const started = Date.now();
    let last = "";
    while (Date.now() - started < timeoutSeconds * 1000) {
        try {
            const r = await getLocal(port, path);
            if (r.status === status) return (Date.now() - started) / 1000;
            last = `HTTP ${r.status}`;
        } catch (err) {
            last = (err as Error).message;
        }
        await sleep(250);
    }
    throw new Error(`${path} did not answer ${status} within ${timeoutSeconds} s (last: ${last})`);
}

describe("maintenance with nginx on a real Docker engine: the proxy replaced by the toggle", function () {
    const suite = stackSuite({ title: "Maintenance, nginx", label: "maintenance nginx", prefix: PREFIX, render: () => renderStack("dev", { webRoutes: ROUTE }) });

    it("brings up the dev stack with a route at /app/; the site answers", async function () {
        this.timeout(900_000);
        await suite.up();
        await suite.expectHealthy(["proxy", "routes-frontend"]);
        expect((await getLocal(suite.proxyPort(), "/")).status).to.equal(200);
    });

    for (const [on, label] of [[true, "on"], [false, "off"]] as const) {
        it(`maintenance ${label}: the proxy is replaced under a request loop; how long the site refuses connections`, async function () {
            this.timeout(300_000);
            const port = suite.proxyPort();
            const next = containerInputs(await renderStack("dev", { webRoutes: ROUTE, maintenance: on }), "proxy");
            let stop = false;
            const loop = requestLoop(port, "/", () => stop);
            await sleep(1000);
            let times: { removeSeconds: number; createSeconds: number };
            try {
                times = await suite.deployment().replaceDeleteBeforeCreate("proxy", next, (p) => console.log(`      [maintenance nginx] proxy replacement: ${p}`));
                await untilStatus(port, "/", on ? 503 : 200, 30);
                await sleep(1000);
            } finally {
                stop = true;
            }
            const probes = await loop;
            const g = gap(probes);
            const before = probes.filter((p) => p.status === (on ? 200 : 503)).length;
            const after = probes.filter((p) => p.status === (on ? 503 : 200)).length;
            const figure = `no answer for ${g.seconds.toFixed(2)} s (${g.failed} of ${probes.length} GETs failed${g.errors ? `: ${g.errors}` : ""}); ` +
                `${before} answered ${on ? 200 : 503} before, ${after} ${on ? 503 : 200} after; old removed in ${times!.removeSeconds.toFixed(1)} s, new created+started in ${times!.createSeconds.toFixed(1)} s`;
            console.log(`      [maintenance nginx] toggle ${label}: ${figure}`);
            suite.record(`nginx: maintenance ${label}, proxy replaced`, figure);
            expect(probes.filter((p) => p.status !== 0 && p.status !== 200 && p.status !== 503), "only 200, 503 or no connection").to.deep.equal([]);
            expect(after, "the new proxy answered").to.be.greaterThan(0);
            await suite.expectHealthy(["proxy"], 120);
            if (!on) return;

            // In maintenance: the page for the app, a route and a POST; the healthcheck path and a static file as before.
            expectPage(await getLocal(port, "/"), "GET /");
            expectPage(await getLocal(port, "/app/"), "GET /app/");
            const health = await getLocal(port, HEALTH_PATH);
            expect(health.status, "the healthcheck path").to.equal(200);
            expect(String(health.headers.server)).to.match(/nginx/);
            expect(health.body.toString()).to.include("csrfmiddlewaretoken");
            const manifest = JSON.parse((await dockerOk(["exec", suite.deployment().containers.get("proxy")!.name, "cat", "/srv/static/staticfiles.json"])).stdout).paths as Record<string, string>;
            const css = Object.values(manifest).find((p) => p.endsWith(".css"))!;
            const file = await getLocal(port, `/static/${css}`);
            expect(file.status, `/static/${css}`).to.equal(200);
            suite.record("nginx: in maintenance", `/ and /app/ 503 with the page; ${HEALTH_PATH} 200 from the app; /static/${css.split("/").pop()} 200`);
        });
    }
});

describe("maintenance with Traefik on a real Docker engine: the maintenance container (real Traefik v3.2.3)", function () {
    const overrides = { proxy: "traefik", webRoutes: ROUTE };
    const suite = stackSuite({ title: "Maintenance, Traefik", label: "maintenance traefik", prefix: PREFIX, render: () => renderStack("dev", overrides) });

    it("brings up the dev stack with Traefik and a route at /app/; the site answers", async function () {
        this.timeout(900_000);
        await suite.up();
        await suite.expectHealthy(["proxy", "routes-frontend"]);
        await untilStatus(suite.proxyPort(), "/", 200, 60);
    });

    it("maintenance on: the container comes up and takes the site but the healthcheck path, without a failed request", async function () {
        this.timeout(300_000);
        const port = suite.proxyPort();
        const deployment = suite.deployment();
        const known = new Set(deployment.steps.map((s) => s.key));
        const added = planSteps(await renderStack("dev", { ...overrides, maintenance: true })).filter((s) => !known.has(s.key));
        expect(added.map((s) => `${s.kind} ${s.resource.name}`)).to.deep.equal(["remoteImage maintenance-image", "container maintenance"]);
        let stop = false;
        const loop = requestLoop(port, "/", () => stop);
        let took = 0;
        try {
            await sleep(1000);
            for (const step of added) await deployment.apply(step);
            const healthy = deployment.containers.get("maintenance")!;
            took = await untilStatus(port, "/", 503, 60);
            suite.record("traefik: maintenance container healthy after start", `${healthy.healthySeconds?.toFixed(1)} s`);
            await sleep(1000);
        } finally {
            stop = true;
        }
        const probes = await loop;
        const g = gap(probes);
        suite.record("traefik: maintenance on", `page on / ${took.toFixed(1)} s after the container was healthy; ${g.failed} of ${probes.length} GETs failed`);
        expect(g.failed, g.errors).to.equal(0);

        expectPage(await getLocal(port, "/"), "GET /");
        expectPage(await getLocal(port, "/app/"), "GET /app/");
        const home = await getLocal(port, "/");
        expect(home.headers["x-frame-options"], "one X-Frame-Options, from Traefik's middleware").to.equal("DENY");
        const health = await getLocal(port, HEALTH_PATH);
        expect(health.status, "the healthcheck path").to.equal(200);
        expect(String(health.headers.server)).to.match(/gunicorn/i);
        suite.record("traefik: in maintenance", `/ and /app/ 503 with the page; ${HEALTH_PATH} 200 from ${health.headers.server}`);
    });

    it("maintenance off: the container is removed and the site is back", async function () {
        this.timeout(120_000);
        const port = suite.proxyPort();
        const proxy = suite.deployment().containers.get("proxy")!.name;
        let stop = false;
        // A request Traefik sends to the removed container before it has dropped the router may
        // go to an address that no longer answers: a longer bound, to see what becomes of it, and
        // a request every 100 ms whatever the earlier ones do, so that waiting ones do not hide
        // how long that lasts (at most 600 requests).
        const started: Promise<Probe>[] = [];
        const loop = (async () => {
            while (!stop && started.length < 600) {
                const startMs = Date.now();
                started.push(getLocal(port, "/").then(
                    (r) => ({ startMs, endMs: Date.now(), status: r.status }),
                    (err: Error) => ({ startMs, endMs: Date.now(), status: 0, error: err.message })));
                await sleep(100);
            }
            return Promise.all(started);
        })();
        const since = new Date().toISOString();
        let removing = 0;
        try {
            await sleep(1000);
            removing = Date.now();
            await suite.deployment().removeResource("maintenance");
            await untilStatus(port, "/", 200, 60);
            await sleep(1000);
        } finally {
            stop = true;
        }
        const probes = await loop;
        const odd = probes.filter((p) => p.status !== 200 && p.status !== 503);
        const slowest = Math.max(...probes.map((p) => p.endMs - p.startMs)) / 1000;
        const back = probes.find((p) => p.startMs >= removing && p.status === 200);
        const window = odd.length === 0 ? 0 : (odd[odd.length - 1].startMs - odd[0].startMs) / 1000;
        const figure = `first 200 on / ${back === undefined ? "-" : ((back.endMs - removing) / 1000).toFixed(1)} s after the removal began; ` +
            `failures sent within ${window.toFixed(2)} s; ${odd.length} of ${probes.length} GETs neither 200 nor 503` +
            `${odd.length ? ` (${odd.map((p) => `${p.status || p.error} after ${((p.endMs - p.startMs) / 1000).toFixed(1)} s`).join(", ")})` : ""}; slowest ${slowest.toFixed(1)} s`;
        const traefik502 = (await dockerOk(["logs", "--since", since, proxy])).output.split("\n").filter((l) => /" 502 /.test(l));
        for (const l of traefik502) console.log(`      [maintenance traefik] traefik: ${l.slice(0, 300)}`);
        expect(probes.filter((p) => p.status === 200).length, "the site is back").to.be.greaterThan(0);
        if (odd.length === 0) {
            suite.record("traefik: maintenance off", figure);
            return;
        }
        // Known (README, Maintenance mode): requests Traefik routes to the container in the moment
        // between its exit and Traefik's reconfiguration get a 502 at once (refused), or a 502/504
        // after the program's 2 s dial timeout (its address is gone; Traefik's default was 30 s).
        // Anything else, a wait past 4 s included, or E2E_STRICT=1, fails.
        const known = odd.every((p) => (p.status === 502 || p.status === 504) && p.endMs - p.startMs < 4_000);
        suite.record(`traefik: maintenance off${known ? " (KNOWN)" : ""}`, figure);
        if (!known || process.env.E2E_STRICT === "1") expect(odd, figure).to.deep.equal([]);
    });
});
