/**
 * Swarm mode on the real Docker engine: the dev stack rendered with webReplicas 3 (Pulumi.dev.yaml
 * under Pulumi's mocks), so the web tier is the program's docker.Service `webstack-dev-web` and the
 * networks are attachable overlays; db, proxy, backup, autoheal and prune stay plain containers.
 * The suite makes the engine a single-node Swarm (`docker swarm init --advertise-addr 127.0.0.1`)
 * and leaves it afterwards (`docker swarm leave --force`), also on failure or interruption, since
 * the engine is shared with suites that run plain containers. tests/e2e/dockerCli.ts brings the
 * stack up with the docker CLI (`docker service create/update/rm` for the Service); the stand-ins
 * replace the official images. Traffic goes only to 127.0.0.1:8080, the proxy container's port.
 *
 *   a. 3 replicas running and healthy; the site answers 200 through the proxy
 *   b. an app change (appEnvironment gains an entry) rolled out by `docker service update` under a
 *      request loop (GET / from four workers, POST /api/cone from one): failed requests, slowest
 *   c. one task container killed (`docker kill`): failed requests, seconds until 3/3 again
 *   d. 3 → 2 → 1 → 3 replicas under the same loop
 *   e. teardown leaves nothing named webstack-dev-*, and the engine is out of Swarm mode
 * Loops are bounded in count and time. A closing table prints the figures.
 *
 * b-d fail on any failed or stalled (>10 s) request, with one exception reported as KNOWN-BUG (as in
 * renderedStack.test.ts check 5; E2E_STRICT=1 fails it too): POST 502s, each matched by an nginx
 * "reset by peer ... while reading response header" for a POST. In dnsrr nginx keeps a stopping
 * task's address for up to 10 s (resolver valid=10s); GETs caught there are retried on another task,
 * a POST nginx has sent is not. Seen: 1-3 of ~2900 POSTs in b, 1-2 of ~1400 in d; no GET failed.
 *
 * What this cannot show, and a real `pulumi up` with the docker provider would:
 *   - no `pulumi preview --expect-no-changes` after each up (no plugins: docs/toolchain.md), so
 *     whether the provider reads the service back as rendered (durations such as "1m" vs "1m0s",
 *     which components/healthchecks.ts serviceDuration() is for; the network ids; the env map) is
 *     not proven here: the unit tests under mocks are the only check of that;
 *   - the provider sends the whole spec in one ServiceUpdate; this translation sends the CLI's
 *     flags for what changed (dockerCli.ts serviceUpdateArgs), and a changed env entry goes on the
 *     command line. The healthcheck's exec form is given as CMD-SHELL `exec ...` (same argv);
 *   - this machine's kernel has no IPVS (no CONFIG_IP_VS), so a Swarm VIP would accept connections
 *     and never answer. The program renders endpoint mode dnsrr (found by this suite: it rendered
 *     vip at first), where `web` resolves to each task's address and nginx (resolver valid=10s,
 *     proxy_next_upstream error timeout) spreads and retries over them; the service runs as rendered;
 *   - webReplicas 1 with swarmMode auto renders no Swarm at all: the service and the overlays go and
 *     a web container on bridge networks comes (the networks and every attached container are
 *     replaced). d checks that, and scales through 1 with swarmMode on, which keeps the service.
 */
import { expect } from "chai";
import * as http from "http";
import * as net from "net";
import { spawnSync } from "child_process";
import { PROJECT, Registered } from "../harness";
import { renderStack } from "../integration/program";
import {
    Deployment, diagnostics, docker, dockerOk, DOCKER, tearDown, planSteps, requireEngine, run, serviceContainers, serviceTasks,
    sleep, Step, sweepSync, waitConverged,
} from "./dockerCli";

const TITLE = "Swarm mode: the dev stack with webReplicas 3 on a single-node Swarm (rendered under mocks, docker CLI, stand-ins)";
const STACK = "dev";
const PREFIX = `${PROJECT}-${STACK}-`;
const SERVICE = `${PROJECT}-${STACK}-web`;
const MOCK_SUBNET = "172.30.0.0/16";
const REPLICAS = 3;
/** The app change of check b: an extra, non-secret environment entry. */
const ROLLOUT_ENV = "WEBSTACK_E2E_ROLLOUT=2";

