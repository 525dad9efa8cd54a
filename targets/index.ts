import { Settings } from "../config/settings";
import { AwsHost } from "./aws";
import { DigitalOceanHost } from "./digitalocean";
import { Host } from "./host";
import { localHost } from "./local";
import { SshHost } from "./ssh";

/** The one place that knows the targets: each yields a Host. */
export function createHost(name: string, settings: Settings): Host {
    switch (settings.target) {
        case "local":
            return localHost(name);
        case "ssh":
            return new SshHost(name, { settings }).host;
        case "digitalocean":
            return new DigitalOceanHost(name, { settings }).host;
        case "aws":
            return new AwsHost(name, { settings }).host;
    }
}

export type { Host };
