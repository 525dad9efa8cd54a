import { expect } from "chai";
import { isSecretValue, labelsOf, ofType, Registered, resolve, Run, runWithConfig, stackConfig, unwrap } from "../harness";
import { readSettings } from "../../config/settings";
import { buildStack } from "../../stack";

type Stack = ReturnType<typeof buildStack>;
const evaluate = (stack: string, overrides: Record<string, unknown> = {}, opts: { preview?: boolean; secretKeys?: string[] } = {}) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()), opts);

const containers = (run: Run<Stack>) => ofType(run.resources, "docker:index/container:Container");
const container = (run: Run<Stack>, name: string) => {
    const found = containers(run).filter((c) => c.name === name || c.name.endsWith(`-${name}`));
    expect(found, `container ${name}`).to.have.length(1);
    return found[0];
};
/** Files placed in a container; the list is secret as a whole when any file is. */
const uploadsOf = (c: Registered) => Object.fromEntries((unwrap(c.inputs.uploads) as any[]).map((u) => [u.file, u]));
const nginxConf = (c: Registered) => uploadsOf(c)["/etc/nginx/conf.d/default.conf"].content as string;
const longRunning = (run: Run<Stack>) => containers(run).filter((c) => c.inputs.restart !== "no");

/** The topology every stack has, whatever the target. */
function expectTopology(run: Run<Stack>, proxy: "nginx" | "traefik", https = false) {
    const names = containers(run).map((c) => (c.name.endsWith("-web") ? "web" : c.name)).sort();
    const certbot = proxy === "nginx" && https ? ["proxy-certbot"] : [];
    expect(names).to.deep.equal(["autoheal", "backup", "db", "prune", "proxy", ...certbot, "web"].sort());

    const db = container(run, "db");
    expect(db.inputs.ports ?? []).to.deep.equal([]);
    expect(db.inputs.healthcheck.tests.slice(0, 3)).to.deep.equal(["CMD", "pg_isready", "-h"]);
    expect(db.inputs.healthcheck.tests).to.include("127.0.0.1");
    expect(db.inputs.stopTimeout).to.be.at.least(60);
    expect(labelsOf(db)["autoheal.stop.timeout"]).to.equal(String(db.inputs.stopTimeout));
    expect(db.opts.deleteBeforeReplace, "two servers never share a data directory").to.equal(true);
    expect(db.inputs.volumes.map((v: any) => v.containerPath)).to.deep.equal(["/var/lib/postgresql/data"]);

    const web = container(run, "web");
    expect(web.inputs.ports ?? []).to.deep.equal([]);
    expect(web.inputs.healthcheck.tests[0]).to.equal("CMD");
    expect(web.inputs.healthcheck.tests.at(-1)).to.match(/\/accounts\/login\/$/);
    expect(web.inputs.healthcheck.startPeriod).to.be.a("string");
    expect(web.inputs.command).to.deep.equal(["gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi:application"]);
    expect(web.opts.dependsOn, "web waits for the release").to.be.an("array").that.is.not.empty;

    const release = ofType(run.resources, "command:local:Command").find((c) => c.name === "app-release")!;
    expect(release, "the release step").not.to.equal(undefined);
    expect(String(unwrap(release.inputs.create))).to.match(/migrate --noinput[\s\S]*collectstatic --noinput[\s\S]*createsuperuser --noinput/);
    expect(isSecretValue(release.inputs.stdin), "the release environment arrives on stdin, secret").to.equal(true);
    expect(web.opts.dependsOn).to.include(run.result.parts.app.release);

    const edge = container(run, "proxy");
    expect(edge.inputs.ports.map((p: any) => p.internal)).to.deep.equal(https ? [80, 443] : [80]);
    expect(edge.inputs.healthcheck.tests[0]).to.equal("CMD");
    const images = ofType(run.resources, "docker:index/remoteImage:RemoteImage").map((i) => i.inputs.name);
    expect(images).to.include(proxy === "nginx" ? "nginx:1.27.3-alpine" : "traefik:v3.2.3");
    expect(images).to.include("willfarrell/autoheal:1.2.0");

    // Only the proxy publishes ports.
    for (const c of containers(run)) {
        if (c !== edge) expect(c.inputs.ports ?? [], c.name).to.deep.equal([]);
    }
    // Every long-running container restarts unless stopped and has a healthcheck; autoheal
    // watches them all but itself and the backup (a failed backup needs an operator, not a restart).
    for (const c of longRunning(run)) {
        expect(c.inputs.restart, c.name).to.equal("unless-stopped");
        if (c.name === "autoheal") continue;
        expect(c.inputs.healthcheck?.tests, c.name).to.be.an("array").that.is.not.empty;
        expect(labelsOf(c).autoheal, c.name).to.equal(c.name === "backup" ? "false" : "true");
    }
    const autoheal = container(run, "autoheal");
    expect(autoheal.inputs.envs).to.include("AUTOHEAL_CONTAINER_LABEL=autoheal");
    expect(autoheal.inputs.volumes).to.deep.equal([{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }]);

    // Networks: db only on the internal backend; proxy only on the frontend; web on both.
    const networks = Object.fromEntries(ofType(run.resources, "docker:index/network:Network").map((n) => [n.name, n.inputs]));
    expect(networks["networks-backend"].internal).to.equal(true);
    const netNames = (c: Registered) => c.inputs.networksAdvanced.map((n: any) => n.name.replace(/^webstack-\w+-/, ""));
    expect(netNames(db)).to.deep.equal(["backend"]);
    expect(netNames(web)).to.deep.equal(["backend", "frontend"]);
    expect(netNames(edge)).to.deep.equal(["frontend"]);

    // The static volume: read-write for release and web, read-only for nginx.
    const staticMount = (c: Registered) => (c.inputs.volumes ?? []).find((v: any) => /-static$/.test(v.volumeName ?? ""));
    expect(String(unwrap(release.inputs.create))).to.match(/-v \S*-static:\/app\/staticfiles/);
    expect(staticMount(web)).to.include({ containerPath: "/app/staticfiles", readOnly: false });
    if (proxy === "nginx") expect(staticMount(edge)).to.include({ containerPath: "/srv/static", readOnly: true });
}

