/**
 * The program's rendered docker resources, brought up on a real Docker engine with the docker
 * CLI, because the docker provider plugin cannot be built on the test machines
 * (docs/toolchain.md). TEST-ONLY: this is not a provider, it is a translation of exactly what the
 * program registers under Pulumi's mocks (tests/harness.ts) into docker CLI calls, one resource
 * at a time in the program's dependency order, as the kreuzwerker docker provider behind
 * @pulumi/docker would make them:
 *
 *   docker.Network       docker network create [--internal] [--driver overlay] [--attachable] NAME
 *   docker.Volume        docker volume create --label K=V NAME
 *   docker.Image         docker build -t IMAGENAME [-f DOCKERFILE] [--build-arg K=V] CONTEXT
 *                        (classic builder, DOCKER_BUILDKIT=0: the Debian engine's BuildKit would
 *                        look base images up in a registry, which cannot be reached here)
 *   docker.RemoteImage   must already be on the engine (the test stand-ins, tests/standins/build.sh)
 *   docker.Container     docker create (name, or NAME-<7 hex> when the program sets none, as Pulumi
 *                        auto-names), then like the provider: off the default bridge, onto each
 *                        networksAdvanced entry with its aliases; uploads copied in as a tar with
 *                        the provider's modes; docker start; `wait` polls until healthy; `attach`
 *                        waits for the exit. Delete: docker stop -t destroyGraceSeconds (when set),
 *                        then docker rm -f -v, as the provider does.
 *   command:local:Command  its `create` script run with /bin/sh -c and its `stdin`
 *   docker.Service       docker service create --detach (Swarm mode; the engine must be a manager),
 *                        the environment in an --env-file, then with convergeConfig polled as the
 *                        provider polls: every desired task running (healthy, with a healthcheck)
 *                        and the update state completed. Update: `docker service update` with the
 *                        flags for what changed (a changed env entry goes on its command line: the
 *                        CLI has no env file there); delete: docker service rm, then waits until
 *                        the service's task containers are gone. See translateService.
 *
 * Deliberate differences from the provider, all for the test machine:
 *   - ports are published on 127.0.0.1 only (the provider's default is 0.0.0.0); a Service's ports
 *     (the routing mesh publishes on every address) are refused;
 *   - a Service in endpoint mode vip (the default) runs in dnsrr on a kernel without IPVS (no
 *     CONFIG_IP_VS: a VIP takes connections and never answers); the plan says so (`endpointNote`);
 *   - services are created with --no-resolve-image (no registry to ask for a digest here);
 *   - an exec-form healthcheck ["CMD", a, b, ...] is given as CMD-SHELL `exec 'a' 'b' ...`: the CLI
 *     has no flag for the exec form (every image here has /bin/sh; the argv is the same);
 *   - values the mocks compute are replaced by the engine's real ones (see `Deployment.substitute`).
 * Any input this module does not know is an error, so nothing the program renders is dropped.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { Registered, unwrap } from "../harness";

export const DOCKER = "/usr/bin/docker";
/** Published ports are bound here and nowhere else. */
export const PUBLISH_IP = "127.0.0.1";

const DOCKER_ENV: NodeJS.ProcessEnv = {
    ...process.env,
    // The Debian CLI first: the program's release script calls plain `docker`.
    PATH: `/usr/bin:/bin:/usr/sbin:/sbin:${process.env.PATH ?? ""}`,
    DOCKER_BUILDKIT: "0",
};

// ---------------------------------------------------------------------------------------------
// Processes

export interface Result {
    code: number | null;
    stdout: string;
    stderr: string;
    /** stdout as bytes (docker exec cat of binary files). */
    raw: Buffer;
    output: string;
    timedOut: boolean;
}

/** Runs a command to completion (bounded by timeoutMs, then SIGKILL); never rejects on exit status. */
export function run(file: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { env: opts.env ?? DOCKER_ENV, stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        let stderr = "";
        let output = "";
        let timedOut = false;
        child.stdout!.on("data", (d: Buffer) => { out.push(d); output += d; });
        child.stderr!.on("data", (d: Buffer) => { stderr += d; output += d; });
        const timer = setTimeout(() => { timedOut = true; child.kill("SIGKILL"); }, opts.timeoutMs ?? 120_000);
        child.on("error", (err) => { clearTimeout(timer); reject(err); });
        child.on("close", (code) => {
            clearTimeout(timer);
            const raw = Buffer.concat(out);
            resolve({ code, stdout: raw.toString("utf8"), stderr, raw, output, timedOut });
        });
        if (opts.input !== undefined) {
            child.stdin!.on("error", () => undefined);
            child.stdin!.end(opts.input);
        }
    });
}

export const docker = (args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}) => run(DOCKER, args, opts);

export async function dockerOk(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<Result> {
    const result = await docker(args, opts);
    if (result.code !== 0) {
        throw new Error(`docker ${args.map((a) => (a.length > 80 ? `${a.slice(0, 77)}...` : a)).join(" ")} ` +
            `${result.timedOut ? "timed out" : `exited with ${result.code}`}:\n${result.output.slice(-4000)}`);
    }
    return result;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (fromMs: number) => (Date.now() - fromMs) / 1000;

/** Fails, naming the package and the script that provide them, when the CLI or the engine is missing. */
export async function requireEngine(): Promise<string> {
    try {
        fs.accessSync(DOCKER, fs.constants.X_OK);
    } catch {
        throw new Error(`${DOCKER} is missing: install the Debian package docker.io (tests/engine/dockerd.sh start installs it and starts the engine)`);
    }
    const info = await docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 20_000 });
    if (info.code !== 0) throw new Error(`no Docker engine answers on /var/run/docker.sock; start one with tests/engine/dockerd.sh start:\n${info.output}`);
    return info.stdout.trim();
}

// ---------------------------------------------------------------------------------------------
// The program's dependency order

export type Kind = "network" | "volume" | "image" | "remoteImage" | "container" | "command" | "service";
const KINDS: Record<string, Kind> = {
    "docker:index/network:Network": "network",
    "docker:index/volume:Volume": "volume",
    "docker:index/image:Image": "image",
    "docker:index/remoteImage:RemoteImage": "remoteImage",
    "docker:index/container:Container": "container",
    "command:local:Command": "command",
    "docker:index/service:Service": "service",
};
/** Registered, but nothing on the engine: the provider itself and generated secrets (mock values). */
const NOT_ON_THE_ENGINE = new Set(["pulumi:providers:docker", "random:index/randomPassword:RandomPassword"]);

export interface Step {
    key: string;
    kind: Kind;
    resource: Registered;
    /** Inputs with secrets unwrapped. */
    inputs: Record<string, any>;
    /** Keys of the steps this one waits for: explicit dependsOn (components expanded) and inputs. */
    deps: string[];
    /** Position in the mocks' registration order. */
    registered: number;
}

const keyOf = (type: string, name: string) => `${type}::${name}`;
const refKey = (r: any): string | undefined =>
    r && typeof r.__pulumiType === "string" && typeof r.__name === "string" ? keyOf(r.__pulumiType, r.__name) : undefined;

function strings(value: unknown, out: string[] = []): string[] {
    if (typeof value === "string") out.push(value);
    else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
    else if (typeof value === "object" && value !== null) Object.values(value).forEach((v) => strings(v, out));
    return out;
}

/**
 * What a resource hands on to others through its outputs, as the mocks compute them (mirrors
 * `computed()` in tests/harness.ts): a consumer whose inputs hold one of these depends on it.
 */
function mockReferences(kind: Kind, r: Registered, inputs: Record<string, any>): string[] {
    switch (kind) {
        case "network":
            // A service names its networks by id (networksAdvanceds[].id): the mocks' id is `<resource>-id`.
            return [String(inputs.name ?? r.name), `${r.name}-id`];
        case "volume":
            return [String(inputs.name ?? r.name)];
        case "image":
            return [String(inputs.imageName)];
        case "remoteImage":
            return [`sha256:${r.name}`];
        default:
            return [];
    }
}

/**
 * The docker and command resources in an order that honours every dependency: explicit
 * dependsOn (a component stands for all its custom children) and every input that holds
 * another resource's output. Ties keep the mocks' registration order.
 */
