import { expect } from "chai";
import { isSecretValue, ofType, Registered, runWithConfig, stackConfig, unwrap } from "../harness";
import { readSettings } from "../../config/settings";
import { buildStack } from "../../stack";

const evaluate = (stack: string, overrides: Record<string, unknown> = {}) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));
const one = (resources: Registered[], type: string) => {
    const found = ofType(resources, type);
    expect(found, type).to.have.length(1);
    return found[0];
};
const backupEnv = (resources: Registered[]) => {
    const backup = ofType(resources, "docker:index/container:Container").find((c) => c.name === "backup")!;
    expect(isSecretValue(backup.inputs.envs), "the backup environment holds the database password").to.equal(true);
    return Object.fromEntries((unwrap(backup.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
};

describe("data durability", () => {
    it("keeps the data volume when a size change replaces or resizes the host", async () => {
        const before = await evaluate("stage");
        const after = await evaluate("stage", { dropletSize: "s-2vcpu-4gb", dropletImage: "ubuntu-22-04-x64" });
        const volume = (r: Registered[]) => one(r, "digitalocean:index/volume:Volume");
        expect(volume(after.resources).inputs).to.deep.equal(volume(before.resources).inputs);
        expect(volume(after.resources).name).to.equal(volume(before.resources).name);
        expect(one(after.resources, "digitalocean:index/droplet:Droplet").inputs.size).to.equal("s-2vcpu-4gb");
        // The attachment is what follows the droplet; the volume never refers to it.
        expect(JSON.stringify(volume(after.resources).inputs)).not.to.include("424242");
        expect(one(after.resources, "digitalocean:index/volumeAttachment:VolumeAttachment").inputs.dropletId).to.equal(424242);

        // Growing the volume re-runs the host step that grows its filesystem.
        const grown = await evaluate("stage", { dataVolumeSizeGb: 40 });
        const ready = (r: Registered[]) => ofType(r, "command:local:Command").find((c) => c.name.endsWith("-ready"))!;
        expect(ready(grown.resources).inputs.triggers).to.include("40");
        expect(ready(before.resources).inputs.triggers).to.include("10");

        const aws = async (instanceType: string) => one((await evaluate("prod", { awsInstanceType: instanceType })).resources, "aws:ebs/volume:Volume");
        const [small, large] = [await aws("t3.small"), await aws("m6i.large")];
        expect(large.inputs).to.deep.equal(small.inputs);
    });

    it("protects the data in prod, not in dev, and config can override both ways", async () => {
        const protectedIn = async (stack: string, overrides: Record<string, unknown> = {}) => {
            const { resources } = await evaluate(stack, overrides);
            const data = resources.filter((r) => /(-data|-pgdata|-media|-backups)$/.test(r.name) &&
                /Volume|Bucket$/.test(r.type) && !r.type.includes("Attachment"));
            expect(data.length, stack).to.be.greaterThan(1);
            // A named volume on a cloud machine goes with the machine: retained on delete, but not
            // protected, which would only block the machine's replacement.
            const onMachine = (r: Registered) => r.type === "docker:index/volume:Volume" && stack !== "dev";
            return data.map((r) => [r.name, (onMachine(r) || !!r.opts.protect) && !!r.opts.retainOnDelete]);
        };
        expect((await protectedIn("prod")).every(([, p]) => p)).to.equal(true);
        expect((await protectedIn("dev")).every(([, p]) => !p)).to.equal(true);
        expect((await protectedIn("dev", { dataProtection: "on" })).every(([, p]) => p)).to.equal(true);
        expect((await protectedIn("prod", { dataProtection: "off" })).every(([, p]) => !p)).to.equal(true);
    });

    it("dev: daily dumps and media archives to a local volume, matching the server's major version", async () => {
        const { resources } = await evaluate("dev", { postgresVersion: 16 });
        const env = backupEnv(resources);
        expect(env).to.include({
            PGHOST: "db", PGDATABASE: "app", PGUSER: "app", BACKUP_DIR: "/backups", MEDIA_DIR: "/media", BACKUP_TIME: "03:00", BACKUP_RETENTION_DAYS: "14",
        });
        expect(env).not.to.have.property("BACKUP_S3_URI");
        expect(env).not.to.have.property("ALERT_WEBHOOK_URL");
        const backup = ofType(resources, "docker:index/container:Container").find((c) => c.name === "backup")!;
        // Media read-write: restore.sh --media writes into it.
        expect(backup.inputs.volumes).to.deep.equal([
            { volumeName: "webstack-dev-backups", containerPath: "/backups", readOnly: false },
            { volumeName: "webstack-dev-media", containerPath: "/media", readOnly: false },
        ]);
        expect(backup.inputs.healthcheck.tests).to.deep.equal(["CMD-SHELL", "find /tmp/last-backup-ok -mmin -1560 | grep -q ."]);
        const image = ofType(resources, "docker:index/image:Image").find((i) => i.name === "backup-image")!;
        expect(image.inputs.build.args).to.deep.equal({ PG_MAJOR: "16" });
        expect(image.inputs.imageName).to.match(/^webstack-dev-backup:pg16-[0-9a-f]{12}$/);
    });

    it("prod: an S3 bucket that is versioned, encrypted, never public, with expiry; the host may not delete backups", async () => {
        const { resources } = await evaluate("prod", { backupRetentionDays: 30 });
        const block = one(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
        expect(block).to.include({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        expect(one(resources, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration.status).to.equal("Enabled");
        expect(one(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules[0]
            .applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("AES256");
        const lifecycle = one(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules[0];
        expect(lifecycle.expiration.days).to.equal(30);
        const policy = JSON.parse(one(resources, "aws:iam/rolePolicy:RolePolicy").inputs.policy);
        const actions = policy.Statement.flatMap((st: any) => st.Action);
        expect(actions).to.have.members(["s3:ListBucket", "s3:PutObject", "s3:GetObject"]);
        const instance = one(resources, "aws:ec2/instance:Instance").inputs;
        expect(instance.iamInstanceProfile).to.be.a("string");
        expect(instance.metadataOptions).to.include({ httpTokens: "required", httpPutResponseHopLimit: 2 });
        const env = backupEnv(resources);
        expect(env.BACKUP_S3_URI).to.match(/^s3:\/\/.+\/backups$/);
        expect(env).to.include({ AWS_DEFAULT_REGION: "eu-west-1", BACKUP_RETENTION_DAYS: "30" });
        expect(env).not.to.have.property("AWS_SECRET_ACCESS_KEY");
        const backup = ofType(resources, "docker:index/container:Container").find((c) => c.name === "backup")!;
        expect(backup.inputs.volumes[0]).to.deep.include({ hostPath: "/mnt/data/backups", containerPath: "/backups" });
    });

    it("stage: a private, versioned Spaces bucket and a key that only reaches it", async () => {
        const { resources } = await evaluate("stage");
        const bucket = one(resources, "digitalocean:index/spacesBucket:SpacesBucket").inputs;
        expect(bucket).to.include({ acl: "private", region: "fra1", name: "webstack-stage-backups" });
        expect(bucket.versioning).to.deep.equal({ enabled: true });
        expect(bucket.lifecycleRules[0].expiration.days).to.equal(14);
        const key = one(resources, "digitalocean:index/spacesKey:SpacesKey").inputs;
        expect(key.grants).to.deep.equal([{ bucket: "webstack-stage-backups", permission: "readwrite" }]);
        const env = backupEnv(resources);
        expect(env).to.include({ BACKUP_S3_URI: "s3://webstack-stage-backups/backups", BACKUP_S3_ENDPOINT: "https://fra1.digitaloceanspaces.com" });
        expect(env).to.have.property("AWS_SECRET_ACCESS_KEY");
    });

    it("refuses a malformed backup time", async () => {
        let error: Error | undefined;
        await evaluate("dev", { backupTime: "3am" }).catch((err) => { error = err; });
        expect(error?.message).to.match(/webstack:backupTime: expected a time of day HH:MM \(UTC\) such as 03:00, got "3am"/);
    });
});
