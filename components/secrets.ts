import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SecretKey, Settings } from "../config/settings";

const GENERATED: Record<SecretKey, random.RandomPasswordArgs> = {
    // Alphanumeric: it goes into connection URLs and shell environments unescaped.
    dbPassword: { length: 32, special: false },
    djangoSecretKey: { length: 64, special: true, overrideSpecial: "!#%&*()-_=+[]{}<>:?" },
    superuserPassword: { length: 24, special: false },
};

export type StackSecrets = Record<SecretKey, pulumi.Output<string>>;

/**
 * Each secret from `pulumi config set --secret`, or generated once and kept in state.
 * Generated values are wrapped in pulumi.secret here rather than trusting the provider's marking.
 */
export class Secrets extends pulumi.ComponentResource {
    readonly values: StackSecrets;

    constructor(name: string, args: { configured: Settings["secrets"] }, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Secrets", name, {}, opts);
        const values = {} as StackSecrets;
        for (const key of Object.keys(GENERATED) as SecretKey[]) {
            const configured = args.configured[key];
            values[key] = pulumi.secret(configured ?? new random.RandomPassword(`${name}-${key}`, GENERATED[key], { parent: this }).result);
        }
        this.values = values;
        this.registerOutputs({});
    }
}
