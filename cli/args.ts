import { UsageError } from "./errors";

export interface OptionSpec {
    /** Long name without dashes; its value is a string, or true for a flag. */
    name: string;
    short?: string;
    takesValue?: boolean;
}

export interface Parsed {
    options: Record<string, string | true>;
    positionals: string[];
    /** Everything after the first positional (or after "--") when the command passes it on. */
    rest: string[];
}

/**
 * Parses a command's arguments. With `passThrough`, parsing stops at the first positional, the
 * first option this CLI does not know, or "--": what follows belongs to the command being run
 * (`manage migrate --plan`, `dbshell -c 'select 1'`), except a `--stack NAME` before any "--".
 */
export function parseArgs(argv: string[], spec: OptionSpec[], o: { passThrough?: boolean } = {}): Parsed {
    const options: Record<string, string | true> = {};
    const positionals: string[] = [];
    const byLong = new Map(spec.map((s) => [s.name, s]));
    const byShort = new Map(spec.filter((s) => s.short !== undefined).map((s) => [s.short!, s]));
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--") {
            return { options, positionals, rest: argv.slice(i + 1) };
        }
        if (arg.startsWith("--") || (arg.startsWith("-") && arg.length === 2)) {
            const long = arg.startsWith("--");
            const [key, inline] = long ? splitOnce(arg.slice(2)) : [arg.slice(1), undefined];
            const option = long ? byLong.get(key) : byShort.get(key);
            // A command's own options (`dbshell -c ...`) begin what is passed on.
            if (option === undefined && o.passThrough) return { options, positionals, rest: withoutStack(argv.slice(i), options) };
            if (option === undefined) {
                throw new UsageError(`unknown option '${arg}'${spec.length ? `; this command takes ${spec.map((s) => `--${s.name}`).join(", ")}` : ""}`);
            }
            if (option.takesValue) {
                const value = inline ?? argv[++i];
                if (value === undefined || value === "") throw new UsageError(`option --${option.name} needs a value`);
                options[option.name] = value;
            } else {
                if (inline !== undefined) throw new UsageError(`option --${option.name} takes no value`);
                options[option.name] = true;
            }
            continue;
        }
        if (o.passThrough) return { options, positionals, rest: withoutStack(argv.slice(i), options) };
        positionals.push(arg);
    }
    return { options, positionals, rest: [] };
}

/**
 * `--stack NAME` after a passed-on command (`manage migrate --stack prod`) is still this CLI's, as
 * operators write it last; after "--" everything is the command's.
 */
function withoutStack(rest: string[], options: Record<string, string | true>): string[] {
    const kept: string[] = [];
    for (let i = 0; i < rest.length; i++) {
        if (rest[i] === "--") return [...kept, ...rest.slice(i + 1)];
        if (rest[i] === "--stack" && i + 1 < rest.length) {
            options.stack = rest[++i];
        } else if (rest[i].startsWith("--stack=")) {
            options.stack = rest[i].slice("--stack=".length);
        } else {
            kept.push(rest[i]);
        }
    }
    return kept;
}

function splitOnce(s: string): [string, string | undefined] {
    const eq = s.indexOf("=");
    return eq < 0 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
}

/** The option every command takes: which Pulumi stack (default: the selected one). */
export const STACK_OPTION: OptionSpec = { name: "stack", short: "s", takesValue: true };
export const YES_OPTION: OptionSpec = { name: "yes", short: "y" };
export const HELP_OPTION: OptionSpec = { name: "help", short: "h" };

export const stackOf = (p: Parsed) => (typeof p.options.stack === "string" ? p.options.stack : undefined);
