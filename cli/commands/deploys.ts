import { Engine } from "../engine";
import { OperatorError, UsageError } from "../errors";
import { deploy, Operations, setConfig, stackLabel } from "../stack";
import { webRuntime } from "./oneOff";

export interface HostImage { reference: string; id: string; created: Date }

/** Parses `docker image ls --no-trunc --format '{{json .}}'` lines; untagged images are left out. */
export function parseImageList(text: string): HostImage[] {
    return text.split("\n").filter((l) => l.trim() !== "").map((line) => JSON.parse(line) as Record<string, string>)
        .filter((row) => row.Tag !== "<none>" && row.Repository !== "<none>")
        .map((row) => ({
            reference: `${row.Repository}:${row.Tag}`,
            id: row.ID,
            // "2026-11-30 22:50:11 +0000 UTC"
            created: new Date(row.CreatedAt.replace(/^(\S+) (\S+) ([+-]\d{2})(\d{2}).*$/, "$1T$2$3:$4")),
        }));
}

/**
 * The image to roll back to: the newest image of the app's repository that is not the one the
 * web container runs (by id: a second tag of the same image is no rollback).
 */
export function previousImage(images: HostImage[], currentId: string): HostImage | undefined {
    return images.filter((i) => i.id !== currentId).sort((a, b) => b.created.getTime() - a.created.getTime())[0];
}

async function deployOrExplain(stack: string | undefined, yes: boolean, undo: string): Promise<number> {
    const code = await deploy(stack, yes);
    if (code !== 0) {
        throw new OperatorError(`pulumi up did not finish (exit ${code}); the setting stays as set: fix the cause and run \`pulumi up\` again, or ${undo}`, code);
    }
    return 0;
}

export async function rollback(engine: Engine, ops: Operations, o: { stack?: string; to?: string; clear: boolean; yes: boolean }): Promise<number> {
    const stackOpt = o.stack === undefined ? "" : ` --stack ${o.stack}`;
    if (ops.imageSource === "appImage") {
        throw new OperatorError(`${stackLabel(o.stack)} runs a pinned appImage (${ops.appImage}); roll it back with \`pulumi config set appImage <previous tag>${stackOpt}\` and \`pulumi up${stackOpt}\``);
    }
    if (o.clear) {
        if (ops.imageSource !== "rollbackImage") {
            throw new OperatorError(`${stackLabel(o.stack)} is not rolled back (it builds appContext); nothing to clear`);
        }
        console.log(`Clearing the rollback of ${stackLabel(o.stack)}: the next deploy builds and releases appContext again.`);
        await setConfig(o.stack, "rollbackImage", undefined);
        return deployOrExplain(o.stack, o.yes, `\`bin/webstack rollback${stackOpt}\` to go back`);
    }
    const running = await webRuntime(engine, ops);
    // A service names its image by digest; a container already has the image's id.
    const currentId = running.image.startsWith("sha256:") ? running.image
        : (await engine.dockerOk(["image", "inspect", "--format", "{{.Id}}", running.image], "finding the web tier's image")).trim();
    const images = parseImageList(await engine.dockerOk(["image", "ls", "--no-trunc", "--format", "{{json .}}", ops.appRepository], "listing the app's images"));
    let target: HostImage | undefined;
    if (o.to !== undefined) {
        target = images.find((i) => i.reference === o.to || i.reference === `${ops.appRepository}:${o.to}`);
        if (target === undefined) {
            throw new OperatorError(`image ${o.to} is not on ${engine.description}; the app's images there are: ${images.map((i) => i.reference).join(", ") || "none"}`);
        }
        if (target.id === currentId) throw new OperatorError(`the web tier already runs ${target.reference}`);
    } else {
        target = previousImage(images, currentId);
        if (target === undefined) {
            throw new OperatorError(`no previous image of ${ops.appRepository} on ${engine.description} to roll back to: it has only the one the web container runs (${ops.appImage}); the host keeps the current and the previous build, so a rollback needs two deploys of different code`);
        }
    }
    console.log(`Rolling back ${stackLabel(o.stack)} from ${ops.appImage} to ${target.reference} (built ${target.created.toISOString()}) through Pulumi: the release step runs with that image, then the web container is replaced.`);
    console.log("If the newer release applied a migration the older code cannot work with, reverse it first (see README, Operations).");
    await setConfig(o.stack, "rollbackImage", target.reference);
    return deployOrExplain(o.stack, o.yes, `\`bin/webstack rollback --clear${stackOpt}\` to deploy appContext again`);
}

export async function maintenance(ops: Operations, o: { stack?: string; state?: string; yes: boolean }): Promise<number> {
    if (o.state === undefined) {
        console.log(`maintenance is ${ops.maintenance ? "on" : "off"} for ${stackLabel(o.stack)} (as of its last deploy)`);
        return 0;
    }
    if (o.state !== "on" && o.state !== "off") throw new UsageError(`maintenance takes on or off, not '${o.state}'`);
    const on = o.state === "on";
    if (ops.proxy === "none") throw new OperatorError(`${stackLabel(o.stack)} has no proxy (proxy: none), which is what answers in maintenance mode`);
    await setConfig(o.stack, "maintenance", String(on));
    console.log(`maintenance ${o.state} for ${stackLabel(o.stack)}: deploying the proxy's new configuration with pulumi up`);
    return deployOrExplain(o.stack, o.yes, `\`bin/webstack maintenance ${on ? "off" : "on"}\` to go back`);
}
