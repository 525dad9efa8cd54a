import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Host, onHost } from "../targets/host";
import { PINNED_IMAGES, pullImage } from "./images";

/** Images kept per repository: the current one and the one before it, for a rollback. */
export const IMAGES_KEPT = 2;

/**
 * A script (busybox sh, curl and jq, as in the autoheal image) that removes all but the newest
 * `keep` images of each repository through the engine's API. An image a container still uses
 * is refused by the engine (no force), so it is never removed. Pruning is housekeeping: the
 * script reports what it did and always exits 0.
 */
export function renderImagePrune(o: { repositories: string[]; keep: number }): string {
    return `set -u
api() { curl -fsS --unix-socket /var/run/docker.sock "$@"; }
for repo in ${o.repositories.join(" ")}; do
    images=$(api -G http://localhost/images/json --data-urlencode "filters={\\"reference\\":[\\"$repo\\"]}") || {
        echo "prune: could not list the images of $repo" >&2
        continue
    }
    printf '%s' "$images" | jq -r 'sort_by(-.Created) | .[${o.keep}:] | .[].Id' | while read -r id; do
        if api -X DELETE "http://localhost/images/$id" >/dev/null 2>&1; then
            echo "prune: removed $repo image $id"
        else
            echo "prune: kept $repo image $id (in use)"
        fi
    done
done
exit 0
`;
}

export interface ImagePruningArgs {
    host: Host;
    prefix: string;
    /** Repositories of the images the stack builds on the host (with a Swarm registry, the app's is in it). */
    repositories: pulumi.Input<string>[];
    /** The images just deployed: when one changes, pruning runs again. */
    images: pulumi.Input<string>[];
    /** Pruning runs once these are in place (the new web container). */
    after: pulumi.Resource[];
}

/**
 * Every deploy builds new images and deleting a docker.Image resource leaves the image on the
 * host, so the disk fills up. After each deploy this one-shot container keeps the current and
 * previous image of each built repository and removes the rest.
 */
export class ImagePruning extends pulumi.ComponentResource {
    readonly container: docker.Container;

    constructor(name: string, args: ImagePruningArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:ImagePruning", name, {}, opts);
        const childOpts = onHost(args.host, this);
        this.container = new docker.Container(name, {
            name: `${args.prefix}-prune`,
            image: pullImage(`${name}-image`, PINNED_IMAGES.autoheal, childOpts),
            entrypoints: ["sh", "-c"],
            command: pulumi.all(args.repositories).apply((repositories) => [renderImagePrune({ repositories, keep: IMAGES_KEPT })]),
            volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
            networkMode: "none",
            mustRun: false,
            attach: true,
            logs: true,
            restart: "no",
        }, {
            ...childOpts,
            dependsOn: args.after,
            deleteBeforeReplace: true,
            replacementTrigger: pulumi.all([childOpts.replacementTrigger ?? "", ...args.images]),
        });
        this.registerOutputs({ container: this.container.name });
    }
}
