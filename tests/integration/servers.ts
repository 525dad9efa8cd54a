/**
 * Real servers from Debian packages for the integration tests: a throwaway PostgreSQL 15
 * cluster initialised the way the database image's entrypoint would, gunicorn serving app/,
 * and nginx with a rendered conf.d snippet. Everything listens on 127.0.0.1 on free ports and
 * lives in a temporary directory. Every server started here is also stopped when the test
 * process exits, whatever happened, on top of the suites' own after() hooks.
 *
 * Missing packages make the tests fail (never skip), naming the Debian package to install.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const REPO = path.resolve(__dirname, "..", "..");
export const APP_DIR = path.join(REPO, "app");
export const INITDB_DIR = path.join(REPO, "images", "db", "initdb");
export const PG_BIN = "/usr/lib/postgresql/15/bin";
/**
 * PATH of every child process but the app's: Debian's binaries only (psql, nginx, openssl...).
 */
export const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

let appVenvPath: string | undefined;
/**
 * The virtualenv with the app's pinned requirements from PyPI (app/requirements.txt), as the app
 * image installs them: made once by tests/integration/app-venv.sh, outside the repo.
 */
export function appVenv(): string {
    if (appVenvPath === undefined) {
        const made = spawnSync("bash", [path.join(__dirname, "app-venv.sh")], { encoding: "utf8", timeout: 600_000 });
        if (made.status !== 0) {
            throw new Error(`tests/integration/app-venv.sh could not install app/requirements.txt into a virtualenv:\n${made.stderr}`);
        }
        appVenvPath = made.stdout.trim();
    }
    return appVenvPath;
}
/** The app's interpreter: the virtualenv's python3. */
export const appPython = () => path.join(appVenv(), "bin", "python3");
const IS_ROOT = process.getuid?.() === 0;

// ---------------------------------------------------------------------------------------------
// Prerequisites

