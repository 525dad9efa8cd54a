import { OperatorError } from "./errors";
import { attach, capture } from "./processes";

/** The stack's `operations` output (stack.ts): how to reach its containers. Nothing in it is secret. */
export interface Operations {
    dockerHost: string;
    sshOptions: string[];
    prefix: string;
    services: Record<string, string>;
    appImage: string;
    appRepository: string;
    imageSource: "build" | "appImage" | "rollbackImage";
    appKind: string;
    /** "service" when the web tier is a Swarm service (webReplicas, swarmWorkers). */
    webKind?: "container" | "service";
    backendNetwork: string;
    database: { name: string; user: string };
    maintenance: boolean;
    proxy: string;
    tls: boolean;
    siteHost: string;
    backupDir: string;
}

export interface StackInfo {
    /** The stack's name as the operator gave it, or undefined for Pulumi's selected stack. */
    name?: string;
    siteUrl?: string;
    operations: Operations;
}

/** `--stack NAME` for pulumi, or nothing (the selected stack). */
export const stackArgs = (stack?: string) => (stack === undefined ? [] : ["--stack", stack]);
export const stackLabel = (stack?: string) => (stack === undefined ? "the selected stack" : `stack '${stack}'`);

/** Checks the output's shape, so that an older deployment gets a sentence rather than a crash. */
export function operationsFrom(outputs: Record<string, unknown>, stack?: string): Operations {
    const ops = outputs.operations as Partial<Operations> | undefined;
    const redeploy = `run \`pulumi up${stack === undefined ? "" : ` --stack ${stack}`}\` first`;
    if (ops === undefined || ops === null) {
        throw new OperatorError(Object.keys(outputs).length === 0
            ? `${stackLabel(stack)} has never been deployed (it has no outputs); ${redeploy}`
            : `${stackLabel(stack)} was deployed by a version of this program without operator commands (no operations output); ${redeploy}`);
    }
    if (typeof ops !== "object" || typeof ops.services !== "object" || typeof ops.prefix !== "string" || !Array.isArray(ops.sshOptions)) {
        throw new OperatorError(`${stackLabel(stack)}'s operations output is not in the form this CLI reads; ${redeploy}`);
    }
    return ops as Operations;
}

/** Reads the stack's outputs with `pulumi stack output --json`. */
export async function readStack(stack?: string): Promise<StackInfo> {
    const result = await capture("pulumi", ["stack", "output", "--json", ...stackArgs(stack)]);
    if (result.code !== 0) {
        const reason = result.stderr.trim().split("\n").filter((l) => l.trim() !== "").pop() ?? `exit ${result.code}`;
        if (/no stack (named|selected)|could not find stack|stack .* not found/i.test(result.stderr)) {
            throw new OperatorError(`${stackLabel(stack)} does not exist in this Pulumi backend (\`pulumi stack ls\` lists them; logged in to the right one, in the project's directory?): ${reason.replace(/^error:\s*/, "")}`);
        }
        throw new OperatorError(`could not read the outputs of ${stackLabel(stack)} with \`pulumi stack output --json\`: ${reason.replace(/^error:\s*/, "")}`);
    }
    let outputs: Record<string, unknown>;
    try {
        outputs = JSON.parse(result.stdout || "{}");
    } catch {
        throw new OperatorError(`\`pulumi stack output --json\` printed something that is not JSON; is 'pulumi' the Pulumi CLI?`);
    }
    return { name: stack, siteUrl: typeof outputs.siteUrl === "string" ? outputs.siteUrl : undefined, operations: operationsFrom(outputs, stack) };
}

/** Sets (or with undefined removes) a project setting of the stack, as `pulumi config` does. */
export async function setConfig(stack: string | undefined, key: string, value: string | undefined): Promise<void> {
    const args = value === undefined ? ["config", "rm", key, ...stackArgs(stack)] : ["config", "set", key, value, ...stackArgs(stack)];
    const result = await capture("pulumi", args);
    if (result.code !== 0) {
        throw new OperatorError(`\`pulumi ${args.join(" ")}\` failed: ${result.stderr.trim().split("\n").pop() ?? `exit ${result.code}`}`);
    }
}

/** `pulumi up` on the operator's terminal (its preview and prompt, unless --yes); returns its exit code. */
export function deploy(stack: string | undefined, yes: boolean): Promise<number> {
    return attach("pulumi", ["up", ...stackArgs(stack), ...(yes ? ["--yes"] : [])]);
}
