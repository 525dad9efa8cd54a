import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Paths that never belong to an image's build context hash. */
const IGNORED = new Set([".git", "node_modules", "__pycache__", "staticfiles", "media", ".venv", ".pytest_cache"]);

/**
 * A short hash of a build context's files, used as the image tag. docker.Image has no content
 * digest for images that are not pushed, so the tag is what tells the containers to change.
 */
export function contextHash(dir: string): string {
    const hash = crypto.createHash("sha256");
    const walk = (rel: string) => {
        const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true })
            .filter((e) => !IGNORED.has(e.name) && !e.name.endsWith(".pyc"))
            .sort((a, b) => a.name.localeCompare(b.name));
        for (const entry of entries) {
            const child = path.posix.join(rel, entry.name);
            if (entry.isDirectory()) {
                walk(child);
            } else if (entry.isFile()) {
                hash.update(child).update("\0").update(fs.readFileSync(path.join(dir, child))).update("\0");
            }
        }
    };
    walk("");
    return hash.digest("hex").slice(0, 12);
}

/** Images pulled from Docker Hub, pinned to tags. */
export const PINNED_IMAGES = {
    nginx: "nginx:1.27.3-alpine",
    traefik: "traefik:v3.2.3",
    autoheal: "willfarrell/autoheal:1.2.0",
    certbot: "certbot/certbot:v2.11.0",
    registry: "registry:2.8.3",
};

/**
 * Builds an image on the host's engine (never pushed), tagged `<repository>:<tagPrefix><context hash>`.
 * Returns the image name for containers.
 */
export function buildImage(name: string, o: {
    repository: string;
    context: string;
    dockerfile?: string;
    args?: Record<string, string>;
    tagPrefix?: string;
}, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new docker.Image(name, {
        imageName: `${o.repository}:${o.tagPrefix ?? ""}${contextHash(o.context)}`,
        build: {
            context: o.context,
            ...(o.dockerfile === undefined ? {} : { dockerfile: o.dockerfile }),
            ...(o.args === undefined ? {} : { args: o.args }),
        },
        skipPush: true,
    }, opts).imageName;
}

/** The PostgreSQL-based images (db, backup): the server's major version decides the base and the tag. */
export function buildPostgresImage(name: string, o: { repository: string; context: string; postgresVersion: number }, opts: pulumi.CustomResourceOptions) {
    return buildImage(name, {
        repository: o.repository,
        context: o.context,
        args: { PG_MAJOR: String(o.postgresVersion) },
        tagPrefix: `pg${o.postgresVersion}-`,
    }, opts);
}

/**
 * Builds an image on the host's engine and pushes it to a registry, tagged
 * `<server>/<repository>:<context hash>`; its repoDigest is what other nodes pull.
 */
export function buildAndPushImage(name: string, o: {
    repository: string;
    context: string;
    dockerfile?: string;
    registry: { server: pulumi.Output<string>; username: string; password: pulumi.Output<string> };
}, opts: pulumi.CustomResourceOptions): docker.Image {
    return new docker.Image(name, {
        imageName: pulumi.interpolate`${o.registry.server}/${o.repository}:${contextHash(o.context)}`,
        build: {
            context: o.context,
            ...(o.dockerfile === undefined ? {} : { dockerfile: o.dockerfile }),
        },
        registry: { server: o.registry.server, username: o.registry.username, password: pulumi.secret(o.registry.password) },
        skipPush: false,
    }, opts);
}

/** Pulls an image by reference and keeps it on the host; returns its id for containers. */
export function pullImage(name: string, reference: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return pulledImage(name, reference, opts).imageId;
}

/** The same, as the resource: its repoDigest pins the reference for other nodes. */
export function pulledImage(name: string, reference: string, opts: pulumi.CustomResourceOptions): docker.RemoteImage {
    return new docker.RemoteImage(name, { name: reference, keepLocally: true }, opts);
}
