/**
 * `npm run bench`: how fast the edge the program renders serves a static file and a dynamic page,
 * measured with wrk on loopback against real servers from Debian's packages (the integration
 * tests' helpers), in one run:
 *
 *   (a) the collected, hashed site.css through the program's nginx site, client asking for gzip
 *   (b) the same path straight from gunicorn (WhiteNoise serves the collected .gz too)
 *   (c) the same file from a bare nginx location with no extras: the ceiling on this machine
 *   (t) the same file from a bare location tuned like the generated one (open_file_cache,
 *       sendfile, no access log) but without its headers, nested location or gzip_static: for
 *       information, as (c) does an open() and writes a log line per request and (a) does not
 *   (d) /accounts/login/ through the program's nginx site
 *   (e) /accounts/login/ straight from gunicorn
 *
 * It prints requests per second for each, the ratios a/b, a/c and d/e, the CSS's gzip ratio and
 * the machine, and exits non-zero when a/c is below MIN_EDGE_RATIO (after printing everything),
 * or when any response was not what it should be. Not part of the tests: it takes about a minute
 * and its figures depend on the machine. docs/performance.md records its results.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderNginxSite, NginxSiteOptions } from "../components/nginxConfig";
import { container, containerCommand, containerEnv, renderStack } from "../tests/integration/program";
import {
    appEnv, appPython, appVenv, freePort, Gunicorn, HttpResponse, httpGet, Nginx, Postgres, requireBinary, requireDjangoApp,
    requirePostgres, run, runInApp, tempDir,
} from "../tests/integration/servers";

const SITE = "bench.example.org";
/** wrk's parameters, the same for every case. */
const WRK = { threads: 2, connections: 32, warmupSeconds: 2, seconds: 8 };
/** The program's nginx must keep at least this share of the bare nginx's rate on the static file. */
const MIN_EDGE_RATIO = 0.8;

// ---------------------------------------------------------------------------------------------
// wrk

interface WrkResult {
    /** "Requests/sec" as wrk prints it. */
    rps: number;
    requests: number;
    bytes: number;
    /** "Non-2xx or 3xx responses" (0 when wrk prints no such line). */
    non2xx: number;
    socketErrors: { connect: number; read: number; write: number; timeout: number };
    p50ms: number;
    p99ms: number;
    output: string;
}

/** A Lua `done` hook: wrk's exact totals at the end, without slowing the run (no per-response hook). */
const WRK_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d bytes=%d status=%d connect=%d read=%d write=%d timeout=%d p50us=%d p99us=%d\\n",
    summary.requests, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

let wrkChild: ChildProcess | undefined;
// servers.ts stops its servers on exit, SIGINT and SIGTERM (then exits): wrk goes too.
process.on("exit", () => { wrkChild?.kill("SIGKILL"); });

