/** Backup buckets (S3, Spaces) are never public. */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { asArray, isUnknown, TYPES, unproxy } from "./common";

// ---------------------------------------------------------------------------------------------
// The backup bucket is not public
// ---------------------------------------------------------------------------------------------

const PUBLIC_CANNED_ACLS = ["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_GRANTEES = /acs\.amazonaws\.com\/groups\/global\/(AllUsers|AuthenticatedUsers)$/;
export const PUBLIC_ACCESS_BLOCK_SETTINGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** Statements of a bucket policy (JSON text or object) that allow anyone in, without a condition. */
export function publicPolicyStatements(policy: unknown): number {
    let document = policy;
    if (typeof document === "string") {
        if (isUnknown(document)) return 0;
        try {
            document = JSON.parse(document);
        } catch {
            return 0;
        }
    }
    const statements = asArray((document as { Statement?: unknown } | undefined)?.Statement as Record<string, unknown>[]);
    const anyone = (principal: unknown): boolean => {
        if (principal === "*") return true;
        if (typeof principal === "object" && principal !== null) {
            return Object.values(principal).some((p) => asArray(p as unknown[]).includes("*"));
        }
        return false;
    };
    return statements.filter((s) => s?.Effect === "Allow" && (anyone(s.Principal) || s.NotPrincipal !== undefined) && s.Condition === undefined).length;
}

export const backupBucketNotPublic: ResourceValidationPolicy = {
    name: "backup-bucket-not-public",
    description: "Buckets (S3, DigitalOcean Spaces) are never public: private ACLs, no grants or policies to everyone, public access blocked.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const p = args.props as Record<string, unknown>;
        const name = args.name;
        switch (args.type) {
            case TYPES.s3Bucket:
            case TYPES.s3BucketV2:
            case TYPES.s3BucketAcl:
            case TYPES.s3BucketAclV2: {
                if (typeof p.acl === "string" && PUBLIC_CANNED_ACLS.includes(p.acl)) {
                    reportViolation(`${name} has the public ACL "${p.acl}"; use "private" (or no ACL, with ownership enforced).`);
                }
                const grants = [
                    ...asArray(p.grants as { uri?: string }[]).map((g) => g?.uri),
                    ...asArray((p.accessControlPolicy as { grants?: { grantee?: { uri?: string } }[] } | undefined)?.grants).map((g) => g?.grantee?.uri),
                ];
                if (grants.some((uri) => typeof uri === "string" && PUBLIC_GRANTEES.test(uri))) {
                    reportViolation(`${name} grants access to all (authenticated) AWS users; remove that grant.`);
                }
                if (publicPolicyStatements(p.policy) > 0) reportViolation(`${name}'s policy allows anyone (Principal "*") in.`);
                return;
            }
            case TYPES.s3BucketPolicy:
            case TYPES.spacesBucketPolicy:
                if (publicPolicyStatements(p.policy) > 0) reportViolation(`${name} allows anyone (Principal "*") into the bucket.`);
                return;
            case TYPES.s3PublicAccessBlock: {
                const off = PUBLIC_ACCESS_BLOCK_SETTINGS.filter((key) => p[key] !== true);
                if (off.length > 0) reportViolation(`${name} leaves ${off.join(", ")} off; set all four to true.`);
                return;
            }
            case TYPES.spacesBucket:
            case TYPES.spacesBucketObject:
                if (p.acl !== undefined && p.acl !== "private") reportViolation(`${name} has acl "${String(p.acl)}"; Spaces buckets and objects must be "private".`);
                return;
            default:
                return;
        }
    },
};

/** Stack-level half: every S3 bucket has a public access block (with all four settings, checked above). */
export const s3BucketsBlockPublicAccess: StackValidationPolicy = {
    name: "s3-buckets-block-public-access",
    description: "Every S3 bucket has a BucketPublicAccessBlock. A stack without buckets passes.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const buckets = args.resources.filter((r) => r.type === TYPES.s3Bucket || r.type === TYPES.s3BucketV2);
        const blocks = args.resources.filter((r) => r.type === TYPES.s3PublicAccessBlock);
        for (const bucket of buckets) {
            const raw = unproxy(bucket.props) as Record<string, unknown>;
            const names = [raw.id, raw.bucket].filter((n) => typeof n === "string" && !isUnknown(n));
            const covered = blocks.some((block) => {
                const target = (unproxy(block.props) as Record<string, unknown>).bucket;
                const dependsOn = (block.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn);
                return dependsOn || names.includes(target);
            });
            if (!covered) {
                reportViolation(`S3 bucket ${bucket.name} has no BucketPublicAccessBlock; add one with all four settings true.`, bucket.urn);
            }
        }
    },
};
