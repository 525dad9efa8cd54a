/**
 * The settings Pulumi.yaml cannot declare, because they are maps (its types are string,
 * integer, boolean and array): appSecrets, appWorkers, accessories and webRoutes. Each parser
 * checks its map and adds one line per problem, naming the key as the CLI's --path spells it.
 */
import * as pulumi from "@pulumi/pulumi";
import { buildContextProblem } from "./buildContext";
import type { Settings } from "./settings";
import * as v from "./validators";

/** Environment variables the program sets itself; appEnvironment may not override them. */
export const RESERVED_ENVIRONMENT = [
    "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_SECURE_PROXY_SSL_HEADER", "DJANGO_STATIC_ROOT", "DJANGO_STATIC_URL", "DJANGO_MEDIA_ROOT",
    "DJANGO_MEDIA_URL", "DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD",
    "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "DATABASE_URL",
    "FORWARDED_ALLOW_IPS", "DJANGO_SECURE_COOKIES",
];

export const ACCESSORY_KINDS = ["redis", "rabbitmq", "flower", "pgadmin"] as const;
export type AccessoryKind = (typeof ACCESSORY_KINDS)[number];
const ADMIN_UIS: AccessoryKind[] = ["flower", "pgadmin"];

/** webRoutes: other web containers (a frontend beside the API), each under a path prefix of its own. */
export function parseWebRoutes(raw: unknown, key: (n: string) => string, problems: string[]): Settings["webRoutes"] {
    if (raw === undefined) return [];
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        problems.push(`${key("webRoutes")}: expected a map of names to { image or context, port, path }, for example \`pulumi config set --path 'webRoutes.frontend.path' /app/\``);
        return [];
    }
    const routes: Settings["webRoutes"] = [];
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
        const at = `${key("webRoutes")}.${name}`;
        if (!/^[a-z][a-z0-9-]{0,30}$/.test(name) || RESERVED_WORKER_NAMES.includes(name) || (ACCESSORY_KINDS as readonly string[]).includes(name)) {
            problems.push(`${at}: a route name is lower-case letters, digits and -, and not one of the stack's containers (${[...RESERVED_WORKER_NAMES, ...ACCESSORY_KINDS].join(", ")})`);
            continue;
        }
        const r = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
        const unknown = Object.keys(r).filter((k) => !["image", "context", "dockerfile", "port", "path", "healthcheckPath"].includes(k));
        if (unknown.length > 0) problems.push(`${at}: unknown field ${unknown.join(", ")}; expected image or context (and dockerfile), port, path, healthcheckPath`);
        const check = <T>(field: string, parse: (value: string) => T, fallback?: string): T | undefined => {
            const given = r[field] === undefined ? fallback : String(r[field]);
            if (given === undefined) {
                problems.push(`${at}.${field}: is required`);
                return undefined;
            }
            try {
                return parse(given);
            } catch (err) {
                problems.push(`${at}.${field}: expected ${(err as Error).message}, got ${JSON.stringify(r[field])}`);
                return undefined;
            }
        };
        if ((r.image === undefined) === (r.context === undefined)) {
            problems.push(`${at}: set either image (a pinned reference) or context (a directory to build), not ${r.image === undefined ? "neither" : "both"}`);
            continue;
        }
        const image = r.image === undefined ? undefined : check("image", v.imageReference);
        const context = r.context === undefined ? undefined : check("context", v.directoryPath);
        const dockerfile = check("dockerfile", v.relativePath, "Dockerfile");
        const port = check("port", v.integer(1, 65535));
        const path = check("path", (x) => (x === "/" ? x : v.urlPrefix(x)));
        const healthcheckPath = check("healthcheckPath", v.urlPath, "/");
        if (context !== undefined && dockerfile !== undefined) {
            const why = buildContextProblem(context, dockerfile);
            if (why !== undefined) problems.push(`${at}.context: ${why}`);
        }
        if (port === undefined || path === undefined || healthcheckPath === undefined || dockerfile === undefined) continue;
        routes.push({ name, image, context, dockerfile, port, path, healthcheckPath });
    }
    return routes;
}

/** accessories: known kinds, pinned versions, admin UIs only behind a path of their own. */
export function parseAccessories(raw: unknown, key: (n: string) => string, problems: string[]): Settings["accessories"] {
    if (raw === undefined) return [];
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        problems.push(`${key("accessories")}: expected a map of ${ACCESSORY_KINDS.join(", ")} to { version, path }, for example \`pulumi config set --path 'accessories.redis.version' 7.4.1\``);
        return [];
    }
    const found: Settings["accessories"] = [];
    for (const [kind, value] of Object.entries(raw as Record<string, unknown>)) {
        const at = `${key("accessories")}.${kind}`;
        if (!(ACCESSORY_KINDS as readonly string[]).includes(kind)) {
            problems.push(`${at}: unknown accessory; expected one of ${ACCESSORY_KINDS.join(", ")}`);
            continue;
        }
        const a = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
        const unknown = Object.keys(a).filter((k) => !["version", "path"].includes(k));
        if (unknown.length > 0) problems.push(`${at}: unknown field ${unknown.join(", ")}; expected version, path`);
        const version = a.version;
        if (typeof version !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version) || version === "latest") {
            problems.push(`${at}.version: an accessory needs its image tag pinned, such as 7.4.1; set it with \`pulumi config set --path 'accessories.${kind}.version' <tag>\``);
            continue;
        }
        const path = a.path;
        if (path !== undefined) {
            if (!ADMIN_UIS.includes(kind as AccessoryKind)) {
                problems.push(`${at}.path: only the admin UIs (${ADMIN_UIS.join(", ")}) are served by the proxy; a broker is never exposed`);
                continue;
            }
            if (typeof path !== "string" || !/^\/([A-Za-z0-9._~-]+\/)+$/.test(path)) {
                problems.push(`${at}.path: expected a URL prefix with leading and trailing slashes such as /${kind}/`);
                continue;
            }
        }
        found.push({ kind: kind as AccessoryKind, version, ...(typeof path === "string" ? { path } : {}) });
    }
    const kinds = found.map((a) => a.kind);
    if (kinds.includes("flower") && !kinds.includes("redis") && !kinds.includes("rabbitmq")) {
        problems.push(`${key("accessories")}.flower: Flower watches a Celery broker; add redis or rabbitmq`);
    }
    return found;
}

