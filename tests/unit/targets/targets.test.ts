import { expect } from "chai";
import * as YAML from "yaml";
import { amiArchitecture, ebsDevicePaths } from "../../../targets/aws";
import { DATA_MOUNT, renderSetupScript, renderUserData } from "../../../targets/cloudInit";
import { recordName } from "../../../targets/digitalocean";
import { renderWaitForHost, sshOptions } from "../../../targets/hostReady";

describe("cloud hosts", () => {
    const userData = renderUserData({ sshUser: "deploy", sshPublicKeys: ["ssh-ed25519 AAAA op"], dataDevices: ["/dev/disk/by-id/x"] });
    const parsed = YAML.parse(userData);

    it("renders cloud-config YAML with the operator's user and keys", () => {
        expect(userData.startsWith("#cloud-config\n")).to.equal(true);
        expect(parsed.users[1]).to.include({ name: "deploy", lock_passwd: true });
        expect(parsed.users[1].ssh_authorized_keys).to.deep.equal(["ssh-ed25519 AAAA op"]);
        expect(parsed.ssh_pwauth).to.equal(false);
    });

    it("keeps Docker from starting before the data volume is mounted", () => {
        const dropIn = parsed.write_files.find((f: any) => f.path.startsWith("/etc/systemd/system/docker.service.d/"));
        expect(dropIn.content).to.equal(`[Unit]\nRequiresMountsFor=${DATA_MOUNT}\n`);
    });

    it("formats the data volume only when blkid finds nothing on it", () => {
        const script = renderSetupScript({ sshUser: "deploy", dataDevices: ["/dev/a", "/dev/b"] });
        expect(script).to.include("set -- '/dev/a' '/dev/b'\n");
        expect(script).to.include("for candidate in \"$@\"; do");
        expect(script).to.match(/2\) echo "webstack: \$device is blank, formatting it"\n\s+mkfs\.ext4/);
        expect(script).to.include("not touching it");
        expect(script).to.include("nofail");
        expect(script.indexOf("mount \"$mount_point\"")).to.be.lessThan(script.indexOf("apt-get install -y -q docker.io"));
    });

    it("finds EBS volumes by id on Nitro and picks arm64 AMIs for Graviton", () => {
        expect(ebsDevicePaths("vol-0abc")).to.deep.equal(["/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc", "/dev/xvdf"]);
        expect(amiArchitecture("t4g.small")).to.equal("arm64");
        expect(amiArchitecture("c7gn.large")).to.equal("arm64");
        expect(amiArchitecture("t3.small")).to.equal("x86_64");
        expect(amiArchitecture("m5.large")).to.equal("x86_64");
    });

    it("names DNS records relative to their zone", () => {
        expect(recordName("stage.example.org", "example.org")).to.equal("stage");
        expect(recordName("example.org", "example.org")).to.equal("@");
    });

    it("waits for the host with the docker provider's ssh options", () => {
        const opts = sshOptions({ knownHostsFile: "~/.ssh/known_hosts_x", privateKeyPath: "~/.ssh/id_team" });
        expect(opts).to.include("StrictHostKeyChecking=accept-new");
        expect(opts.slice(-2)).to.deep.equal(["-i", "~/.ssh/id_team"]);
        const script = renderWaitForHost({ user: "deploy", address: "203.0.113.10", sshOptions: opts, knownHostsFile: "~/.ssh/known_hosts_x" });
        expect(script).to.include("ssh-keygen -R '203.0.113.10'");
        expect(script).to.include("'deploy@203.0.113.10'");
        expect(script).to.include("mountpoint -q /mnt/data");
        expect(script).to.include('resize2fs "$(findmnt -no SOURCE /mnt/data)"');
    });
});