export function planSteps(resources: Registered[]): Step[] {
    const parentOf = new Map<string, string | undefined>();
    for (const r of resources) parentOf.set(keyOf(r.type, r.name), refKey((r.opts as any).parent));
    const ancestors = (key: string) => {
        const chain: string[] = [];
        for (let p = parentOf.get(key); p !== undefined; p = parentOf.get(p)) chain.push(p);
        return chain;
    };
    const steps: Step[] = [];
    resources.forEach((r, i) => {
        const kind = KINDS[r.type];
        if (kind === undefined) {
            // Component resources (webstack:index:*) only group their children.
            if (NOT_ON_THE_ENGINE.has(r.type) || (!r.type.includes("/") && r.type.startsWith("webstack:"))) return;
            throw new Error(`the stack registers ${r.type} ${r.name}, which this translation does not know`);
        }
        steps.push({ key: keyOf(r.type, r.name), kind, resource: r, inputs: unwrap(r.inputs) as Record<string, any>, deps: [], registered: i });
    });
    const stepKeys = new Set(steps.map((s) => s.key));
    const refs = steps.flatMap((s) => mockReferences(s.kind, s.resource, s.inputs).map((value) => ({ value, key: s.key })));
    for (const step of steps) {
        const deps = new Set<string>();
        const explicit = (step.resource.opts as any).dependsOn;
        for (const d of (Array.isArray(explicit) ? explicit : explicit ? [explicit] : []).map(refKey)) {
            if (d === undefined) continue;
            if (stepKeys.has(d)) deps.add(d);
            else steps.filter((s) => ancestors(s.key).includes(d)).forEach((s) => deps.add(s.key));
        }
        const mine = strings(step.inputs);
        for (const ref of refs) {
            if (ref.key === step.key) continue;
            // A script names things inside its text (components/release.ts quotes them, with
            // a mount's path after a colon): a whole-word match there, the whole value elsewhere.
            const word = new RegExp(`(^|[^\\w.-])${ref.value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\w.-])`);
            const used = step.kind === "command" ? mine.some((s) => word.test(s)) : mine.includes(ref.value);
            if (used) deps.add(ref.key);
        }
        step.deps = [...deps];
    }
    // Kahn's algorithm, smallest registration index first.
    const done = new Set<string>();
    const ordered: Step[] = [];
    while (ordered.length < steps.length) {
        const next = steps.find((s) => !done.has(s.key) && s.deps.every((d) => done.has(d)));
        if (next === undefined) throw new Error(`dependency cycle among ${steps.filter((s) => !done.has(s.key)).map((s) => s.key).join(", ")}`);
        done.add(next.key);
        ordered.push(next);
    }
    return ordered;
}

// ---------------------------------------------------------------------------------------------
// docker.Container → docker CLI

const KNOWN_CONTAINER_INPUTS = new Set([
    "name", "image", "command", "entrypoints", "envs", "volumes", "networksAdvanced", "ports", "healthcheck",
    "labels", "restart", "stopSignal", "stopTimeout", "shmSize", "networkMode", "uploads", "wait", "waitTimeout",
    "destroyGraceSeconds", "mustRun", "attach", "logs",
]);

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface ContainerPlan {
    name: string;
    image: string;
    /** Arguments of `docker create`, the env file aside. */
    createArgs: string[];
    /** KEY=value lines for --env-file (secrets never go on a command line). */
    env: string[];
    /** Networks to join after creation (the provider leaves the default bridge first). */
    networks: { name: string; aliases: string[] }[];
    uploads: { file: string; content: Buffer; mode: number }[];
    start: boolean;
    wait?: { timeoutSeconds: number };
    attach: boolean;
    mustRun: boolean;
    destroyGraceSeconds?: number;
    hasHealthcheck: boolean;
}

function healthcheckArgs(h: Record<string, any>): string[] {
    for (const key of Object.keys(h)) {
        if (!["tests", "interval", "timeout", "startPeriod", "retries"].includes(key)) throw new Error(`healthcheck.${key} is not translated`);
    }
    const tests = h.tests as string[];
    let cmd: string;
    if (tests[0] === "NONE") return ["--no-healthcheck"];
    if (tests[0] === "CMD-SHELL") cmd = tests[1];
    else if (tests[0] === "CMD") cmd = `exec ${tests.slice(1).map(shellQuote).join(" ")}`;
    else throw new Error(`healthcheck test ${JSON.stringify(tests[0])} is not translated`);
    const args = ["--health-cmd", cmd];
    if (h.interval) args.push("--health-interval", h.interval);
    if (h.timeout) args.push("--health-timeout", h.timeout);
    if (h.startPeriod) args.push("--health-start-period", h.startPeriod);
    if (h.retries !== undefined) args.push("--health-retries", String(h.retries));
    return args;
}

/** Pulumi's auto-name: the resource name, a dash and 7 random hex digits. */
export const autoName = (resourceName: string) => `${resourceName}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;

/** Translates a docker.Container's (substituted) inputs into docker CLI calls. Pure. */
export function translateContainer(resourceName: string, inputs: Record<string, any>, name?: string): ContainerPlan {
    for (const key of Object.keys(inputs)) {
        if (!KNOWN_CONTAINER_INPUTS.has(key)) throw new Error(`container ${resourceName}: input ${key} is not translated`);
    }
    const args: string[] = [];
    const containerName = name ?? inputs.name ?? autoName(resourceName);
    args.push("--name", containerName);
    if (inputs.restart) args.push("--restart", inputs.restart);
    if (inputs.stopSignal) args.push("--stop-signal", inputs.stopSignal);
    if (inputs.stopTimeout !== undefined) args.push("--stop-timeout", String(inputs.stopTimeout));
    if (inputs.shmSize !== undefined) args.push("--shm-size", `${inputs.shmSize}m`);
    for (const l of (inputs.labels ?? []) as { label: string; value: string }[]) args.push("--label", `${l.label}=${l.value}`);
    for (const v of (inputs.volumes ?? []) as Record<string, any>[]) {
        for (const key of Object.keys(v)) {
            if (!["containerPath", "hostPath", "volumeName", "readOnly"].includes(key)) throw new Error(`container ${resourceName}: volumes.${key} is not translated`);
        }
        const source = v.hostPath ?? v.volumeName;
        if (!source || !v.containerPath) throw new Error(`container ${resourceName}: volume without source or path: ${JSON.stringify(v)}`);
        args.push("-v", `${source}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
    }
    for (const p of (inputs.ports ?? []) as Record<string, any>[]) {
        for (const key of Object.keys(p)) {
            if (!["internal", "external", "ip", "protocol"].includes(key)) throw new Error(`container ${resourceName}: ports.${key} is not translated`);
        }
        // Test machines publish on the loopback address only, whatever the program says.
        args.push("-p", `${PUBLISH_IP}:${p.external ?? ""}:${p.internal}/${p.protocol ?? "tcp"}`);
    }
    if (inputs.healthcheck) args.push(...healthcheckArgs(inputs.healthcheck));
    const networks = ((inputs.networksAdvanced ?? []) as Record<string, any>[]).map((n) => {
        for (const key of Object.keys(n)) {
            if (!["name", "aliases"].includes(key)) throw new Error(`container ${resourceName}: networksAdvanced.${key} is not translated`);
        }
        return { name: String(n.name), aliases: (n.aliases ?? []) as string[] };
    });
    if (inputs.networkMode) args.push("--network", inputs.networkMode);
    const entrypoints = (inputs.entrypoints ?? []) as string[];
    if (entrypoints.length > 0) args.push("--entrypoint", entrypoints[0]);
    args.push(inputs.image);
    // --entrypoint takes one word: the rest of the entrypoint goes before the command, which
    // is the same argv for the process.
    args.push(...entrypoints.slice(1), ...((inputs.command ?? []) as string[]));

    const env = (inputs.envs ?? []) as string[];
    for (const e of env) {
        if (e.includes("\n") || !e.includes("=")) throw new Error(`container ${resourceName}: env entry ${JSON.stringify(e.split("=")[0])} cannot go into an env file`);
    }
    const uploads = ((inputs.uploads ?? []) as Record<string, any>[]).map((u) => {
        for (const key of Object.keys(u)) {
            if (!["file", "content", "contentBase64", "source", "executable", "permissions"].includes(key)) throw new Error(`container ${resourceName}: uploads.${key} is not translated`);
        }
        const content = u.content !== undefined ? Buffer.from(String(u.content), "utf8")
            : u.contentBase64 !== undefined ? Buffer.from(String(u.contentBase64), "base64")
                : fs.readFileSync(String(u.source));
        // The provider: permissions when set, else 0744 for executable, 0644 otherwise.
        const mode = u.permissions !== undefined ? parseInt(String(u.permissions), 8) : u.executable ? 0o744 : 0o644;
        return { file: String(u.file), content, mode };
    });
    return {
        name: containerName,
        image: inputs.image,
        createArgs: args,
        env,
        networks,
        uploads,
        start: true,
        wait: inputs.wait ? { timeoutSeconds: inputs.waitTimeout ?? 60 } : undefined,
        attach: inputs.attach === true,
        mustRun: inputs.mustRun !== false,
        destroyGraceSeconds: inputs.destroyGraceSeconds,
        hasHealthcheck: inputs.healthcheck !== undefined,
    };
}

