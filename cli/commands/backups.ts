import { Parsed } from "../args";
import { containerOf, Engine } from "../engine";
import { UsageError } from "../errors";
import { Operations } from "../stack";

/** A backup now, as the schedule takes it: the database dump and the media archive. */
export function backup(engine: Engine, ops: Operations, p: Parsed): Promise<number> {
    if (p.positionals.length > 0) throw new UsageError(`backup takes no arguments (got '${p.positionals[0]}'); --list shows the backups`);
    const container = containerOf(ops, "backup");
    if (p.options.list === true) {
        return engine.attach(["exec", container, "sh", "-c", `cd ${ops.backupDir} && ls -l --time-style=+%Y-%m-%dT%H:%M:%S -- *.dump *.tar.gz 2>/dev/null || echo "no backups in ${ops.backupDir}"`]);
    }
    return engine.attach(["exec", container, "/usr/local/bin/backup.sh"]);
}

export function restoreArgs(ops: Operations, p: Parsed): string[] {
    if (p.positionals.length > 1) throw new UsageError("restore takes one backup name (or latest)");
    const name = p.positionals[0] ?? "latest";
    if (!/^[\w.:-]+$/.test(name) || name.startsWith(".")) {
        throw new UsageError(`'${name}' is not a backup's file name (such as app-20261130T030000Z.dump, media-20261130T030000Z.tar.gz) or latest`);
    }
    return [
        "exec", "--interactive", containerOf(ops, "backup"), "/usr/local/bin/restore.sh",
        ...(p.options.media === true ? ["--media"] : []),
        ...(p.options.force === true ? ["--force"] : []),
        name,
    ];
}

/** Restores a dump (or with --media an archive) through the backup container's checks. */
export function restore(engine: Engine, ops: Operations, p: Parsed): Promise<number> {
    return engine.attach(restoreArgs(ops, p));
}
