// An IAM role EC2 instances assume, with AWS managed policies, in the stack's partition (the EC2 service
// principal and the policies' ARNs differ in aws-cn). The attachments come back with the role: whatever
// uses the role must depend on them too, so that it is created after them and, on `pulumi destroy`,
// deleted before them (an instance must not lose its permissions while it is being shut down).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Partition, dnsSuffix } from "../core/partition";

export interface RoleWithPolicies {
    readonly role: aws.iam.Role;
    readonly attachments: aws.iam.RolePolicyAttachment[];
}

export function ec2Role(name: string, partition: Partition, managedPolicies: readonly string[], parent: pulumi.Resource): RoleWithPolicies {
    const role = new aws.iam.Role(name, {
        assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: `ec2.${dnsSuffix(partition)}` }, Action: "sts:AssumeRole" }],
        }),
    }, { parent });
    const attachments = managedPolicies.map(policy => new aws.iam.RolePolicyAttachment(`${name}-${policy}`, {
        role: role.name,
        policyArn: `arn:${partition}:iam::aws:policy/${policy}`,
    }, { parent }));
    return { role, attachments };
}
