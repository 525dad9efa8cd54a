/** Containers: only the proxy publishes ports, a persistent and healthy database, restart policies and autoheal. */
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes, isSecretMarker, isUnknown, TYPES, unproxy, unwrapSecret } from "./common";

// ---------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------

export interface ContainerProps {
    name?: string;
    image?: string;
    envs?: string[];
    ports?: { internal: number; external?: number; ip?: string; protocol?: string }[];
    networkMode?: string;
    restart?: string;
    mustRun?: boolean;
    attach?: boolean;
    labels?: { label: string; value: string }[];
    healthcheck?: { tests?: string[] };
    volumes?: { containerPath?: string; volumeName?: string; hostPath?: string; fromContainer?: string; readOnly?: boolean }[];
    mounts?: { target: string; type: string; source?: string }[];
}

/** The container's own name (the `name` input), or else the resource's name. Never throws. */
export function containerName(args: { name: string; props: unknown }): string {
    const name = (unproxy(args.props) as ContainerProps | undefined)?.name;
    return typeof name === "string" && !isUnknown(name) ? name : args.name;
}

/** The proxy: the resource named "proxy", or a container named <prefix>-proxy (webstack-prod-proxy). */
export function isProxy(args: { name: string; props: unknown }): boolean {
    return args.name === "proxy" || /(^|-)proxy$/.test(containerName(args));
}

/** A registry container: named registry or <prefix>-registry, or the official registry image. */
export function isRegistry(args: { name: string; props: unknown }): boolean {
    if (args.name === "registry" || /(^|-)registry$/.test(containerName(args))) return true;
    const image = (unproxy(args.props) as ContainerProps | undefined)?.image;
    return typeof image === "string" && !isUnknown(image) && /(^|\/)registry[:@]/.test(image);
}

/** The database: the resource named "db", a container named <prefix>-db, or a postgres image. */
export function isDatabase(args: { name: string; props: unknown }): boolean {
    if (args.name === "db" || /(^|-)db$/.test(containerName(args))) return true;
    const image = (unproxy(args.props) as ContainerProps | undefined)?.image;
    return typeof image === "string" && !isUnknown(image) && /(^|\/)(postgres|postgis)[:@]/.test(image);
}

/** The autoheal watcher: it has AUTOHEAL_CONTAINER_LABEL in its environment, or is named autoheal. */
export function isAutohealWatcher(args: { name: string; props: unknown }): boolean {
    if (args.name === "autoheal" || /(^|-)autoheal$/.test(containerName(args))) return true;
    return autohealWatchedLabel(args.props) !== undefined;
}

/** The label value the watcher restarts on (AUTOHEAL_CONTAINER_LABEL; "all" watches every container). */
export function autohealWatchedLabel(props: unknown): string | undefined {
    const envs = rawEnvEntries(props);
    const entry = envs.find((e) => e.startsWith("AUTOHEAL_CONTAINER_LABEL="));
    return entry?.slice("AUTOHEAL_CONTAINER_LABEL=".length);
}

/** The container's KEY=value entries that are known, secret or not. Never throws. */
export function rawEnvEntries(props: unknown): string[] {
    let envs = (unproxy(props) as ContainerProps | undefined)?.envs as unknown;
    envs = unproxy(envs);
    if (isSecretMarker(envs)) envs = unwrapSecret(envs);
    if (!Array.isArray(envs)) return [];
    return envs.map((e) => unwrapSecret(unproxy(e))).filter((e): e is string => typeof e === "string" && !isUnknown(e));
}

/** A label's value, read without tripping over unknowns (undefined when unknown or absent). */
function rawLabelValue(props: unknown, label: string): string | undefined {
    const labels = unwrapSecret((unproxy(props) as ContainerProps | undefined)?.labels);
    if (!Array.isArray(labels)) return undefined;
    for (const item of labels) {
        const entry = unwrapSecret(item) as { label?: unknown; value?: unknown } | undefined;
        if (entry?.label === label && typeof entry.value === "string" && !isUnknown(entry.value)) return entry.value;
    }
    return undefined;
}


/**
 * One-shot containers run to completion and are not kept running: the release step has
 * attach true (the provider waits for it to exit) and mustRun false. Everything else is long-running.
 */
export const isOneShot = (c: ContainerProps): boolean => c.attach === true || c.mustRun === false;

const RESTART_POLICIES = ["always", "unless-stopped", "on-failure"];
const hasHealthcheck = (c: ContainerProps): boolean => {
    const tests = c.healthcheck?.tests ?? [];
    return tests.length > 0 && tests[0] !== "NONE";
};
const labelValue = (c: ContainerProps, label: string): string | undefined => (c.labels ?? []).find((l) => l.label === label)?.value;

export const AUTOHEAL_LABEL = "autoheal";
export const POSTGRES_DATA_DIR = "/var/lib/postgresql/data";

/** A port published on one address of the host (not every address: 0.0.0.0, ::, or none given). */
export const isPrivateBind = (ip: unknown): boolean => typeof ip === "string" && !isUnknown(ip) && !["", "0.0.0.0", "::", "[::]"].includes(ip.trim());

