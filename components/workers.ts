import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { commandHealthcheck } from "./healthchecks";
import { scheduledCommand, schedulerHealthcheck } from "./schedule";
import { StorageVolume } from "./volumes";

export type WorkerSettings = Settings["app"]["workers"][number];

export interface WorkersArgs {
    host: Host;
    prefix: string;
    workers: WorkerSettings[];
    image: pulumi.Input<string>;
    entrypoint: string[];
    /** The app's environment, secrets included; secret. */
    environment: pulumi.Output<string[]>;
    media: StorageVolume;
    mediaRoot: string;
    backend: docker.Network;
    /** For a route out (mail, APIs); workers publish no ports. */
    frontend: docker.Network;
    /** Workers start once the release has run (migrations). */
    after: pulumi.Resource[];
}

/** A scheduled command may run this long before its worker counts as stuck, unless it has a healthcheck of its own. */
export const SCHEDULED_RUN_LIMIT_SECONDS = 6 * 3600;

/** The worker's healthcheck: its own, or for a scheduled one the scheduler's heartbeat. */
export function workerHealthcheck(worker: WorkerSettings): string[] {
    if (worker.healthcheck.length > 0) return worker.healthcheck;
    return worker.schedule === undefined ? [] : schedulerHealthcheck(SCHEDULED_RUN_LIMIT_SECONDS);
}

/** The container of one worker: its command, or the scheduler loop for a scheduled one. */
export function workerCommand(worker: WorkerSettings): string[] {
    return worker.schedule === undefined ? worker.command : scheduledCommand(worker.schedule, worker.command);
}

/**
 * Extra processes from the app image (a Celery worker and beat, scheduled commands): the app's
 * environment and secrets, the backend network and a route out, no published ports. Each has a
 * healthcheck (its own, or the scheduler's heartbeat) and is watched by autoheal with its own stop grace.
 */
export class Workers extends pulumi.ComponentResource {
    readonly containers: Record<string, docker.Container> = {};

    constructor(name: string, args: WorkersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Workers", name, {}, opts);
        const childOpts = onHost(args.host, this);
        for (const worker of args.workers) {
            this.containers[worker.name] = new docker.Container(`${name}-${worker.name}`, {
                name: `${args.prefix}-${worker.name}`,
                image: args.image,
                command: workerCommand(worker),
                ...(args.entrypoint.length > 0 ? { entrypoints: args.entrypoint } : {}),
                envs: args.environment,
                volumes: [args.media.mount(args.mediaRoot)],
                networksAdvanced: [{ name: args.backend.name }, { name: args.frontend.name }],
                healthcheck: commandHealthcheck(workerHealthcheck(worker)),
                labels: [{ label: "webstack.worker", value: worker.name }, ...autohealLabels(worker.stopGraceSeconds)],
                stopTimeout: worker.stopGraceSeconds,
                destroyGraceSeconds: worker.stopGraceSeconds,
                restart: "unless-stopped",
            }, { ...childOpts, dependsOn: args.after, deleteBeforeReplace: true });
        }
        this.registerOutputs({});
    }
}
