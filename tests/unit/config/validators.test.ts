import { expect } from "chai";
import * as v from "../../../config/validators";

describe("config validators", () => {
    it("accepts canonical IPv4 and IPv6 CIDRs", () => {
        for (const ok of ["203.0.113.7/32", "10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32", "::/0", "2001:db8::1/128"]) {
            expect(v.cidr(ok), ok).to.equal(ok);
        }
    });

    it("rejects malformed CIDRs and CIDRs with host bits set", () => {
        for (const bad of ["203.0.113.7", "203.0.113.7/33", "256.1.1.1/32", "10.0.0.1/8", "2001:db8::1/32", "abc/24", "1.2.3.4/-1", ""]) {
            expect(() => v.cidr(bad), bad).to.throw(v.InvalidValue, /CIDR block/);
        }
    });

    it("knows which blocks open SSH to the world", () => {
        expect(v.isWorldOpen("0.0.0.0/0")).to.equal(true);
        expect(v.isWorldOpen("::/0")).to.equal(true);
        expect(v.isWorldOpen("10.0.0.0/8")).to.equal(false);
    });

    it("checks DNS names", () => {
        expect(v.domainName("www.example.org")).to.equal("www.example.org");
        for (const bad of ["example", "Example.org", "-a.example.org", "a..b.org", "http://x.org", "x.org.", "a_b.example.org"]) {
            expect(() => v.domainName(bad), bad).to.throw(v.InvalidValue);
        }
    });

    it("parses integers within bounds only", () => {
        const port = v.integer(1, 65535);
        expect(port("8080")).to.equal(8080);
        for (const bad of ["0", "65536", "8.5", "eighty", ""]) expect(() => port(bad), bad).to.throw(v.InvalidValue, /whole number from 1 to 65535/);
    });

    it("parses booleans strictly", () => {
        expect(v.boolean("true")).to.equal(true);
        expect(v.boolean("false")).to.equal(false);
        expect(() => v.boolean("yes")).to.throw(v.InvalidValue, "true or false");
    });

    it("parses lists of strings and names the bad item", () => {
        expect(v.stringList('["a","b"]')).to.deep.equal(["a", "b"]);
        expect(() => v.stringList("a,b")).to.throw(v.InvalidValue, "a list of strings");
        expect(() => v.stringList("[1]")).to.throw(v.InvalidValue, "a list of strings");
        const keys = v.listOf(v.sshPublicKey, "OpenSSH public key lines");
        expect(() => keys('["ssh-ed25519 AAAA x", "not a key"]')).to.throw(v.InvalidValue, '"not a key" is not one');
    });

    it("checks region, size and id slugs", () => {
        expect(v.doRegion("fra1")).to.equal("fra1");
        expect(() => v.doRegion("frankfurt")).to.throw(v.InvalidValue, /region slug/);
        expect(v.awsRegion("eu-west-1")).to.equal("eu-west-1");
        expect(v.awsRegion("us-gov-west-1")).to.equal("us-gov-west-1");
        expect(() => v.awsRegion("eu-west")).to.throw(v.InvalidValue, /AWS region/);
        expect(v.doSlug("s-1vcpu-2gb")).to.equal("s-1vcpu-2gb");
        expect(() => v.doSlug("big")).to.throw(v.InvalidValue);
        expect(v.awsInstanceType("t3.small")).to.equal("t3.small");
        expect(() => v.awsInstanceType("t3-small")).to.throw(v.InvalidValue);
    });

    it("treats empty as unset for optional settings", () => {
        const optionalDomain = v.optional(v.domainName);
        expect(optionalDomain("")).to.equal(undefined);
        expect(() => optionalDomain("nope")).to.throw(v.InvalidValue);
    });

    it("refuses build contexts that climb out of the project", () => {
        expect(v.relativePath("app")).to.equal("app");
        expect(v.relativePath("services/web")).to.equal("services/web");
        for (const bad of ["../elsewhere", "/abs", "a/../../b"]) expect(() => v.relativePath(bad), bad).to.throw(v.InvalidValue);
    });
});
