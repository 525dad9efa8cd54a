import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Settings } from "../config/settings";

/** Secrets generated when the stack does not set them. */
const GENERATED = {
    // Alphanumeric: it goes into connection URLs and shell environments unescaped.
    dbPassword: { length: 32, special: false },
    djangoSecretKey: { length: 64, special: true, overrideSpecial: "!#%&*()-_=+[]{}<>:?" },
    superuserPassword: { length: 24, special: false },
} satisfies Record<string, random.RandomPasswordArgs>;

export type StackSecrets = Record<keyof typeof GENERATED, pulumi.Output<string>> & {
    tlsCertificate?: pulumi.Output<string>;
    tlsPrivateKey?: pulumi.Output<string>;
};

/**
 * Each secret from `pulumi config set --secret`, or generated once and kept in state.
 * Generated values are wrapped in pulumi.secret here rather than trusting the provider's marking.
 */
export class Secrets extends pulumi.ComponentResource {
    readonly values: StackSecrets;

    constructor(name: string, args: { configured: Settings["secrets"] }, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Secrets", name, {}, opts);
        const generated = Object.fromEntries(Object.entries(GENERATED).map(([key, spec]) => [
            key,
            pulumi.secret(args.configured[key as keyof typeof GENERATED] ?? new random.RandomPassword(`${name}-${key}`, spec, { parent: this }).result),
        ])) as Record<keyof typeof GENERATED, pulumi.Output<string>>;
        const provided = (key: "tlsCertificate" | "tlsPrivateKey") =>
            args.configured[key] === undefined ? undefined : pulumi.secret(args.configured[key]!);
        this.values = { ...generated, tlsCertificate: provided("tlsCertificate"), tlsPrivateKey: provided("tlsPrivateKey") };
        this.registerOutputs({});
    }
}
