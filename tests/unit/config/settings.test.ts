import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { PROJECT, registeredSoFar, runWithConfig, stackConfig } from "../../harness";
import { ConfigError, configString, PARSERS, projectSchema, readSettings } from "../../../config/settings";
import { isListParser } from "../../../config/validators";
import { buildStack } from "../../../stack";

/** Evaluates a stack with overrides and returns the configuration error and what was registered. */
async function rejected(stack: string, overrides: Record<string, unknown>) {
    try {
        const run = await runWithConfig(stack, stackConfig(stack, overrides), () => buildStack(readSettings()));
        throw new Error(`expected a configuration error, but ${run.resources.length} resources were registered`);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        expect(registeredSoFar(), "resources registered before the error").to.deep.equal([]);
        return err;
    }
}

describe("settings", () => {
    describe("Pulumi.yaml schema", () => {
        const schema = projectSchema();

        it("declares exactly the keys the program reads", () => {
            expect(Object.keys(schema.config).sort()).to.deep.equal(Object.keys(PARSERS).sort());
        });

        it("gives every key a type, a description and a default that passes its own check", () => {
            for (const [key, declared] of Object.entries<any>(schema.config)) {
                expect(declared.type, key).to.be.oneOf(["string", "integer", "boolean", "array"]);
                expect(declared.description, key).to.be.a("string").and.not.equal("");
                expect(declared, key).to.have.property("default");
                if (declared.type === "array") expect(declared.items, key).to.deep.equal({ type: "string" });
                const parse = (PARSERS as Record<string, (value: string) => unknown>)[key];
                expect(() => parse(configString(declared.default)), key).not.to.throw();
            }
        });

        it("holds no secret keys (they are set with --secret)", () => {
            for (const secret of ["dbPassword", "djangoSecretKey", "superuserPassword"]) {
                expect(schema.config).not.to.have.property(secret);
            }
        });
    });

    describe("bad values stop the program before any resource is registered", () => {
        const cases: [string, string, Record<string, unknown>, RegExp[]][] = [
            ["unknown target", "dev", { target: "gcp" }, [/webstack:target: expected one of local, ssh, digitalocean, aws, got "gcp"/]],
            ["unknown proxy", "dev", { proxy: "caddy" }, [/webstack:proxy: expected one of nginx, traefik, none, got "caddy"/]],
            ["wrong type", "dev", { httpPort: "eighty" }, [/webstack:httpPort: expected a whole number from 1 to 65535, got "eighty"/]],
            ["boolean typo", "dev", { debug: "yes" }, [/webstack:debug: expected true or false/]],
            ["malformed CIDR", "stage", { sshAllowedCidrs: ["203.0.113.7"] }, [/webstack:sshAllowedCidrs: expected a list of CIDR blocks .* "203\.0\.113\.7" is not one/]],
            ["malformed domain", "prod", { domain: "www_example.org" }, [/webstack:domain: expected a lower-case DNS name/]],
            ["malformed DigitalOcean region", "stage", { dropletRegion: "Frankfurt" }, [/webstack:dropletRegion: expected a DigitalOcean region slug/]],
            ["malformed droplet size", "stage", { dropletSize: "huge" }, [/webstack:dropletSize: expected a DigitalOcean slug/]],
            ["malformed AWS region", "prod", { "aws:region": "europe" }, [/aws:region: expected an AWS region such as eu-west-1, got "europe"/]],
            ["malformed instance type", "prod", { awsInstanceType: "large" }, [/webstack:awsInstanceType: expected an EC2 instance type/]],
            ["SSH open to the world on prod", "prod", { sshAllowedCidrs: ["198.51.100.7/32", "0.0.0.0/0"] }, [/webstack:sshAllowedCidrs: SSH open to the whole Internet \(0\.0\.0\.0\/0\) is refused on prod/]],
            ["IPv6 world on prod", "prod", { sshAllowedCidrs: ["::/0"] }, [/refused on prod/]],
            ["cloud target without SSH keys", "stage", { sshPublicKeys: [] }, [/webstack:sshPublicKeys: target digitalocean needs at least one public key/]],
            ["cloud target without SSH CIDRs", "prod", { sshAllowedCidrs: [] }, [/webstack:sshAllowedCidrs: target aws needs the CIDRs/]],
            ["aws without a region", "prod", { "aws:region": undefined }, [/aws:region: target aws needs a region/]],
            ["DEBUG outside dev", "stage", { debug: true }, [/webstack:debug: expected false outside dev/]],
            ["domain outside its zone", "prod", { domain: "www.example.com" }, [/webstack:domain: expected a name inside dnsZone example\.org/]],
            ["zone without domain", "stage", { domain: "" }, [/webstack:dnsZone: a DNS zone needs webstack:domain/]],
            ["secret-looking plain environment", "dev", { appEnvironment: ["EMAIL_PASSWORD=hunter2"] }, [/EMAIL_PASSWORD looks like a secret/]],
            ["reserved environment", "dev", { appEnvironment: ["DATABASE_URL=postgres://x"] }, [/DATABASE_URL is set by the program itself/]],
            ["bad environment entry", "dev", { appEnvironment: ["NOEQUALS"] }, [/webstack:appEnvironment: expected a list of KEY=value entries/]],
            ["missing app context", "dev", { appContext: "nowhere" }, [/webstack:appContext: expected a directory holding Dockerfile/]],
            ["unsupported PostgreSQL", "dev", { postgresVersion: 9 }, [/webstack:postgresVersion: expected a whole number from 13 to 17/]],
            ["bad extension name", "dev", { dbExtensions: ["pg_trgm; DROP"] }, [/webstack:dbExtensions/]],
            ["stack not named after an environment", "feature-x", {}, [/webstack:environment: expected one of dev, stage, prod \(the stack "feature-x"/]],
            ["no proxy outside dev", "stage", { proxy: "none" }, [/webstack:proxy: expected nginx or traefik outside dev/]],
            ["maintenance without a proxy", "dev", { proxy: "none", maintenance: true }, [/webstack:maintenance: the maintenance page is answered by the proxy/]],
            ["maintenance with a healthcheck path the proxy cannot leave out", "dev", { maintenance: true, appHealthcheckPath: "/health%3Fx" },
                [/webstack:appHealthcheckPath: with maintenance on, the healthcheck path "\/health%3Fx" stays reachable in maintenance, so it must be a plain path/]],
        ];
        for (const [title, stack, overrides, patterns] of cases) {
            it(title, async () => {
                const err = await rejected(stack, overrides);
                for (const pattern of patterns) expect(err.message).to.match(pattern);
                expect(err.message).to.match(new RegExp(`^Stack "${stack}" has invalid configuration; nothing was changed`));
            });
        }

        it("shows the --path form for list keys, since `pulumi config set key value` stores a string", async () => {
            const err = await rejected("dev", { sshAllowedCidrs: "203.0.113.7/32", dbExtensions: ["Bad Name"] });
            expect(err.message).to.include("(a list: `pulumi config set --path '<key>[0]' <value>`)");
            for (const key of ["sshAllowedCidrs", "dbExtensions"]) {
                const problem = err.problems.find((p) => p.startsWith(`webstack:${key}:`))!;
                expect(problem, key).to.include(`\`pulumi config set --path 'webstack:${key}[0]' <value>\``);
            }
            const stage = await rejected("stage", { sshAllowedCidrs: [] });
            expect(stage.problems[0]).to.include("`pulumi config set --path 'webstack:sshAllowedCidrs[0]' 203.0.113.7/32`");
        });

        it("marks exactly the array keys of Pulumi.yaml as lists", () => {
            const arrays = Object.entries<any>(projectSchema().config).filter(([, d]) => d.type === "array").map(([k]) => k).sort();
            const lists = Object.entries(PARSERS).filter(([, parse]) => isListParser(parse)).map(([k]) => k).sort();
            expect(lists).to.deep.equal(arrays);
        });

        it("names every bad key in one error", async () => {
            const err = await rejected("prod", { target: "aws", proxy: "apache", httpPort: 0, dropletSize: "x", sshAllowedCidrs: ["0.0.0.0/0"] });
            expect(err.problems).to.have.length(3);
            expect(err.message).to.include(`${PROJECT}:proxy`).and.include(`${PROJECT}:httpPort`).and.include(`${PROJECT}:dropletSize`);
        });

        it("reports cross-key rules together", async () => {
            const err = await rejected("prod", { sshAllowedCidrs: ["0.0.0.0/0"], "aws:region": undefined, sshPublicKeys: [] });
            expect(err.problems.map((p) => p.split(":")[0] + ":" + p.split(":")[1])).to.have.members([
                "webstack:sshPublicKeys", "webstack:sshAllowedCidrs", "aws:region",
            ]);
        });
    });
});

describe("README", () => {
    it("documents every setting of Pulumi.yaml in its configuration table", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "..", "..", "README.md"), "utf8");
        for (const key of Object.keys(projectSchema().config)) expect(readme, key).to.include(`| \`${key}\` |`);
    });
});
