/**
 * The frame of a smaller real-engine suite: render a stack under mocks, bring it up with the
 * docker CLI (dockerCli.ts), and on the way out tear it down, check that nothing with its prefix
 * is left, and print the suite's table. Call it inside a mocha `describe`.
 */
import { expect } from "chai";
import { Registered } from "../harness";
import { Deployment, diagnostics, leftovers, requireEngine, sweepSync } from "./dockerCli";

/** stack.ts builds FORWARDED_ALLOW_IPS from the frontend network; the mocks say this subnet for it. */
const MOCK_SUBNET = "172.30.0.0/16";

export interface StackSuite {
    deployment(): Deployment;
    resources(): Registered[];
    /** A row of the closing table. */
    record(check: string, figure: string): void;
    /** Brings the stack up; on failure prints every container's logs first. */
    up(): Promise<void>;
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
        table.push([`teardown: nothing left named ${o.prefix}*`, `${left.containers.length} containers, ${left.networks.length} networks, ${left.volumes.length} volumes`]);
        console.log(`\n    === ${o.title}: rendered containers on a real Docker engine, test stand-ins ===`);
        for (const [check, figure] of table) console.log(`    ${check.padEnd(52)} ${figure}`);
        expect(left.containers.concat(left.networks, left.volumes)).to.deep.equal([]);
    });

    return {
        deployment: () => deployment!,
        resources: () => resources,
        record: (check, figure) => { table.push([check, figure]); },
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
