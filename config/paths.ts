import * as path from "path";

/** The Pulumi project's directory, which relative paths in settings start from. */
export function projectRoot(): string {
    return path.resolve(__dirname, "..");
}
