import * as bcrypt from "bcryptjs";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { Host, onHost, WorkerHost } from "../targets/host";
import { autohealLabels } from "./autoheal";
import { commandHealthcheck } from "./healthchecks";
import { PINNED_IMAGES, pullImage } from "./images";

export const REGISTRY_PORT = 5000;
export const REGISTRY_USER = "webstack";
/** The registry's debug server, inside its container only: /debug/health for the healthcheck. */
const REGISTRY_DEBUG_PORT = 5001;
const BCRYPT_COST = 10;
const HOURS_PER_YEAR = 24 * 365;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The registry's htpasswd line: bcrypt, the only scheme it accepts. bcrypt salts at random, so
 * the salt (22 characters of bcrypt's alphabet) is kept in state, and the same password and salt
 * give the same line on every run: previews settle. Secret, like the password.
 */
export function htpasswdLine(user: string, password: string, salt: string): string {
    if (!/^[./A-Za-z0-9]{22}$/.test(salt)) throw new Error("htpasswd: expected a 22-character bcrypt salt");
    return `${user}:${bcrypt.hashSync(password, `$2b$${BCRYPT_COST}$${salt}`)}\n`;
}

/** The registry's settings: htpasswd auth and TLS, as its environment; nothing secret. */
export function registryEnvironment(): string[] {
    return [
        "REGISTRY_AUTH=htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM=webstack",
        "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
        "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/registry.crt",
        "REGISTRY_HTTP_TLS_KEY=/certs/registry.key",
        `REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:${REGISTRY_DEBUG_PORT}`,
    ];
}

/**
 * Writes the CA certificate (standard input) where a node's engine looks for the registry's CA, as
 * root (sudo when the ssh user is not root).
 */
export function renderTrustCa(registry: string): string {
    return `set -eu
dir=${quote(`/etc/docker/certs.d/${registry}`)}
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi
$sudo mkdir -p "$dir"
$sudo tee "$dir/ca.crt" >/dev/null
echo "registry: $dir/ca.crt written"
`;
}

export function renderDistrustCa(registry: string): string {
    return `dir=${quote(`/etc/docker/certs.d/${registry}`)}; if [ "$(id -u)" -eq 0 ]; then rm -rf "$dir"; else sudo -n rm -rf "$dir"; fi || true`;
}

export interface RegistryArgs {
    host: Host;
    prefix: string;
    /** The manager's private address: the registry listens there only, and its certificate names it. */
    address: pulumi.Output<string>;
    /** The other nodes, which pull from it. */
    workers: WorkerHost[];
}

/**
 * A private registry on the manager for the app image, which the workers cannot get otherwise:
 * registry 2 with TLS (a CA of the stack's own, trusted by every node's engine) and htpasswd
 * auth, published on the private address only.
 */
export class Registry extends pulumi.ComponentResource {
    /** host:port, as image names and the nodes' certs.d use it. */
    readonly server: pulumi.Output<string>;
    readonly username = REGISTRY_USER;
    /** Secret. */
    readonly password: pulumi.Output<string>;
    readonly container: docker.Container;
    readonly caCertificate: pulumi.Output<string>;
    /** The CA written on the manager (needed to push) and on each worker (to pull). */
    readonly trust: command.local.Command[];
    /** What a push and the service's pulls wait for. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webstack:index:Registry", name, {}, opts);
        const childOpts = onHost(args.host, this);
        this.server = pulumi.interpolate`${args.address}:${REGISTRY_PORT}`;

        this.password = pulumi.secret(new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this }).result);
        const salt = new random.RandomString(`${name}-salt`, { length: 22, special: false }, { parent: this }).result;
        const htpasswd = pulumi.secret(pulumi.all([this.password, salt]).apply(([password, s]) => htpasswdLine(REGISTRY_USER, password, s)));

        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const ca = new tls.SelfSignedCert(`${name}-ca`, {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            subject: { commonName: `${args.prefix} registry CA` },
            validityPeriodHours: 10 * HOURS_PER_YEAR,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        }, { parent: this });
        this.caCertificate = ca.certPem;
        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const request = new tls.CertRequest(`${name}-csr`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: args.address },
            ipAddresses: [args.address],
        }, { parent: this });
        const certificate = new tls.LocallySignedCert(`${name}-cert`, {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: 5 * HOURS_PER_YEAR,
            // Renewed by a deploy in its last month; the registry is replaced with the new certificate.
            earlyRenewalHours: 30 * 24,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        }, { parent: this });

        // Images can be built again: nothing here to keep through a destroy.
        const storage = new docker.Volume(`${name}-data`, {
            name: `${args.prefix}-registry`,
            labels: [{ label: "webstack.volume", value: "registry" }],
        }, childOpts);
        this.container = new docker.Container(name, {
            name: `${args.prefix}-registry`,
            image: pullImage(`${name}-image`, PINNED_IMAGES.registry, childOpts),
            envs: registryEnvironment(),
            uploads: [
                { file: "/auth/htpasswd", content: htpasswd },
                { file: "/certs/registry.crt", content: certificate.certPem },
                { file: "/certs/registry.key", content: pulumi.secret(key.privateKeyPem), permissions: "0600" },
            ],
            ports: [{ internal: REGISTRY_PORT, external: REGISTRY_PORT, ip: args.address }],
            volumes: [{ volumeName: storage.name, containerPath: "/var/lib/registry" }],
            healthcheck: commandHealthcheck(["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${REGISTRY_DEBUG_PORT}/debug/health`]),
            labels: autohealLabels(10),
            restart: "unless-stopped",
            wait: true,
            waitTimeout: 120,
        }, { ...childOpts, deleteBeforeReplace: true });

        const nodes = [
            { name: "manager", shell: args.host.shell.bind(args.host), machineId: args.host.machineId, ready: [args.host.provider] as pulumi.Resource[] },
            ...args.workers,
        ];
        this.trust = nodes.map((node) => new command.local.Command(`${name}-${node.name}-ca`, {
            create: this.server.apply((server) => node.shell(renderTrustCa(server))),
            delete: this.server.apply((server) => node.shell(renderDistrustCa(server))).apply((s) => `${s} || true`),
            stdin: ca.certPem,
            triggers: [node.machineId ?? ""],
        }, { parent: this, dependsOn: node.ready, deleteBeforeReplace: true }));
        this.ready = [this.container, ...this.trust];
        this.registerOutputs({ server: this.server, container: this.container.name });
    }
}
