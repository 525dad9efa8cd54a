import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { Host } from "./host";
import { renderWaitForDocker, sshCommand, sshOptions } from "./hostReady";
import { SshWorker, workerNames } from "./workers";

/**
 * A server the operator already has (address, user, key), the way Kamal and plain VPS users
 * work: the docker provider reaches its engine over ssh://, and nothing else is created around it.
 * Its data lives in named volumes on that server, which outlives every deploy. With
 * sshWorkerHosts, those servers are the Swarm's workers, reached the same way (SshWorker).
 */
export class SshHost extends pulumi.ComponentResource {
    readonly host: Host;

    constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:targets:SshHost", name, {}, opts);
        const s = args.settings;
        const address = s.host.sshHost!;
        const user = s.host.sshUser;
        const options = sshOptions({ privateKeyPath: s.host.sshPrivateKeyPath, port: s.host.sshPort });

        const ready = new command.local.Command(`${name}-ready`, {
            create: renderWaitForDocker({ user, address, sshOptions: options }),
        }, { parent: this });

        const port = s.host.sshPort === 22 ? "" : `:${s.host.sshPort}`;
        const dockerHost = `ssh://${user}@${address}${port}`;
        // The provider's own ssh passes these; the port is in the URL, not here.
        const providerSshOptions = sshOptions({ privateKeyPath: s.host.sshPrivateKeyPath });
        const provider = new docker.Provider(`${name}-docker`, {
            host: dockerHost,
            sshOpts: providerSshOptions,
            // As on the clouds: the same in previews and updates; the step above checked the engine.
            disableDockerDaemonCheck: true,
        }, { parent: this, dependsOn: [ready] });

        this.host = {
            provider,
            address: pulumi.output(address),
            dockerConnection: { host: pulumi.output(dockerHost), sshOptions: providerSshOptions },
            // As given: the hosts must reach each other there on the Swarm and registry ports
            // (SWARM_PORTS); the program makes no firewall on servers it did not create.
            privateAddress: pulumi.output(address),
            workers: workerNames(s.scale.sshWorkerHosts.length).map((worker, i) => new SshWorker(`${name}-${worker}`, {
                settings: s,
                worker,
                address: s.scale.sshWorkerHosts[i],
            }, { parent: this }).worker),
            sshCommand: pulumi.output(`ssh ${s.host.sshPort === 22 ? "" : `-p ${s.host.sshPort} `}${s.host.sshPrivateKeyPath ? `-i ${s.host.sshPrivateKeyPath} ` : ""}${user}@${address}`),
            shell: (script) => pulumi.output(sshCommand({ user, address, sshOptions: options, script })),
        };
        this.registerOutputs({ address: this.host.address });
    }
}