export const onlyProxyPublishesPorts: ResourceValidationPolicy = {
    name: "only-proxy-publishes-ports",
    description: "No container but the proxy publishes ports on the host (or shares the host's network); " +
        "the Swarm registry may, on one (private) address of the host.",
    enforcementLevel: "mandatory",
    validateResource: forTypes<ContainerProps>([TYPES.container], (c, args, reportViolation) => {
        if (isProxy(args)) return;
        const name = containerName(args);
        // The Swarm registry listens on the hosts' private network, and only there.
        const ports = (c.ports ?? []).filter((p) => !(isRegistry(args) && isPrivateBind(p.ip)));
        if (ports.length > 0) {
            const published = ports.map((p) => `${p.external ?? "(random)"}->${p.internal}`).join(", ");
            reportViolation(`Container ${name} publishes ${published}; only the proxy may publish ports. ` +
                "Reach it through the proxy (a frontend network) instead. (proxy none is for dev only.)");
        }
        if (c.networkMode === "host") {
            reportViolation(`Container ${name} uses the host's network, which exposes every port it listens on; only the proxy may be reachable.`);
        }
    }),
};

export const databaseVolumeAndHealthcheck: ResourceValidationPolicy = {
    name: "database-volume-and-healthcheck",
    description: "The database container keeps its data directory on a persistent volume and has a healthcheck.",
    enforcementLevel: "mandatory",
    validateResource: forTypes<ContainerProps>([TYPES.container], (c, args, reportViolation) => {
        if (!isDatabase(args)) return;
        const name = containerName(args);
        const covers = (path: string | undefined) =>
            path !== undefined && (POSTGRES_DATA_DIR === path || POSTGRES_DATA_DIR.startsWith(`${path.replace(/\/$/, "")}/`));
        // Presence of volumeName/hostPath is enough: a volume name can be unknown during a preview.
        const volume = (c.volumes ?? []).some((v) => covers(v.containerPath) && ("volumeName" in v || "hostPath" in v));
        const mount = (c.mounts ?? []).some((m) => covers(m.target) && (m.type === "volume" || m.type === "bind"));
        if (!volume && !mount) {
            reportViolation(`Database container ${name} has no persistent volume at ${POSTGRES_DATA_DIR}: ` +
                "its data would go with the container. Mount a named volume or a directory on the host's data disk there.");
        }
        if (!hasHealthcheck(c)) {
            reportViolation(`Database container ${name} has no healthcheck; add one (pg_isready) so that dependants wait for it and autoheal can restart it.`);
        }
    }),
};

/**
 * Containers that autoheal deliberately leaves alone, by resource name or container-name suffix:
 * the backup container, whose healthcheck turns unhealthy when the last backup is too old, which
 * needs an operator rather than a restart. They still need a restart policy and a healthcheck.
 */
export const DEFAULT_AUTOHEAL_EXEMPT = ["backup"];

const isExempt = (args: { name: string; props: unknown }, exempt: string[]) =>
    exempt.some((entry) => args.name === entry || containerName(args).endsWith(`-${entry}`));

export const longRunningRestartAndAutoheal: ResourceValidationPolicy = {
    name: "long-running-restart-and-autoheal",
    description: "Every long-running container has a restart policy and a healthcheck; all but the autoheal watcher " +
        "(and the configured exemptions) carry autoheal=true.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            autohealExempt: {
                type: "array",
                items: { type: "string" },
                default: DEFAULT_AUTOHEAL_EXEMPT,
                description: "Containers autoheal does not watch, by resource name or container-name suffix.",
            },
        },
    },
    validateResource: forTypes<ContainerProps>([TYPES.container], (c, args, reportViolation) => {
        if (isOneShot(c)) return;
        const name = containerName(args);
        if (!RESTART_POLICIES.includes(c.restart ?? "no")) {
            reportViolation(`Container ${name} is long-running but has restart "${c.restart ?? "no"}"; ` +
                `set restart to "unless-stopped" (or "always"/"on-failure") so it comes back after a crash or a reboot.`);
        }
        if (isAutohealWatcher(args)) return;
        const exempt = args.getConfig<{ autohealExempt?: string[] }>().autohealExempt ?? DEFAULT_AUTOHEAL_EXEMPT;
        if (labelValue(c, AUTOHEAL_LABEL) !== "true" && !isExempt(args, exempt)) {
            reportViolation(`Container ${name} is not watched by autoheal: add the label ${AUTOHEAL_LABEL}=true ` +
                "(or list it in this policy's autohealExempt config, if a restart cannot help it).");
        }
        if (!hasHealthcheck(c)) {
            reportViolation(`Container ${name} has no healthcheck, so neither autoheal nor an operator can see it unhealthy; add one.`);
        }
    }),
};

/** Stack-level half of the autoheal rule: the watcher exists wherever containers ask to be watched. */
export const autohealWatcherPresent: StackValidationPolicy = {
    name: "autoheal-watcher-present",
    description: "A stack whose containers carry autoheal=true also runs an autoheal container that watches that label.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const containers = args.resources.filter((r) => r.type === TYPES.container);
        const byProvider = new Map<string, PolicyResource[]>();
        for (const c of containers) {
            const key = c.provider?.urn ?? "";
            byProvider.set(key, [...(byProvider.get(key) ?? []), c]);
        }
        for (const group of byProvider.values()) {
            const watchers = group.filter((c) => isAutohealWatcher(c));
            const labels = watchers.map((w) => autohealWatchedLabel(w.props) ?? AUTOHEAL_LABEL);
            for (const c of group) {
                if (rawLabelValue(c.props, AUTOHEAL_LABEL) !== "true") continue;
                if (watchers.length === 0) {
                    reportViolation(`Container ${containerName(c)} carries ${AUTOHEAL_LABEL}=true but no autoheal container runs on its Docker host.`, c.urn);
                } else if (!labels.some((l) => l === AUTOHEAL_LABEL || l === "all")) {
                    reportViolation(`Container ${containerName(c)} carries ${AUTOHEAL_LABEL}=true but autoheal watches ${labels.join(", ")}.`, c.urn);
                }
            }
        }
    },
};
