import { ContainerInfo, containerOf, Engine, inspect, shellQuote } from "../engine";
import { Operations, StackInfo } from "../stack";

export interface BackupFile { name: string; bytes: number; at: Date }
export interface Disk { filesystem: string; mount: string; usedPercent: number; sizeBytes: number }

/** A Swarm service as `docker service ls --format '{{json .}}'` shows it. */
export interface ServiceFacts { Name: string; Replicas: string; Image: string }

export interface StatusFacts {
    now: Date;
    containers: Map<string, ContainerInfo>;
    /** Swarm services (the web tier with webReplicas or swarmWorkers), by name. */
    services?: Map<string, ServiceFacts>;
    backups?: BackupFile[];
    disks?: Disk[];
    /** The certificate's end date; a string says why it is unknown. */
    certificate?: Date | string;
}

export function humanBytes(n: number): string {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return `${unit === 0 ? value : value.toFixed(value >= 10 ? 0 : 1)} ${units[unit]}`;
}

export function humanAge(ms: number): string {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 90) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 90) return `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${m % 60} min`;
    return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `find -printf '%T@ %s %f\n'` lines. */
export function parseBackupListing(text: string): BackupFile[] {
    return text.split("\n").map((l) => l.trim().match(/^(\d+)(?:\.\d+)? (\d+) (.+)$/)).filter((m): m is RegExpMatchArray => m !== null)
        .map((m) => ({ at: new Date(Number(m[1]) * 1000), bytes: Number(m[2]), name: m[3] }))
        .filter((f) => /\.(dump|tar\.gz)$/.test(f.name) && !f.name.startsWith("."));
}

/** `df -Pk` output. */
export function parseDf(text: string): Disk[] {
    return text.split("\n").slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 6)
        .map((f) => ({ filesystem: f[0], mount: f.slice(5).join(" "), usedPercent: Number(f[4].replace("%", "")), sizeBytes: Number(f[1]) * 1024 }));
}

/** The one screen: containers, maintenance/rollback, last backups, disks, certificate. */
export function renderStatus(stack: StackInfo, facts: StatusFacts): string {
    const ops = stack.operations;
    const rows = Object.entries(ops.services).map(([service, name]) => {
        const swarm = facts.services?.get(name);
        if (swarm !== undefined) {
            const [running, desired] = swarm.Replicas.split("/").map((n) => Number.parseInt(n, 10));
            return [service, name, `service, ${swarm.Replicas} replicas${running < desired ? " (CONVERGING or FAILING)" : ""}`, "-", "-", swarm.Image];
        }
        const c = facts.containers.get(name);
        if (c === undefined) return [service, name, "missing", "-", "-", "-"];
        const state = c.State.Running ? "running" : `${c.State.Status} (exit ${c.State.ExitCode})`;
        const uptime = c.State.Running ? humanAge(facts.now.getTime() - Date.parse(c.State.StartedAt)) : "-";
        const restarts = c.RestartCount > 0 ? `, ${c.RestartCount} restarts` : "";
        return [service, name, state + restarts, c.State.Health?.Status ?? "-", uptime, c.Config.Image];
    });
    const header = ["SERVICE", "CONTAINER", "STATE", "HEALTH", "UPTIME", "IMAGE"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join("  ");
    const out = [
        `${stack.name ?? "selected stack"}: ${stack.siteUrl ?? ops.siteHost}  (${ops.dockerHost || "local Docker"})`,
        "",
        line(header),
        ...rows.map(line),
        "",
        `maintenance  ${ops.maintenance ? "ON: the proxy answers 503" : "off"}`,
        `app image    ${ops.appImage}${ops.imageSource === "rollbackImage" ? "  (ROLLED BACK: bin/webstack rollback --clear deploys appContext again)" : ""}`,
    ];
    for (const [label, test] of [["last dump", (n: string) => n.endsWith(".dump")], ["last media", (n: string) => n.endsWith(".tar.gz")]] as const) {
        if (facts.backups === undefined) { out.push(`${label.padEnd(12)} unknown (the backup container did not answer)`); continue; }
        const last = facts.backups.filter((f) => test(f.name)).sort((a, b) => b.at.getTime() - a.at.getTime())[0];
        out.push(`${label.padEnd(12)} ${last === undefined ? "none yet" : `${last.name}, ${humanBytes(last.bytes)}, ${humanAge(facts.now.getTime() - last.at.getTime())} ago`}`);
    }
    if (facts.disks === undefined || facts.disks.length === 0) {
        out.push("disk         unknown (the backup container did not answer)");
    } else {
        for (const d of facts.disks) out.push(`disk         ${d.mount}: ${d.usedPercent}% of ${humanBytes(d.sizeBytes)} used${d.usedPercent > 85 ? "  (over 85%)" : ""}`);
    }
    const cert = facts.certificate;
    out.push(`certificate  ${!ops.tls ? "none (tls off)" : cert instanceof Date ? `expires ${cert.toISOString().slice(0, 10)}, in ${Math.floor((cert.getTime() - facts.now.getTime()) / 86_400_000)} days` : `unknown (${cert ?? "not checked"})`}`);
    return `${out.join("\n")}\n`;
}

export async function gatherStatus(engine: Engine, ops: Operations): Promise<StatusFacts> {
    const containers = await inspect(engine, Object.values(ops.services));
    const facts: StatusFacts = { now: new Date(), containers };
    if (ops.webKind === "service") {
        const listed = await engine.docker(["service", "ls", "--filter", `name=${ops.services.web}`, "--format", "{{json .}}"]);
        if (listed.code === 0) {
            facts.services = new Map(listed.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as ServiceFacts).map((s) => [s.Name, s]));
        }
    }
    const backup = containerOf(ops, "backup");
    if (containers.get(backup)?.State.Running !== true) return facts;
    const exec = (script: string) => engine.docker(["exec", backup, "sh", "-c", script], { timeoutMs: 30_000 });
    const listing = await exec(`find ${shellQuote(ops.backupDir)} -maxdepth 1 -type f -printf '%T@ %s %f\\n'`);
    if (listing.code === 0) facts.backups = parseBackupListing(listing.stdout);
    const df = await exec(`df -Pk ${shellQuote(ops.backupDir)}; [ ! -d /media ] || df -Pk /media | tail -n +2`);
    if (df.code === 0) facts.disks = dedupeDisks(parseDf(df.stdout));
    if (ops.tls && ops.services.proxy !== undefined) {
        const probe = await exec(`command -v openssl >/dev/null || { echo 'no openssl in the backup image' >&2; exit 3; }; ` +
            `openssl s_client -connect ${shellQuote(`${ops.services.proxy}:443`)} -servername ${shellQuote(ops.siteHost)} </dev/null 2>/dev/null | openssl x509 -noout -enddate`);
        const end = probe.stdout.match(/notAfter=(.+)/);
        facts.certificate = probe.code === 0 && end ? new Date(end[1].trim()) : (probe.stderr.trim() || `openssl exit ${probe.code}`);
    }
    return facts;
}

/** The backups directory and the media volume are one disk on a local engine: show it once. */
export function dedupeDisks(disks: Disk[]): Disk[] {
    return disks.filter((d, i) => disks.findIndex((o) => o.filesystem === d.filesystem) === i);
}
