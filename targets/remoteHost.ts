import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config/settings";
import { DATA_MOUNT } from "./cloudInit";
import { BackupStore, Host } from "./host";
import { renderWaitForHost, sshCommand, sshOptions } from "./hostReady";

export interface RemoteHostArgs {
    settings: Settings;
    address: pulumi.Output<string>;
    /** When these change (a new machine, a re-attached volume), wait for the host again. */
    triggers: pulumi.Input<string>[];
    /** What must exist before the host can be reached (firewall, IP assignment, volume). */
    dependsOn: pulumi.Resource[];
    backupStore: BackupStore;
    /** The droplet or instance id: a new machine gets every container anew. */
    machineId: pulumi.Output<string>;
}

/**
 * Turns a cloud machine into a Host: waits over ssh until cloud-init has mounted the data
 * volume and started Docker, then points a docker provider at ssh://user@address.
 */
export function connectRemoteHost(name: string, args: RemoteHostArgs, parent: pulumi.Resource): Host {
    const { settings } = args;
    const user = settings.host.sshUser;
    const knownHostsFile = `~/.ssh/known_hosts_${settings.project}_${settings.stack}`;
    const options = sshOptions({ knownHostsFile, privateKeyPath: settings.host.sshPrivateKeyPath });

    const ready = new command.local.Command(`${name}-ready`, {
        create: args.address.apply((address) => renderWaitForHost({ user, address, sshOptions: options, knownHostsFile })),
        // The size too: a grown volume needs its filesystem grown.
        triggers: [...args.triggers, String(settings.host.dataVolumeSizeGb)],
    }, { parent, dependsOn: args.dependsOn });

    const dockerHost = pulumi.interpolate`ssh://${user}@${args.address}`;
    const provider = new docker.Provider(`${name}-docker`, {
        host: dockerHost,
        sshOpts: options,
        // Always on, so that previews (pull-request checks without access to the host) and updates
        // configure the provider alike: a value that differed between them showed as a provider
        // change on every preview. The readiness step above has already checked the engine.
        disableDockerDaemonCheck: true,
    }, { parent, dependsOn: [ready] });

    return {
        provider,
        address: args.address,
        dataDir: DATA_MOUNT,
        backupStore: args.backupStore,
        machineId: args.machineId,
        dockerConnection: { host: dockerHost, sshOptions: options },
        workers: [],
        shell: (script) => args.address.apply((address) => sshCommand({ user, address, sshOptions: options, script })),
        sshCommand: pulumi.interpolate`ssh ${settings.host.sshPrivateKeyPath ? `-i ${settings.host.sshPrivateKeyPath} ` : ""}${user}@${args.address}`,
    };
}

/** Ingress every cloud host gets: the web from anywhere, SSH from the operators. */
export function ingressRules(settings: Settings) {
    return {
        web: [80, 443],
        ssh: settings.host.sshAllowedCidrs,
        anywhere: ["0.0.0.0/0", "::/0"],
    };
}

/** The block volume is the database: when protected, neither destroy nor a replacement may delete it. */
export function dataVolumeOptions(settings: Settings): pulumi.CustomResourceOptions {
    return { protect: settings.protectData, retainOnDelete: settings.protectData };
}
