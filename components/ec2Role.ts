// An IAM role EC2 instances assume, with AWS managed policies, in the stack's partition (the EC2 service
// principal and the policies' ARNs differ in aws-cn).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Partition, dnsSuffix } from "../core/partition";

export function ec2Role(name: string, partition: Partition, managedPolicies: readonly string[], parent: pulumi.Resource): aws.iam.Role {
    const role = new aws.iam.Role(name, {
        assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: `ec2.${dnsSuffix(partition)}` }, Action: "sts:AssumeRole" }],
        }),
    }, { parent });
    for (const policy of managedPolicies) {
        new aws.iam.RolePolicyAttachment(`${name}-${policy}`, {
            role: role.name,
            policyArn: `arn:${partition}:iam::aws:policy/${policy}`,
        }, { parent });
    }
    return role;
}
