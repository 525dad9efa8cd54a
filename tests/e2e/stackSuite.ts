/**
 * The frame of a smaller real-engine suite: render a stack under mocks, bring it up with the
 * docker CLI (dockerCli.ts), and on the way out tear it down, check that nothing with its prefix
 * is left, and print the suite's table. Call it inside a mocha `describe`.
 */
import * as http from "http";
import { expect } from "chai";
import { Registered } from "../harness";
import { Deployment, diagnostics, leftovers, requireEngine, stateOf, sweepSync, waitHealthy } from "./dockerCli";

export interface LocalReply { status: number; headers: http.IncomingHttpHeaders; body: Buffer; ms: number }

/** One GET to a port published on 127.0.0.1, bounded to 30 s. */
export function getLocal(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<LocalReply> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers, agent: false, timeout: 30_000 }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: Date.now() - started }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${urlPath}: no answer within 30 s`)));
        req.on("error", reject);
        req.end();
    });
}

/** stack.ts builds FORWARDED_ALLOW_IPS from the frontend network; the mocks say this subnet for it. */
const MOCK_SUBNET = "172.30.0.0/16";

export interface StackSuite {
    deployment(): Deployment;
    resources(): Registered[];
    /** A row of the closing table. */
    record(check: string, figure: string): void;
    /** Brings the stack up; on failure prints every container's logs first. */
    up(): Promise<void>;
    /** Waits (bounded) until the containers of these resources are healthy, and asserts it. */
    expectHealthy(resources: string[], timeoutSeconds?: number): Promise<void>;
    /** The port the proxy container publishes on 127.0.0.1. */
    proxyPort(): number;
}

export function stackSuite(o: { title: string; prefix: string; render: () => Promise<Registered[]>; label: string }): StackSuite {
    const started = Date.now();
    const log = (line: string) => console.log(`      [${o.label} ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);
    const table: [string, string][] = [];
    let deployment: Deployment | undefined;
    let resources: Registered[] = [];

    before(async function () {
        this.timeout(120_000);
        await requireEngine();
        resources = await o.render();
        sweepSync(o.prefix);
        deployment = new Deployment(resources, { log, mockSubnet: MOCK_SUBNET, subnetFrom: "networks-frontend", commandTimeoutSeconds: 600 });
    });

    after(async function () {
        this.timeout(300_000);
        const problems = deployment === undefined ? [] : await deployment.down();
        if (problems.length) console.log(`teardown problems:\n  ${problems.join("\n  ")}`);
        sweepSync(o.prefix);
        const left = await leftovers(o.prefix);
        table.push([`teardown: nothing left named ${o.prefix}*`, `${left.services.length ? `${left.services.length} services, ` : ""}${left.containers.length} containers, ${left.networks.length} networks, ${left.volumes.length} volumes`]);
        console.log(`\n    === ${o.title}: rendered containers on a real Docker engine, test stand-ins ===`);
        for (const [check, figure] of table) console.log(`    ${check.padEnd(52)} ${figure}`);
        expect(left.services.concat(left.containers, left.networks, left.volumes)).to.deep.equal([]);
    });

    return {
        deployment: () => deployment!,
        resources: () => resources,
        record: (check, figure) => { table.push([check, figure]); },
        expectHealthy: async (names, timeoutSeconds = 180) => {
            for (const resource of names) {
                const name = deployment!.containers.get(resource)!.name;
                await waitHealthy(name, timeoutSeconds);
                expect((await stateOf(name))?.Health?.Status, name).to.equal("healthy");
            }
        },
        proxyPort: () => Number(resources.find((r) => r.name === "proxy" && r.type === "docker:index/container:Container")!.inputs.ports[0].external),
        up: async () => {
            try {
                await deployment!.up();
            } catch (err) {
                for (const c of deployment!.containers.values()) console.log(await diagnostics(c.name));
                throw err;
            }
        },
    };
}