let suiteStarted = Date.now();
const log = (line: string) => console.log(`      [swarm ${((Date.now() - suiteStarted) / 1000).toFixed(0).padStart(3)}s] ${line}`);

const CHECKS: Record<string, string> = {
    a: "3 replicas running and healthy; site 200 via proxy",
    b: "app change rolled out under a request loop",
    c: "one replica killed: requests and recovery",
    d: "3 → 2 → 1 → 3 replicas under a request loop",
    e: "teardown: nothing left, engine out of Swarm mode",
};
interface Row { check: string; result: "PASS" | "FAIL" | "SKIP" | "KNOWN-BUG"; figure: string }
const rows = new Map<string, Row>();
const knownBugs = new Map<string, string>();

async function check(id: string, relevant: () => Promise<string[]>, body: () => Promise<string>): Promise<void> {
    try {
        const figure = await body();
        const known = knownBugs.get(id);
        rows.set(id, { check: `${id}. ${CHECKS[id]}`, result: known ? "KNOWN-BUG" : "PASS", figure: known ? `${figure}; ${known}` : figure });
        log(`check ${id} ${known ? "KNOWN-BUG" : "PASS"}: ${figure}${known ? `; ${known}` : ""}`);
    } catch (err) {
        rows.set(id, { check: `${id}. ${CHECKS[id]}`, result: "FAIL", figure: (err as Error).message.split("\n")[0].slice(0, 220) });
        for (const name of await relevant().catch(() => [])) console.log(await diagnostics(name));
        throw err;
    }
}

function printTable(totalSeconds: number, notes: string[]): void {
    const all = Object.keys(CHECKS).map((id) => rows.get(id) ?? { check: `${id}. ${CHECKS[id]}`, result: "SKIP" as const, figure: "not run (see above)" });
    all.push({ check: "suite wall time", result: all.every((r) => r.result === "PASS" || r.result === "KNOWN-BUG") ? "PASS" : "FAIL", figure: `${totalSeconds.toFixed(0)} s` });
    const w = Math.max(...all.map((r) => r.check.length));
    console.log(`\n    === ${TITLE} ===`);
    console.log(`    ${"check".padEnd(w)}  result     figure`);
    console.log(`    ${"-".repeat(w)}  ---------  ${"-".repeat(60)}`);
    for (const r of all) console.log(`    ${r.check.padEnd(w)}  ${r.result.padEnd(9)}  ${r.figure}`);
    for (const n of notes) console.log(`    note: ${n}`);
    console.log("");
}

// ---------------------------------------------------------------------------------------------
// The engine's Swarm mode, for this suite only

const swarmState = () => (spawnSync(DOCKER, ["info", "--format", "{{.Swarm.LocalNodeState}}"], { encoding: "utf8", timeout: 20_000 }).stdout ?? "").trim();
let gwbridgeBefore = true;
let joinedSwarm = false;

/** Leaves the Swarm (and removes the docker_gwbridge network `swarm init` made, if it was not there). Synchronous. */
function leaveSwarm(): string {
    if (!joinedSwarm && swarmState() !== "active") return "not in Swarm mode";
    const r = spawnSync(DOCKER, ["swarm", "leave", "--force"], { encoding: "utf8", timeout: 60_000 });
    if (!gwbridgeBefore) spawnSync(DOCKER, ["network", "rm", "docker_gwbridge"], { timeout: 30_000 });
    joinedSwarm = false;
    return `${(r.stdout ?? "").trim() || (r.stderr ?? "").trim()}; now ${swarmState()}`;
}

// ---------------------------------------------------------------------------------------------
// HTTP to 127.0.0.1:<published port>, nowhere else

interface Reply { status: number; body: Buffer; ms: number }

