import { Parsed } from "../args";
import { containerOf, Engine } from "../engine";
import { OperatorError, UsageError } from "../errors";
import { Operations } from "../stack";

/** docker logs --since accepts a duration (10m, 1h30m), RFC 3339 times and Unix seconds. */
const SINCE = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$|^\d+(\.\d+)?$/;

export interface LogsRequest { services: string[]; follow: boolean; since?: string; tail?: string }

/** Which services, and the docker logs options, from the arguments; one sentence when wrong. */
export function logsRequest(ops: Operations, p: Parsed): LogsRequest {
    if (p.positionals.length > 1) throw new UsageError("logs takes at most one service; leave it out for all of them");
    const since = p.options.since as string | undefined;
    if (since !== undefined && !SINCE.test(since)) {
        throw new UsageError(`--since '${since}' is not a duration (10m, 2h, 1h30m), a date (2026-11-30, 2026-11-30T08:00:00Z) or Unix seconds`);
    }
    const tail = p.options.tail as string | undefined;
    if (tail !== undefined && tail !== "all" && !/^\d+$/.test(tail)) throw new UsageError(`--tail '${tail}' is not a number of lines or "all"`);
    const services = p.positionals.length === 1 ? [p.positionals[0]] : Object.keys(ops.services);
    for (const service of services) containerOf(ops, service);
    // All services at once: the last 100 lines of each unless the operator says otherwise.
    const defaultTail = p.positionals.length === 0 && since === undefined ? "100" : undefined;
    return { services, follow: p.options.follow === true, since, tail: tail ?? defaultTail };
}

/** docker logs for a container, docker service logs for the Swarm web service. */
export function logsArgs(container: string, r: LogsRequest, timestamps: boolean, service = false): string[] {
    return [
        ...(service ? ["service", "logs"] : ["logs"]),
        ...(r.follow ? ["--follow"] : []),
        ...(r.since === undefined ? [] : ["--since", r.since]),
        ...(r.tail === undefined ? [] : ["--tail", r.tail]),
        ...(timestamps ? ["--timestamps"] : []),
        container,
    ];
}

const isService = (ops: Operations, service: string) => service === "web" && ops.webKind === "service";

/** Lines of several services, ordered by docker's timestamps, each prefixed with its service. */
export function mergeLogs(streams: { service: string; text: string }[]): string[] {
    const width = Math.max(...streams.map((s) => s.service.length));
    const lines = streams.flatMap((s) => s.text.split("\n").filter((l) => l !== "").map((line, i) => {
        const space = line.indexOf(" ");
        return { at: line.slice(0, space), order: i, text: `${s.service.padEnd(width)} | ${line.slice(space + 1)}` };
    }));
    return lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).map((l) => l.text);
}

export async function logs(engine: Engine, ops: Operations, p: Parsed): Promise<number> {
    const request = logsRequest(ops, p);
    if (request.services.length === 1) {
        return engine.attach(logsArgs(containerOf(ops, request.services[0]), request, false, isService(ops, request.services[0])));
    }
    if (!request.follow) {
        const streams = [];
        for (const service of request.services) {
            const result = await engine.docker(logsArgs(ops.services[service], request, true, isService(ops, service)));
            if (result.code !== 0 && /No such container/i.test(result.stderr)) continue;
            if (result.code !== 0) throw new OperatorError(`docker logs ${ops.services[service]} failed: ${result.stderr.trim()}`);
            streams.push({ service, text: result.stdout + result.stderr });
        }
        for (const line of mergeLogs(streams)) process.stdout.write(`${line}\n`);
        return 0;
    }
    return followAll(engine, ops, request);
}

/** --follow of every service: one docker logs each, lines prefixed as they come, until Ctrl-C. */
function followAll(engine: Engine, ops: Operations, request: LogsRequest): Promise<number> {
    const width = Math.max(...request.services.map((s) => s.length));
    return new Promise((resolve) => {
        let open = request.services.length;
        const children = request.services.map((service) => {
            const child = engine.spawn(logsArgs(ops.services[service], request, false, isService(ops, service)));
            for (const stream of [child.stdout!, child.stderr!]) {
                let partial = "";
                stream.on("data", (d: Buffer) => {
                    const lines = (partial + d.toString()).split("\n");
                    partial = lines.pop()!;
                    for (const line of lines) process.stdout.write(`${service.padEnd(width)} | ${line}\n`);
                });
            }
            child.on("close", () => { if (--open === 0) resolve(0); });
            return child;
        });
        process.once("SIGINT", () => { for (const c of children) c.kill("SIGTERM"); resolve(130); });
    });
}
