// Partition: ARNs and service principals of the partition the stack deploys into (aws or aws-cn).
import { ResourceValidationPolicy } from "@pulumi/policy";
import { list, partitionOfRegion, policyDocuments, providerRegion, stringsIn } from "./facts";

/** Services whose principal in aws-cn ends in amazonaws.com.cn (IAM guide, "AWS service principals"; EC2 notably). */
export const CHINA_SUFFIXED_SERVICES: readonly string[] = ["ec2"];

export const partitionArns: ResourceValidationPolicy = {
    name: "partition-arns",
    description: "AWS resources name ARNs of their own partition only (no arn:aws: in aws-cn, no arn:aws-cn: in aws).",
    validateResource: (args, report) => {
        if (!args.type.startsWith("aws:")) return;
        const region = providerRegion(args);
        if (region === undefined) {
            report("the aws provider has no region, so the partition is unknown: set aws:region in the stack");
            return;
        }
        const partition = partitionOfRegion(region);
        for (const { path, value } of stringsIn(args.props)) {
            for (const match of value.matchAll(/\barn:(aws(?:-cn|-us-gov)?):/g)) {
                if (match[1] !== partition) {
                    report(`${path}: an ${match[1]} ARN in a stack of partition ${partition} (region ${region})`);
                }
            }
        }
    },
};

export const partitionServicePrincipals: ResourceValidationPolicy = {
    name: "partition-service-principals",
    description: "IAM trust and resource policies name service principals valid in the stack's partition (ec2.amazonaws.com.cn in aws-cn).",
    validateResource: (args, report) => {
        const region = providerRegion(args);
        if (!args.type.startsWith("aws:iam/") || region === undefined) return;
        const china = partitionOfRegion(region) === "aws-cn";
        for (const { path, statements } of policyDocuments(args.type, args.props)) {
            for (const statement of statements) {
                const principal = statement.Principal as { Service?: string | string[] } | undefined;
                for (const service of list(principal?.Service)) {
                    const name = service.split(".")[0];
                    if (!china && service.endsWith(".amazonaws.com.cn")) {
                        report(`${path}: ${service} is a China principal in a stack of region ${region}`);
                    } else if (china && CHINA_SUFFIXED_SERVICES.includes(name) && service !== `${name}.amazonaws.com.cn`) {
                        report(`${path}: in aws-cn the ${name} service principal is ${name}.amazonaws.com.cn, not ${service}`);
                    }
                }
            }
        }
    },
};