function request(port: number, path: string, o: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<Reply> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const req = http.request({
            host: "127.0.0.1", port, path, method: o.method ?? "GET", agent: false, timeout: o.timeoutMs ?? 10_000,
            headers: o.body === undefined ? {} : { "Content-Length": String(Buffer.byteLength(o.body)), "Content-Type": "application/x-www-form-urlencoded" },
        }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: Date.now() - started }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${o.timeoutMs ?? 10_000} ms`)));
        req.on("error", reject);
        req.end(o.body);
    });
}

interface Rec { method: "GET" | "POST"; phase: string; status: number; error?: string; ms: number; at: number }
interface Load { records: Rec[]; setPhase(p: string): void; stop(): Promise<Rec[]> }

/**
 * A request loop through the proxy: GET / from four workers, POST /api/cone (the app answers 405
 * in JSON) from one, 50 ms apart, at most maxRequests and maxSeconds; a request may take 65 s
 * (past nginx's 60 s read timeout, so that a stall is measured).
 */
function startLoad(port: number, bounds = { maxRequests: 20_000, maxSeconds: 420 }): Load {
    const records: Rec[] = [];
    let phase = "before";
    let stopped = false;
    const deadline = Date.now() + bounds.maxSeconds * 1000;
    const worker = async (method: "GET" | "POST") => {
        while (!stopped && Date.now() < deadline && records.length < bounds.maxRequests) {
            const at = phase;
            const started = Date.now();
            try {
                const r = method === "GET" ? await request(port, "/", { timeoutMs: 65_000 })
                    : await request(port, "/api/cone", { method: "POST", body: "ra=1", timeoutMs: 65_000 });
                records.push({ method, phase: at, status: r.status, ms: r.ms, at: started });
            } catch (err) {
                records.push({ method, phase: at, status: 0, error: (err as Error).message, ms: Date.now() - started, at: started });
            }
            await sleep(50);
        }
    };
    const all = Promise.all([worker("GET"), worker("GET"), worker("GET"), worker("GET"), worker("POST")]);
    return {
        records,
        setPhase: (p) => { phase = p; },
        stop: async () => { stopped = true; await all; return records; },
    };
}

const answered = (r: Rec) => (r.method === "GET" ? r.status >= 200 && r.status < 400 : r.status === 405);
const STALL_MS = 10_000;

/** "N failed, M stalled >10 s of T (GET a/b, POST c/d); slowest X s". */
function loadFigure(records: Rec[]): { figure: string; failed: Rec[]; stalled: Rec[]; slowestMs: number } {
    const failed = records.filter((r) => !answered(r));
    const stalled = records.filter((r) => answered(r) && r.ms > STALL_MS);
    const slowestMs = Math.max(0, ...records.map((r) => r.ms));
    const of = (m: string) => `${records.filter((r) => r.method === m && !answered(r)).length}/${records.filter((r) => r.method === m).length}`;
    return {
        figure: `${failed.length} failed, ${stalled.length} stalled of ${records.length} (GET ${of("GET")}, POST ${of("POST")} failed); slowest ${(slowestMs / 1000).toFixed(1)} s`,
        failed, stalled, slowestMs,
    };
}

/**
 * The proxy's own account of failed upstream requests since `since`: nginx [error] lines, and
 * those for a POST whose connection the upstream reset or closed after nginx had sent it (the
 * diagnosed cause of renderedStack.test.ts check 5, which nginx may not retry).
 */
async function proxyErrors(proxy: string, since: string): Promise<{ all: string[]; postResets: string[] }> {
    const all = (await docker(["logs", "--since", since, proxy])).output.split("\n").filter((l) => l.includes("[error]"));
    const postResets = all.filter((l) => /"POST /.test(l) && /(reset by peer|prematurely closed)/.test(l) && /while reading response header/.test(l));
    return { all, postResets };
}

/**
 * Passes with no failed or stalled request. Failures that are all POST 502s, each matched by an
 * nginx "reset ... while reading response header" for a POST, are the known cause (KNOWN-BUG),
 * unless E2E_STRICT=1; anything else fails.
 */
async function judge(id: string, f: ReturnType<typeof loadFigure>, figure: string, proxy: string, since: string): Promise<string> {
    const bad = [...f.failed, ...f.stalled];
    if (bad.length === 0) return figure;
    const errors = await proxyErrors(proxy, since);
    for (const l of errors.all.slice(0, 8)) log(`  nginx: ${l.replace(/^.*\[error\] /, "").slice(0, 260)}`);
    const known = bad.every((r) => r.method === "POST" && r.status === 502) && bad.length <= errors.postResets.length;
    if (!known || process.env.E2E_STRICT === "1") expect(bad.length, `${figure}${known ? " (E2E_STRICT=1)" : " (not explained by the known cause)"}`).to.equal(0);
    knownBugs.set(id, `KNOWN: ${bad.length} POST 502, nginx: ${errors.postResets.length} POST reset by a stopping task while reading the response header, not retried`);
    return figure;
}

// ---------------------------------------------------------------------------------------------

describe(TITLE, function () {
    let resources: Registered[] = [];
    let deployment: Deployment | undefined;
    let up = false;
    let httpPort = 0;
    let tornDown = false;
    const notes: string[] = [];
    const name = (resource: string) => deployment?.containers.get(resource)?.name ?? resource;
    const tasksNow = async () => (await serviceContainers(SERVICE)).filter((c) => c.running).map((c) => c.name);
    const serviceOf = (rs: Registered[]): Step => planSteps(rs).find((s) => s.kind === "service" && s.resource.name === SERVICE)!;

    /** Running task containers and how many are healthy. */
    const replicaCounts = async () => {
        const cs = (await serviceContainers(SERVICE)).filter((c) => c.running);
        return { running: cs.length, healthy: cs.filter((c) => c.health === "healthy").length };
    };

    /** Polls (bounded) until `replicas` task containers run, all healthy, and Swarm agrees; seconds from sinceMs. */
    const waitReplicas = async (replicas: number, timeoutSeconds: number, sinceMs: number) => {
        await waitConverged(SERVICE, replicas, timeoutSeconds, sinceMs);
        const deadline = Date.now() + timeoutSeconds * 1000;
        for (;;) {
            const n = await replicaCounts();
            if (n.running === replicas && n.healthy === replicas) return (Date.now() - sinceMs) / 1000;
            if (Date.now() > deadline) throw new Error(`${n.running} task containers running, ${n.healthy} healthy; expected ${replicas}`);
            await sleep(500);
        }
    };

    const onSignal = (signal: NodeJS.Signals) => {
        console.log(`\n${signal}: removing everything named ${PREFIX}* and leaving the Swarm`);
        sweepSync(PREFIX);
        console.log(leaveSwarm());
        process.exit(signal === "SIGINT" ? 130 : 143);
    };
    const onExit = () => { if (!tornDown) { sweepSync(PREFIX); leaveSwarm(); } };

    before(async function () {
        this.timeout(180_000);
        suiteStarted = Date.now();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        process.once("exit", onExit);
        const version = await requireEngine();
        gwbridgeBefore = (await docker(["network", "inspect", "docker_gwbridge"])).code === 0;
        const state = swarmState();
        if (state === "active") {
            // A leftover of an interrupted run of this suite, or someone else's Swarm: only the former is taken over.
            const others = (await dockerOk(["service", "ls", "--format", "{{.Name}}"])).stdout.split("\n").filter((s) => s.trim() && !s.startsWith(PREFIX));
            if (others.length) throw new Error(`the engine is already in Swarm mode with services of others (${others.join(", ")}); not touching it`);
            log("the engine was left in Swarm mode (an interrupted run): leaving it first");
            joinedSwarm = true;
            sweepSync(PREFIX);
            leaveSwarm();
        }
        log(`Docker engine ${version}; docker swarm init --advertise-addr 127.0.0.1`);
        await dockerOk(["swarm", "init", "--advertise-addr", "127.0.0.1"], { timeoutMs: 60_000 });
        joinedSwarm = true;
        log(`rendering stack "${STACK}" with webReplicas ${REPLICAS} under Pulumi's mocks`);
        resources = await renderStack(STACK, { webReplicas: REPLICAS });
        const removed = sweepSync(PREFIX);
        if (removed.length) log(`removed leftovers of an earlier run: ${removed.join(", ")}`);
        deployment = new Deployment(resources, { log, mockSubnet: MOCK_SUBNET, subnetFrom: "networks-frontend", commandTimeoutSeconds: 600 });
        log(`plan (the program's dependency order):\n${deployment.describe().map((l) => `          ${l}`).join("\n")}`);
        const renderedMode = resources.find((r) => r.type === "docker:index/service:Service")?.inputs.endpointSpec?.mode ?? "vip";
        if (!deployment.ipvs) notes.push(`this kernel has no IPVS; the service is rendered in endpoint mode ${renderedMode}${renderedMode === "vip" ? " and ran in dnsrr" : ", which needs none"}`);
        httpPort = Number(deployment.steps.find((s) => s.kind === "container" && s.resource.name === "proxy")?.inputs.ports?.[0]?.external);
        await new Promise<void>((resolve, reject) => {
            const probe = net.createServer();
            probe.once("error", (err) => reject(new Error(`127.0.0.1:${httpPort} (the dev stack's httpPort) is in use: ${(err as Error).message}`)));
            probe.listen(httpPort, "127.0.0.1", () => probe.close(() => resolve()));
        });
    });

    after(async function () {
        this.timeout(300_000);
        try {
            if (deployment !== undefined && !tornDown) {
                const problems = await deployment.down().catch((err: Error) => [err.message]);
                if (problems.length) console.log(`teardown problems:\n  ${problems.join("\n  ")}`);
            }
        } finally {
            const removed = sweepSync(PREFIX);
            if (removed.length) console.log(`swept after the run: ${removed.join(", ")}`);
            const left = leaveSwarm();
            if (!rows.has("e")) log(`docker swarm leave --force: ${left}`);
            tornDown = true;
            process.removeListener("SIGINT", onSignal);
            process.removeListener("SIGTERM", onSignal);
            process.removeListener("exit", onExit);
            printTable((Date.now() - suiteStarted) / 1000, notes);
        }
    });

    beforeEach(function () {
        const id = /^([a-e])\./.exec(this.currentTest?.title ?? "")?.[1];
        if (id !== undefined && id !== "a" && id !== "e" && !up) {
            rows.set(id, { check: `${id}. ${CHECKS[id]}`, result: "SKIP", figure: "the stack did not come up (check a)" });
            this.skip();
        }
    });

    it("a. the stack comes up in Swarm mode: 3 web replicas running and healthy, the site answers 200 through the proxy", async function () {
        this.timeout(900_000);
        await check("a", async () => [...(await tasksNow()), name("proxy"), name("db"), `${PREFIX}release`], async () => {
            const d = deployment!;
            const started = Date.now();
            try {
                await d.up();
            } catch (err) {
                console.log((await docker(["service", "ps", "--no-trunc", SERVICE])).output);
                throw err;
            }
            const upSeconds = (Date.now() - started) / 1000;
            const service = d.services.get(SERVICE)!;
            const n = await replicaCounts();
            expect(n, "task containers running and healthy").to.deep.equal({ running: REPLICAS, healthy: REPLICAS });
            // The rest stays plain containers on the manager; the service publishes nothing.
            const ports = (await dockerOk(["service", "inspect", "--format", "{{json .Endpoint.Ports}}", SERVICE])).stdout.trim();
            expect(ports, "the service publishes no port").to.be.oneOf(["null", "[]"]);
            const plain = [...d.containers.keys()].sort();
            expect(plain).to.include.members(["db", "proxy", "backup", "autoheal"]);
            const drivers = (await dockerOk(["network", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Attachable}}", `${PREFIX}frontend`, `${PREFIX}backend`])).stdout.trim().split("\n");
            expect(drivers).to.deep.equal([`${PREFIX}frontend overlay true`, `${PREFIX}backend overlay true`]);
            // nginx re-resolves `web` every 10 s: a bounded wait for the first 200.
            let home = await request(httpPort, "/").catch((e) => ({ status: 0, body: Buffer.from(String(e)), ms: 0 }));
            for (let i = 0; i < 30 && home.status !== 200; i++) {
                await sleep(1000);
                home = await request(httpPort, "/").catch((e) => ({ status: 0, body: Buffer.from(String(e)), ms: 0 }));
            }
            expect(home.status, `GET / answered ${home.status}: ${home.body.toString().slice(0, 300)}`).to.equal(200);
            up = true;
            return `up in ${upSeconds.toFixed(0)} s (service: ${service.detail}); ${n.running}/${REPLICAS} running, ${n.healthy} healthy; ` +
                `plain containers: ${plain.join(", ")}; overlays attachable; GET / 200 (${home.body.length} B)`;
        });
    });

    it("b. an app change rolls out (docker service update, start-first) under a request loop without failed requests", async function () {
        this.timeout(900_000);
        await check("b", async () => [...(await tasksNow()), name("proxy")], async () => {
            const d = deployment!;
            const changed = await renderStack(STACK, { webReplicas: REPLICAS, appEnvironment: [ROLLOUT_ENV] });
            const next = serviceOf(changed);
            expect(next.inputs.taskSpec.containerSpec.env.WEBSTACK_E2E_ROLLOUT, "the new render carries the change").to.equal("2");
            const oldTasks = new Set((await serviceContainers(SERVICE)).filter((c) => c.running).map((c) => c.task));
            const since = new Date().toISOString();
            const load = startLoad(httpPort);
            await sleep(3000);
            let update: Awaited<ReturnType<Deployment["updateService"]>>;
            let releaseSeconds = 0;
            try {
                // As `pulumi up` would: the release command's stdin (the app environment) changed, so it runs
                // again, and the service (which depends on it) is updated after it.
                const release = changed.find((r) => r.name === "app-release")!;
                const releaseStep = planSteps(changed).find((s) => s.resource.name === "app-release")!;
                if (JSON.stringify(releaseStep.inputs) !== JSON.stringify(d.steps.find((s) => s.resource.name === "app-release")!.inputs)) {
                    load.setPhase("release");
                    const inputs = d.substitute(releaseStep.inputs);
                    const t = Date.now();
                    const r = await run("/bin/sh", ["-c", inputs.create], { input: inputs.stdin, timeoutMs: 600_000 });
                    releaseSeconds = (Date.now() - t) / 1000;
                    expect(r.code, `release ${release.name}: ${r.output.slice(-2000)}`).to.equal(0);
                }
                load.setPhase("update");
                update = await d.updateService(SERVICE, next.inputs);
                load.setPhase("after");
                // Past nginx's 10 s resolver cache.
                await sleep(12_000);
            } finally {
                await load.stop();
            }
            const records = load.records;
            const f = loadFigure(records);
            for (const r of [...f.failed, ...f.stalled]) log(`  ${r.method} in ${r.phase}: ${r.error ?? `HTTP ${r.status}`} after ${(r.ms / 1000).toFixed(1)} s`);
            const now = (await serviceContainers(SERVICE)).filter((c) => c.running);
            expect(now.length).to.equal(REPLICAS);
            for (const c of now) {
                expect(oldTasks.has(c.task), `${c.name} is a new task`).to.equal(false);
                const env = (await dockerOk(["inspect", "--format", "{{json .Config.Env}}", c.name])).stdout;
                expect(env, `${c.name} has the new environment`).to.include(ROLLOUT_ENV);
                expect(c.health, `${c.name} healthy`).to.equal("healthy");
            }
            expect(records.filter((r) => r.phase === "update").length, "the loop ran during the update").to.be.greaterThan(100);
            const figure = `${f.figure}; release again ${releaseSeconds.toFixed(0)} s, \`${update!.args.slice(4, -1).join(" ")}\` converged in ${update!.seconds.toFixed(0)} s; ` +
                `${now.length} new tasks, all healthy, with ${ROLLOUT_ENV}`;
            return judge("b", f, figure, name("proxy"), since);
        });
    });

    it("c. killing one replica's container loses no requests past the healthcheck window, and Swarm brings the replica back", async function () {
        this.timeout(600_000);
        await check("c", async () => [...(await tasksNow()), name("proxy")], async () => {
            const victim = (await serviceContainers(SERVICE)).find((c) => c.running)!;
            const since = new Date().toISOString();
            const load = startLoad(httpPort);
            await sleep(3000);
            let back = 0;
            const killedAt = Date.now();
            try {
                load.setPhase("killed");
                // The task's main process (gunicorn's master, PID 1) gets SIGKILL from the engine.
                await dockerOk(["kill", victim.name]);
                back = await waitReplicas(REPLICAS, 300, killedAt);
                load.setPhase("after");
                await sleep(12_000);
            } finally {
                await load.stop();
            }
            const f = loadFigure(load.records);
            for (const r of [...f.failed, ...f.stalled]) log(`  ${r.method} in ${r.phase}: ${r.error ?? `HTTP ${r.status}`} after ${(r.ms / 1000).toFixed(1)} s`);
            // "Past the healthcheck window": nothing may fail later than one interval plus timeout (35 s) after the kill.
            const late = f.failed.filter((r) => r.at - killedAt > 35_000);
            const tasks = await serviceTasks(SERVICE);
            const failedTask = tasks.find((t) => victim.task.startsWith(t.id) || t.id.startsWith(victim.task));
            const figure = `${f.figure}; ${f.failed.length - late.length} failed within 35 s of the kill, ${late.length} after; ` +
                `3/3 running and healthy again ${back.toFixed(1)} s after the kill (old task: ${failedTask?.current ?? "?"}${failedTask?.error ? `, ${failedTask.error}` : ""})`;
            expect(late.length, figure).to.equal(0);
            return judge("c", f, figure, name("proxy"), since);
        });
    });

    it("d. scaling 3 → 2 → 1 → 3 replicas under the request loop", async function () {
        this.timeout(900_000);
        await check("d", async () => [...(await tasksNow()), name("proxy")], async () => {
            const d = deployment!;
            // webReplicas 1 with swarmMode auto leaves Swarm mode: it is a migration, not a scale.
            const single = await renderStack(STACK, { webReplicas: 1, appEnvironment: [ROLLOUT_ENV] });
            const singleKinds = { services: single.filter((r) => r.type === "docker:index/service:Service").length, web: single.some((r) => r.name === SERVICE && r.type === "docker:index/container:Container") };
            expect(singleKinds.services, "webReplicas 1 renders no service (Swarm mode off)").to.equal(0);
            // swarmMode on keeps the service at one replica: every step below is the program's own render.
            const scaled = async (n: number) => serviceOf(await renderStack(STACK, { webReplicas: n, swarmMode: "on", appEnvironment: [ROLLOUT_ENV] })).inputs;
            const steps: [string, number, Record<string, any>][] = [["to2", 2, await scaled(2)], ["to1", 1, await scaled(1)], ["to3", 3, await scaled(3)]];
            const since = new Date().toISOString();
            const load = startLoad(httpPort);
            const took: string[] = [];
            await sleep(3000);
            try {
                for (const [phase, n, inputs] of steps) {
                    load.setPhase(phase);
                    const started = Date.now();
                    const u = await d.updateService(SERVICE, inputs);
                    expect(u.args.slice(4, -1), `${phase}: only the replicas change`).to.deep.equal(["--replicas", String(n)]);
                    const s = await waitReplicas(n, 300, started);
                    took.push(`→${n} in ${s.toFixed(1)} s`);
                    // Past nginx's 10 s resolver cache before the next step.
                    await sleep(12_000);
                }
            } finally {
                await load.stop();
            }
            const f = loadFigure(load.records);
            for (const r of [...f.failed, ...f.stalled]) log(`  ${r.method} in ${r.phase}: ${r.error ?? `HTTP ${r.status}`} after ${(r.ms / 1000).toFixed(1)} s`);
            const figure = `${f.figure}; ${took.join(", ")} (running and healthy; swarmMode on); webReplicas 1 with swarmMode auto renders ${singleKinds.services} services` +
                `${singleKinds.web ? " and a web container" : ""} (leaves Swarm mode)`;
            return judge("d", f, figure, name("proxy"), since);
        });
    });

    it("e. teardown leaves no service, container, network or volume named webstack-dev-*, and the engine leaves Swarm mode", async function () {
        this.timeout(600_000);
        await check("e", async () => [], async () => {
            expect(deployment, "a deployment to tear down").to.not.equal(undefined);
            const { count, seconds, problems, left } = await tearDown(deployment!, PREFIX);
            tornDown = true;
            expect(problems, problems.join("\n")).to.deep.equal([]);
            expect(left).to.deep.equal({ services: [], containers: [], networks: [], volumes: [] });
            const leave = leaveSwarm();
            expect(swarmState(), leave).to.equal("inactive");
            const gw = (await docker(["network", "inspect", "docker_gwbridge"])).code === 0;
            return `0 services, 0 containers, 0 networks, 0 volumes left; ${count} resources deleted in ${seconds.toFixed(1)} s; ` +
                `swarm left: ${swarmState()}${gw && !gwbridgeBefore ? " (docker_gwbridge still there)" : ""}`;
        });
    });
});
