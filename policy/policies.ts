/**
 * The webstack policy pack's rules, as plain policy objects and pure helpers, one module per
 * concern (common.ts holds what they share). index.ts wraps them in a PolicyPack; the unit tests
 * import this file and call each validate function directly.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ebsVolumesEncrypted, imdsv2Required } from "./awsHosts";
import { backupBucketNotPublic, s3BucketsBlockPublicAccess } from "./buckets";
import { autohealWatcherPresent, databaseVolumeAndHealthcheck, longRunningRestartAndAutoheal, onlyProxyPublishesPorts } from "./containers";
import { containerSecretsAreSecret } from "./envSecrets";
import { noWorldSshOnProd } from "./firewalls";
import { registryRequiresAuth, swarmPortsNotWorldOpen } from "./swarm";

export * from "./awsHosts";
export * from "./buckets";
export * from "./common";
export * from "./containers";
export * from "./envSecrets";
export * from "./firewalls";
export * from "./swarm";

// ---------------------------------------------------------------------------------------------

export const resourcePolicies: ResourceValidationPolicy[] = [
    onlyProxyPublishesPorts,
    databaseVolumeAndHealthcheck,
    longRunningRestartAndAutoheal,
    containerSecretsAreSecret,
    ebsVolumesEncrypted,
    imdsv2Required,
    noWorldSshOnProd,
    backupBucketNotPublic,
    registryRequiresAuth,
];

export const stackPolicies: StackValidationPolicy[] = [autohealWatcherPresent, s3BucketsBlockPublicAccess, swarmPortsNotWorldOpen];

export const policies = [...resourcePolicies, ...stackPolicies];