/** Fails (does not skip) when `file` is not an executable, naming the Debian package. */
export function requireBinary(file: string, debianPackage: string): void {
    try {
        fs.accessSync(file, fs.constants.X_OK);
    } catch {
        throw new Error(`${file} is missing: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
    }
}

/** Fails when the app's virtualenv cannot import `module` (a requirement missing from app/requirements.txt). */
export function requirePythonModule(module: string): void {
    const probe = spawnSync(appPython(), ["-c", `import ${module}`], { encoding: "utf8" });
    if (probe.status !== 0) {
        throw new Error(`${appPython()} cannot import ${module}: is it in app/requirements.txt?\n${probe.stderr}`);
    }
}

export function requirePostgres(): void {
    for (const bin of ["initdb", "pg_ctl", "postgres"]) requireBinary(`${PG_BIN}/${bin}`, "postgresql-15");
    requireBinary("/usr/bin/psql", "postgresql-client-15");
    requireBinary("/usr/bin/pg_isready", "postgresql-client-15");
    if (!fs.existsSync("/usr/share/postgresql/15/extension/q3c.control")) {
        throw new Error("the q3c extension is missing: install the Debian package postgresql-15-q3c");
    }
    if (IS_ROOT) requireBinary("/usr/sbin/runuser", "util-linux");
}

export function requireDjangoApp(): void {
    for (const module of ["django", "psycopg2", "whitenoise", "gunicorn"]) requirePythonModule(module);
}

// ---------------------------------------------------------------------------------------------
// Processes, ports, temporary directories

const cleanups = new Set<() => void>();

function cleanUpEverything(): void {
    for (const cleanup of [...cleanups].reverse()) {
        try { cleanup(); } catch { /* best effort */ }
    }
}

/**
 * Last resort, on top of the suites' after() hooks: whatever is still running when the test
 * process exits (or is interrupted or terminated, as by a CI timeout) is stopped. Servers do not
 * keep the process alive, so a forgotten one cannot hang the run.
 */
process.on("exit", cleanUpEverything);
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
        cleanUpEverything();
        process.exit(code);
    });
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `webstack-it-${prefix}-`));
    // Traversable by unprivileged server processes (postgres, nginx workers).
    fs.chmodSync(dir, 0o755);
    const remove = () => {
        cleanups.delete(remove);
        fs.rmSync(dir, { recursive: true, force: true });
    };
    cleanups.add(remove);
    return { path: dir, remove };
}

export interface RunResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    /** stdout and stderr, for assertion messages. */
    output: string;
}

export interface RunOptions {
    env?: Record<string, string>;
    cwd?: string;
    input?: string;
    timeoutMs?: number;
    /** Run as this OS user (via runuser) when the tests run as root. */
    user?: string;
}

/** A clean environment: the child sees only what the test hands it, like a container would. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
    return { PATH: SYSTEM_PATH, HOME: os.tmpdir(), LANG: "C.UTF-8", ...extra };
}

/** Runs a command to completion and resolves with its exit status and output (never rejects on exit status). */
export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    let file = command;
    let argv = args;
    if (opts.user !== undefined && IS_ROOT) {
        file = "/usr/sbin/runuser";
        argv = ["-u", opts.user, "--", command, ...args];
    }
    return new Promise((resolve, reject) => {
        const child = spawn(file, argv, {
            env: opts.env ?? baseEnv(),
            cwd: opts.cwd ?? os.tmpdir(),
            stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let output = "";
        child.stdout!.on("data", (d: Buffer) => { stdout += d; output += d; });
        child.stderr!.on("data", (d: Buffer) => { stderr += d; output += d; });
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
        child.on("error", (err) => { clearTimeout(timer); reject(err); });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr, output });
        });
        if (opts.input !== undefined) {
            // A child that exits without reading its input must not fail the run with EPIPE.
            child.stdin!.on("error", () => undefined);
            child.stdin!.end(opts.input);
        }
    });
}

/** Runs a command that must succeed; rejects with its output otherwise. */
export async function runOk(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const result = await run(command, args, opts);
    if (result.code !== 0) {
        throw new Error(`${command} ${args.join(" ")} exited with ${result.code ?? result.signal}:\n${result.output}`);
    }
    return result;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

function canConnect(port: number, host: string): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ port, host });
        socket.setTimeout(1000);
        socket.once("connect", () => { socket.destroy(); resolve(true); });
        socket.once("timeout", () => { socket.destroy(); resolve(false); });
        socket.once("error", () => { socket.destroy(); resolve(false); });
    });
}

/** Waits until something accepts TCP connections on host:port; fails early if `child` exits. */
export async function waitForPort(port: number, opts: { host?: string; timeoutMs?: number; child?: ManagedProcess } = {}): Promise<void> {
    const host = opts.host ?? "127.0.0.1";
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
        if (opts.child !== undefined && opts.child.exited) {
            throw new Error(`${opts.child.name} exited (${opts.child.exitStatus}) before listening on ${host}:${port}:\n${opts.child.log}`);
        }
        if (await canConnect(port, host)) return;
        if (Date.now() > deadline) {
            throw new Error(`nothing listens on ${host}:${port} after ${opts.timeoutMs ?? 30_000} ms` +
                (opts.child ? `; ${opts.child.name} says:\n${opts.child.log}` : ""));
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** A long-running child process (its own process group), with its output kept for diagnostics. */
export class ManagedProcess {
    readonly child: ChildProcess;
    log = "";
    exited = false;
    exitStatus: string = "";
    private readonly done: Promise<void>;
    private readonly cleanup: () => void;

    constructor(readonly name: string, command: string, args: string[], opts: { env: Record<string, string>; cwd: string }) {
        this.child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
        const keep = (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20_000); };
        this.child.stdout!.on("data", keep);
        this.child.stderr!.on("data", keep);
        // Neither the child nor its output keeps the test process alive (see cleanUpEverything).
        this.child.unref();
        (this.child.stdout as unknown as { unref?: () => void }).unref?.();
        (this.child.stderr as unknown as { unref?: () => void }).unref?.();
        this.done = new Promise((resolve) => {
            this.child.on("error", (err) => { this.log += `\nspawn error: ${err.message}`; this.exited = true; this.exitStatus = err.message; resolve(); });
            this.child.on("exit", (code, signal) => { this.exited = true; this.exitStatus = String(code ?? signal); resolve(); });
        });
        this.cleanup = () => this.signalGroup("SIGKILL");
        cleanups.add(this.cleanup);
    }

    private signalGroup(signal: NodeJS.Signals): void {
        if (this.exited || this.child.pid === undefined) return;
        try { process.kill(-this.child.pid, signal); } catch { /* already gone */ }
    }

    /** Sends `signal` to the process group, then SIGKILL if it is still there after `graceMs`. */
    async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
        if (!this.exited) {
            this.signalGroup(signal);
            const timer = setTimeout(() => this.signalGroup("SIGKILL"), graceMs);
            await this.done;
            clearTimeout(timer);
        }
        // Workers of a killed master: make sure the whole group is gone.
        if (this.child.pid !== undefined) {
            try { process.kill(-this.child.pid, "SIGKILL"); } catch { /* gone */ }
        }
        cleanups.delete(this.cleanup);
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export interface PostgresOptions {
    /**
     * The database container's environment as the program renders it (POSTGRES_USER,
     * POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_EXTRA_EXTENSIONS...).
     */
    containerEnv: Record<string, string>;
    /** Scripts run once after initialisation, like /docker-entrypoint-initdb.d/. Default: images/db/initdb. */
    initdbDir?: string;
}

/**
 * A PostgreSQL 15 cluster prepared the way the official postgres image's entrypoint prepares an
 * empty data directory: POSTGRES_USER is the bootstrap superuser with POSTGRES_PASSWORD, password
 * (scram) authentication over TCP and trust on the local socket, POSTGRES_DB created, then the
 * initdb.d scripts run in order on POSTGRES_DB (.sql with psql -f, executable .sh executed,
 * other .sh sourced) with the container's environment.
 */
export class Postgres {
    readonly user: string;
    readonly password: string;
    readonly database: string;
    readonly dataDir: string;
    readonly socketDir: string;
    readonly logFile: string;
    /** Output of each initdb.d script, by file name. */
    readonly initOutput: Record<string, string> = {};
    running = false;
    private readonly cleanup: () => void;

    private constructor(readonly port: number, readonly dir: string, readonly containerEnv: Record<string, string>) {
        this.user = containerEnv.POSTGRES_USER ?? "postgres";
        this.password = containerEnv.POSTGRES_PASSWORD ?? "";
        this.database = containerEnv.POSTGRES_DB ?? this.user;
        this.dataDir = path.join(dir, "data");
        this.socketDir = path.join(dir, "sock");
        this.logFile = path.join(dir, "postgres.log");
        this.cleanup = () => {
            if (this.running) spawnSync(this.asPostgres(`${PG_BIN}/pg_ctl`), this.asPostgresArgs(`${PG_BIN}/pg_ctl`, ["stop", "-D", this.dataDir, "-m", "immediate"]));
        };
        cleanups.add(this.cleanup);
    }

    static async start(opts: PostgresOptions): Promise<Postgres> {
        requirePostgres();
        const tmp = tempDir("pg");
        const pg = new Postgres(await freePort(), tmp.path, opts.containerEnv);
        fs.mkdirSync(pg.socketDir);
        const pwfile = path.join(tmp.path, "pwfile");
        fs.writeFileSync(pwfile, `${pg.password}\n`, { mode: 0o600 });
        if (IS_ROOT) {
            for (const p of [tmp.path, pg.socketDir, pwfile]) fs.chownSync(p, postgresUid(), postgresGid());
        }
        await runOk(`${PG_BIN}/initdb`, [
            "-D", pg.dataDir, `--username=${pg.user}`, `--pwfile=${pwfile}`,
            "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C",
        ], { user: "postgres", cwd: tmp.path });
        fs.rmSync(pwfile);
        await pg.startServer();

        // docker_setup_db: CREATE DATABASE :"db" unless it is "postgres".
        if (pg.database !== "postgres") {
            await runOk("psql", [...pg.socketArgs("postgres"), "--set", `db=${pg.database}`], {
                env: pg.socketEnv(), input: 'CREATE DATABASE :"db" ;\n',
            });
        }
        // docker_process_init_files, on POSTGRES_DB, with the container's environment.
        const initdbDir = opts.initdbDir ?? INITDB_DIR;
        const env = { ...pg.socketEnv(), ...opts.containerEnv };
        for (const name of fs.readdirSync(initdbDir).sort()) {
            const file = path.join(initdbDir, name);
            let result: RunResult;
            if (name.endsWith(".sql")) {
                result = await runOk("psql", [...pg.socketArgs(pg.database), "-f", file], { env });
            } else if (name.endsWith(".sh")) {
                const executable = (fs.statSync(file).mode & 0o111) !== 0;
                result = executable
                    ? await runOk(file, [], { env })
                    : await runOk("bash", ["-c", '. "$1"', "docker-entrypoint.sh", file], { env });
            } else {
                throw new Error(`${file}: the tests only know how to run .sql and .sh init scripts; teach servers.ts the new kind`);
            }
            pg.initOutput[name] = result.output;
        }
        return pg;
    }

    private asPostgres(command: string): string {
        return IS_ROOT ? "/usr/sbin/runuser" : command;
    }

    private asPostgresArgs(command: string, args: string[]): string[] {
        return IS_ROOT ? ["-u", "postgres", "--", command, ...args] : args;
    }

    /** Starts (or restarts) the server on 127.0.0.1:port, with the socket in socketDir. */
    async startServer(): Promise<void> {
        const options = [
            "-c listen_addresses=127.0.0.1",
            `-c port=${this.port}`,
            `-c unix_socket_directories=${this.socketDir}`,
            // A throwaway cluster: durability is not under test.
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
        ].join(" ");
        await runOk(`${PG_BIN}/pg_ctl`, ["start", "-w", "-t", "60", "-D", this.dataDir, "-l", this.logFile, "-o", options], {
            user: "postgres", cwd: this.dir,
        });
        this.running = true;
    }

    /** pg_ctl stop (fast shutdown), waiting until the server is gone. */
    async stopServer(): Promise<void> {
        if (!this.running) return;
        await runOk(`${PG_BIN}/pg_ctl`, ["stop", "-w", "-D", this.dataDir, "-m", "fast"], { user: "postgres", cwd: this.dir });
        this.running = false;
    }

    /** Stops the server and removes the cluster. */
    async destroy(): Promise<void> {
        try {
            await this.stopServer();
        } finally {
            cleanups.delete(this.cleanup);
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }

    log(): string {
        try { return fs.readFileSync(this.logFile, "utf8"); } catch { return ""; }
    }

    private socketEnv(): Record<string, string> {
        return baseEnv({ PGHOST: this.socketDir, PGPORT: String(this.port), PGPASSWORD: this.password });
    }

    /** How the entrypoint's docker_process_sql calls psql. */
    private socketArgs(database: string): string[] {
        return ["-v", "ON_ERROR_STOP=1", "--username", this.user, "--no-password", "--no-psqlrc", "--dbname", database];
    }

    /** Environment for clients that connect like the app: TCP and password. */
    tcpEnv(extra: Record<string, string> = {}): Record<string, string> {
        return baseEnv({ PGHOST: "127.0.0.1", PGPORT: String(this.port), PGUSER: this.user, PGPASSWORD: this.password, PGDATABASE: this.database, ...extra });
    }

    /** Runs SQL as POSTGRES_USER over TCP; resolves with unaligned, tuples-only output. */
    async query(sql: string, database = this.database): Promise<string> {
        const result = await runOk("psql", ["-X", "-v", "ON_ERROR_STOP=1", "-At", "-F", "|", "-d", database, "-c", sql], { env: this.tcpEnv() });
        return result.stdout.trim();
    }

    /** The app's view of this server: the program's environment with host and port pointed here. */
    appOverrides(): Record<string, string> {
        return {
            POSTGRES_HOST: "127.0.0.1",
            POSTGRES_PORT: String(this.port),
        };
    }
}

let uidCache: { uid: number; gid: number } | undefined;
function postgresIds(): { uid: number; gid: number } {
    if (uidCache === undefined) {
        const line = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
        if (line === undefined) throw new Error("there is no postgres OS user: install the Debian package postgresql-15");
        const fields = line.split(":");
        uidCache = { uid: Number(fields[2]), gid: Number(fields[3]) };
    }
    return uidCache;
}
const postgresUid = () => postgresIds().uid;
const postgresGid = () => postgresIds().gid;

// ---------------------------------------------------------------------------------------------
// The app: release step and gunicorn

/**
 * The app container's environment with the test's places substituted: the database at
 * 127.0.0.1:port, static and media in temporary directories. Everything else is the program's.
 */
export function appEnv(containerEnv: Record<string, string>, overrides: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {
        // What the app image sets itself (app/Dockerfile).
        PYTHONDONTWRITEBYTECODE: "1",
        PYTHONUNBUFFERED: "1",
        ...containerEnv,
        ...overrides,
        // `python3` and `gunicorn` in the program's commands are the app's, as in its image.
        PATH: `${path.join(appVenv(), "bin")}:${SYSTEM_PATH}`,
    };
    // Keep DATABASE_URL consistent with the POSTGRES_* it duplicates.
    if (containerEnv.DATABASE_URL !== undefined) {
        env.DATABASE_URL = `postgres://${env.POSTGRES_USER}:${encodeURIComponent(env.POSTGRES_PASSWORD)}@${env.POSTGRES_HOST}:${env.POSTGRES_PORT}/${env.POSTGRES_DB}`;
    }
    return baseEnv(env);
}

/** Runs a command in app/ (the image's WORKDIR) with the given environment. */
export function runInApp(command: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<RunResult> {
    return run(command[0], command.slice(1), { env, cwd: APP_DIR, timeoutMs });
}

/** Replaces the value of `--bind` (or `-b`) in a gunicorn command line. */
export function withBind(command: string[], bind: string): string[] {
    const i = command.findIndex((a) => a === "--bind" || a === "-b");
    if (i >= 0) return [...command.slice(0, i + 1), bind, ...command.slice(i + 2)];
    const j = command.findIndex((a) => a.startsWith("--bind="));
    if (j >= 0) return [...command.slice(0, j), `--bind=${bind}`, ...command.slice(j + 1)];
    return [command[0], "--bind", bind, ...command.slice(1)];
}

export class Gunicorn {
    private constructor(readonly process: ManagedProcess, readonly port: number) {}

    /** Starts the web container's command in app/, bound to 127.0.0.1:port instead of its own bind. */
    static async start(command: string[], env: Record<string, string>, port?: number): Promise<Gunicorn> {
        requireDjangoApp();
        const listen = port ?? await freePort();
        const argv = withBind(command, `127.0.0.1:${listen}`);
        const proc = new ManagedProcess("gunicorn", argv[0], argv.slice(1), {
            // Two workers are plenty here (gunicorn.conf.py defaults to 2 x CPUs + 1).
            env: { GUNICORN_WORKERS: "2", ...env },
            cwd: APP_DIR,
        });
        await waitForPort(listen, { child: proc, timeoutMs: 30_000 });
        return new Gunicorn(proc, listen);
    }

    stop(): Promise<void> {
        return this.process.stop("SIGTERM", 15_000);
    }
}

// ---------------------------------------------------------------------------------------------
// nginx

/** The official nginx image's /etc/nginx/nginx.conf, as the image ships it. */
export const OFFICIAL_NGINX_CONF = path.join(__dirname, "..", "fixtures", "nginx", "official-nginx.conf");
/** Debian's own main config, from the nginx package. */
export const DEBIAN_NGINX_CONF = "/etc/nginx/nginx.conf";

/**
 * A real main configuration (the official image's, or Debian's) with only its paths moved into
 * `prefix`: every http-level directive stays as shipped, so a conf.d file that repeats one is
 * refused here just as in the image. Throws when a path it must move is not there.
 */
export function relocateMainConfig(source: string, prefix: string, workerProcesses: number | "auto"): string {
    let text = source;
    const replace = (pattern: RegExp, replacement: string, required = true) => {
        if (required && !pattern.test(text)) throw new Error(`main config: no match for ${pattern}`);
        text = text.replace(pattern, replacement);
    };
    const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .map((kind) => `    ${kind}_temp_path ${path.join(prefix, `${kind}_temp`)};`).join("\n");
    replace(/^\s*user\s+[^;]+;/m, IS_ROOT ? "user nobody nogroup;" : "");
    replace(/^\s*worker_processes\s+[^;]+;/m, `worker_processes ${workerProcesses};\ndaemon off;`);
    replace(/^\s*pid\s+[^;]+;/m, `pid ${path.join(prefix, "nginx.pid")};`);
    replace(/^(\s*)error_log\s+[^;]+;/gm, `$1error_log ${path.join(prefix, "error.log")} notice;`);
    replace(/^(\s*)access_log\s+[^\s;]+/gm, `$1access_log ${path.join(prefix, "access.log")}`);
    replace(/^(\s*)include\s+\/etc\/nginx\/conf\.d\/\*\.conf;/m, `$1include ${path.join(prefix, "conf.d")}/*.conf;`);
    // Debian's default site (port 80) is not part of the contract.
    replace(/^\s*include\s+\/etc\/nginx\/sites-enabled\/\*;/m, "", false);
    replace(/^http\s*\{/m, `http {\n${temp}`);
    return text;
}

/**
 * nginx running a conf.d snippet inside a real main configuration (the official image's by
 * default, or Debian's), with every path in a temporary prefix.
 */
export class Nginx {
    readonly confFile: string;
    process?: ManagedProcess;

    private constructor(readonly prefix: string) {
        this.confFile = path.join(prefix, "nginx.conf");
    }

    /**
     * Writes the configuration; does not start anything. One worker unless `workerProcesses`
     * says otherwise ("auto", as in the official image, is one per core: the benchmark's choice).
     */
    static prepare(site: string, dir: string, workerProcesses: number | "auto" = 1, mainConfig = OFFICIAL_NGINX_CONF): Nginx {
        requireBinary("/usr/sbin/nginx", "nginx");
        const prefix = path.join(dir, "nginx");
        fs.mkdirSync(path.join(prefix, "conf.d"), { recursive: true });
        fs.chmodSync(prefix, 0o755);
        fs.writeFileSync(path.join(prefix, "conf.d", "default.conf"), site);
        fs.writeFileSync(path.join(prefix, "nginx.conf"), relocateMainConfig(fs.readFileSync(mainConfig, "utf8"), prefix, workerProcesses));
        return new Nginx(prefix);
    }

    private args(extra: string[] = []): string[] {
        return ["-p", `${this.prefix}/`, "-c", this.confFile, "-e", path.join(this.prefix, "error.log"), ...extra];
    }

    /** nginx -t on this configuration. */
    test(): Promise<RunResult> {
        return run("/usr/sbin/nginx", this.args(["-t"]));
    }

    async start(waitPorts: number[]): Promise<void> {
        this.process = new ManagedProcess("nginx", "/usr/sbin/nginx", this.args(), { env: baseEnv(), cwd: this.prefix });
        for (const port of waitPorts) await waitForPort(port, { child: this.process, timeoutMs: 15_000 });
    }

    errorLog(): string {
        try { return fs.readFileSync(path.join(this.prefix, "error.log"), "utf8"); } catch { return ""; }
    }

    async stop(): Promise<void> {
        await this.process?.stop("SIGTERM", 10_000);
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    rawHeaders: string[];
    /** The body as received (not decompressed). */
    body: Buffer;
}

/** One HTTP/1.1 request with the path sent exactly as given (no normalisation), no decompression. */
export function httpRequest(port: number, method: string, requestPath: string, headers: Record<string, string> = {}, body?: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: requestPath, method, headers, agent: false, timeout: 10_000 }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${requestPath} on port ${port} timed out`)));
        req.on("error", reject);
        req.end(body);
    });
}

export function httpGet(port: number, requestPath: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return httpRequest(port, "GET", requestPath, headers);
}

/** name=value of each Set-Cookie header. */
export function cookies(res: HttpResponse): Record<string, string> {
    const set = res.headers["set-cookie"] ?? [];
    return Object.fromEntries(set.map((c) => c.split(";")[0]).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
}
