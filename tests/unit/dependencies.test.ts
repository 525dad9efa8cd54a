/**
 * The engine runs each provider SDK's plugin at exactly the version the SDK asks for, so an SDK
 * version without a matching provider release cannot deploy at all.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { projectRoot } from "../../config/settings";

const lock = JSON.parse(fs.readFileSync(path.join(projectRoot(), "package-lock.json"), "utf8"));
const requested = (name: string): string => {
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), "node_modules", "@pulumi", name, "package.json"), "utf8"));
    return pkg.pulumi?.version ?? pkg.version;
};

describe("provider plugins", () => {
    it("asks for a command plugin from the provider's own release line (v1; the npm 4.5.0 is a stray publish)", () => {
        expect(lock.packages["node_modules/@pulumi/command"].version).to.match(/^1\.\d+\.\d+$/);
        expect(requested("command")).to.match(/^1\.\d+\.\d+$/);
    });

    it("installs exactly the SDK versions the lock file names, so the toolchain builds the plugins they request", () => {
        for (const name of ["docker", "random", "tls", "command"]) {
            expect(requested(name), name).to.equal(lock.packages[`node_modules/@pulumi/${name}`].version);
        }
    });
});
