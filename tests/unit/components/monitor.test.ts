/** The monitor container (alerts to the alertWebhookUrl secret), and the backup container's alert settings. */
import { expect } from "chai";
import { isSecretValue, labelsOf, ofType, Registered, resolve, runWithConfig, stackConfig, unwrap } from "../../harness";
import { readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";

const URL = "https://hooks.slack.com/services/T000/B000/monitor-test-secret-path";
const SECRET_KEYS = ["webstack:alertWebhookUrl"];
const evaluate = (stack: string, overrides: Record<string, unknown> = {}, secret = true) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()), { secretKeys: secret ? SECRET_KEYS : [] });
const containerNamed = (resources: Registered[], name: string) =>
    ofType(resources, "docker:index/container:Container").find((c) => c.name === name);
const envOf = (c: Registered) => Object.fromEntries((unwrap(c.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
/** Inputs as JSON with every secret replaced: what is left is plain. */
const plainText = (value: unknown) => JSON.stringify(value, (_k, v) => (isSecretValue(v) ? "[secret]" : v));

describe("monitor", () => {
    it("is not created without alertWebhookUrl, and the backup container then has no alert settings", async () => {
        const run = await evaluate("dev", {}, false);
        expect(containerNamed(run.resources, "monitor")).to.equal(undefined);
        expect(run.result.parts.monitor).to.equal(undefined);
        expect(Object.keys(envOf(containerNamed(run.resources, "backup")!)).filter((k) => k.startsWith("ALERT_"))).to.deep.equal([]);
    });

    it("with the URL: a watched container from the backup image, socket and volumes read-only, the URL only in secrets", async () => {
        const run = await evaluate("prod", { alertWebhookUrl: URL, alertFormat: "ntfy", alertDiskPercent: 90, alertCertificateDays: 21 });
        const monitor = containerNamed(run.resources, "monitor")!;
        const backup = containerNamed(run.resources, "backup")!;
        expect(monitor.inputs.name).to.equal("webstack-prod-monitor");
        expect(monitor.inputs.image).to.equal(backup.inputs.image);
        expect(monitor.inputs.command).to.deep.equal(["python3", "/usr/local/bin/monitor.py"]);
        expect(monitor.inputs.volumes).to.deep.equal([
            { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
            { hostPath: "/mnt/data/backups", containerPath: "/backups", readOnly: true },
            { volumeName: "webstack-prod-media", containerPath: "/media", readOnly: true },
        ]);
        expect(monitor.inputs.networksAdvanced).to.deep.equal([{ name: "webstack-prod-frontend" }]);
        expect(monitor.inputs.ports ?? []).to.deep.equal([]);
        expect(monitor.inputs.restart).to.equal("unless-stopped");
        expect(labelsOf(monitor)).to.deep.equal({ autoheal: "true", "autoheal.stop.timeout": "10" });
        expect(monitor.inputs.healthcheck).to.deep.equal({
            tests: ["CMD-SHELL", "find /tmp/monitor-alive -mmin -3 | grep -q ."], interval: "1m0s", timeout: "10s", startPeriod: "1m0s", retries: 2,
        });
        expect(monitor.opts.parent).to.equal(run.result.parts.monitor);

        expect(isSecretValue(monitor.inputs.envs)).to.equal(true);
        const env = envOf(monitor);
        expect(env).to.deep.equal({
            ALERT_WEBHOOK_URL: URL, ALERT_FORMAT: "ntfy", ALERT_SOURCE: "webstack-prod",
            MONITOR_INTERVAL_SECONDS: "300", ALERT_DISK_PERCENT: "90",
            ALERT_DISKS: "/backups=the backups storage (data volume),/media=the media volume (Docker root disk)",
            ALERT_CERTIFICATE_DAYS: "21", ALERT_TLS_ADDRESS: "webstack-prod-proxy:443", ALERT_TLS_SERVERNAME: "www.example.org",
            DOCKER_SOCKET: "/var/run/docker.sock", ALERT_RESTART_LABEL: "autoheal=true",
        });
        // The backup container sends a failed backup itself.
        expect(isSecretValue(backup.inputs.envs)).to.equal(true);
        expect(envOf(backup)).to.include({ ALERT_WEBHOOK_URL: URL, ALERT_FORMAT: "ntfy", ALERT_SOURCE: "webstack-prod" });

        // Nowhere in plain text: every resource's inputs (the mocks' outputs are the same) and the stack outputs.
        const host = new globalThis.URL(URL);
        for (const r of run.resources) {
            const plain = plainText(r.inputs);
            expect(plain, `${r.type} ${r.name}`).not.to.include(host.pathname);
        }
        for (const [name, output] of Object.entries(run.result.outputs)) {
            const { value, secret } = await resolve<unknown>(output as never);
            if (!secret) expect(JSON.stringify(value) ?? "", name).not.to.include(host.pathname);
        }
    });

    it("skips the certificate with TLS off, and names the local disks as such", async () => {
        const run = await evaluate("dev", { alertWebhookUrl: URL });
        const env = envOf(containerNamed(run.resources, "monitor")!);
        expect(env).to.include({ ALERT_TLS_ADDRESS: "", ALERT_FORMAT: "slack", ALERT_DISK_PERCENT: "85", ALERT_CERTIFICATE_DAYS: "14" });
        expect(env.ALERT_DISKS).to.equal("/backups=the backups volume (Docker root disk),/media=the media volume (Docker root disk)");
        expect(containerNamed(run.resources, "monitor")!.inputs.volumes[1]).to.deep.equal({ volumeName: "webstack-dev-backups", containerPath: "/backups", readOnly: true });
    });
});
