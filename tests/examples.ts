/**
 * The seed systems' stack files (examples/), evaluated under mocks as the CLI would hand them
 * over. The seed apps' own repositories are not here, so a build context is pointed at the
 * reference app and a schema file at a fixture; nothing else is changed.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { configFromFile, Run, runWithConfig } from "./harness";
import { projectRoot, readSettings } from "../config/settings";
import { buildStack } from "../stack";

export type Stack = ReturnType<typeof buildStack>;
export const EXAMPLES = path.join(projectRoot(), "examples");
export const exampleFiles = () => fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml")).sort();
/** The stack each file's comment says to copy it to. */
export const exampleStack = (file: string) => (file.startsWith("000") ? "stage" : "prod");

export async function evaluateExample(file: string, secrets: Record<string, unknown> = {}): Promise<Run<Stack>> {
    const text = YAML.parse(fs.readFileSync(path.join(EXAMPLES, file), "utf8")).config as Record<string, unknown>;
    const overrides: Record<string, unknown> = { ...secrets };
    if (text["webstack:appContext"] !== undefined) Object.assign(overrides, { appContext: "app", appDockerfile: "Dockerfile" });
    if (text["webstack:dbInitSqlFiles"] !== undefined) overrides.dbInitSqlFiles = ["tests/fixtures/sql/schema.sql"];
    const routes = text["webstack:webRoutes"] as Record<string, Record<string, unknown>> | undefined;
    if (routes !== undefined) {
        overrides.webRoutes = Object.fromEntries(Object.entries(routes).map(([name, r]) =>
            [name, r.context === undefined ? r : { ...r, context: "app", dockerfile: "Dockerfile" }]));
    }
    return runWithConfig(exampleStack(file), configFromFile(path.join(EXAMPLES, file), overrides), () => buildStack(readSettings()), {
        secretKeys: Object.keys(secrets).map((k) => `webstack:${k}`),
    });
}