/** Container names the stack uses itself; a worker may not take one. */
const RESERVED_WORKER_NAMES = ["db", "web", "proxy", "backup", "autoheal", "prune", "release", "certbot"];

/** appWorkers: each worker's command, healthcheck, stop grace and schedule, checked. */
export function parseWorkers(raw: unknown, key: (n: string) => string, problems: string[]): Settings["app"]["workers"] {
    if (raw === undefined) return [];
    const example = "pulumi config set --path 'appWorkers.celery.command[0]' celery";
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        problems.push(`${key("appWorkers")}: expected a map of worker names to { command, healthcheck, stopGraceSeconds, schedule }; set it with \`${example}\` (then [1], ...) or in the stack file`);
        return [];
    }
    const workers: Settings["app"]["workers"] = [];
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
        const at = `${key("appWorkers")}.${name}`;
        if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) {
            problems.push(`${at}: a worker name is lower-case letters, digits and -, such as celery or beat`);
            continue;
        }
        if (RESERVED_WORKER_NAMES.includes(name)) {
            problems.push(`${at}: ${name} is a container of the stack itself; choose another name`);
            continue;
        }
        const w = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
        const unknown = Object.keys(w).filter((k) => !["command", "healthcheck", "stopGraceSeconds", "schedule"].includes(k));
        if (unknown.length > 0) problems.push(`${at}: unknown field ${unknown.join(", ")}; expected command, healthcheck, stopGraceSeconds, schedule`);
        const isList = (x: unknown) => Array.isArray(x) && x.every((i) => typeof i === "string");
        if (!isList(w.command) || (w.command as string[]).length === 0) {
            problems.push(`${at}.command: a worker needs its command as a list, for example \`pulumi config set --path 'appWorkers.${name}.command[0]' celery\``);
            continue;
        }
        if (w.healthcheck !== undefined && !isList(w.healthcheck)) problems.push(`${at}.healthcheck: expected a command as a list of strings (exec form, without CMD)`);
        if (w.healthcheck === undefined && w.schedule === undefined) {
            problems.push(`${at}.healthcheck: a long-running worker needs a healthcheck so that autoheal and operators see it fail, ` +
                `for example ["celery", "-A", "config", "inspect", "ping"], or for beat ["sh", "-c", "find celerybeat-schedule -mmin -10 | grep -q ."]`);
        }
        const grace = w.stopGraceSeconds ?? 30;
        if (typeof grace !== "number" || !Number.isInteger(grace) || grace < 1 || grace > 3600) {
            problems.push(`${at}.stopGraceSeconds: expected a whole number from 1 to 3600, got ${JSON.stringify(grace)}`);
        }
        if (w.schedule !== undefined) {
            const why = typeof w.schedule === "string" ? v.cronProblem(w.schedule) : "expected a string";
            if (why !== undefined) problems.push(`${at}.schedule: expected a cron expression such as "0 3 * * *" (UTC); ${why}`);
        }
        workers.push({
            name,
            command: w.command as string[],
            healthcheck: isList(w.healthcheck) ? w.healthcheck as string[] : [],
            stopGraceSeconds: typeof grace === "number" ? grace : 30,
            ...(typeof w.schedule === "string" ? { schedule: w.schedule.trim() } : {}),
        });
    }
    return workers;
}

/** The app's own secrets: names checked, values secret. */
export function parseAppSecrets(raw: unknown, key: (n: string) => string, problems: string[]): Record<string, pulumi.Output<string>> {
    const how = "set each with `pulumi config set --secret --path 'appSecrets.NAME' <value>`";
    if (raw === undefined) return {};
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        problems.push(`${key("appSecrets")}: expected a map of NAME to secret value; ${how}`);
        return {};
    }
    const secrets: Record<string, pulumi.Output<string>> = {};
    for (const [name, value] of Object.entries(raw)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
            problems.push(`${key("appSecrets")}: ${JSON.stringify(name)} is not an environment variable name such as SMTP_PASSWORD`);
        } else if (RESERVED_ENVIRONMENT.includes(name)) {
            problems.push(`${key("appSecrets")}: ${name} is set by the program itself; use the stack's own secret settings (dbPassword, djangoSecretKey, superuserPassword)`);
        } else if (typeof value !== "string" || value.includes("\n")) {
            problems.push(`${key("appSecrets")}: ${name} must be a one-line string; ${how}`);
        } else {
            secrets[name] = pulumi.secret(value);
        }
    }
    return secrets;
}
