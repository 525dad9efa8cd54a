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

export * from "./awsHosts";
export * from "./buckets";
export * from "./common";
export * from "./containers";
export * from "./envSecrets";
export * from "./firewalls";

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
];

export const stackPolicies: StackValidationPolicy[] = [autohealWatcherPresent, s3BucketsBlockPublicAccess];

export const policies = [...resourcePolicies, ...stackPolicies];
