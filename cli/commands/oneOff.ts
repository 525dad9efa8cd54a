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

/** What the web tier runs: the one-off container copies it. */
export interface AppRuntime {
    /** An image id or reference. */
    image: string;
    env: string[];
    entrypoint: string[];
    user: string;
    workdir: string;
    /** docker run options that give the one-off container the web tier's volumes. */
    volumes: string[];
}

/** The runtime of a web container (single host). */
export function containerRuntime(web: ContainerInfo): AppRuntime {
    return {
        image: web.Image,
        env: web.Config.Env ?? [],
        entrypoint: web.Config.Entrypoint ?? [],
        user: web.Config.User,
        workdir: web.Config.WorkingDir,
        volumes: ["--volumes-from", web.Name.replace(/^\//, "")],
    };
}

/** `docker service inspect`'s Spec.TaskTemplate.ContainerSpec, the parts a one-off container copies. */
export interface ServiceContainerSpec {
    Image: string;
    Env?: string[];
    Command?: string[];
    User?: string;
    Dir?: string;
    Mounts?: { Type: string; Source?: string; Target: string; ReadOnly?: boolean }[];
}

/** The runtime of a web service's tasks (Swarm): its volumes as --mount options. */
export function serviceRuntime(spec: ServiceContainerSpec): AppRuntime {
    return {
        image: spec.Image,
        env: spec.Env ?? [],
        entrypoint: spec.Command ?? [],
        user: spec.User ?? "",
        workdir: spec.Dir ?? "",
        volumes: (spec.Mounts ?? []).flatMap((m) => ["--mount", [`type=${m.Type}`, ...(m.Source ? [`source=${m.Source}`] : []), `target=${m.Target}`, ...(m.ReadOnly ? ["readonly"] : [])].join(",")]),
    };
}

/**
 * `docker run` for a one-off container from the image the web tier runs, with its environment
 * (envFilePath), its volumes and its entrypoint, on the backend network (the database, no route
 * out: like the release step), removed when it ends.
 */
export function oneOffArgs(o: { ops: Operations; app: AppRuntime; envFilePath: string; command: string[]; tty: boolean; name: string }): string[] {
    const { app } = o;
    return [
        "run", "--rm", "--interactive", ...(o.tty ? ["--tty"] : []),
        "--name", o.name,
        "--label", "webstack.one-off=true",
        "--env-file", o.envFilePath,
        ...app.volumes,
        "--network", o.ops.backendNetwork,
        ...(app.user ? ["--user", app.user] : []),
        ...(app.workdir ? ["--workdir", app.workdir] : []),
        ...(app.entrypoint.length > 0 ? ["--entrypoint", app.entrypoint[0]] : []),
        app.image,
        ...app.entrypoint.slice(1),
        ...o.command,
    ];
}

/** The web tier's runtime, from its container or (Swarm) its service; one sentence when it is not there. */
export async function webRuntime(engine: Engine, ops: Operations): Promise<AppRuntime> {
    const name = containerOf(ops, "web");
    if (ops.webKind === "service") {
        const result = await engine.docker(["service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec}}", name]);
        if (result.code !== 0) throw new OperatorError(`the web service ${name} is not on ${engine.description}; deploy the stack first (pulumi up)`);
        return serviceRuntime(JSON.parse(result.stdout));
    }
    const web = (await inspect(engine, [name])).get(name);
    if (web === undefined) throw new OperatorError(`the web container ${name} is not on ${engine.description}; deploy the stack first (pulumi up)`);
    return containerRuntime(web);
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
    const app = await webRuntime(engine, ops);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "webstack-run-"));
    try {
        const envFilePath = path.join(dir, "env");
        fs.writeFileSync(envFilePath, envFile(app.env), { mode: 0o600 });
        const name = `${ops.prefix}-run-${crypto.randomBytes(3).toString("hex")}`;
        const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
        return await engine.attach(oneOffArgs({ ops, app, envFilePath, command, tty, name }));
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