/** A ustar archive of one file (root-owned, as the provider's upload tar). */
export function tarOf(file: string, content: Buffer, mode: number): Buffer {
    let name = file.replace(/^\/+/, "");
    let prefix = "";
    if (Buffer.byteLength(name) > 100) {
        const cut = name.lastIndexOf("/", 155);
        prefix = name.slice(0, cut);
        name = name.slice(cut + 1);
    }
    const header = Buffer.alloc(512, 0);
    const put = (offset: number, length: number, value: string) => header.write(value, offset, length, "utf8");
    const octal = (n: number, length: number) => `${n.toString(8).padStart(length - 1, "0")}\0`;
    put(0, 100, name);
    put(100, 8, octal(mode, 8));
    put(108, 8, octal(0, 8));
    put(116, 8, octal(0, 8));
    put(124, 12, octal(content.length, 12));
    put(136, 12, octal(Math.floor(Date.now() / 1000), 12));
    put(148, 8, "        ");
    put(156, 1, "0");
    put(257, 6, "ustar\0");
    put(263, 2, "00");
    put(265, 32, "root");
    put(297, 32, "root");
    put(345, 155, prefix);
    let sum = 0;
    for (const byte of header) sum += byte;
    put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
    return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

// ---------------------------------------------------------------------------------------------
// docker.Service → docker service create / update (Swarm mode)

/**
 * Whether the kernel under the (local) engine has IPVS, which a Swarm VIP needs: /proc/net/ip_vs
 * once loaded, else the kernel's config or its module tree.
 */
export function kernelHasIpvs(): boolean {
    if (fs.existsSync("/proc/net/ip_vs")) return true;
    try {
        const config = zlib.gunzipSync(fs.readFileSync("/proc/config.gz")).toString("utf8");
        return /^CONFIG_IP_VS=[ym]$/m.test(config);
    } catch {
        return fs.existsSync(path.join("/lib/modules", os.release(), "kernel/net/netfilter/ipvs"));
    }
}

/** A translated service: what `docker service create` gets, kept by part so that an update can diff them. */
export interface ServicePlan {
    name: string;
    image: string;
    /** KEY=value lines for --env-file. */
    env: string[];
    replicas: number | "global";
    /** Flags that take one value each, by flag (--update-order start-first, ...). */
    scalars: Record<string, string>;
    /** Repeatable flags as lists: mounts, networks, labels, container labels, constraints, prefs. */
    lists: { mounts: string[]; networks: string[]; labels: string[]; containerLabels: string[]; constraints: string[]; prefs: string[]; hosts: string[]; groups: string[]; capAdd: string[]; capDrop: string[]; sysctls: string[]; logOpts: string[] };
    /** The healthcheck's flags (all or nothing on an update). */
    health: string[];
    entrypoint: string[];
    args: string[];
    forceUpdate?: number;
    /** convergeConfig: how the provider waits after create and update (none: it does not wait). */
    converge?: { delaySeconds: number; timeoutSeconds: number };
    /** The endpoint mode as run, and why it differs from the rendered one. */
    endpointMode: string;
    endpointNote?: string;
    stopGraceSeconds?: number;
}

/** Go/Swarm durations ("1m30s", "500ms", "11m") in seconds. */
export function durationSeconds(d: string): number {
    const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, µs: 1e-6, ns: 1e-9 };
    let total = 0;
    const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;
    let rest = d;
    for (let m = re.exec(d); m !== null; m = re.exec(d)) {
        total += Number(m[1]) * units[m[2]];
        rest = rest.replace(m[0], "");
    }
    if (rest !== "" && d !== "0") throw new Error(`duration ${JSON.stringify(d)} is not a Go duration`);
    return total;
}

function only(where: string, value: Record<string, any>, known: string[]): void {
    for (const key of Object.keys(value)) if (!known.includes(key)) throw new Error(`${where}.${key} is not translated`);
}

