/** AWS hosts: encrypted EBS, IMDSv2. */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes, TYPES } from "./common";

// ---------------------------------------------------------------------------------------------
// AWS hosts: EBS encryption, IMDSv2
// ---------------------------------------------------------------------------------------------

interface BlockDevice { encrypted?: boolean; deviceName?: string }
interface InstanceProps {
    rootBlockDevice?: BlockDevice;
    ebsBlockDevices?: BlockDevice[];
    metadataOptions?: { httpTokens?: string; httpEndpoint?: string };
}

export const ebsVolumesEncrypted: ResourceValidationPolicy = {
    name: "ebs-volumes-encrypted",
    description: "EBS volumes, and an EC2 instance's root and attached block devices, are encrypted.",
    enforcementLevel: "mandatory",
    validateResource: [
        forTypes<{ encrypted?: boolean }>([TYPES.ebsVolume], (v, args, reportViolation) => {
            if (v.encrypted !== true) reportViolation(`EBS volume ${args.name} is not encrypted; set encrypted: true.`);
        }),
        forTypes<InstanceProps>([TYPES.ec2Instance], (i, args, reportViolation) => {
            if (i.rootBlockDevice?.encrypted !== true) {
                reportViolation(`EC2 instance ${args.name}'s root volume is not encrypted; set rootBlockDevice.encrypted: true.`);
            }
            for (const device of i.ebsBlockDevices ?? []) {
                if (device.encrypted !== true) {
                    reportViolation(`EC2 instance ${args.name}'s block device ${device.deviceName ?? ""} is not encrypted; set encrypted: true.`);
                }
            }
        }),
    ],
};

export const imdsv2Required: ResourceValidationPolicy = {
    name: "ec2-imdsv2-required",
    description: "EC2 instances require IMDSv2 session tokens (metadataOptions.httpTokens \"required\"), or have no metadata endpoint.",
    enforcementLevel: "mandatory",
    validateResource: forTypes<InstanceProps>([TYPES.ec2Instance], (i, args, reportViolation) => {
        const options = i.metadataOptions;
        if (options?.httpEndpoint === "disabled" || options?.httpTokens === "required") return;
        reportViolation(`EC2 instance ${args.name} allows IMDSv1 (httpTokens is ${JSON.stringify(options?.httpTokens ?? "optional")}); ` +
            "set metadataOptions.httpTokens to \"required\".");
    }),
};
