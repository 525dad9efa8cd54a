import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

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
};
