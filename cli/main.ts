/**
 * bin/webstack: the operator's commands for a deployed stack. Each reads the stack's outputs
 * (`pulumi stack output --json`) and reaches its Docker engine the way the docker provider does.
 */
import { HELP_OPTION, OptionSpec, parseArgs, Parsed, stackOf, STACK_OPTION, YES_OPTION } from "./args";
import { backup, restore } from "./commands/backups";
import { maintenance, rollback } from "./commands/deploys";
import { logs } from "./commands/logs";
import { appCommand, dbshellArgs, runOneOff } from "./commands/oneOff";
import { gatherStatus, renderStatus } from "./commands/status";
import { Engine } from "./engine";
import { OperatorError, UsageError } from "./errors";
import { readStack, StackInfo } from "./stack";

interface Command {
    summary: string;
    usage: string;
    details: string;
    options: OptionSpec[];
    passThrough?: boolean;
    run(engine: () => Engine, stack: StackInfo, p: Parsed): Promise<number>;
}

const tty = () => process.stdin.isTTY === true && process.stdout.isTTY === true;

export const COMMANDS: Record<string, Command> = {
    status: {
        summary: "each container's health, uptime and image; last backups, disks, certificate",
        usage: "status",
        details: "One screen about the deployed stack. Read-only.",
        options: [],
        run: async (engine, stack) => {
            process.stdout.write(renderStatus(stack, await gatherStatus(engine(), stack.operations)));
            return 0;
        },
    },
    logs: {
        summary: "a service's logs (all services when none is named)",
        usage: "logs [SERVICE] [--follow] [--since 10m] [--tail N]",
        details: "SERVICE is one of the stack's services (db, web, proxy, backup, autoheal, workers, accessories, routes;\n" +
            "`bin/webstack status` lists them). Without one, every service's lines, prefixed and in time order\n" +
            "(the last 100 of each unless --since or --tail says otherwise).",
        options: [{ name: "follow", short: "f" }, { name: "since", takesValue: true }, { name: "tail", short: "n", takesValue: true }],
        run: (engine, stack, p) => logs(engine(), stack.operations, p),
    },
    run: {
        summary: "a command in a one-off container of the current app image",
        usage: "run COMMAND [ARGS...]",
        details: "Runs COMMAND in a new container from the image the web container runs, with its environment\n" +
            "(secrets included), its volumes and its entrypoint, on the backend network (the database; no\n" +
            "route out, like the release step). The container is removed afterwards; its exit code is returned.",
        options: [],
        passThrough: true,
        run: (engine, stack, p) => runOneOff(engine(), stack.operations, p.rest),
    },
    manage: {
        summary: "python3 manage.py ARGS in a one-off container (Django apps)",
        usage: "manage DJANGO_COMMAND [ARGS...]",
        details: "`bin/webstack run python3 manage.py ...`: for example `manage migrate --plan`, `manage createsuperuser`.",
        options: [],
        passThrough: true,
        run: (engine, stack, p) => runOneOff(engine(), stack.operations, appCommand(stack.operations, "manage", p.rest)),
    },
    shell: {
        summary: "Django's shell (sh for other apps) in a one-off container",
        usage: "shell [ARGS...]",
        details: "`manage.py shell` for appKind django, `sh` otherwise; ARGS are passed on (`shell -c 'print(1)'`).",
        options: [],
        passThrough: true,
        run: (engine, stack, p) => runOneOff(engine(), stack.operations, appCommand(stack.operations, "shell", p.rest)),
    },
    dbshell: {
        summary: "psql on the app's database, as the app's role",
        usage: "dbshell [PSQL ARGS...]",
        details: "Runs psql in the database container (the server's own version), for example\n`dbshell -c 'select count(*) from django_migrations'`.",
        options: [],
        passThrough: true,
        run: (engine, stack, p) => engine().attach(dbshellArgs(stack.operations, p.rest, tty())),
    },
    backup: {
        summary: "a verified backup now (database dump and media archive), or --list",
        usage: "backup [--list]",
        details: "Runs the backup container's backup.sh, as the daily schedule does: a checked pg_dump and media\n" +
            "archive with their .sha256, kept for backupRetentionDays and uploaded to the bucket if there is one.",
        options: [{ name: "list" }],
        run: (engine, stack, p) => backup(engine(), stack.operations, p),
    },
    restore: {
        summary: "restore a database dump, or with --media a media archive",
        usage: "restore [--media] [--force] [NAME|latest]",
        details: "NAME is a backup's file name (`bin/webstack backup --list`), from the host or the bucket; default\n" +
            "latest. The file is checked (checksum, full read) before anything is touched. A non-empty database\n" +
            "or media volume is refused without --force; with --force a database restore replaces the objects\n" +
            "in the dump in one transaction. Put the site in maintenance first (`bin/webstack maintenance on`).",
        options: [{ name: "media" }, { name: "force" }],
        run: (engine, stack, p) => restore(engine(), stack.operations, p),
    },
    rollback: {
        summary: "back to the previous app image, through pulumi up",
        usage: "rollback [--to IMAGE] [--yes] | rollback --clear [--yes]",
        details: "Sets rollbackImage to the newest other image of the app on the host (or --to IMAGE) and runs\n" +
            "`pulumi up`: the release step runs with that image, then the web container is replaced, and the\n" +
            "state says what runs. --clear removes rollbackImage and deploys appContext again. Without --yes,\n" +
            "pulumi shows its preview and asks first.",
        options: [{ name: "to", takesValue: true }, { name: "clear" }, YES_OPTION],
        run: (engine, stack, p) => rollback(engine(), stack.operations, {
            stack: stack.name, to: p.options.to as string | undefined, clear: p.options.clear === true, yes: p.options.yes === true,
        }),
    },
    maintenance: {
        summary: "maintenance mode on or off (the proxy answers 503), through pulumi up",
        usage: "maintenance [on|off] [--yes]",
        details: "Sets the maintenance setting and runs `pulumi up`; without on|off, says whether it is on.\n" +
            "Health endpoints, static and media files keep working.",
        options: [YES_OPTION],
        run: (_engine, stack, p) => {
            if (p.positionals.length > 1) throw new UsageError("maintenance takes on or off");
            return maintenance(stack.operations, { stack: stack.name, state: p.positionals[0], yes: p.options.yes === true });
        },
    },
};