describe("the committed stacks", () => {
    it("dev: local Docker, nginx, named volumes, DEBUG on, nothing protected", async () => {
        const run = await evaluate("dev");
        expectTopology(run, "nginx");
        expect(ofType(run.resources, "pulumi:providers:docker")[0].inputs.host).to.equal(undefined);
        const volumes = ofType(run.resources, "docker:index/volume:Volume");
        expect(volumes.map((v) => v.inputs.name).sort()).to.deep.equal(["webstack-dev-backups", "webstack-dev-media", "webstack-dev-pgdata", "webstack-dev-static"]);
        expect(nginxConf(container(run, "proxy"))).not.to.include("ssl");
        for (const v of volumes) expect(v.opts.protect ?? false, v.name).to.equal(false);
        expect(container(run, "proxy").inputs.ports[0].external).to.equal(8080);
        const env = unwrap(container(run, "web").inputs.envs) as string[];
        expect(env).to.include("DJANGO_DEBUG=1");
        expect((await resolve(run.result.outputs.siteUrl)).value).to.equal("http://localhost:8080");
        expect((await resolve(run.result.outputs.sshCommand)).value).to.equal("");
    });

    it("stage: a DigitalOcean droplet with volume, firewall, reserved IP and DNS, behind Traefik", async () => {
        const run = await evaluate("stage");
        expectTopology(run, "traefik", true);
        const droplet = ofType(run.resources, "digitalocean:index/droplet:Droplet")[0];
        expect(droplet.inputs).to.include({ region: "fra1", size: "s-1vcpu-2gb", image: "ubuntu-24-04-x64" });
        expect(droplet.inputs.userData).to.match(/^#cloud-config\n/);
        expect(droplet.inputs.userData).to.include("/dev/disk/by-id/scsi-0DO_Volume_webstack-stage-data");
        const volume = ofType(run.resources, "digitalocean:index/volume:Volume")[0];
        expect(volume.inputs).to.include({ name: "webstack-stage-data", size: 10, region: "fra1" });
        expect(ofType(run.resources, "digitalocean:index/volumeAttachment:VolumeAttachment")).to.have.length(1);
        expect(ofType(run.resources, "digitalocean:index/reservedIpAssignment:ReservedIpAssignment")).to.have.length(1);
        expect(ofType(run.resources, "digitalocean:index/reservedIp:ReservedIp")[0].inputs.dropletId).to.equal(undefined);
        const firewall = ofType(run.resources, "digitalocean:index/firewall:Firewall")[0];
        const inbound = firewall.inputs.inboundRules.map((r: any) => [r.portRange, r.sourceAddresses]);
        expect(inbound).to.deep.equal([["80", ["0.0.0.0/0", "::/0"]], ["443", ["0.0.0.0/0", "::/0"]], ["22", ["203.0.113.0/24"]]]);
        const record = ofType(run.resources, "digitalocean:index/dnsRecord:DnsRecord")[0];
        expect(record.inputs).to.include({ domain: "example.org", name: "stage", type: "A", value: "203.0.113.10" });
        const provider = ofType(run.resources, "pulumi:providers:docker")[0];
        expect(provider.inputs.host).to.equal("ssh://deploy@203.0.113.10");
        expect(provider.inputs.disableDockerDaemonCheck, "the same in previews and updates").to.equal("true");
        expect(provider.opts.dependsOn, "docker waits for the host").to.be.an("array").that.is.not.empty;
        const db = container(run, "db");
        expect(db.inputs.volumes[0]).to.deep.equal({ hostPath: "/mnt/data/postgres", containerPath: "/var/lib/postgresql/data", readOnly: false });
        const web = labelsOf(container(run, "web"));
        expect(web["traefik.enable"]).to.equal("true");
        expect(web["traefik.http.routers.webstack-stage.rule"]).to.equal("Host(`stage.example.org`)");
        expect((await resolve(run.result.outputs.siteUrl)).value).to.equal("https://stage.example.org");
        expect((await resolve(run.result.outputs.sshCommand)).value).to.equal("ssh deploy@203.0.113.10");
    });

    it("prod: an EC2 instance with encrypted EBS, IMDSv2, Elastic IP and Route53, behind nginx, data protected", async () => {
        const run = await evaluate("prod");
        expectTopology(run, "nginx", true);
        const instance = ofType(run.resources, "aws:ec2/instance:Instance")[0];
        expect(instance.inputs.instanceType).to.equal("t3.medium");
        expect(instance.inputs.metadataOptions.httpTokens).to.equal("required");
        expect(instance.inputs.rootBlockDevice).to.include({ encrypted: true, volumeSize: 30 });
        expect(instance.inputs.subnetId).to.equal("subnet-0aaaaaaaaaaaaaaaa");
        expect(instance.inputs.userData).to.include("nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0");
        expect(instance.opts.ignoreChanges).to.deep.equal(["ami"]);
        const ebs = ofType(run.resources, "aws:ebs/volume:Volume")[0];
        expect(ebs.inputs).to.include({ encrypted: true, type: "gp3", size: 50, availabilityZone: "eu-west-1a" });
        expect(ebs.opts).to.include({ protect: true, retainOnDelete: true });
        const sg = ofType(run.resources, "aws:ec2/securityGroup:SecurityGroup")[0];
        const ssh = sg.inputs.ingress.find((r: any) => r.fromPort === 22);
        expect(ssh.cidrBlocks).to.deep.equal(["198.51.100.7/32"]);
        expect(sg.inputs.ingress.map((r: any) => r.fromPort)).to.deep.equal([80, 443, 22]);
        expect(ofType(run.resources, "aws:ec2/eipAssociation:EipAssociation")).to.have.length(1);
        const record = ofType(run.resources, "aws:route53/record:Record")[0];
        expect(record.inputs).to.deep.include({ name: "www.example.org", type: "A", zoneId: "Z0123456789", records: ["198.51.100.20"] });
        const env = unwrap(container(run, "web").inputs.envs) as string[];
        expect(env).to.include("DJANGO_DEBUG=0");
        expect(env).to.include("DJANGO_ALLOWED_HOSTS=www.example.org,localhost");
        expect(nginxConf(container(run, "proxy"))).to.include("server_name www.example.org;");
        const outputs = run.result.outputs;
        expect((await resolve(outputs.siteUrl)).value).to.equal("https://www.example.org");
        expect((await resolve(outputs.hostAddress)).value).to.equal("198.51.100.20");
        expect((await resolve(outputs.volumes)).value).to.deep.equal({
            database: "/mnt/data/postgres", static: "webstack-prod-static", media: "webstack-prod-media", backups: "/mnt/data/backups",
        });
    });

    it("a preview with unknown cloud outputs registers the same resources", async () => {
        const run = await evaluate("prod", {}, { preview: true });
        expect(containers(run)).to.have.length(7);
        expect(ofType(run.resources, "pulumi:providers:docker")[0].inputs.disableDockerDaemonCheck).to.equal("true");
    });
});

describe("every target with every proxy kind", () => {
    for (const [stack, target] of [["dev", "local"], ["stage", "digitalocean"], ["prod", "aws"]] as const) {
        for (const proxy of ["nginx", "traefik", "none"] as const) {
            if (proxy === "none" && stack !== "dev") {
                it(`${target} + none is refused outside dev`, async () => {
                    let error: Error | undefined;
                    await evaluate(stack, { proxy }).catch((err) => { error = err; });
                    expect(error?.message).to.match(/webstack:proxy: expected nginx or traefik outside dev/);
                });
                continue;
            }
            it(`${target} + ${proxy}`, async () => {
                const run = await evaluate(stack, { proxy });
                const edge = containers(run).filter((c) => c.name === "proxy");
                const web = container(run, "web");
                if (proxy === "none") {
                    expect(edge).to.have.length(0);
                    expect(web.inputs.ports).to.deep.equal([{ internal: 8000, external: 8080 }]);
                } else {
                    expectTopology(run, proxy, target !== "local");
                    expect(labelsOf(web)["traefik.enable"]).to.equal(proxy === "traefik" ? "true" : undefined);
                    if (proxy === "traefik") {
                        expect(edge[0].inputs.volumes[0]).to.deep.equal({ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true });
                        expect(edge[0].inputs.command).to.include("--providers.docker.exposedbydefault=false");
                    } else {
                        expect(nginxConf(edge[0])).to.include("proxy_pass $app_upstream;");
                    }
                }
                const hosts = { local: "pulumi:providers:docker", digitalocean: "digitalocean:index/droplet:Droplet", aws: "aws:ec2/instance:Instance" };
                expect(ofType(run.resources, hosts[target])).to.have.length(1);
            });
        }
    }
});

describe("secrets", () => {
    const SECRET = "s3cr3t-from-config";

    it("every secret-derived input is a secret, generated or configured", async () => {
        for (const secretKeys of [[], ["webstack:dbPassword", "webstack:djangoSecretKey", "webstack:superuserPassword"]]) {
            const overrides = Object.fromEntries(secretKeys.map((k) => [k, SECRET]));
            const run = await evaluate("prod", overrides, { secretKeys });
            for (const c of containers(run).filter((c) => c.name === "db" || c.name.endsWith("-web"))) {
                expect(isSecretValue(c.inputs.envs), `${c.name} envs`).to.equal(true);
            }
            const env = unwrap(container(run, "web").inputs.envs) as string[];
            const password = env.find((e) => e.startsWith("POSTGRES_PASSWORD="))!.split("=")[1];
            expect(password).to.equal(secretKeys.length ? SECRET : "generated-secrets-dbPassword-password");
            expect(env.find((e) => e.startsWith("DATABASE_URL="))).to.include(password);
            expect(ofType(run.resources, "random:index/randomPassword:RandomPassword")).to.have.length(secretKeys.length ? 0 : 3);
            // Nothing secret leaks into plain inputs anywhere.
            for (const r of run.resources) {
                const plain = JSON.stringify(r.inputs, (_k, v) => (isSecretValue(v) ? "[secret]" : v));
                expect(plain, `${r.type} ${r.name}`).not.to.include(password);
                expect(plain, `${r.type} ${r.name}`).not.to.include(SECRET);
            }
            const url = await resolve(run.result.outputs.databaseUrl);
            expect(url.secret).to.equal(true);
            expect(url.value).to.equal(`postgres://app:${password}@db:5432/app`);
            expect((await resolve(run.result.outputs.superuserPassword)).secret).to.equal(true);
            for (const name of ["siteUrl", "hostAddress", "sshCommand", "volumes"] as const) {
                expect((await resolve<unknown>(run.result.outputs[name])).secret, name).to.equal(false);
            }
        }
    });

    it("no image build argument or label carries a secret", async () => {
        const run = await evaluate("dev", { dbPassword: SECRET }, { secretKeys: ["webstack:dbPassword"] });
        for (const image of ofType(run.resources, "docker:index/image:Image")) {
            expect(JSON.stringify(image.inputs)).not.to.include(SECRET);
        }
        for (const c of containers(run)) expect(JSON.stringify(labelsOf(c))).not.to.include(SECRET);
    });
});

describe("HTTPS on a prod-like stack with a domain", () => {
    it("nginx: Let's Encrypt through certbot, redirect, HSTS, a placeholder until the first certificate", async () => {
        const run = await evaluate("prod");
        const nginx = container(run, "proxy");
        const files = uploadsOf(nginx);
        const conf = nginxConf(nginx);
        expect(conf).to.include("listen 443 ssl http2;");
        expect(conf).to.include("return 301 https://$host$request_uri;");
        expect(conf).to.include("location ^~ /.well-known/acme-challenge/ {");
        expect(conf).to.include('add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;');
        expect(isSecretValue(nginx.inputs.uploads), "the uploads carry the placeholder key: secret").to.equal(true);
        expect(files["/etc/nginx/tls/privkey.pem"].permissions).to.equal("0600");
        expect(files["/docker-entrypoint.d/90-webstack-certificates.sh"].executable).to.equal(true);
        expect(ofType(run.resources, "tls:index/selfSignedCert:SelfSignedCert")[0].inputs.dnsNames).to.deep.equal(["www.example.org"]);
        const certbot = container(run, "proxy-certbot");
        expect(certbot.inputs.command[0]).to.include("certbot certonly --webroot -w /var/www/certbot --cert-name site -d 'www.example.org'");
        expect(certbot.inputs.command[0]).to.include("--email 'ops@example.org'");
        expect(certbot.inputs.command[0]).not.to.include("--staging");
        const mounts = (c: Registered) => c.inputs.volumes.map((v: any) => `${v.volumeName}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`);
        expect(mounts(certbot)).to.deep.equal(["webstack-prod-certificates:/etc/letsencrypt:rw", "webstack-prod-acme-challenges:/var/www/certbot:rw"]);
        expect(mounts(nginx)).to.include.members(["webstack-prod-certificates:/etc/letsencrypt:ro", "webstack-prod-acme-challenges:/var/www/certbot:ro"]);
        const env = unwrap(container(run, "web").inputs.envs) as string[];
        expect(env).to.include("DJANGO_CSRF_TRUSTED_ORIGINS=https://www.example.org");
        expect(env).to.include("DJANGO_SECURE_COOKIES=1");
    });

    it("traefik: ACME with the certificate volume, HTTPS routing, HSTS in prod", async () => {
        const run = await evaluate("prod", { proxy: "traefik", acmeStaging: true });
        const traefik = container(run, "proxy");
        expect(traefik.inputs.command).to.include("--certificatesresolvers.letsencrypt.acme.storage=/letsencrypt/acme.json");
        expect(traefik.inputs.command).to.include("--entrypoints.web.http.redirections.entrypoint.scheme=https");
        expect(traefik.inputs.command.join(" ")).to.include("acme-staging-v02");
        expect(traefik.inputs.volumes[1]).to.deep.equal({ volumeName: "webstack-prod-certificates", containerPath: "/letsencrypt", readOnly: false });
        const web = labelsOf(container(run, "web"));
        expect(web["traefik.http.routers.webstack-prod.tls.certresolver"]).to.equal("letsencrypt");
        expect(web["traefik.http.routers.webstack-prod.entrypoints"]).to.equal("websecure");
        expect(web["traefik.http.middlewares.webstack-prod-headers.headers.stsSeconds"]).to.equal("31536000");
        expect((await resolve(run.result.outputs.siteUrl)).value).to.equal("https://www.example.org");
    });

    it("stage has HTTPS but no HSTS unless asked", async () => {
        const run = await evaluate("stage", { proxy: "nginx" });
        const conf = nginxConf(container(run, "proxy"));
        expect(conf).to.include("listen 443 ssl http2;");
        expect(conf).not.to.include("add_header Strict-Transport-Security");
        const forced = await evaluate("stage", { proxy: "nginx", hsts: "on" });
        expect(nginxConf(container(forced, "proxy"))).to.include("add_header Strict-Transport-Security");
    });

    it("provided certificates: uploaded as secrets, no certbot", async () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const run = await evaluate("prod", { tls: "provided", tlsCertificate: pem, tlsPrivateKey: "KEY" },
            { secretKeys: ["webstack:tlsCertificate", "webstack:tlsPrivateKey"] });
        const nginx = container(run, "proxy");
        expect(isSecretValue(nginx.inputs.uploads)).to.equal(true);
        expect(uploadsOf(nginx)["/etc/nginx/tls/fullchain.pem"].content).to.equal(pem);
        expect(uploadsOf(nginx)["/etc/nginx/tls/privkey.pem"].content).to.equal("KEY");
        expect(containers(run).map((c) => c.name)).not.to.include("proxy-certbot");
        expect(ofType(run.resources, "tls:index/privateKey:PrivateKey")).to.have.length(0);
    });
});
