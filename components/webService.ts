/**
 * The web tier in Swarm mode: one replicated service, `<prefix>-web`, instead of the web container.
 * Its inputs are plain values (the environment and the registry password aside, which are secret),
 * so that the real-engine suite can run the same service as:
 *
 *     docker service create --name <prefix>-web --replicas <webReplicas> \
 *         --env-file <the app environment> \
 *         --mount type=volume,source=<prefix>-static,target=<appStaticRoot> \
 *         --mount type=volume,source=<prefix>-media,target=<appMediaRoot> \
 *         --network <prefix>-backend --network name=<prefix>-frontend,alias=web \
 *         --health-cmd <appHealthcheck> --health-interval 30s --health-timeout 5s --health-start-period 1m --health-retries 3 \
 *         --endpoint-mode dnsrr \
 *         --label <Traefik router labels, traefik.swarm.network; none with nginx> \
 *         --update-parallelism 1 --update-order start-first --update-failure-action rollback --update-delay 10s --update-monitor 30s \
 *         --rollback-parallelism 1 --rollback-order start-first --rollback-monitor 30s \
 *         --restart-condition any --restart-delay 5s --stop-grace-period 30s \
 *         [--constraint node.role==worker] [--replicas-max-per-node <webMaxReplicasPerHost>] \
 *         [--with-registry-auth, logged in to the stack's registry] \
 *         [--entrypoint <appEntrypoint>] <image> <server command>
 *
 * The image is the app image built on the manager (one node), or its digest in the stack's
 * registry (workers). No autoheal label: Swarm replaces a task whose healthcheck fails by itself.
 * Pulumi marks a top-level input secret when anything in it is: `taskSpec` (for its env) and
 * `auth` arrive secret as a whole, the rest plain.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { Host, onHost } from "../targets/host";
import { goDuration, Healthcheck, serviceDuration } from "./healthchecks";

type AppSettings = Settings["app"];

export const WEB_UPDATE = { delaySeconds: 10, monitorSeconds: 30 };
export const WEB_RESTART_DELAY_SECONDS = 5;

/** KEY=value entries as the map a service's env is; the first "=" splits. */
export function environmentMap(entries: string[]): Record<string, string> {
    return Object.fromEntries(entries.map((e) => {
        const eq = e.indexOf("=");
        return eq < 0 ? [e, ""] : [e.slice(0, eq), e.slice(eq + 1)];
    }));
}

/** Where the replicas may run: only on workers when there are any, and at most `maxPerHost` per node (0: no limit). */
export function webPlacement(o: { onWorkers: boolean; maxPerHost: number }): docker.types.input.ServiceTaskSpecPlacement {
    return {
        constraints: o.onWorkers ? ["node.role==worker"] : [],
        ...(o.maxPerHost > 0 ? { maxReplicas: o.maxPerHost } : {}),
    };
}

/** A container healthcheck (goDuration) in the form the provider reads a service's back. */
export function serviceHealthcheck(check: Healthcheck): docker.types.input.ServiceTaskSpecContainerSpecHealthcheck {
    return {
        tests: check.tests,
        interval: serviceDuration(check.interval),
        timeout: serviceDuration(check.timeout),
        startPeriod: serviceDuration(check.startPeriod),
        retries: check.retries,
    };
}

/**
 * How long `up` waits for the replicas to run: one at a time, each up to its start period,
 * the update delay and the monitor window, with room to spare.
 */
export function convergeTimeoutSeconds(replicas: number): number {
    return 5 * 60 + replicas * 2 * 60;
}

/** A container's volume (StorageVolume.mount) as a service mount. */
function serviceMount(v: docker.types.input.ContainerVolume): docker.types.input.ServiceTaskSpecContainerSpecMount {
    const target = pulumi.output(v.containerPath).apply((p) => p ?? "");
    return v.hostPath !== undefined
        ? { type: "bind", source: v.hostPath, target, readOnly: v.readOnly ?? false }
        : { type: "volume", source: v.volumeName, target, readOnly: v.readOnly ?? false };
}

export interface RegistryAuth {
    serverAddress: pulumi.Input<string>;
    username: pulumi.Input<string>;
    /** Secret. */
    password: pulumi.Output<string>;
}

export interface WebServiceArgs {
    host: Host;
    prefix: string;
    app: AppSettings;
    image: pulumi.Input<string>;
    /** The server's argv (serverCommand). */
    command: string[];
    /** KEY=value entries; secret. */
    environment: pulumi.Output<string[]>;
    healthcheck: Healthcheck;
    volumes: docker.types.input.ContainerVolume[];
    backend: docker.Network;
    frontend: docker.Network;
    /** The alias the proxy finds the service by on the frontend network. */
    alias: string;
    /** Service labels (Traefik's, in their Swarm form). */
    labels?: pulumi.Input<docker.types.input.ServiceLabel[]>;
    replicas: number;
    maxReplicasPerHost: number;
    onWorkers: boolean;
    stopGraceSeconds: number;
    /** Logs the nodes in to the registry the image is in. */
    auth?: RegistryAuth;
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

export function webService(name: string, args: WebServiceArgs, parent: pulumi.Resource): docker.Service {
    const app = args.app;
    const update = {
        parallelism: 1,
        order: "start-first",
        delay: serviceDuration(goDuration(WEB_UPDATE.delaySeconds)),
        monitor: serviceDuration(goDuration(WEB_UPDATE.monitorSeconds)),
    };
    return new docker.Service(name, {
        name: `${args.prefix}-web`,
        mode: { replicated: { replicas: args.replicas } },
        taskSpec: {
            containerSpec: {
                image: args.image,
                // A service has no entrypoint of its own: `commands` replaces the image's entrypoint, `args` its command.
                ...(app.entrypoint.length > 0 ? { commands: app.entrypoint } : {}),
                args: args.command,
                env: pulumi.secret(args.environment.apply(environmentMap)),
                healthcheck: serviceHealthcheck(args.healthcheck),
                mounts: args.volumes.map(serviceMount),
                stopGracePeriod: serviceDuration(goDuration(args.stopGraceSeconds)),
            },
            networksAdvanceds: [
                { id: args.backend.id },
                { id: args.frontend.id, aliases: [args.alias] },
            ],
            placement: webPlacement({ onWorkers: args.onWorkers, maxPerHost: args.maxReplicasPerHost }),
            restartPolicy: { condition: "any", delay: serviceDuration(goDuration(WEB_RESTART_DELAY_SECONDS)) },
        },
        labels: args.labels ?? [],
        // `web` resolves to each task's address, not to a virtual IP: nginx then retries a failed
        // GET on another task, Traefik balances the tasks itself, and no IPVS is needed in the kernel.
        endpointSpec: { mode: "dnsrr" },
        updateConfig: { ...update, failureAction: "rollback" },
        rollbackConfig: { ...update, delay: "0s", failureAction: "pause" },
        convergeConfig: { delay: "7s", timeout: serviceDuration(goDuration(convergeTimeoutSeconds(args.replicas))) },
        ...(args.auth === undefined ? {} : {
            auth: { serverAddress: args.auth.serverAddress, username: args.auth.username, password: pulumi.secret(args.auth.password) },
        }),
    }, {
        ...onHost(args.host, parent),
        dependsOn: args.dependsOn,
        // The name is fixed: a replacement must remove the old service first.
        deleteBeforeReplace: true,
    });
}
