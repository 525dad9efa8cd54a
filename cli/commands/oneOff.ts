import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ContainerInfo, containerOf, Engine, inspect } from "../engine";
import { OperatorError, UsageError } from "../errors";
import { Operations } from "../stack";

/**
 * The environment file for a one-off container: the web container's variables, one per line.
 * docker's --env-file has no quoting, so a value with a line break cannot be passed that way.
 */
export function envFile(env: string[]): string {
    const broken = env.find((entry) => /[\r\n]/.test(entry));
    if (broken !== undefined) {
        throw new OperatorError(`the app's variable ${broken.split("=")[0]} holds a line break, which docker's --env-file cannot pass; keep such values in a file in the image or a volume`);
    }
    return env.map((entry) => `${entry}\n`).join("");
}

/**
 * `docker run` for a one-off container from the image the web container runs, with its
 * environment (envFilePath), its volumes (--volumes-from) and its entrypoint, on the backend
 * network (the database, no route out: like the release step), removed when it ends.
 */
export function oneOffArgs(o: { ops: Operations; web: ContainerInfo; envFilePath: string; command: string[]; tty: boolean; name: string }): string[] {
    const entrypoint = o.web.Config.Entrypoint ?? [];
    return [
        "run", "--rm", "--interactive", ...(o.tty ? ["--tty"] : []),
        "--name", o.name,
        "--label", "webstack.one-off=true",
        "--env-file", o.envFilePath,
        "--volumes-from", o.web.Name.replace(/^\//, ""),
        "--network", o.ops.backendNetwork,
        ...(o.web.Config.User ? ["--user", o.web.Config.User] : []),
        ...(o.web.Config.WorkingDir ? ["--workdir", o.web.Config.WorkingDir] : []),
        ...(entrypoint.length > 0 ? ["--entrypoint", entrypoint[0]] : []),
        o.web.Image,
        ...entrypoint.slice(1),
        ...o.command,
    ];
}

/** What `manage` and `shell` run for the stack's kind of app. */
export function appCommand(ops: Operations, command: "manage" | "shell", args: string[]): string[] {
    if (command === "shell") return ops.appKind === "django" ? ["python3", "manage.py", "shell", ...args] : ["sh", ...args];
    if (ops.appKind !== "django") {
        throw new OperatorError(`manage runs Django's manage.py, and this stack's app is appKind ${ops.appKind}; use \`bin/webstack run <command>\``);
    }
    if (args.length === 0) throw new UsageError("manage needs a Django command, for example `bin/webstack manage migrate --plan`");
    return ["python3", "manage.py", ...args];
}

/** Runs a command in a one-off app container and returns its exit code. */
export async function runOneOff(engine: Engine, ops: Operations, command: string[]): Promise<number> {
    if (command.length === 0) throw new UsageError("run needs a command, for example `bin/webstack run python3 manage.py check`");
    const webName = containerOf(ops, "web");
    const web = (await inspect(engine, [webName])).get(webName);
    if (web === undefined) {
        throw new OperatorError(`the web container ${webName} is not on ${engine.description}; deploy the stack first (pulumi up)`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "webstack-run-"));
    try {
        const envFilePath = path.join(dir, "env");
        fs.writeFileSync(envFilePath, envFile(web.Config.Env ?? []), { mode: 0o600 });
        const name = `${ops.prefix}-run-${crypto.randomBytes(3).toString("hex")}`;
        const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
        return await engine.attach(oneOffArgs({ ops, web, envFilePath, command, tty, name }));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** psql in the database container, as the app's role, on the app's database. */
export function dbshellArgs(ops: Operations, args: string[], tty: boolean): string[] {
    return [
        "exec", "--interactive", ...(tty ? ["--tty"] : []),
        containerOf(ops, "db"),
        "psql", "--username", ops.database.user, "--dbname", ops.database.name, ...args,
    ];
}