/** One field of a --mount/--network CSV value; commas and quotes would change its meaning. */
function csvField(where: string, v: unknown): string {
    const s = String(v);
    if (/[,"\n]/.test(s)) throw new Error(`${where}: ${JSON.stringify(s)} cannot go into the CLI's CSV syntax`);
    return s;
}

/**
 * Translates a docker.Service's (substituted) inputs into `docker service create` flags. Pure;
 * `ipvs` says whether the kernel can carry a VIP (kernelHasIpvs()). Unknown inputs are errors.
 */
export function translateService(resourceName: string, inputs: Record<string, any>, o: { ipvs: boolean }): ServicePlan {
    const where = `service ${resourceName}`;
    only(where, inputs, ["name", "mode", "taskSpec", "labels", "updateConfig", "rollbackConfig", "convergeConfig", "endpointSpec"]);
    const name = String(inputs.name ?? autoName(resourceName));
    const scalars: Record<string, string> = {};
    const lists: ServicePlan["lists"] = { mounts: [], networks: [], labels: [], containerLabels: [], constraints: [], prefs: [], hosts: [], groups: [], capAdd: [], capDrop: [], sysctls: [], logOpts: [] };

    let replicas: ServicePlan["replicas"] = 1;
    if (inputs.mode !== undefined) {
        only(`${where}: mode`, inputs.mode, ["replicated", "global"]);
        if (inputs.mode.global) replicas = "global";
        else if (inputs.mode.replicated !== undefined) {
            only(`${where}: mode.replicated`, inputs.mode.replicated, ["replicas"]);
            replicas = Number(inputs.mode.replicated.replicas ?? 1);
        }
    }
    for (const l of (inputs.labels ?? []) as { label: string; value: string }[]) lists.labels.push(`${l.label}=${l.value}`);

    const task = (inputs.taskSpec ?? {}) as Record<string, any>;
    only(`${where}: taskSpec`, task, ["containerSpec", "networksAdvanceds", "placement", "restartPolicy", "resources", "forceUpdate", "logDriver"]);
    const spec = (task.containerSpec ?? {}) as Record<string, any>;
    only(`${where}: taskSpec.containerSpec`, spec, ["image", "env", "args", "commands", "healthcheck", "mounts", "labels", "stopGracePeriod", "stopSignal",
        "user", "dir", "hostname", "init", "readOnly", "groups", "capAdds", "capDrops", "hosts", "sysctl"]);
    if (!spec.image) throw new Error(`${where}: no image`);
    const env = Object.entries((spec.env ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
    for (const e of env) {
        if (e.includes("\n")) throw new Error(`${where}: env entry ${JSON.stringify(e.split("=")[0])} cannot go into an env file`);
    }
    if (spec.stopGracePeriod) scalars["--stop-grace-period"] = spec.stopGracePeriod;
    if (spec.stopSignal) scalars["--stop-signal"] = spec.stopSignal;
    if (spec.user) scalars["--user"] = spec.user;
    if (spec.dir) scalars["--workdir"] = spec.dir;
    if (spec.hostname) scalars["--hostname"] = spec.hostname;
    if (spec.init !== undefined) scalars["--init"] = String(Boolean(spec.init));
    if (spec.readOnly !== undefined) scalars["--read-only"] = String(Boolean(spec.readOnly));
    lists.groups.push(...((spec.groups ?? []) as string[]));
    lists.capAdd.push(...((spec.capAdds ?? []) as string[]));
    lists.capDrop.push(...((spec.capDrops ?? []) as string[]));
    for (const h of (spec.hosts ?? []) as Record<string, any>[]) { only(`${where}: hosts`, h, ["host", "ip"]); lists.hosts.push(`${h.host}:${h.ip}`); }
    for (const [k, v] of Object.entries((spec.sysctl ?? {}) as Record<string, string>)) lists.sysctls.push(`${k}=${v}`);
    for (const l of (spec.labels ?? []) as { label: string; value: string }[]) lists.containerLabels.push(`${l.label}=${l.value}`);
    for (const m of (spec.mounts ?? []) as Record<string, any>[]) {
        only(`${where}: mounts`, m, ["type", "source", "target", "readOnly", "volumeOptions", "tmpfsOptions", "bindOptions"]);
        if (!["volume", "bind", "tmpfs"].includes(m.type)) throw new Error(`${where}: mount type ${m.type} is not translated`);
        const f = [`type=${m.type}`, ...(m.source ? [`source=${csvField(where, m.source)}`] : []), `target=${csvField(where, m.target)}`];
        if (m.readOnly) f.push("readonly=true");
        if (m.volumeOptions) {
            only(`${where}: mounts.volumeOptions`, m.volumeOptions, ["noCopy", "driverName", "driverOptions", "labels"]);
            if (m.volumeOptions.noCopy) f.push("volume-nocopy=true");
            if (m.volumeOptions.driverName) f.push(`volume-driver=${csvField(where, m.volumeOptions.driverName)}`);
            for (const [k, v] of Object.entries((m.volumeOptions.driverOptions ?? {}) as Record<string, string>)) f.push(`volume-opt=${csvField(where, `${k}=${v}`)}`);
            for (const l of (m.volumeOptions.labels ?? []) as { label: string; value: string }[]) f.push(`volume-label=${csvField(where, `${l.label}=${l.value}`)}`);
        }
        if (m.tmpfsOptions) {
            only(`${where}: mounts.tmpfsOptions`, m.tmpfsOptions, ["sizeBytes", "mode"]);
            if (m.tmpfsOptions.sizeBytes !== undefined) f.push(`tmpfs-size=${m.tmpfsOptions.sizeBytes}`);
            if (m.tmpfsOptions.mode !== undefined) f.push(`tmpfs-mode=${Number(m.tmpfsOptions.mode).toString(8)}`);
        }
        if (m.bindOptions) {
            only(`${where}: mounts.bindOptions`, m.bindOptions, ["propagation"]);
            if (m.bindOptions.propagation) f.push(`bind-propagation=${m.bindOptions.propagation}`);
        }
        lists.mounts.push(f.join(","));
    }
    let health: string[] = [];
    if (spec.healthcheck) health = healthcheckArgs(spec.healthcheck);

    for (const n of (task.networksAdvanceds ?? []) as Record<string, any>[]) {
        only(`${where}: networksAdvanceds`, n, ["id", "name", "aliases", "driverOpts"]);
        const target = n.id ?? n.name;
        if (!target) throw new Error(`${where}: a network without id or name`);
        lists.networks.push([`name=${csvField(where, target)}`, ...((n.aliases ?? []) as string[]).map((a) => `alias=${csvField(where, a)}`),
            ...((n.driverOpts ?? []) as string[]).map((d) => `driver-opt=${csvField(where, d)}`)].join(","));
    }
    if (task.placement) {
        only(`${where}: placement`, task.placement, ["constraints", "prefs", "maxReplicas"]);
        lists.constraints.push(...((task.placement.constraints ?? []) as string[]));
        lists.prefs.push(...((task.placement.prefs ?? []) as string[]));
        if (task.placement.maxReplicas !== undefined) scalars["--replicas-max-per-node"] = String(task.placement.maxReplicas);
    }
    if (task.restartPolicy) {
        const r = task.restartPolicy;
        only(`${where}: restartPolicy`, r, ["condition", "delay", "maxAttempts", "window"]);
        if (r.condition) scalars["--restart-condition"] = r.condition;
        if (r.delay) scalars["--restart-delay"] = r.delay;
        if (r.maxAttempts !== undefined) scalars["--restart-max-attempts"] = String(r.maxAttempts);
        if (r.window) scalars["--restart-window"] = r.window;
    }
    if (task.resources) {
        only(`${where}: resources`, task.resources, ["limits", "reservation"]);
        const lim = task.resources.limits ?? {};
        only(`${where}: resources.limits`, lim, ["memoryBytes", "nanoCpus"]);
        if (lim.memoryBytes) scalars["--limit-memory"] = String(lim.memoryBytes);
        if (lim.nanoCpus) scalars["--limit-cpu"] = String(lim.nanoCpus / 1e9);
        const res = task.resources.reservation ?? {};
        only(`${where}: resources.reservation`, res, ["memoryBytes", "nanoCpus"]);
        if (res.memoryBytes) scalars["--reserve-memory"] = String(res.memoryBytes);
        if (res.nanoCpus) scalars["--reserve-cpu"] = String(res.nanoCpus / 1e9);
    }
    if (task.logDriver) {
        only(`${where}: logDriver`, task.logDriver, ["name", "options"]);
        scalars["--log-driver"] = task.logDriver.name;
        for (const [k, v] of Object.entries((task.logDriver.options ?? {}) as Record<string, string>)) lists.logOpts.push(`${k}=${v}`);
    }
    for (const [key, flag] of [["updateConfig", "update"], ["rollbackConfig", "rollback"]] as const) {
        const c = inputs[key] as Record<string, any> | undefined;
        if (c === undefined) continue;
        only(`${where}: ${key}`, c, ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"]);
        if (c.parallelism !== undefined) scalars[`--${flag}-parallelism`] = String(c.parallelism);
        if (c.delay) scalars[`--${flag}-delay`] = c.delay;
        if (c.failureAction) scalars[`--${flag}-failure-action`] = c.failureAction;
        if (c.monitor) scalars[`--${flag}-monitor`] = c.monitor;
        if (c.maxFailureRatio !== undefined) scalars[`--${flag}-max-failure-ratio`] = String(c.maxFailureRatio);
        if (c.order) scalars[`--${flag}-order`] = c.order;
    }
    let converge: ServicePlan["converge"];
    if (inputs.convergeConfig) {
        only(`${where}: convergeConfig`, inputs.convergeConfig, ["delay", "timeout"]);
        // The provider's defaults: 7 s delay, 3 min timeout.
        converge = { delaySeconds: durationSeconds(inputs.convergeConfig.delay ?? "7s"), timeoutSeconds: durationSeconds(inputs.convergeConfig.timeout ?? "3m") };
    }
    let endpointMode = "vip";
    let endpointNote: string | undefined;
    if (inputs.endpointSpec) {
        only(`${where}: endpointSpec`, inputs.endpointSpec, ["mode", "ports"]);
        if (((inputs.endpointSpec.ports ?? []) as unknown[]).length > 0) {
            throw new Error(`${where}: endpointSpec.ports publish through the routing mesh on every address; this translation publishes on ${PUBLISH_IP} only`);
        }
        endpointMode = inputs.endpointSpec.mode ?? "vip";
    }
    if (endpointMode === "vip" && !o.ipvs) {
        endpointMode = "dnsrr";
        endpointNote = "rendered vip, run as dnsrr: this kernel has no IPVS";
    }
    scalars["--endpoint-mode"] = endpointMode;
    return {
        name,
        image: String(spec.image),
        env,
        replicas,
        scalars,
        lists,
        health,
        entrypoint: (spec.commands ?? []) as string[],
        args: (spec.args ?? []) as string[],
        forceUpdate: task.forceUpdate,
        converge,
        endpointMode,
        endpointNote,
        stopGraceSeconds: spec.stopGracePeriod ? durationSeconds(spec.stopGracePeriod) : undefined,
    };
}

const LIST_FLAGS: Record<keyof ServicePlan["lists"], [create: string, add: string, rm: string, key: (v: string) => string]> = {
    mounts: ["--mount", "--mount-add", "--mount-rm", (v) => /(?:^|,)target=([^,]*)/.exec(v)![1]],
    networks: ["--network", "--network-add", "--network-rm", (v) => /^name=([^,]*)/.exec(v)![1]],
    labels: ["--label", "--label-add", "--label-rm", (v) => v.split("=")[0]],
    containerLabels: ["--container-label", "--container-label-add", "--container-label-rm", (v) => v.split("=")[0]],
    constraints: ["--constraint", "--constraint-add", "--constraint-rm", (v) => v],
    prefs: ["--placement-pref", "--placement-pref-add", "--placement-pref-rm", (v) => v],
    hosts: ["--host", "--host-add", "--host-rm", (v) => v],
    groups: ["--group", "--group-add", "--group-rm", (v) => v],
    capAdd: ["--cap-add", "", "", (v) => v],
    capDrop: ["--cap-drop", "", "", (v) => v],
    sysctls: ["--sysctl", "", "", (v) => v],
    logOpts: ["--log-opt", "", "", (v) => v],
};

/** `docker service create` arguments, the env file aside (--env-file is added by the caller). */
export function serviceCreateArgs(p: ServicePlan): string[] {
    const args = ["service", "create", "--detach", "--no-resolve-image", "--name", p.name];
    if (p.replicas === "global") args.push("--mode", "global");
    else args.push("--replicas", String(p.replicas));
    for (const [flag, value] of Object.entries(p.scalars)) args.push(flag, value);
    for (const [list, values] of Object.entries(p.lists) as [keyof ServicePlan["lists"], string[]][]) {
        for (const v of values) args.push(LIST_FLAGS[list][0], v);
    }
    args.push(...p.health);
    // --entrypoint takes a shell-words string (the CLI splits it back into the argv).
    if (p.entrypoint.length > 0) args.push("--entrypoint", p.entrypoint.map(shellQuote).join(" "));
    args.push(p.image, ...p.args);
    return args;
}

/**
 * `docker service update` arguments that turn `from` into `to` (undefined: nothing changed, the
 * provider's no-op). Changed env entries go as --env-add (the CLI has no env file for update).
 */
export function serviceUpdateArgs(from: ServicePlan, to: ServicePlan): string[] | undefined {
    if (from.name !== to.name) throw new Error(`service ${from.name} → ${to.name}: a new name replaces the service, which this translation does not do`);
    const args: string[] = [];
    if (from.image !== to.image) args.push("--image", to.image);
    const envOf = (p: ServicePlan) => new Map(p.env.map((e) => [e.slice(0, e.indexOf("=")), e]));
    const [a, b] = [envOf(from), envOf(to)];
    for (const k of a.keys()) if (!b.has(k)) args.push("--env-rm", k);
    for (const [k, e] of b) if (a.get(k) !== e) args.push("--env-add", e);
    if (from.replicas !== to.replicas) {
        if (from.replicas === "global" || to.replicas === "global") throw new Error(`service ${to.name}: a change of mode replaces the service, which this translation does not do`);
        args.push("--replicas", String(to.replicas));
    }
    for (const [flag, value] of Object.entries(to.scalars)) if (from.scalars[flag] !== value) args.push(flag, value);
    for (const flag of Object.keys(from.scalars)) {
        if (!(flag in to.scalars)) throw new Error(`service ${to.name}: ${flag} was set and is not any more, which this translation cannot undo`);
    }
    for (const list of Object.keys(to.lists) as (keyof ServicePlan["lists"])[]) {
        const [, add, rm, key] = LIST_FLAGS[list];
        const [old, now] = [from.lists[list], to.lists[list]];
        if (!["mounts", "networks", "labels", "containerLabels", "constraints", "prefs"].includes(list) && JSON.stringify(old) !== JSON.stringify(now)) {
            throw new Error(`service ${to.name}: a change of ${list} is not translated`);
        }
        for (const v of old) if (!now.includes(v) && !now.some((n) => key(n) === key(v) && list === "networks")) args.push(rm, key(v));
        for (const v of now) {
            if (old.includes(v)) continue;
            // A network already joined with other aliases: leave and join again.
            if (list === "networks" && old.some((o) => key(o) === key(v))) args.push(rm, key(v));
            args.push(add, v);
        }
    }
    if (JSON.stringify(from.health) !== JSON.stringify(to.health)) args.push(...(to.health.length ? to.health : ["--no-healthcheck"]));
    if (JSON.stringify(from.entrypoint) !== JSON.stringify(to.entrypoint)) args.push("--entrypoint", to.entrypoint.map(shellQuote).join(" "));
    if (JSON.stringify(from.args) !== JSON.stringify(to.args)) args.push("--args", to.args.map(shellQuote).join(" "));
    if (from.forceUpdate !== to.forceUpdate) args.push("--force");
    if (args.length === 0) return undefined;
    return ["service", "update", "--detach", "--no-resolve-image", ...args, to.name];
}

/** One task of a service, as `docker service ps` shows it. */
export interface ServiceTask { id: string; name: string; desired: string; current: string; error: string }

export async function serviceTasks(service: string): Promise<ServiceTask[]> {
    const r = await docker(["service", "ps", "--no-trunc", "--format", "{{.ID}}\t{{.Name}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}", service], { timeoutMs: 20_000 });
    if (r.code !== 0) return [];
    return r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => {
        const [id, name, desired, current, error] = l.split("\t");
        return { id, name, desired, current, error: error ?? "" };
    });
}

/** The service's update state ("" when it was never updated): updating, completed, paused, rollback_completed, ... */
export async function serviceUpdateState(service: string): Promise<{ state: string; message: string; startedMs?: number }> {
    const r = await docker(["service", "inspect", "--format",
        "{{if .UpdateStatus}}{{.UpdateStatus.State}}\t{{.UpdateStatus.Message}}\t{{if .UpdateStatus.StartedAt}}{{.UpdateStatus.StartedAt.UnixNano}}{{end}}{{end}}", service], { timeoutMs: 20_000 });
    const [state, message, started] = r.stdout.trim().split("\t");
    return { state: state ?? "", message: message ?? "", startedMs: started ? Number(started) / 1e6 : undefined };
}

/** Containers of a service's tasks (running or not) on this engine, with their health. */
export async function serviceContainers(service: string): Promise<{ name: string; task: string; running: boolean; health: string }[]> {
    const ids = (await docker(["ps", "-aq", "--no-trunc", "--filter", `label=com.docker.swarm.service.name=${service}`], { timeoutMs: 20_000 })).stdout.split("\n").filter((s) => s.trim());
    if (ids.length === 0) return [];
    const r = await docker(["inspect", "--type", "container", "--format",
        "{{.Name}}\t{{index .Config.Labels \"com.docker.swarm.task.id\"}}\t{{.State.Running}}\t{{if .State.Health}}{{.State.Health.Status}}{{end}}", ...ids], { timeoutMs: 20_000 });
    return r.stdout.split("\n").filter((l) => l.trim()).map((l) => {
        const [name, task, running, health] = l.split("\t");
        return { name: name.replace(/^\//, ""), task, running: running === "true", health: health ?? "" };
    });
}

/**
 * Waits as the provider's convergeConfig does: every task the service wants running is Running
 * (with a healthcheck Swarm says Running only once healthy), as many as `replicas`, and an update
 * is completed. A rolled-back or paused update fails at once. Returns the seconds it took.
 */
export async function waitConverged(service: string, replicas: number | "global", timeoutSeconds: number, sinceMs = Date.now(), o: { rollingSinceMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = "";
    while (Date.now() < deadline) {
        const update = await serviceUpdateState(service);
        // A rolling update asked for at rollingSinceMs: the state shown until it starts is the last one's.
        if (o.rollingSinceMs !== undefined && Date.now() - o.rollingSinceMs < 60_000 && (update.startedMs === undefined || update.startedMs < o.rollingSinceMs - 2000)) {
            last = `update not started yet (state ${update.state || "none"})`;
            await sleep(1000);
            continue;
        }
        if (["paused", "rollback_completed", "rollback_paused", "rollback_started"].includes(update.state)) {
            throw new Error(`service ${service}: update ${update.state}: ${update.message}`);
        }
        const wanted = (await serviceTasks(service)).filter((t) => t.desired === "Running");
        const running = wanted.filter((t) => t.current.startsWith("Running"));
        last = `${running.length}/${wanted.length} running, update ${update.state || "none"}`;
        const enough = replicas === "global" ? running.length > 0 : running.length === replicas;
        if (enough && running.length === wanted.length && (update.state === "" || update.state === "completed")) return seconds(sinceMs);
        await sleep(1000);
    }
    throw new Error(`service ${service} did not converge within ${timeoutSeconds} s (${last})\n${(await docker(["service", "ps", "--no-trunc", service])).output}`);
}

// ---------------------------------------------------------------------------------------------
// The engine's view of a container

export interface ContainerState {
    Status: string;
    Running: boolean;
    ExitCode: number;
    StartedAt: string;
    RestartCount?: number;
    Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] };
}

export async function stateOf(name: string): Promise<ContainerState | undefined> {
    const r = await docker(["inspect", "--type", "container", "--format", "{{json .State}} {{.RestartCount}}", name], { timeoutMs: 20_000 });
    if (r.code !== 0) return undefined;
    const line = r.stdout.trim();
    const cut = line.lastIndexOf(" ");
    return { ...JSON.parse(line.slice(0, cut)), RestartCount: Number(line.slice(cut + 1)) };
}

/** `docker logs` tail and the last healthcheck outputs, for failure messages. */
export async function diagnostics(name: string, tail = 60): Promise<string> {
    const logs = await docker(["logs", "--tail", String(tail), name], { timeoutMs: 20_000 });
    const state = await stateOf(name);
    const health = (state?.Health?.Log ?? []).slice(-3).map((l) => `  exit ${l.ExitCode}: ${l.Output.trim().slice(0, 300)}`).join("\n");
    return `--- docker logs --tail ${tail} ${name} (exit ${logs.code}) ---\n${logs.output.trimEnd()}\n` +
        `--- state: ${state ? `${state.Status}${state.Health ? `, health ${state.Health.Status}` : ""}, exit code ${state.ExitCode}, restarts ${state.RestartCount}` : "no such container"}\n` +
        (health ? `--- last healthchecks:\n${health}\n` : "");
}

/**
 * Polls until the container is healthy (what the provider's `wait` does); fails at once when it
 * turns unhealthy or stops, and after timeoutSeconds. Returns the seconds it took from `sinceMs`.
 */
export async function waitHealthy(name: string, timeoutSeconds: number, sinceMs = Date.now(), opts: { startedAfter?: string } = {}): Promise<number> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last: ContainerState | undefined;
    while (Date.now() < deadline) {
        last = await stateOf(name);
        if (last === undefined) throw new Error(`container ${name} disappeared while waiting for it to be healthy`);
        const fresh = opts.startedAfter === undefined || last.StartedAt !== opts.startedAfter;
        if (fresh && last.Health?.Status === "healthy") return seconds(sinceMs);
        if (opts.startedAfter === undefined && !last.Running && last.Status !== "restarting") {
            throw new Error(`container ${name} stopped (${last.Status}, exit ${last.ExitCode}) before it was healthy\n${await diagnostics(name)}`);
        }
        if (fresh && last.Health?.Status === "unhealthy") throw new Error(`container ${name} is unhealthy\n${await diagnostics(name)}`);
        await sleep(250);
    }
    throw new Error(`container ${name} was not healthy within ${timeoutSeconds} s (health: ${last?.Health?.Status ?? "none"})\n${await diagnostics(name)}`);
}

// ---------------------------------------------------------------------------------------------
// A deployment

export interface Created {
    step: Step;
    /** What is on the engine: the network, volume, image or container name. */
    name: string;
    plan?: ContainerPlan;
    /** Services: the translated plan. */
    service?: ServicePlan;
    seconds: number;
    detail: string;
    /** Containers: when `docker start` was called, and (with `wait`) the seconds until healthy. */
    startedMs?: number;
    healthySeconds?: number;
}

export interface Started { detail: string; startedMs: number; healthySeconds?: number }

export type Log = (line: string) => void;

/**
 * The stack on the engine: `up()` applies the steps in order, `down()` deletes what was created
 * in reverse order the way the provider deletes. Values the mocks made up are replaced by the
 * engine's: a RemoteImage's imageId (`sha256:<resource name>` under mocks) by the image's real
 * id, and the mocks' network subnet by the real subnet of the network `subnetFrom` names (the
 * program reads it from that network's ipamConfigs).
 */
export class Deployment {
    readonly steps: Step[];
    readonly created: Created[] = [];
    readonly substitutions = new Map<string, string>();
    /** docker.Container resource name → the container on the engine now. */
    readonly containers = new Map<string, Created>();
    /** command resource name → its output and exit status. */
    readonly commands = new Map<string, { code: number | null; output: string; seconds: number }>();
    /** docker.Service resource name → the service on the engine now. */
    readonly services = new Map<string, Created>();
    /** Whether the kernel carries a Swarm VIP (else services run in dnsrr, see translateService). */
    readonly ipvs = kernelHasIpvs();
    private readonly scratch = fs.mkdtempSync(path.join(os.tmpdir(), "webstack-e2e-"));

    constructor(resources: Registered[], private readonly o: { log: Log; mockSubnet: string; subnetFrom: string; commandTimeoutSeconds: number }) {
        this.steps = planSteps(resources);
        fs.chmodSync(this.scratch, 0o700);
    }

    /** The plan, one line a step, with what each waits for. */
    describe(): string[] {
        return this.steps.map((s, i) => `${String(i + 1).padStart(2)}. ${s.kind.padEnd(11)} ${s.resource.name}` +
            (s.deps.length ? `  <- ${s.deps.map((d) => d.split("::")[1]).join(", ")}` : ""));
    }

    substitute<T>(value: T): T {
        if (typeof value === "string") {
            let s: string = value;
            for (const [mock, real] of this.substitutions) s = s.split(mock).join(real);
            return s as T;
        }
        if (Array.isArray(value)) return value.map((v) => this.substitute(v)) as T;
        if (typeof value === "object" && value !== null) {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.substitute(v)])) as T;
        }
        return value;
    }

    async up(): Promise<void> {
        for (const step of this.steps) await this.apply(step);
    }

    async apply(step: Step): Promise<Created> {
        const started = Date.now();
        const inputs = this.substitute(step.inputs);
        let name: string;
        let detail = "";
        let plan: ContainerPlan | undefined;
        let startResult: Started | undefined;
        switch (step.kind) {
            case "network": {
                assertKnown(step, inputs, ["name", "internal", "driver", "attachable"]);
                name = inputs.name ?? step.resource.name;
                if (inputs.driver !== undefined && !["bridge", "overlay"].includes(inputs.driver)) throw new Error(`network ${name}: driver ${inputs.driver} is not translated`);
                await dockerOk(["network", "create", ...(inputs.internal ? ["--internal"] : []),
                    ...(inputs.driver ? ["--driver", inputs.driver] : []), ...(inputs.attachable ? ["--attachable"] : []), name]);
                // A service joins networks by id; the engine takes the name as well.
                this.substitutions.set(`${step.resource.name}-id`, name);
                const subnet = (await dockerOk(["network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", name])).stdout.trim();
                detail = `${inputs.driver === "overlay" ? "overlay, " : ""}${inputs.attachable ? "attachable, " : ""}${inputs.internal ? "internal, " : ""}subnet ${subnet}`;
                if (step.resource.name === this.o.subnetFrom) {
                    this.substitutions.set(this.o.mockSubnet, subnet.split(" ")[0]);
                    detail += ` (replaces the mocks' ${this.o.mockSubnet})`;
                }
                break;
            }
            case "volume": {
                assertKnown(step, inputs, ["name", "labels"]);
                name = inputs.name ?? step.resource.name;
                const labels = ((inputs.labels ?? []) as { label: string; value: string }[]).flatMap((l) => ["--label", `${l.label}=${l.value}`]);
                await dockerOk(["volume", "create", ...labels, name]);
                break;
            }
            case "remoteImage": {
                assertKnown(step, inputs, ["name", "keepLocally"]);
                name = inputs.name;
                const found = await docker(["image", "inspect", "--format", "{{.Id}} {{index .Config.Labels \"webstack.standin\"}}", name]);
                if (found.code !== 0) {
                    throw new Error(`${name} (docker.RemoteImage ${step.resource.name}) is not on the engine and cannot be pulled here: ` +
                        "build the test stand-ins with tests/standins/build.sh");
                }
                const [id, standin] = found.stdout.trim().split(" ");
                this.substitutions.set(`sha256:${step.resource.name}`, id);
                detail = `${id.slice(0, 19)}${standin === "true" ? ", a test stand-in" : ""}`;
                break;
            }
            case "image": {
                assertKnown(step, inputs, ["imageName", "build", "skipPush", "buildOnPreview"]);
                const build = inputs.build as Record<string, any>;
                for (const key of Object.keys(build)) {
                    if (!["context", "dockerfile", "args"].includes(key)) throw new Error(`image ${step.resource.name}: build.${key} is not translated`);
                }
                name = inputs.imageName;
                const dockerfile = build.dockerfile ?? path.join(build.context, "Dockerfile");
                await this.requireBaseImages(step.resource.name, dockerfile, build.args ?? {});
                const args = ["build", "-t", name, "-f", dockerfile,
                    ...Object.entries((build.args ?? {}) as Record<string, string>).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]), build.context];
                const result = await docker(args, { timeoutMs: 900_000 });
                const logFile = path.join(this.scratch, `build-${step.resource.name}.log`);
                fs.writeFileSync(logFile, result.output);
                if (result.code !== 0) throw new Error(`docker build of ${name} failed (exit ${result.code}); the end of its log:\n${result.output.slice(-3000)}`);
                const cached = (result.output.match(/Using cache/g) ?? []).length;
                const stepsRun = (result.output.match(/^Step \d+\/\d+ :/gm) ?? []).length;
                detail = `${stepsRun} steps, ${cached} from cache`;
                break;
            }
            case "container": {
                plan = translateContainer(step.resource.name, inputs);
                name = plan.name;
                // Tracked before it starts, so that a failed start is still torn down.
                const pending: Created = { step, name, plan, seconds: 0, detail: "starting" };
                this.created.push(pending);
                this.containers.set(step.resource.name, pending);
                startResult = await this.startContainer(plan);
                this.created.splice(this.created.indexOf(pending), 1);
                detail = startResult.detail;
                break;
            }
            case "service": {
                const service = translateService(step.resource.name, inputs, { ipvs: this.ipvs });
                name = service.name;
                const pending: Created = { step, name, service, seconds: 0, detail: "creating" };
                this.created.push(pending);
                this.services.set(step.resource.name, pending);
                await this.createService(service);
                this.created.splice(this.created.indexOf(pending), 1);
                if (service.converge) {
                    await sleep(service.converge.delaySeconds * 1000);
                    const took = await waitConverged(name, service.replicas, service.converge.timeoutSeconds, started);
                    detail = `${service.replicas} replicas converged in ${took.toFixed(1)} s`;
                } else {
                    detail = `${service.replicas} replicas, not waited for (no convergeConfig)`;
                }
                if (service.endpointNote) detail += `; endpoint mode ${service.endpointNote}`;
                break;
            }
            case "command": {
                assertKnown(step, inputs, ["create", "delete", "stdin", "triggers", "logging", "addPreviousOutputInEnv"]);
                name = step.resource.name;
                const result = await run("/bin/sh", ["-c", inputs.create], { input: inputs.stdin, timeoutMs: this.o.commandTimeoutSeconds * 1000 });
                const took = seconds(started);
                this.commands.set(step.resource.name, { code: result.code, output: result.output, seconds: took });
                if (result.code !== 0) {
                    throw new Error(`command ${step.resource.name} ${result.timedOut ? `timed out after ${this.o.commandTimeoutSeconds} s` : `exited with ${result.code}`}:\n${result.output.slice(-4000)}`);
                }
                detail = `exit 0`;
                break;
            }
        }
        const created: Created = { step, name, plan, seconds: seconds(started), detail, startedMs: startResult?.startedMs, healthySeconds: startResult?.healthySeconds };
        if (step.kind === "service") created.service = this.services.get(step.resource.name)!.service;
        this.created.push(created);
        if (step.kind === "container") this.containers.set(step.resource.name, created);
        if (step.kind === "service") this.services.set(step.resource.name, created);
        this.o.log(`created ${step.kind} ${name} in ${created.seconds.toFixed(1)} s${detail ? `: ${detail}` : ""}`);
        return created;
    }

    /** FROM lines of a Dockerfile must name images already on the engine (the stand-ins). */
    private async requireBaseImages(resource: string, dockerfile: string, buildArgs: Record<string, string>): Promise<void> {
        const lines = fs.readFileSync(dockerfile, "utf8").split("\n");
        const args: Record<string, string> = {};
        for (const line of lines) {
            const arg = line.match(/^\s*ARG\s+(\w+)(?:=(\S*))?/i);
            if (arg) args[arg[1]] = buildArgs[arg[1]] ?? arg[2] ?? args[arg[1]] ?? "";
            const from = line.match(/^\s*FROM\s+(\S+)/i);
            if (!from) continue;
            const image = from[1].replace(/\$\{?(\w+)\}?/g, (_, n: string) => args[n] ?? "");
            if ((await docker(["image", "inspect", image])).code !== 0) {
                throw new Error(`${image}, the base of ${dockerfile} (docker.Image ${resource}), is not on the engine and cannot be pulled here: ` +
                    "build the test stand-ins with tests/standins/build.sh");
            }
        }
    }

    /**
     * Creates and starts a container the way the provider does. Returns a one-line summary;
     * `wait` and `attach` are honoured (bounded by waitTimeout and 300 s).
     */
    async startContainer(plan: ContainerPlan): Promise<Started> {
        const envFile = path.join(this.scratch, `${plan.name}.env`);
        fs.writeFileSync(envFile, plan.env.map((e) => `${e}\n`).join(""), { mode: 0o600 });
        try {
            await dockerOk(["create", ...(plan.env.length ? ["--env-file", envFile] : []), ...plan.createArgs]);
        } finally {
            fs.rmSync(envFile, { force: true });
        }
        if (plan.networks.length > 0) {
            // As the provider: created on the default bridge, taken off it, then joined to each network.
            await dockerOk(["network", "disconnect", "bridge", plan.name]);
            for (const n of plan.networks) {
                await dockerOk(["network", "connect", ...n.aliases.flatMap((a) => ["--alias", a]), n.name, plan.name]);
            }
        }
        for (const u of plan.uploads) {
            await dockerOk(["cp", "-", `${plan.name}:/`], { input: tarOf(u.file, u.content, u.mode) });
        }
        const started = Date.now();
        if (plan.attach) {
            const attached = await docker(["start", "-a", plan.name], { timeoutMs: 300_000 });
            const state = await stateOf(plan.name);
            if (attached.timedOut || state?.Running) throw new Error(`attached container ${plan.name} did not finish within 300 s\n${await diagnostics(plan.name)}`);
            const detail = `ran to its end, exit ${state?.ExitCode} in ${seconds(started).toFixed(1)} s; output:\n${attached.output.trimEnd().replace(/^/gm, "      ")}`;
            return { detail, startedMs: started };
        }
        await dockerOk(["start", plan.name]);
        if (plan.wait) {
            const took = await waitHealthy(plan.name, Math.min(plan.wait.timeoutSeconds, 300), started);
            return { detail: `healthy ${took.toFixed(1)} s after start`, startedMs: started, healthySeconds: took };
        }
        await sleep(500);
        const state = await stateOf(plan.name);
        if (plan.mustRun && !state?.Running) throw new Error(`container ${plan.name} is not running after start\n${await diagnostics(plan.name)}`);
        return { detail: state?.Running ? "running" : `${state?.Status}, exit ${state?.ExitCode}`, startedMs: started };
    }

    /**
     * Replaces a container as the program's options say for it: deleteBeforeReplace false and no
     * fixed name, so create-before-delete: a new container under a fresh auto-name is started (and
     * waited for, with `wait`), then the old one is deleted. `phase` hears when each part begins.
     */
    async replaceCreateBeforeDelete(resourceName: string, phase: (p: "create" | "delete" | "done") => void) {
        const old = this.containers.get(resourceName);
        if (old === undefined) throw new Error(`no container ${resourceName} to replace`);
        const dbr = (old.step.resource.opts as any).deleteBeforeReplace;
        if (dbr !== false || old.step.inputs.name !== undefined) {
            throw new Error(`${resourceName} is not replaced create-before-delete (deleteBeforeReplace ${dbr}, name ${old.step.inputs.name})`);
        }
        const plan = translateContainer(resourceName, this.substitute(old.step.inputs));
        phase("create");
        let started: Started;
        try {
            started = await this.startContainer(plan);
        } catch (err) {
            await docker(["rm", "-f", "-v", plan.name]);
            throw err;
        }
        phase("delete");
        const removeSeconds = await this.removeContainer(old.plan!);
        phase("done");
        const replacement: Created = { ...old, name: plan.name, plan, detail: started.detail, startedMs: started.startedMs, healthySeconds: started.healthySeconds };
        this.created[this.created.indexOf(old)] = replacement;
        this.containers.set(resourceName, replacement);
        return { oldName: old.name, newName: plan.name, healthySeconds: started.healthySeconds, removeSeconds };
    }

    /**
     * Replaces a container whose inputs changed (`inputs`, from a new render) as the program's
     * deleteBeforeReplace says: the old one is deleted, then the new one created and started.
     * `phase` hears when each part begins.
     */
    async replaceDeleteBeforeCreate(resourceName: string, inputs: Record<string, any>, phase: (p: "delete" | "create" | "done") => void) {
        const old = this.containers.get(resourceName);
        if (old === undefined) throw new Error(`no container ${resourceName} to replace`);
        if ((old.step.resource.opts as any).deleteBeforeReplace !== true) throw new Error(`${resourceName} is not replaced delete-before-create`);
        phase("delete");
        const removeSeconds = await this.removeContainer(old.plan!);
        const plan = translateContainer(resourceName, this.substitute(inputs));
        phase("create");
        const creating = Date.now();
        const started = await this.startContainer(plan);
        const createSeconds = seconds(creating);
        phase("done");
        const replacement: Created = { ...old, step: { ...old.step, inputs }, name: plan.name, plan, detail: started.detail, startedMs: started.startedMs };
        this.created[this.created.indexOf(old)] = replacement;
        this.containers.set(resourceName, replacement);
        return { removeSeconds, createSeconds };
    }

    /** Deletes one container the program no longer registers, as the provider deletes it. */
    async removeResource(resourceName: string): Promise<number> {
        const c = this.containers.get(resourceName);
        if (c === undefined) throw new Error(`no container ${resourceName} to delete`);
        const took = await this.removeContainer(c.plan!);
        this.created.splice(this.created.indexOf(c), 1);
        this.containers.delete(resourceName);
        return took;
    }

    /** `docker service create` with the environment in an owner-only env file. */
    async createService(p: ServicePlan): Promise<void> {
        const envFile = path.join(this.scratch, `${p.name}.env`);
        fs.writeFileSync(envFile, p.env.map((e) => `${e}\n`).join(""), { mode: 0o600 });
        try {
            const args = serviceCreateArgs(p);
            await dockerOk([...args.slice(0, 2), ...(p.env.length ? ["--env-file", envFile] : []), ...args.slice(2)], { timeoutMs: 120_000 });
        } finally {
            fs.rmSync(envFile, { force: true });
        }
    }

    /**
     * Applies a new render of a service (`inputs`) as the provider updates it in place:
     * `docker service update` with what changed, then, with convergeConfig, waits as the provider
     * does. Returns the update's arguments (secrets masked) and the seconds until converged.
     */
    async updateService(resourceName: string, inputs: Record<string, any>): Promise<{ args: string[]; seconds: number; changed: boolean }> {
        const old = this.services.get(resourceName);
        if (old === undefined) throw new Error(`no service ${resourceName} to update`);
        const started = Date.now();
        const next = translateService(resourceName, this.substitute(inputs), { ipvs: this.ipvs });
        const args = serviceUpdateArgs(old.service!, next);
        const shown = (args ?? []).map((a, i, all) => (all[i - 1] === "--env-add" ? `${a.split("=")[0]}=…` : a));
        if (args !== undefined) {
            this.o.log(`docker ${shown.join(" ")}`);
            await dockerOk(args, { timeoutMs: 120_000 });
            if (next.converge) {
                await sleep(next.converge.delaySeconds * 1000);
                // A change of the task spec rolls the tasks over: wait for that update, not the last one's state.
                const notTask = /^--(detach|no-resolve-image|replicas|label-add|label-rm|endpoint-mode|update-.*|rollback-.*)$/;
                const rolling = args.some((a, i) => i >= 2 && a.startsWith("--") && !notTask.test(a));
                await waitConverged(next.name, next.replicas, next.converge.timeoutSeconds, started, rolling ? { rollingSinceMs: started } : {});
            }
        }
        const updated: Created = { ...old, step: { ...old.step, inputs }, service: next, seconds: seconds(started), detail: args === undefined ? "no change" : "updated" };
        this.created[this.created.indexOf(old)] = updated;
        this.services.set(resourceName, updated);
        return { args: shown, seconds: seconds(started), changed: args !== undefined };
    }

    /** The provider's delete of a service: docker service rm, then wait until its task containers are gone. */
    async removeService(name: string, stopGraceSeconds: number): Promise<number> {
        const started = Date.now();
        const r = await docker(["service", "rm", name], { timeoutMs: 60_000 });
        if (r.code !== 0 && !/not found/i.test(r.output)) throw new Error(`docker service rm ${name}: ${r.output.trim()}`);
        const deadline = Date.now() + (stopGraceSeconds + 60) * 1000;
        let left = await serviceContainers(name);
        while (left.length > 0 && Date.now() < deadline) {
            await sleep(500);
            left = await serviceContainers(name);
        }
        for (const c of left) await docker(["rm", "-f", "-v", c.name], { timeoutMs: 60_000 });
        return seconds(started);
    }

    /** The provider's delete: stop with destroyGraceSeconds when set (and not attached), then rm -f -v. */
    async removeContainer(plan: ContainerPlan): Promise<number> {
        const started = Date.now();
        if (!plan.attach && (plan.destroyGraceSeconds ?? 0) > 0) {
            await docker(["stop", "-t", String(plan.destroyGraceSeconds), plan.name], { timeoutMs: (plan.destroyGraceSeconds! + 60) * 1000 });
        }
        await docker(["rm", "-f", "-v", plan.name], { timeoutMs: 120_000 });
        return seconds(started);
    }

    /** Deletes everything created, in reverse order; images stay (as the provider leaves them). */
    async down(): Promise<string[]> {
        const problems: string[] = [];
        for (const c of [...this.created].reverse()) {
            try {
                switch (c.step.kind) {
                    case "container": {
                        const took = await this.removeContainer(c.plan!);
                        this.o.log(`removed container ${c.name} in ${took.toFixed(1)} s`);
                        break;
                    }
                    case "service": {
                        const took = await this.removeService(c.name, c.service?.stopGraceSeconds ?? 30);
                        this.o.log(`removed service ${c.name} and its tasks in ${took.toFixed(1)} s`);
                        break;
                    }
                    case "command": {
                        const inputs = this.substitute(c.step.inputs);
                        if (inputs.delete) {
                            const r = await run("/bin/sh", ["-c", inputs.delete], { timeoutMs: 120_000 });
                            if (r.code !== 0) problems.push(`delete of command ${c.name} exited with ${r.code}: ${r.output}`);
                        }
                        break;
                    }
                    case "network": {
                        let r = await docker(["network", "rm", c.name]);
                        // An overlay stays "in use" for a moment after the last task container is
                        // gone, until the Swarm releases its endpoints: a bounded retry.
                        for (let i = 0; i < 20 && r.code !== 0 && /in use|active endpoints/.test(r.output); i++) {
                            await sleep(500);
                            r = await docker(["network", "rm", c.name]);
                        }
                        if (r.code !== 0) problems.push(`docker network rm ${c.name}: ${r.output.trim()}`);
                        break;
                    }
                    case "volume": {
                        const r = await docker(["volume", "rm", c.name]);
                        if (r.code !== 0) problems.push(`docker volume rm ${c.name}: ${r.output.trim()}`);
                        break;
                    }
                    default:
                        break;
                }
            } catch (err) {
                problems.push(`${c.step.kind} ${c.name}: ${(err as Error).message}`);
            }
        }
        this.created.length = 0;
        this.containers.clear();
        this.services.clear();
        fs.rmSync(this.scratch, { recursive: true, force: true });
        return problems;
    }
}