function runWrk(script: string, url: string, headers: Record<string, string>, seconds: number): Promise<WrkResult> {
    const args = [
        `-t${WRK.threads}`, `-c${WRK.connections}`, `-d${seconds}s`, "--latency", "--timeout", "5s", "-s", script,
        ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
        url,
    ];
    return new Promise((resolve, reject) => {
        const child = spawn("/usr/bin/wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
        wrkChild = child;
        let output = "";
        child.stdout.on("data", (d: Buffer) => { output += d; });
        child.stderr.on("data", (d: Buffer) => { output += d; });
        const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
        child.on("error", (err) => { clearTimeout(timer); reject(err); });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            wrkChild = undefined;
            const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
            const totals = /^BENCH (.*)$/m.exec(output);
            if (code !== 0 || rps === null || totals === null) {
                reject(new Error(`wrk ${args.join(" ")} exited with ${code ?? signal}:\n${output}`));
                return;
            }
            const t = Object.fromEntries(totals[1].split(" ").map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)]));
            const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
            resolve({
                rps: Number(rps[1]),
                requests: t.requests,
                bytes: t.bytes,
                non2xx: Math.max(non2xx, t.status),
                socketErrors: { connect: t.connect, read: t.read, write: t.write, timeout: t.timeout },
                p50ms: t.p50us / 1000,
                p99ms: t.p99us / 1000,
                output,
            });
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Checks before measuring

class BenchError extends Error {}

function check(condition: boolean, message: string): void {
    if (!condition) throw new BenchError(message);
}

function describe(res: HttpResponse): string {
    const headers = Object.entries(res.headers).map(([k, v]) => `${k}: ${String(v)}`).join("\n");
    return `HTTP ${res.status}\n${headers}`;
}

// ---------------------------------------------------------------------------------------------
// Machine

async function firstLine(command: string, args: string[]): Promise<string> {
    try {
        const r = await run(command, args, { timeoutMs: 10_000 });
        return (r.stdout.trim() || r.stderr.trim()).split("\n")[0];
    } catch (err) {
        return `unknown (${(err as Error).message})`;
    }
}

async function machine(workers: number): Promise<[string, string][]> {
    const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown";
    const memGiB = (os.totalmem() / 2 ** 30).toFixed(1);
    return [
        ["date", new Date().toISOString()],
        ["nproc", await firstLine("nproc", [])],
        ["CPU", model],
        ["memory", `${memGiB} GiB`],
        ["kernel", `${os.type()} ${os.release()} ${os.arch()}`],
        ["nginx", await firstLine("/usr/sbin/nginx", ["-v"])],
        ["gunicorn", `${await firstLine(`${appVenv()}/bin/gunicorn`, ["--version"])}, ${workers} sync workers`],
        ["Django", await firstLine(appPython(), ["-c", "import django; print(django.get_version())"])],
        ["WhiteNoise", await firstLine(appPython(), ["-c", "from importlib.metadata import version; print(version('whitenoise'))"])],
        ["Python", await firstLine(appPython(), ["--version"])],
        ["wrk", await firstLine("/usr/bin/wrk", ["--version"])],
        ["node", process.version],
    ];
}

// ---------------------------------------------------------------------------------------------
// Main

interface Case {
    id: string;
    what: string;
    port: number;
    path: string;
    headers: Record<string, string>;
    /** Bounds of the mean response size in bytes (headers included), from wrk's totals. */
    bytesPerResponse?: [number, number];
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Runs everything; resolves with the reasons to fail (none: success), printed once the servers are stopped. */
async function main(): Promise<string[]> {
    const started = Date.now();
    requireBinary("/usr/bin/wrk", "wrk");
    requireBinary("/usr/sbin/nginx", "nginx");
    requireBinary("/usr/bin/gunicorn", "gunicorn");
    requirePostgres();
    requireDjangoApp();

    // The prod stack as the program renders it, with the bench's host name and plain HTTP.
    const resources = await renderStack("prod", { domain: SITE, tls: "off" });
    const webContainer = container(resources, "-web");
    const proxyContainer = container(resources, "-proxy");
    const programSite = String((proxyContainer.inputs.uploads as { file: string; content: string }[])
        .find((u) => u.file === "/etc/nginx/conf.d/default.conf")?.content ?? "");

    const tmp = tempDir("bench");
    const staticRoot = path.join(tmp.path, "static");
    const mediaRoot = path.join(tmp.path, "media");
    fs.mkdirSync(mediaRoot);
    let pg: Postgres | undefined;
    let web: Gunicorn | undefined;
    let edge: Nginx | undefined;
    let bare: Nginx | undefined;
    let tuned: Nginx | undefined;
    try {
        console.log("bench: starting PostgreSQL, the release step, gunicorn and three nginx...");
        pg = await Postgres.start({ containerEnv: containerEnv(container(resources, "-db")) });
        const env = appEnv(containerEnv(webContainer), {
            ...pg.appOverrides(),
            DJANGO_STATIC_ROOT: staticRoot,
            DJANGO_MEDIA_ROOT: mediaRoot,
            FORWARDED_ALLOW_IPS: "127.0.0.1",
            // Workers as deployed: empty means gunicorn.conf.py's default (2 x CPUs + 1, at most 8),
            // not the 2 the tests' Gunicorn helper would set.
            GUNICORN_WORKERS: "",
        });
        const release = await runInApp(containerCommand(container(resources, "app-release")), env);
        check(release.code === 0, `the release step failed (${release.code}):\n${release.output}`);
        web = await Gunicorn.start(containerCommand(webContainer), env);
        // Let every worker boot before counting them.
        await new Promise((r) => setTimeout(r, 3000));
        const workers = (web.process.log.match(/Booting worker with pid/g) ?? []).length;

        const manifest = JSON.parse(fs.readFileSync(path.join(staticRoot, "staticfiles.json"), "utf8")) as { paths: Record<string, string> };
        const hashed = manifest.paths["sky/site.css"];
        check(hashed !== undefined && /\.[0-9a-f]{12}\.css$/.test(hashed), `no hashed sky/site.css in the manifest: ${hashed}`);
        const cssFile = path.join(staticRoot, hashed);
        const css = fs.readFileSync(cssFile);
        const gz = fs.readFileSync(`${cssFile}.gz`);
        const cssPath = `${env.DJANGO_STATIC_URL}${hashed}`;

        // The program's site, moved onto this machine: gunicorn's address instead of the web
        // container's name (so no resolver), free ports, the collected and media directories.
        const listenPort = await freePort();
        const healthPort = await freePort();
        const upstream = /set \$app_upstream http:\/\/(\S+);/.exec(programSite)?.[1] ?? "";
        const options: NginxSiteOptions = {
            serverNames: [SITE],
            upstream: `127.0.0.1:${web.port}`,
            listenPort,
            staticUrl: env.DJANGO_STATIC_URL,
            staticRoot,
            mediaUrl: env.DJANGO_MEDIA_URL,
            mediaRoot,
            healthPort,
            clientMaxBodySize: /client_max_body_size (\S+);/.exec(programSite)?.[1] ?? "",
        };
        // Only those substitutions: with the container's values back, it is the program's file.
        const asDeployed = renderNginxSite({
            ...options, upstream, resolver: "127.0.0.11", listenPort: 80, staticRoot: "/srv/static/", mediaRoot: "/srv/media/",
            healthPort: Number(/listen 127\.0\.0\.1:(\d+);/.exec(programSite)?.[1]),
        });
        check(asDeployed === programSite, `the bench's site options differ from the program's:\n--- program ---\n${programSite}\n--- bench ---\n${asDeployed}`);
        edge = Nginx.prepare(renderNginxSite(options), path.join(tmp.path, "edge"), "auto");

        const bareSite = (port: number, extras: string[]) => [
            "server {",
            `    listen 127.0.0.1:${port};`,
            `    location ${env.DJANGO_STATIC_URL} {`,
            `        alias ${staticRoot}/;`,
            ...extras.map((line) => `        ${line}`),
            "    }",
            "}",
            "",
        ].join("\n");
        const barePort = await freePort();
        bare = Nginx.prepare(bareSite(barePort, []), path.join(tmp.path, "bare"), "auto");
        const tunedPort = await freePort();
        tuned = Nginx.prepare(bareSite(tunedPort, [
            "access_log off;", "sendfile on;", "tcp_nopush on;",
            "open_file_cache max=2000 inactive=60s;", "open_file_cache_valid 60s;",
        ]), path.join(tmp.path, "tuned"), "auto");
        for (const [name, n] of [["generated", edge], ["bare", bare], ["tuned bare", tuned]] as const) {
            const t = await n.test();
            check(t.code === 0, `nginx -t refused the ${name} site:\n${t.output}`);
        }
        await edge.start([listenPort, healthPort]);
        await bare.start([barePort]);
        await tuned.start([tunedPort]);

        // One request per case first: each path really is what it claims to be.
        const gzipHost = { Host: SITE, "Accept-Encoding": "gzip" };
        const viaEdge = await httpGet(listenPort, cssPath, gzipHost);
        check(viaEdge.status === 200 && viaEdge.headers["content-encoding"] === "gzip" && viaEdge.body.equals(gz)
            && /immutable/.test(String(viaEdge.headers["cache-control"])) && viaEdge.headers["x-content-type-options"] === "nosniff"
            && !/gunicorn/i.test(String(viaEdge.headers.server ?? "")),
        `(a) the generated config did not send the collected .gz itself:\n${describe(viaEdge)}`);
        const direct = await httpGet(web.port, cssPath, gzipHost);
        // WhiteNoise answers before Django's later middleware: its own cache header, no X-Frame-Options.
        check(direct.status === 200 && direct.headers["content-encoding"] === "gzip" && direct.body.equals(gz)
            && /gunicorn/i.test(String(direct.headers.server)) && /max-age=315360000/.test(String(direct.headers["cache-control"]))
            && direct.headers["x-frame-options"] === undefined,
        `(b) gunicorn did not serve the .gz through WhiteNoise:\n${describe(direct)}`);
        for (const [label, port] of [["(c) the bare nginx", barePort], ["(t) the tuned bare nginx", tunedPort]] as const) {
            const plain = await httpGet(port, cssPath, { Host: SITE });
            check(plain.status === 200 && plain.headers["content-encoding"] === undefined && plain.body.equals(css),
                `${label} did not send the plain file:\n${describe(plain)}`);
        }
        for (const [label, port] of [["(d) through nginx", listenPort], ["(e) from gunicorn", web.port]] as const) {
            const page = await httpGet(port, "/accounts/login/", { Host: SITE });
            check(page.status === 200 && page.body.toString().includes("csrfmiddlewaretoken"),
                `${label}: /accounts/login/ is not the login page:\n${describe(page)}\n${page.body.toString().slice(0, 500)}`);
        }

        const headerSlack = 1024;
        const cases: Case[] = [
            { id: "a", what: "static CSS, generated nginx config, gzip", port: listenPort, path: cssPath, headers: gzipHost, bytesPerResponse: [gz.length, gz.length + headerSlack] },
            { id: "b", what: "static CSS, gunicorn + WhiteNoise, gzip", port: web.port, path: cssPath, headers: gzipHost, bytesPerResponse: [gz.length, gz.length + headerSlack] },
            { id: "c", what: "static CSS, bare nginx location, identity", port: barePort, path: cssPath, headers: { Host: SITE }, bytesPerResponse: [css.length, css.length + headerSlack] },
            { id: "t", what: "static CSS, tuned bare location, identity", port: tunedPort, path: cssPath, headers: { Host: SITE }, bytesPerResponse: [css.length, css.length + headerSlack] },
            { id: "d", what: "/accounts/login/ through generated nginx", port: listenPort, path: "/accounts/login/", headers: { Host: SITE } },
            { id: "e", what: "/accounts/login/ straight from gunicorn", port: web.port, path: "/accounts/login/", headers: { Host: SITE } },
        ];
        const script = path.join(tmp.path, "done.lua");
        fs.writeFileSync(script, WRK_SCRIPT);
        const results: Record<string, WrkResult> = {};
        const problems: string[] = [];
        for (const c of cases) {
            const url = `http://127.0.0.1:${c.port}${c.path}`;
            process.stdout.write(`bench: (${c.id}) ${c.what}: warm-up ${WRK.warmupSeconds}s, run ${WRK.seconds}s... `);
            await runWrk(script, url, c.headers, WRK.warmupSeconds);
            const r = await runWrk(script, url, c.headers, WRK.seconds);
            results[c.id] = r;
            console.log(`${fmt(r.rps)} req/s`);
            if (r.non2xx > 0) problems.push(`(${c.id}) ${r.non2xx} of ${r.requests} responses were not 2xx/3xx`);
            const e = r.socketErrors;
            if (e.connect + e.timeout > 0) problems.push(`(${c.id}) socket errors: connect ${e.connect}, timeout ${e.timeout}`);
            if (c.bytesPerResponse !== undefined) {
                const mean = r.bytes / r.requests;
                const [low, high] = c.bytesPerResponse;
                if (mean < low || mean > high) problems.push(`(${c.id}) ${fmt(mean)} bytes per response, expected ${low}..${high}: not the file, or not (un)compressed as it should be`);
            }
        }
        // The last of the edge's answers are the same as the first.
        const after = await httpGet(listenPort, cssPath, gzipHost);
        if (after.headers["content-encoding"] !== "gzip") problems.push(`(a) after the run, no gzip:\n${describe(after)}`);

        const ratio = (x: string, y: string) => results[x].rps / results[y].rps;
        const edgeRatio = ratio("a", "c");
        const info = await machine(workers);

        console.log("");
        console.log(`wrk -t${WRK.threads} -c${WRK.connections} -d${WRK.seconds}s --latency (after a ${WRK.warmupSeconds}s warm-up per case), 127.0.0.1`);
        console.log(`file: ${cssPath} (${fmt(css.length)} B, ${fmt(gz.length)} B gzipped)`);
        console.log("");
        console.log("case  what                                          req/s     p50 ms   p99 ms  bytes/resp  requests");
        for (const c of cases) {
            const r = results[c.id];
            console.log(`(${c.id})   ${c.what.padEnd(44)} ${fmt(r.rps).padStart(8)} ${fmt(r.p50ms, 2).padStart(9)} ${fmt(r.p99ms, 2).padStart(8)}`
                + ` ${fmt(r.bytes / r.requests).padStart(11)} ${fmt(r.requests).padStart(9)}`);
        }
        console.log("");
        console.log(`a/b  generated nginx vs gunicorn + WhiteNoise (static):  ${ratio("a", "b").toFixed(2)}x`);
        console.log(`a/c  generated nginx vs bare nginx (static):             ${edgeRatio.toFixed(2)}  (minimum ${MIN_EDGE_RATIO})`);
        console.log(`c/b  bare nginx vs gunicorn + WhiteNoise (static):       ${ratio("c", "b").toFixed(2)}x`);
        console.log(`a/t  generated nginx vs tuned bare nginx (static):       ${ratio("a", "t").toFixed(2)}  (for information)`);
        console.log(`d/e  login page proxied vs direct (dynamic):             ${ratio("d", "e").toFixed(2)}`);
        console.log(`gzip ${hashed}: ${fmt(css.length)} B / ${fmt(gz.length)} B = ${(css.length / gz.length).toFixed(2)}x, `
            + `${(100 * (1 - gz.length / css.length)).toFixed(1)}% saved`);
        console.log("");
        for (const [k, v] of info) console.log(`${k.padEnd(11)} ${v}`);
        console.log(`${"bench took".padEnd(11)} ${((Date.now() - started) / 1000).toFixed(0)} s`);

        if (edgeRatio < MIN_EDGE_RATIO) {
            problems.push(`the generated config serves the static file at ${edgeRatio.toFixed(2)} of the bare nginx's rate ` +
                `(at least ${MIN_EDGE_RATIO} expected)`);
        }
        return problems;
    } finally {
        console.log("bench: stopping the servers");
        await tuned?.stop();
        await bare?.stop();
        await edge?.stop();
        await web?.stop();
        await pg?.destroy();
        tmp.remove();
    }
}

main().then((problems) => {
    for (const problem of problems) console.error(`bench: FAILED: ${problem}`);
    process.exit(problems.length > 0 ? 1 : 0);
}, (err: unknown) => {
    console.error(err instanceof BenchError ? `bench: FAILED: ${err.message}` : err);
    process.exit(1);
});
