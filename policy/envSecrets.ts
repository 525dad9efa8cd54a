/** Credentials in container environments come from Pulumi secrets. */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { isSecretMarker, isUnknown, TYPES, unproxy } from "./common";
import { ContainerProps, containerName } from "./containers";

// ---------------------------------------------------------------------------------------------
// Secrets in container environments
// ---------------------------------------------------------------------------------------------

/** Keys whose value is a credential. */
export const SECRET_KEY_PATTERN = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL/i;
/** A URL with a password in it (postgres://user:password@host/db), whatever its key. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** A key that names the file holding a credential (REGISTRY_AUTH_HTPASSWD_PATH, POSTGRES_PASSWORD_FILE), with a path as its value. */
const FILE_REFERENCE = /_(PATH|FILE)$/i;
/** Keys that match SECRET_KEY_PATTERN but hold no credential: the registry's login realm (a name shown to clients). */
export const NOT_CREDENTIALS = ["REGISTRY_AUTH_HTPASSWD_REALM"];

export function looksSecret(key: string, value: string): boolean {
    if (value === "") return false;
    if (NOT_CREDENTIALS.includes(key.toUpperCase())) return false;
    if (FILE_REFERENCE.test(key) && /^\/\S*$/.test(value)) return false;
    return SECRET_KEY_PATTERN.test(key) || URL_WITH_PASSWORD.test(value);
}

export interface EnvSecrecy {
    /** Keys whose credential is in plain text. */
    plaintext: string[];
    /** Some of the environment is unknown (a preview): nothing can be said about it. */
    unknown: boolean;
}

/**
 * Which secret-looking entries of a container's `envs` are not secret. `envs` is the raw
 * property value: a secret marker around the whole list or around an entry makes it secret.
 */
export function envSecrecy(envs: unknown): EnvSecrecy {
    const result: EnvSecrecy = { plaintext: [], unknown: false };
    const raw = unproxy(envs);
    if (raw === undefined || raw === null || isSecretMarker(raw)) return result;
    if (isUnknown(raw) || !Array.isArray(raw)) return { ...result, unknown: isUnknown(raw) };
    for (const item of raw) {
        const entry = unproxy(item);
        if (isSecretMarker(entry)) continue;
        if (isUnknown(entry)) { result.unknown = true; continue; }
        if (typeof entry !== "string") continue;
        const eq = entry.indexOf("=");
        const key = eq < 0 ? entry : entry.slice(0, eq);
        if (looksSecret(key, eq < 0 ? "" : entry.slice(eq + 1))) result.plaintext.push(key);
    }
    return result;
}

/**
 * What the remediation pass saw, per resource URN, for the analysis pass that follows it.
 *
 * Why: the engine sends secrets to policy packs marked as secrets, but @pulumi/policy (1.21)
 * unwraps them silently before validateResource sees the properties (deserializeProperties with
 * proxySecrets=false), so a validation alone cannot tell `pulumi.secret(["PASSWORD=x"])` from a
 * plain ["PASSWORD=x"]. Only the remediation pass keeps the marks (as Secret objects behind a
 * proxy). For every resource the engine calls Remediate and then Analyze on the same policy
 * process, so the remediation of this policy (enforcement level "remediate") records what it saw
 * and changes nothing, and the validation reports it; the SDK reports a violation of a
 * "remediate" policy as mandatory. Without a record (the level was overridden, or the function is
 * called directly as in the unit tests) the validation inspects the properties it was given,
 * which is exact when they carry secret markers (the wire format, Pulumi's mocks) and strict
 * otherwise: keep this policy at "remediate".
 */
const observedEnvSecrecy = new Map<string, EnvSecrecy>();

export const containerSecretsAreSecret: ResourceValidationPolicy = {
    name: "container-env-secrets-are-secret",
    description: "A container environment value that holds a credential (PASSWORD, SECRET, TOKEN, KEY, a URL with a password) comes from a Pulumi secret.",
    // Must stay "remediate": see observedEnvSecrecy. Violations are reported as mandatory.
    enforcementLevel: "remediate",
    remediateResource: (args) => {
        if (args.type !== TYPES.container) return undefined;
        const raw = unproxy(args.props) as ContainerProps | undefined;
        observedEnvSecrecy.set(args.urn, envSecrecy(raw?.envs));
        return undefined;
    },
    validateResource: (args, reportViolation) => {
        if (args.type !== TYPES.container) return;
        const observed = observedEnvSecrecy.get(args.urn);
        observedEnvSecrecy.delete(args.urn);
        const secrecy = observed ?? envSecrecy((unproxy(args.props) as ContainerProps | undefined)?.envs);
        if (secrecy.plaintext.length > 0) {
            reportViolation(`Container ${containerName(args)} has ${secrecy.plaintext.join(", ")} in plain text in its environment; ` +
                "pass the value through pulumi.secret() (or config set --secret) so that state and diffs hide it.");
        }
    },
};
