/** Accessories: brokers and admin UIs from official pinned images, beside the app. */
import { expect } from "chai";
import { isSecretValue, labelsOf, ofType, registeredSoFar, resolve, runWithConfig, stackConfig, unwrap } from "../../harness";
import { ConfigError, readSettings } from "../../../config/settings";
import { buildStack } from "../../../stack";

const evaluate = (stack: string, overrides: Record<string, unknown>) =>
    runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));
const FULL = { redis: { version: "7.4.1" }, rabbitmq: { version: "3.13.7" }, flower: { version: "2.0.1" }, pgadmin: { version: "8.12" } };
const envOf = (entries: unknown) => Object.fromEntries((unwrap(entries) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

describe("accessories", () => {
    it("runs each from its official image at the pinned version, with data volume, healthcheck and autoheal", async () => {
        const run = await evaluate("dev", { accessories: FULL });
        const images = ofType(run.resources, "docker:index/remoteImage:RemoteImage").map((i) => i.inputs.name);
        expect(images).to.include.members(["redis:7.4.1", "rabbitmq:3.13.7", "mher/flower:2.0.1", "dpage/pgadmin4:8.12"]);
        const containers = ofType(run.resources, "docker:index/container:Container");
        for (const kind of Object.keys(FULL)) {
            const c = containers.find((x) => x.name === `accessories-${kind}`)!;
            expect(c.inputs.name).to.equal(`webstack-dev-${kind}`);
            expect(c.inputs.healthcheck.tests[0]).to.equal("CMD");
            expect(labelsOf(c)).to.include({ autoheal: "true" });
            expect(c.inputs.ports ?? [], "never publishes a port").to.deep.equal([]);
            expect(isSecretValue(c.inputs.envs)).to.equal(true);
            // Not exposed by default: the backend network only.
            expect(c.inputs.networksAdvanced.map((n: any) => n.name)).to.deep.equal(["webstack-dev-backend"]);
        }
        const volumes = ofType(run.resources, "docker:index/volume:Volume").map((v) => v.inputs.name);
        expect(volumes).to.include.members(["webstack-dev-redis", "webstack-dev-rabbitmq", "webstack-dev-pgadmin"]);
    });

    it("hands the app its broker URLs, secret, and keeps generated logins in a secret output", async () => {
        const run = await evaluate("dev", { accessories: FULL, appEnvMap: ["CELERY_BROKER_URL=rabbitmqUrl"] });
        const web = ofType(run.resources, "docker:index/container:Container").find((c) => c.name.endsWith("-web"))!;
        const env = envOf(web.inputs.envs);
        expect(env.REDIS_URL).to.equal("redis://redis:6379/0");
        expect(env.RABBITMQ_URL).to.equal("amqp://app:generated-accessories-rabbitmq-password-password@rabbitmq:5672//");
        expect(env.CELERY_BROKER_URL).to.equal(env.RABBITMQ_URL);
        const flower = envOf(ofType(run.resources, "docker:index/container:Container").find((c) => c.name === "accessories-flower")!.inputs.envs);
        expect(flower.CELERY_BROKER_URL).to.equal(env.RABBITMQ_URL);
        expect(flower.FLOWER_BASIC_AUTH).to.match(/^admin:generated-/);
        const passwords = await resolve(run.result.outputs.accessoryPasswords);
        expect(passwords.secret).to.equal(true);
        expect(Object.keys(passwords.value as object).sort()).to.deep.equal(["flower", "pgadmin", "rabbitmq"]);
        for (const r of run.resources) {
            const plain = JSON.stringify(r.inputs, (_k, v) => (isSecretValue(v) ? "[secret]" : v));
            expect(plain, r.name).not.to.include("generated-accessories");
        }
    });

    it("keeps Redis's data on the host's durable storage where there is one", async () => {
        const run = await evaluate("stage", { accessories: { redis: { version: "7.4.1" }, rabbitmq: { version: "3.13.7" } } });
        const containers = ofType(run.resources, "docker:index/container:Container");
        expect(containers.find((c) => c.name === "accessories-redis")!.inputs.volumes).to.deep.equal([{ hostPath: "/mnt/data/redis", containerPath: "/data" }]);
        expect(containers.find((c) => c.name === "accessories-rabbitmq")!.inputs.volumes[0]).to.include({ containerPath: "/var/lib/rabbitmq" });
    });

    it("has none by default", async () => {
        const run = await evaluate("dev", {});
        expect(ofType(run.resources, "docker:index/container:Container").filter((c) => c.name.startsWith("accessories-"))).to.deep.equal([]);
    });

    it("refuses an accessory without a version, an unknown one, an exposed broker and Flower without a broker", async () => {
        const failure = await evaluate("dev", { accessories: {
            redis: { path: "/redis/", version: "7.4.1" }, memcached: { version: "1.6" }, pgadmin: {}, flower: { version: "2.0.1" },
        } }).then(() => undefined, (e) => e);
        expect(failure).to.be.instanceOf(ConfigError);
        expect(registeredSoFar()).to.deep.equal([]);
        const problems = (failure as ConfigError).problems.join("\n");
        expect(problems).to.include("webstack:accessories.redis.path: only the admin UIs (flower, pgadmin) are served by the proxy")
            .and.include("webstack:accessories.memcached: unknown accessory; expected one of redis, rabbitmq, flower, pgadmin")
            .and.include("webstack:accessories.pgadmin.version: an accessory needs its image tag pinned, such as 7.4.1; set it with `pulumi config set --path 'accessories.pgadmin.version' <tag>`")
            .and.include("webstack:accessories.flower: Flower watches a Celery broker; add redis or rabbitmq");
        const latest = await evaluate("dev", { accessories: { redis: { version: "latest" } } }).then(() => undefined, (e) => e);
        expect((latest as ConfigError).problems[0]).to.include("pinned");
        const mapped = await evaluate("dev", { appEnvMap: ["BROKER=redisUrl"] }).then(() => undefined, (e) => e);
        expect((mapped as ConfigError).problems).to.deep.equal(["webstack:appEnvMap: redisUrl needs the redis accessory (accessories.redis.version)"]);
    });
});
