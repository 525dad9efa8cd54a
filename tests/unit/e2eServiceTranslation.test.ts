/**
 * The real-engine suites' translation of a docker.Service into docker CLI calls
 * (tests/e2e/dockerCli.ts), checked without an engine against what the program renders under mocks
 * and against hand-made inputs in the shape of @pulumi/docker's ServiceArgs.
 */
import { expect } from "chai";
import { Registered } from "../harness";
import { renderStack } from "../integration/program";
import { durationSeconds, planSteps, serviceCreateArgs, serviceUpdateArgs, Step, translateService } from "../e2e/dockerCli";

const SERVICE = "webstack-dev-web";
const serviceStep = (rs: Registered[]): Step => planSteps(rs).find((s) => s.kind === "service" && s.resource.name === SERVICE)!;
const flagValues = (args: string[], flag: string) => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []));

describe("e2e translation of docker.Service (tests/e2e/dockerCli.ts)", function () {
    this.timeout(60_000);
    let three: Step;

    before(async () => {
        three = serviceStep(await renderStack("dev", { webReplicas: 3 }));
    });

    it("orders the service after the release, the Swarm's init and both networks, which it names by id", () => {
        const deps = three.deps.map((d) => d.split("::")[1]);
        expect(deps).to.include.members(["app-release", "swarm-init", "networks-frontend", "networks-backend", "volumes-static", "volumes-media"]);
    });

    it("creates the rendered service with every setting as a docker service create flag", () => {
        const plan = translateService(SERVICE, three.inputs, { ipvs: true });
        const args = serviceCreateArgs(plan);
        expect(args.slice(0, 6)).to.deep.equal(["service", "create", "--detach", "--no-resolve-image", "--name", SERVICE]);
        expect(flagValues(args, "--replicas")).to.deep.equal(["3"]);
        expect(flagValues(args, "--update-order")).to.deep.equal(["start-first"]);
        expect(flagValues(args, "--update-failure-action")).to.deep.equal(["rollback"]);
        expect(flagValues(args, "--update-parallelism")).to.deep.equal(["1"]);
        expect(flagValues(args, "--rollback-failure-action")).to.deep.equal(["pause"]);
        expect(flagValues(args, "--restart-condition")).to.deep.equal(["any"]);
        expect(flagValues(args, "--stop-grace-period")).to.deep.equal(["30s"]);
        expect(flagValues(args, "--network")).to.deep.equal(["name=networks-backend-id", "name=networks-frontend-id,alias=web"]);
        expect(flagValues(args, "--mount")).to.deep.equal([
            "type=volume,source=webstack-dev-static,target=/app/staticfiles",
            "type=volume,source=webstack-dev-media,target=/app/media",
        ]);
        expect(flagValues(args, "--health-interval")).to.deep.equal(["30s"]);
        expect(flagValues(args, "--health-start-period")).to.deep.equal(["1m"]);
        expect(flagValues(args, "--endpoint-mode")).to.deep.equal(["dnsrr"]);
        expect(args.slice(-5)).to.deep.equal([plan.image, "gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi:application"]);
        // The environment goes into an env file, never onto the command line.
        expect(plan.env.some((e) => e.startsWith("POSTGRES_PASSWORD="))).to.equal(true);
        expect(args.join(" ")).not.to.include("POSTGRES_PASSWORD");
        expect(plan.converge).to.deep.equal({ delaySeconds: 7, timeoutSeconds: 660 });
    });

    it("runs a vip service in dnsrr on a kernel without IPVS, and says so; the program's dnsrr runs as rendered", () => {
        const vip = { ...three.inputs, endpointSpec: { mode: "vip" } };
        const plan = translateService(SERVICE, vip, { ipvs: false });
        expect(plan.endpointMode).to.equal("dnsrr");
        expect(plan.endpointNote).to.match(/no IPVS/);
        expect(translateService(SERVICE, vip, { ipvs: true }).endpointNote).to.equal(undefined);
        expect(translateService(SERVICE, three.inputs, { ipvs: false }).endpointNote).to.equal(undefined);
    });

    it("updates with only what changed: an env entry, the replicas, nothing", async () => {
        const from = translateService(SERVICE, three.inputs, { ipvs: true });
        const changed = serviceStep(await renderStack("dev", { webReplicas: 3, appEnvironment: ["WEBSTACK_E2E_ROLLOUT=2"] }));
        expect(serviceUpdateArgs(from, translateService(SERVICE, changed.inputs, { ipvs: true })))
            .to.deep.equal(["service", "update", "--detach", "--no-resolve-image", "--env-add", "WEBSTACK_E2E_ROLLOUT=2", SERVICE]);
        const two = serviceStep(await renderStack("dev", { webReplicas: 2 }));
        expect(serviceUpdateArgs(from, translateService(SERVICE, two.inputs, { ipvs: true })))
            .to.deep.equal(["service", "update", "--detach", "--no-resolve-image", "--replicas", "2", SERVICE]);
        expect(serviceUpdateArgs(from, translateService(SERVICE, three.inputs, { ipvs: true }))).to.equal(undefined);
    });

    it("leaves and joins a network again when its aliases change, and removes a mount by its target", () => {
        const from = translateService(SERVICE, three.inputs, { ipvs: true });
        const inputs = JSON.parse(JSON.stringify(three.inputs));
        inputs.taskSpec.networksAdvanceds[1].aliases = ["app"];
        inputs.taskSpec.containerSpec.mounts.pop();
        const args = serviceUpdateArgs(from, translateService(SERVICE, inputs, { ipvs: true }))!;
        expect(args.slice(4, -1)).to.deep.equal(["--mount-rm", "/app/media", "--network-rm", "networks-frontend-id", "--network-add", "name=networks-frontend-id,alias=app"]);
    });

    it("refuses inputs it does not know, published ports and registry auth", () => {
        const base = () => JSON.parse(JSON.stringify(three.inputs));
        const privileged = base();
        privileged.taskSpec.containerSpec.privileges = { seLinuxContext: { disable: true } };
        expect(() => translateService(SERVICE, privileged, { ipvs: true })).to.throw(/containerSpec\.privileges is not translated/);
        const published = base();
        published.endpointSpec = { ports: [{ targetPort: 8000, publishedPort: 8000 }] };
        expect(() => translateService(SERVICE, published, { ipvs: true })).to.throw(/routing mesh/);
        const auth = base();
        auth.auth = { serverAddress: "10.0.0.1:5000", username: "u", password: "p" };
        expect(() => translateService(SERVICE, auth, { ipvs: true })).to.throw(/auth is not translated/);
    });

    it("reads Go durations", () => {
        expect(durationSeconds("1m30s")).to.equal(90);
        expect(durationSeconds("11m")).to.equal(660);
        expect(durationSeconds("500ms")).to.equal(0.5);
        expect(durationSeconds("0s")).to.equal(0);
        expect(() => durationSeconds("soon")).to.throw(/not a Go duration/);
    });
});