export function mainHelp(): string {
    const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
    return [
        "Usage: bin/webstack COMMAND [--stack STACK] [ARGS...]",
        "",
        "The operator's commands for a deployed stack. They read the stack's outputs with",
        "`pulumi stack output --json` (STACK, or Pulumi's selected stack) and reach its Docker engine",
        "like the docker provider does: the local engine, or ssh with the stack's user and key.",
        "",
        "Commands:",
        ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
        "",
        "`bin/webstack COMMAND --help` shows a command's options. run, manage, shell and dbshell pass",
        "their arguments on, except --stack NAME; after `--` everything goes to the command.",
        "",
    ].join("\n");
}

export function commandHelp(name: string): string {
    const c = COMMANDS[name];
    return [
        `Usage: bin/webstack ${c.usage} [--stack STACK]`,
        "",
        c.details,
        "",
        "  --stack, -s STACK  the Pulumi stack (default: the selected stack)",
        "",
    ].join("\n");
}

/** Runs one command line; returns the exit code. Problems are one sentence on stderr. */
export async function main(argv: string[]): Promise<number> {
    const [name, ...args] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        process.stdout.write(mainHelp());
        return name === undefined ? 2 : 0;
    }
    let engine: Engine | undefined;
    try {
        const command = COMMANDS[name];
        if (command === undefined) throw new UsageError(`unknown command '${name}'; the commands are ${Object.keys(COMMANDS).join(", ")}`);
        const p = parseArgs(args, [STACK_OPTION, HELP_OPTION, ...command.options], { passThrough: command.passThrough });
        if (p.options.help === true) {
            process.stdout.write(commandHelp(name));
            return 0;
        }
        const stack = await readStack(stackOf(p));
        return await command.run(() => (engine ??= Engine.connect(stack.operations)), stack, p);
    } catch (err) {
        if (err instanceof OperatorError) {
            process.stderr.write(`webstack ${name}: ${err.message}\n`);
            return err.exitCode;
        }
        throw err;
    } finally {
        engine?.close();
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: Error) => {
        process.stderr.write(`webstack: unexpected error: ${err.stack ?? err.message}\n`);
        process.exitCode = 70;
    });
}
