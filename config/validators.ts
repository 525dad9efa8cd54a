import * as net from "net";

/** A value that does not have the expected form. The message names the form. */
export class InvalidValue extends Error {}

export function oneOf<T extends string>(choices: readonly T[]) {
    return (value: string): T => {
        if (!(choices as readonly string[]).includes(value)) {
            throw new InvalidValue(`one of ${choices.join(", ")}`);
        }
        return value as T;
    };
}

export function integer(min: number, max: number, hint = "") {
    return (value: string): number => {
        if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
            throw new InvalidValue(`a whole number from ${min} to ${max}${hint}`);
        }
        return Number(value);
    };
}

export function boolean(value: string): boolean {
    if (value !== "true" && value !== "false") throw new InvalidValue("true or false");
    return value === "true";
}

/** Parsers of `type: array` keys carry this mark, so errors can show how lists are set. */
export const LIST = Symbol("list");
export type ListParser = ((value: string) => string[]) & { [LIST]: true };
const asList = (parse: (value: string) => string[]): ListParser => Object.assign(parse, { [LIST]: true as const });
export const isListParser = (parse: unknown): boolean => typeof parse === "function" && LIST in parse;

export const stringList = asList(function stringList(value: string): string[] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        throw new InvalidValue("a list of strings");
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
        throw new InvalidValue("a list of strings");
    }
    return parsed as string[];
});

/** A list whose every item passes `check`; the error names the first bad item. */
export function listOf(check: (item: string) => unknown, form: string): ListParser {
    return asList((value: string): string[] => {
        const items = stringList(value);
        for (const item of items) {
            try {
                check(item);
            } catch {
                throw new InvalidValue(`a list of ${form}; ${JSON.stringify(item)} is not one`);
            }
        }
        return items;
    });
}

export function matching(pattern: RegExp, form: string) {
    return (value: string): string => {
        if (!pattern.test(value)) throw new InvalidValue(form);
        return value;
    };
}

/** Empty means "not set"; anything else must pass `check`. */
export function optional<T>(check: (value: string) => T) {
    return (value: string): T | undefined => (value === "" ? undefined : check(value));
}

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
export const domainName = matching(
    new RegExp(`^(?=.{1,253}$)(?:${LABEL}\\.)+[a-z]{2,63}$`),
    "a lower-case DNS name such as www.example.org",
);

/** A canonical CIDR: address plus prefix, no host bits set. */
export function cidr(value: string): string {
    const form = "a CIDR block such as 203.0.113.7/32 or 2001:db8::/48, with no host bits set";
    const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
    if (!match) throw new InvalidValue(form);
    const [, address, prefixText] = match;
    const prefix = Number(prefixText);
    if (net.isIPv4(address)) {
        if (prefix > 32) throw new InvalidValue(form);
        const bits = address.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
        if (bits & ((1n << BigInt(32 - prefix)) - 1n)) throw new InvalidValue(form);
        return value;
    }
    if (net.isIPv6(address)) {
        if (prefix > 128) throw new InvalidValue(form);
        if (ipv6Bits(address) & ((1n << BigInt(128 - prefix)) - 1n)) throw new InvalidValue(form);
        return value;
    }
    throw new InvalidValue(form);
}

function ipv6Bits(address: string): bigint {
    const [head, tail = ""] = address.split("::");
    const groups = (part: string) => (part === "" ? [] : part.split(":"));
    const left = groups(head);
    const right = address.includes("::") ? groups(tail) : [];
    const missing = 8 - left.length - right.length;
    const all = [...left, ...Array(missing).fill("0"), ...right];
    return all.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** True for 0.0.0.0/0 and ::/0: the whole Internet. */
export function isWorldOpen(block: string): boolean {
    return /\/0$/.test(block);
}

export const sshPublicKey = matching(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/,
    "an OpenSSH public key line such as 'ssh-ed25519 AAAAC3... you@laptop'",
);

/** One line: the release reads the environment as an env file, a line per variable. */
export const environmentEntry = matching(
    /^[A-Za-z_][A-Za-z0-9_]*=[^\n]*$/,
    "KEY=value on one line",
);

export const urlPath = matching(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, "an absolute URL path such as /accounts/login/");
export const urlPrefix = matching(/^\/([A-Za-z0-9._~-]+\/)+$/, "a URL prefix with leading and trailing slashes such as /static/");
export const absolutePath = matching(/^\/[A-Za-z0-9._/-]*$/, "an absolute path such as /app/staticfiles");
export const identifier = matching(/^[a-z_][a-z0-9_]{0,62}$/, "a lower-case SQL identifier such as app");
export const pythonCallable = matching(
    /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$/,
    "a Python module (config) or module:callable (app.main:app)",
);
export const envName = matching(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name such as SMTP_PASSWORD");
export const pythonModule = matching(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "a Python dotted module name such as config");
/** A DNS name or an IPv4/IPv6 address, as ssh takes it. */
export function hostAddress(value: string): string {
    if (net.isIP(value) !== 0) return value;
    return matching(new RegExp(`^(?=.{1,253}$)(?:${LABEL}\\.)*${LABEL}$`), "a host name such as app.example.org or an IP address")(value);
}
export const userName = matching(/^[a-z_][a-z0-9_-]{0,31}$/, "a Unix user name such as deploy");
export const email = matching(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "an email address");
export const imageReference = matching(
    /^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    "an image reference such as ghcr.io/org/app:1.4.2",
);
/** A directory path: relative to the project (`../my-app` included) or absolute. */
export const directoryPath = matching(/^[A-Za-z0-9._/-]+$/, "a directory path such as app or ../my-app");
export const relativePath = matching(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/, "a path relative to the project, without '..'");
export const doRegion = matching(/^[a-z]{3}[0-9]$/, "a DigitalOcean region slug such as ams3, fra1 or nyc3");
export const doSlug = matching(/^[a-z0-9]+(-[a-z0-9]+)+$/, "a DigitalOcean slug such as s-1vcpu-2gb");
export const awsRegion = matching(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$/, "an AWS region such as eu-west-1");
export const awsInstanceType = matching(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "an EC2 instance type such as t3.small");
export const awsSubnetId = matching(/^subnet-[0-9a-f]{8,17}$/, "a subnet id such as subnet-0123456789abcdef0");
export const awsAmiId = matching(/^ami-[0-9a-f]{8,17}$/, "an AMI id such as ami-0123456789abcdef0");

/** Cron fields: name, lowest and highest value (day of week 7 is Sunday, as 0). */
const CRON_FIELDS: [string, number, number][] = [["minute", 0, 59], ["hour", 0, 23], ["day of month", 1, 31], ["month", 1, 12], ["day of week", 0, 7]];

/** Why a five-field cron expression (UTC) is not one the scheduler runs, or undefined. */
export function cronProblem(expression: string): string | undefined {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 5) return `expected five fields (minute hour day-of-month month day-of-week), got ${parts.length}`;
    for (let i = 0; i < 5; i++) {
        const [name, min, max] = CRON_FIELDS[i];
        for (const item of parts[i].split(",")) {
            const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
            if (!match) return `${name}: ${JSON.stringify(item)} is not *, N, N-M or a step such as */15`;
            const [, , low, high, step] = match;
            const numbers = [low, high].filter((n) => n !== undefined).map(Number);
            if (numbers.some((n) => n < min || n > max)) return `${name}: ${item} is outside ${min}-${max}`;
            if (numbers.length === 2 && numbers[0] > numbers[1]) return `${name}: ${item} runs backwards`;
            if (step !== undefined && Number(step) === 0) return `${name}: a step of 0 never advances`;
        }
    }
    return undefined;
}
