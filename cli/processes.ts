import { spawn } from "child_process";
import { OperatorError } from "./errors";

export interface Captured { code: number; stdout: string; stderr: string }

/** What to install when a program is missing. */
const PROVIDED_BY: Record<string, string> = {
    pulumi: "install the Pulumi CLI (https://www.pulumi.com/docs/install/)",
    docker: "install the Docker CLI (Debian/Ubuntu: apt-get install docker.io; macOS: Docker Desktop)",
};

function missing(file: string): OperatorError {
    return new OperatorError(`'${file}' is not on PATH: ${PROVIDED_BY[file] ?? `install ${file}`}`);
}

/** Runs a program to its end and returns its output; never throws on an exit status. */
export function capture(file: string, args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Captured> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { env: o.env ?? process.env, stdio: [o.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d: Buffer) => { stdout += d; });
        child.stderr!.on("data", (d: Buffer) => { stderr += d; });
        const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), o.timeoutMs);
        child.on("error", (err: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            reject(err.code === "ENOENT" ? missing(file) : err);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code: code ?? (signal === "SIGKILL" && o.timeoutMs !== undefined ? 124 : 1), stdout, stderr });
        });
        if (o.input !== undefined) child.stdin!.end(o.input);
    });
}

/**
 * Runs a program on the operator's terminal (stdin, stdout and stderr passed through) and
 * returns its exit code: a command's own status is the CLI's status.
 */
export function attach(file: string, args: string[], o: { env?: NodeJS.ProcessEnv } = {}): Promise<number> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { env: o.env ?? process.env, stdio: "inherit" });
        // The child gets the terminal's Ctrl-C itself; the CLI waits for it to finish.
        const ignore = () => undefined;
        process.on("SIGINT", ignore);
        const done = () => process.removeListener("SIGINT", ignore);
        child.on("error", (err: NodeJS.ErrnoException) => { done(); reject(err.code === "ENOENT" ? missing(file) : err); });
        child.on("close", (code, signal) => { done(); resolve(code ?? (signal === "SIGINT" ? 130 : 1)); });
    });
}
