import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OperatorError } from "./errors";
import { attach, capture, Captured } from "./processes";
import { Operations } from "./stack";

/** A POSIX shell word. */
export const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The docker CLI pointed at the stack's engine the way the docker provider reaches it: the local
 * engine (DOCKER_HOST or the default socket), or ssh://user@host with the stack's ssh options.
 */
export class Engine {
    private constructor(private readonly env: NodeJS.ProcessEnv, readonly description: string, private readonly tempDir?: string) {}

    static connect(ops: Operations): Engine {
        if (ops.dockerHost === "") return new Engine(process.env, "the local Docker engine");
        if (!ops.dockerHost.startsWith("ssh://")) {
            throw new OperatorError(`the stack's docker host '${ops.dockerHost}' is not an ssh:// URL; redeploy with this version (pulumi up)`);
        }
        const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: ops.dockerHost };
        if (ops.sshOptions.length === 0) return new Engine(env, ops.dockerHost);
        // DOCKER_HOST=ssh:// runs the `ssh` on PATH and has no way to pass options (the key, the
        // stack's known_hosts file): a wrapper first on PATH adds them.
        const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "webstack-ssh-"));
        const realSsh = findOnPath("ssh", process.env.PATH ?? "");
        if (realSsh === undefined) {
            fs.rmSync(tempDir, { recursive: true, force: true });
            throw new OperatorError("'ssh' is not on PATH: install an OpenSSH client (the stack's host is reached over ssh)");
        }
        fs.writeFileSync(path.join(tempDir, "ssh"), `#!/bin/sh\nexec ${shellQuote(realSsh)} ${ops.sshOptions.map(shellQuote).join(" ")} "$@"\n`, { mode: 0o755 });
        env.PATH = `${tempDir}${path.delimiter}${process.env.PATH ?? ""}`;
        return new Engine(env, ops.dockerHost, tempDir);
    }

    docker(args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<Captured> {
        return capture("docker", args, { env: this.env, ...o });
    }

    /** A docker command whose failure is the operator's problem: throws its last error line. */
    async dockerOk(args: string[], what: string, o: { input?: string; timeoutMs?: number } = {}): Promise<string> {
        const result = await this.docker(args, o);
        if (result.code !== 0) {
            const reason = result.stderr.trim().split("\n").pop() || `exit ${result.code}`;
            if (/Cannot connect to the Docker daemon|Is the docker daemon running|connection refused|error during connect/i.test(result.stderr)) {
                throw new OperatorError(`cannot reach ${this.description} (${what}): ${reason}`);
            }
            throw new OperatorError(`${what} failed: ${reason}`);
        }
        return result.stdout;
    }

    /** A docker process with piped output, for streams the caller reads itself. */
    spawn(args: string[]): ChildProcess {
        return spawn("docker", args, { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    }

    attach(args: string[]): Promise<number> {
        return attach("docker", args, { env: this.env });
    }

    close(): void {
        if (this.tempDir !== undefined) fs.rmSync(this.tempDir, { recursive: true, force: true });
    }
}

function findOnPath(file: string, searchPath: string): string | undefined {
    for (const dir of searchPath.split(path.delimiter)) {
        const candidate = path.join(dir, file);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            continue;
        }
    }
    return undefined;
}

/** The container of a service, or one sentence naming the services there are. */
export function containerOf(ops: Operations, service: string): string {
    const name = ops.services[service];
    if (name === undefined) {
        throw new OperatorError(`unknown service '${service}'; this stack has ${Object.keys(ops.services).join(", ")}`);
    }
    return name;
}

export interface ContainerInfo {
    Name: string;
    Image: string;
    Created: string;
    Config: { Image: string; Env: string[] | null; Entrypoint: string[] | null; User: string; WorkingDir: string };
    State: { Status: string; Running: boolean; StartedAt: string; ExitCode: number; Health?: { Status: string } };
    RestartCount: number;
}

/** `docker inspect` of the given containers; the ones not on the host are left out. */
export async function inspect(engine: Engine, names: string[]): Promise<Map<string, ContainerInfo>> {
    const result = await engine.docker(["inspect", "--type", "container", ...names]);
    if (result.code !== 0 && !/No such (object|container)/i.test(result.stderr)) {
        await engine.dockerOk(["version", "--format", "{{.Server.Version}}"], "docker version");
        throw new OperatorError(`docker inspect failed: ${result.stderr.trim().split("\n").pop()}`);
    }
    const found: ContainerInfo[] = result.stdout.trim() === "" ? [] : JSON.parse(result.stdout);
    return new Map(found.map((c) => [c.Name.replace(/^\//, ""), c]));
}
