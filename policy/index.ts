/**
 * The webstack policy pack. Run it with a preview or an update:
 *
 *     npm ci --prefix policy
 *     pulumi preview --stack prod --policy-pack policy
 *
 * The rules are in one module per concern, gathered by policies.ts (imported by the unit tests;
 * this file is not, since constructing a PolicyPack starts the policy server).
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("webstack", {
    description: "The webstack program's rules: one published proxy, a persistent and healthy database, " +
        "restarted and autohealed containers, secret credentials, encrypted EBS with IMDSv2, no SSH from the " +
        "world on prod, no public backup bucket, Swarm ports never open to the world, a registry with a login.",
    enforcementLevel: "mandatory",
    policies,
});
