/**
 * PostgreSQL extension names, as the dbExtensions setting lists them. Pure: no Pulumi, no I/O.
 *
 * Only the FORM is checked here. Whether the image's PostgreSQL ships the extension is checked
 * where that is known: when the db image is built (build arg POSTGRES_EXTRA_EXTENSIONS) and at
 * first initialisation (images/db/initdb/20-extra-extensions.sh, against pg_available_extensions).
 */
import { InvalidValue } from "../config/validators";

/** The longest identifier PostgreSQL keeps (NAMEDATALEN - 1); longer names are truncated. */
export const EXTENSION_NAME_MAX_LENGTH = 63;

/** The form, for messages: what `extensionNameProblem` accepts. */
export const EXTENSION_NAME_FORM =
    "an extension name such as pg_trgm or uuid-ossp (lower-case letters, digits, _ and -, at most 63 characters, not starting or ending with -, no --)";

/**
 * Why `name` cannot be an extension name in dbExtensions, or undefined when it can.
 *
 * Accepted: 1–63 characters from a–z, 0–9, _ and -. That covers every extension shipped with
 * PostgreSQL and by the Debian/PGDG packages (uuid-ossp has a hyphen; such names are quoted in
 * CREATE EXTENSION "uuid-ossp", which the init script always does). PostgreSQL itself also
 * refuses names that start or end with "-" or contain "--" (check_valid_extension_name in
 * src/backend/commands/extension.c): so does this. Upper case, quotes, spaces, dots and slashes
 * are refused: no shipped extension uses them, and they could not be passed through the
 * comma-separated POSTGRES_EXTRA_EXTENSIONS safely.
 */
export function extensionNameProblem(name: string): string | undefined {
    if (typeof name !== "string" || name === "") return "an extension name cannot be empty";
    if (name.length > EXTENSION_NAME_MAX_LENGTH) {
        return `${JSON.stringify(name)} is ${name.length} characters long; PostgreSQL names have at most ${EXTENSION_NAME_MAX_LENGTH}`;
    }
    const bad = [...new Set(name.replace(/[a-z0-9_-]/g, ""))];
    if (bad.length > 0) {
        const upper = /[A-Z]/.test(name) ? ` (extension names are lower case: ${JSON.stringify(name.toLowerCase())}?)` : "";
        return `${JSON.stringify(name)} contains ${bad.map((c) => JSON.stringify(c)).join(", ")}; ` +
            `extension names use only lower-case letters, digits, _ and -${upper}`;
    }
    if (name.startsWith("-") || name.endsWith("-")) return `${JSON.stringify(name)} starts or ends with "-", which PostgreSQL refuses in extension names`;
    if (name.includes("--")) return `${JSON.stringify(name)} contains "--", which PostgreSQL refuses in extension names`;
    return undefined;
}

/**
 * The same check as a config parser: returns the name, or throws InvalidValue with the problem.
 * For config/settings.ts: `dbExtensions: v.listOf(extensionName, "extension names such as pg_trgm or uuid-ossp")`.
 */
export function extensionName(value: string): string {
    const problem = extensionNameProblem(value);
    if (problem !== undefined) throw new InvalidValue(problem);
    return value;
}