function assertKnown(step: Step, inputs: Record<string, any>, known: string[]): void {
    for (const key of Object.keys(inputs)) {
        if (!known.includes(key)) throw new Error(`${step.kind} ${step.resource.name}: input ${key} is not translated`);
    }
}

// ---------------------------------------------------------------------------------------------
// Sweeping by name prefix

export interface Leftovers { services: string[]; containers: string[]; networks: string[]; volumes: string[] }

/**
 * Tears the deployment down and looks for what is left with the prefix: how many resources went
 * (images stay, as with the provider), how long it took, the problems and the leftovers.
 */
export async function tearDown(deployment: Deployment, prefix: string): Promise<{ count: number; seconds: number; problems: string[]; left: Leftovers }> {
    const started = Date.now();
    const count = deployment.created.filter((c) => c.step.kind !== "image" && c.step.kind !== "remoteImage").length;
    const problems = await deployment.down();
    const seconds = (Date.now() - started) / 1000;
    return { count, seconds, problems, left: await leftovers(prefix) };
}

/** Swarm services, containers, networks and volumes whose names start with `prefix` (no services off Swarm mode). */
export async function leftovers(prefix: string): Promise<Leftovers> {
    const names = async (args: string[]) => (await dockerOk(args)).stdout.split("\n").map((s) => s.trim()).filter((s) => s.startsWith(prefix));
    const services = await docker(["service", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`]);
    if (services.code !== 0 && !/not a swarm manager/.test(services.output)) throw new Error(`docker service ls: ${services.output.trim()}`);
    return {
        services: services.code === 0 ? services.stdout.split("\n").map((s) => s.trim()).filter((s) => s.startsWith(prefix)) : [],
        containers: await names(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=${prefix}`]),
        networks: await names(["network", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`]),
        volumes: await names(["volume", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`]),
    };
}

