/**
 * Workers from the app image: Celery worker and beat, scheduled commands. The scheduler loop is
 * run with the real python3 to check which minutes it finds due.
 */
import { spawnSync } from "child_process";
import { expect } from "chai";
import { isSecretValue, labelsOf, ofType, registeredSoFar, runWithConfig, stackConfig, unwrap } from "../../harness";
import { scheduledCommand, SCHEDULER_PY } from "../../../components/schedule";
import { ConfigError, readSettings } from "../../../config/settings";
import { cronProblem } from "../../../config/validators";
import { buildStack } from "../../../stack";

const evaluate = (overrides: Record<string, unknown>) =>
    runWithConfig("dev", stackConfig("dev", overrides), () => buildStack(readSettings()));
const CELERY = {
    celery: { command: ["celery", "-A", "config", "worker", "-l", "info"], healthcheck: ["celery", "-A", "config", "inspect", "ping"], stopGraceSeconds: 120 },
    beat: { command: ["celery", "-A", "config", "beat", "-l", "info"], healthcheck: ["sh", "-c", "find celerybeat-schedule -mmin -10 | grep -q ."] },
    nightly: { command: ["python3", "manage.py", "clearsessions"], schedule: "30 2 * * *" },
};

/** Which of these UTC times the scheduler finds due for `expression` (real python3). */
function dueTimes(expression: string, times: string[]): string[] {
    const result = spawnSync("python3", ["-c", SCHEDULER_PY, expression, "[]", "--check"], { input: times.join("\n") + "\n", encoding: "utf8" });
    if (result.status !== 0) throw new Error(result.stderr);
    const flags = result.stdout.trim().split("\n");
    return times.filter((_, i) => flags[i] === "1");
}

describe("workers", () => {
    it("runs each worker from the app image with the app's env and secrets, no ports, its own grace", async () => {
        const run = await evaluate({ appWorkers: CELERY });
        const containers = ofType(run.resources, "docker:index/container:Container");
        const web = containers.find((c) => c.name.endsWith("-web"))!;
        for (const name of Object.keys(CELERY)) {
            const c = containers.find((x) => x.name === `workers-${name}`)!;
            expect(c, name).not.to.equal(undefined);
            expect(c.inputs.name).to.equal(`webstack-dev-${name}`);
            expect(c.inputs.image).to.equal(web.inputs.image);
            expect(isSecretValue(c.inputs.envs)).to.equal(true);
            expect(unwrap(c.inputs.envs)).to.deep.equal(unwrap(web.inputs.envs));
            expect(c.inputs.ports ?? []).to.deep.equal([]);
            expect(c.inputs.restart).to.equal("unless-stopped");
            expect(c.opts.dependsOn, "after the release (migrations)").to.include(run.result.parts.app.release);
        }
        const celery = containers.find((c) => c.name === "workers-celery")!;
        expect(celery.inputs.command).to.deep.equal(CELERY.celery.command);
        expect(celery.inputs.healthcheck.tests).to.deep.equal(["CMD", ...CELERY.celery.healthcheck]);
        expect(labelsOf(celery)).to.include({ autoheal: "true", "autoheal.stop.timeout": "120" });
        expect(celery.inputs).to.include({ stopTimeout: 120, destroyGraceSeconds: 120 });
        const nightly = containers.find((c) => c.name === "workers-nightly")!;
        expect(nightly.inputs.command).to.deep.equal(scheduledCommand("30 2 * * *", CELERY.nightly.command));
        // A scheduled worker is checked by the scheduler's heartbeat.
        expect(nightly.inputs.healthcheck.tests.slice(0, 2)).to.deep.equal(["CMD", "python3"]);
        expect(nightly.inputs.healthcheck.tests[3]).to.include("/tmp/webstack-schedule-alive");
        for (const c of containers.filter((x) => x.name.startsWith("workers-"))) expect(labelsOf(c).autoheal, c.name).to.equal("true");
    });

    it("refuses a worker without a command, a bad schedule or grace, and a reserved name, naming each", async () => {
        const failure = await evaluate({ appWorkers: {
            celery: { healthcheck: ["true"] },
            nightly: { command: ["x"], schedule: "61 * * * *" },
            slow: { command: ["x"], stopGraceSeconds: 0, healthcheck: ["true"] },
            db: { command: ["x"] },
            odd: { command: ["x"], every: "1h", healthcheck: ["true"] },
            blind: { command: ["celery", "-A", "config", "beat"] },
        } }).then(() => undefined, (e) => e);
        expect(failure).to.be.instanceOf(ConfigError);
        expect(registeredSoFar()).to.deep.equal([]);
        const problems = (failure as ConfigError).problems.join("\n");
        expect(problems).to.include("webstack:appWorkers.celery.command: a worker needs its command as a list, for example `pulumi config set --path 'appWorkers.celery.command[0]' celery`")
            .and.include("webstack:appWorkers.nightly.schedule: expected a cron expression such as \"0 3 * * *\" (UTC); minute: 61 is outside 0-59")
            .and.include("webstack:appWorkers.slow.stopGraceSeconds: expected a whole number from 1 to 3600, got 0")
            .and.include("webstack:appWorkers.db: db is a container of the stack itself")
            .and.include("webstack:appWorkers.odd: unknown field every")
            .and.include("webstack:appWorkers.blind.healthcheck: a long-running worker needs a healthcheck");
    });

    it("checks cron expressions", () => {
        for (const ok of ["* * * * *", "*/15 * * * *", "0 3 * * 1-5", "0 0 1,15 * *", "5 4 * * 7"]) expect(cronProblem(ok), ok).to.equal(undefined);
        expect(cronProblem("* * * *")).to.match(/five fields/);
        expect(cronProblem("*/0 * * * *")).to.match(/step of 0/);
        expect(cronProblem("5-1 * * * *")).to.match(/backwards/);
        expect(cronProblem("@daily")).to.match(/five fields/);
    });

    it("the scheduler loop finds the due minutes as cron does (real python3)", () => {
        const times = ["2026-11-30T02:30:00", "2026-11-30T02:31:00", "2026-11-30T03:30:00", "2026-12-01T02:30:00"];
        expect(dueTimes("30 2 * * *", times)).to.deep.equal(["2026-11-30T02:30:00", "2026-12-01T02:30:00"]);
        const quarter = ["2026-11-30T10:00:00", "2026-11-30T10:14:00", "2026-11-30T10:15:00", "2026-11-30T10:45:00"];
        expect(dueTimes("*/15 * * * *", quarter)).to.deep.equal(["2026-11-30T10:00:00", "2026-11-30T10:15:00", "2026-11-30T10:45:00"]);
        // 2026-11-29 is a Sunday (0 and 7), 2026-11-30 a Monday.
        expect(dueTimes("0 9 * * 7", ["2026-11-29T09:00:00", "2026-11-30T09:00:00"])).to.deep.equal(["2026-11-29T09:00:00"]);
        // Both day fields restricted: either matches (the 1st, or any Monday).
        expect(dueTimes("0 0 1 * 1", ["2026-12-01T00:00:00", "2026-11-30T00:00:00", "2026-12-02T00:00:00"]))
            .to.deep.equal(["2026-12-01T00:00:00", "2026-11-30T00:00:00"]);
    });
});
