import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host, WorkerHost } from "../targets/host";

/** The manager's port for joining nodes (Swarm's cluster management). */
export const SWARM_MANAGER_PORT = 2377;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Makes the engine a Swarm manager advertising `advertiseAddress`, unless it already is one, and
 * prints the worker join token: the command's only output, which must stay secret.
 */
export function renderSwarmInit(advertiseAddress: string): string {
    return `set -eu
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
    docker swarm init --advertise-addr ${quote(advertiseAddress)} >/dev/null
fi
docker swarm join-token --quiet worker
`;
}

/**
 * Joins a worker to the manager at `managerAddress`, the token read from standard input so that it is
 * in no command line Pulumi records. A node already in this Swarm is left as it is; a node in
 * another Swarm (its manager was replaced) leaves that one first.
 */
export function renderSwarmJoin(o: { managerAddress: string; advertiseAddress: string }): string {
    const manager = `${o.managerAddress}:${SWARM_MANAGER_PORT}`;
    return `set -eu
token=$(cat)
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = "active" ]; then
    if docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' | grep -qF ${quote(manager)}; then
        echo "swarm: already a node of ${manager}"
        exit 0
    fi
    docker swarm leave --force >/dev/null
fi
docker swarm join --token "$token" --advertise-addr ${quote(o.advertiseAddress)} ${quote(manager)} >/dev/null
echo "swarm: joined ${manager}"
`;
}

/** Takes a worker out of the Swarm; a worker that is gone or already out is fine. */
export function renderSwarmLeave(): string {
    return "docker swarm leave --force >/dev/null 2>&1 || true";
}

export interface SwarmArgs {
    host: Host;
    /** The manager's address on the network the hosts share; Swarm advertises it to the workers. */
    advertiseAddress: pulumi.Output<string>;
    workers: WorkerHost[];
}

/**
 * Swarm mode on the host (the manager) and its workers. The join token is read from the manager
 * by the init command, kept only as a secret output, and handed to each worker on standard input.
 * The manager never leaves on delete: its engine may hold other services, and a destroy removes
 * the stack's own service anyway.
 */
export class Swarm extends pulumi.ComponentResource {
    readonly init: command.local.Command;
    /** The worker join token; secret. */
    readonly joinToken: pulumi.Output<string>;
    readonly joins: Record<string, command.local.Command>;
    /** What has to be in place before anything is scheduled on the Swarm. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: SwarmArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Swarm", name, {}, opts);
        const machine = args.host.machineId ?? "";
        this.init = new command.local.Command(`${name}-init`, {
            create: args.advertiseAddress.apply((address) => args.host.shell(renderSwarmInit(address))),
            triggers: [machine],
            // stdout is the token: never logged, never handed to the next run's environment.
            logging: "stderr",
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: [args.host.provider], additionalSecretOutputs: ["stdout"] });
        this.joinToken = pulumi.secret(this.init.stdout.apply((s) => (s ?? "").trim()));

        this.joins = Object.fromEntries(args.workers.map((worker) => [worker.name, new command.local.Command(`${name}-${worker.name}-join`, {
            create: pulumi.all([args.advertiseAddress, worker.privateAddress]).apply(([managerAddress, advertiseAddress]) =>
                worker.shell(renderSwarmJoin({ managerAddress, advertiseAddress }))),
            stdin: pulumi.secret(pulumi.interpolate`${this.joinToken}\n`),
            // A worker that is already gone must not fail a destroy.
            delete: worker.shell(renderSwarmLeave()).apply((s) => `${s} || true`),
            // A replaced worker or manager starts outside the Swarm: join again.
            triggers: [worker.machineId ?? "", machine],
            logging: "stdoutAndStderr",
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: [this.init, ...worker.ready], deleteBeforeReplace: true })]));
        this.ready = [this.init, ...Object.values(this.joins)];
        this.registerOutputs({});
    }
}

/** The manager's private address, which every target yields once it runs Swarm (local: 127.0.0.1). */
export function managerAddress(host: Host, target: string): pulumi.Output<string> {
    if (host.privateAddress === undefined) throw new Error(`target ${target} yields no private address, which Swarm mode needs to advertise the manager`);
    return host.privateAddress;
}