/**
 * Removes whatever carries the prefix (Swarm services first, so that no task is started again,
 * then containers). Synchronous, for exit handlers too.
 */
export function sweepSync(prefix: string): string[] {
    const removed: string[] = [];
    const list = (args: string[]) => (spawnSync(DOCKER, args, { encoding: "utf8", timeout: 30_000 }).stdout ?? "")
        .split("\n").map((s) => s.trim()).filter((s) => s.startsWith(prefix));
    // Off Swarm mode `service ls` fails and lists nothing.
    const services = list(["service", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`]);
    for (const s of services) {
        spawnSync(DOCKER, ["service", "rm", s], { timeout: 60_000 });
        removed.push(`service ${s}`);
    }
    // Their tasks stop within their grace period; bounded (60 s), then the containers go by force.
    for (let i = 0; services.length > 0 && i < 120; i++) {
        const tasks = services.flatMap((s) => list(["ps", "-a", "--format", "{{.Names}}", "--filter", `label=com.docker.swarm.service.name=${s}`]));
        if (tasks.length === 0) break;
        spawnSync("sleep", ["0.5"]);
    }
    for (const c of list(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=${prefix}`])) {
        spawnSync(DOCKER, ["rm", "-f", "-v", c], { timeout: 60_000 });
        removed.push(`container ${c}`);
    }
    for (const n of list(["network", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`])) {
        // An overlay may stay in use for a moment after its last task: a bounded retry.
        for (let i = 0; i < 20; i++) {
            const r = spawnSync(DOCKER, ["network", "rm", n], { encoding: "utf8", timeout: 30_000 });
            if (r.status === 0 || !/in use|active endpoints/.test(r.stderr ?? "")) break;
            spawnSync("sleep", ["0.5"]);
        }
        removed.push(`network ${n}`);
    }
    for (const v of list(["volume", "ls", "--format", "{{.Name}}", "--filter", `name=${prefix}`])) {
        spawnSync(DOCKER, ["volume", "rm", "-f", v], { timeout: 30_000 });
        removed.push(`volume ${v}`);
    }
    return removed;
}
