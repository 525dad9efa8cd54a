/**
 * What the program renders, read from a run under Pulumi's mocks (tests/harness.ts): the
 * integration tests feed these exact values to real servers.
 */
import * as pulumi from "@pulumi/pulumi";
import { ofType, Registered, resolve, runWithConfig, stackConfig, unwrap } from "../harness";
import { readSettings } from "../../config/settings";
import { buildStack } from "../../stack";

const releaseCommands = new WeakMap<Registered[], string[]>();

/** Registers the stack's resources under mocks, with Pulumi.<stack>.yaml and `overrides`. */
export async function renderStack(stack: string, overrides: Record<string, unknown> = {}): Promise<Registered[]> {
    const { resources, result } = await runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));
    releaseCommands.set(resources, result.parts.app.releaseSpec.command);
    return resources;
}

/** The stack's resources and its outputs (resolved, secrets unwrapped), as rendered under mocks. */
export async function renderStackWithOutputs(stack: string, overrides: Record<string, unknown> = {}): Promise<{ resources: Registered[]; outputs: Record<string, unknown> }> {
    const { resources, result } = await runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));
    releaseCommands.set(resources, result.parts.app.releaseSpec.command);
    const { value } = await resolve(pulumi.output(result.outputs));
    return { resources, outputs: unwrap(value) as Record<string, unknown> };
}

/**
 * The release step as the program runs it: its command, and its environment exactly as the
 * release command resource sends it (the env file on standard input).
 */
export function releaseOf(resources: Registered[]): { command: string[]; env: Record<string, string> } {
    const release = ofType(resources, "command:local:Command").find((c) => c.name.endsWith("-release"));
    const command = releaseCommands.get(resources);
    if (release === undefined || command === undefined) throw new Error("the stack has no release step");
    const lines = String(unwrap(release.inputs.stdin)).split("\n").filter((l) => l !== "");
    return { command, env: Object.fromEntries(lines.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])) };
}

/**
 * The docker container whose name (the container name if the program sets one, else the
 * resource name) ends with `suffix`. Exactly one must match.
 */
export function container(resources: Registered[], suffix: string): Registered {
    const containers = ofType(resources, "docker:index/container:Container");
    const found = containers.filter((c) => String(c.inputs.name ?? c.name).endsWith(suffix));
    if (found.length !== 1) {
        throw new Error(`expected one container named *${suffix}, found ${found.length} among ` +
            containers.map((c) => c.inputs.name ?? c.name).join(", "));
    }
    return found[0];
}

/** A container's `envs` (KEY=value list, usually secret) as a record. */
export function containerEnv(c: Registered): Record<string, string> {
    const entries = (unwrap(c.inputs.envs) ?? []) as string[];
    return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

export function containerCommand(c: Registered): string[] {
    return unwrap(c.inputs.command) as string[];
}

/** The healthcheck command in exec form, without docker's leading "CMD". */
export function healthcheckCommand(c: Registered): string[] {
    const tests = unwrap(c.inputs.healthcheck?.tests) as string[] | undefined;
    if (tests === undefined || tests.length < 2) throw new Error(`${c.name} has no healthcheck`);
    if (tests[0] !== "CMD") throw new Error(`${c.name}: expected an exec-form healthcheck ("CMD", ...), got ${JSON.stringify(tests)}`);
    return tests.slice(1);
}

/** The command with its URL arguments moved to 127.0.0.1-side `port` (host name kept). */
export function withUrlPort(command: string[], port: number): string[] {
    return command.map((arg) => {
        if (!/^https?:\/\//.test(arg)) return arg;
        const url = new URL(arg);
        url.port = String(port);
        return url.toString();
    });
}
