// What the policies read off resource inputs: the partition, IAM documents, ports and strings. The pack
// depends on nothing in the program it checks, so a bug in the program's helpers cannot hide from it.
import { PolicyResource, ResourceValidationArgs } from "@pulumi/policy";

export type Partition = "aws" | "aws-cn" | "aws-us-gov";

/** The partition of an AWS region: China regions are cn-*, GovCloud us-gov-*. */
export function partitionOfRegion(region: string): Partition {
    return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}

/** The region of the aws provider a resource is created with (the stack's aws:region for the default provider). */
export function providerRegion(args: Pick<ResourceValidationArgs, "provider">): string | undefined {
    const region = args.provider?.props?.region;
    return typeof region === "string" && region !== "" ? region : undefined;
}

/** Every string anywhere in a value, with its path (for messages). */
export function stringsIn(value: unknown, path = ""): { path: string; value: string }[] {
    if (typeof value === "string") return [{ path, value }];
    if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${path}[${i}]`));
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => stringsIn(v, path ? `${path}.${k}` : k));
    }
    return [];
}

export interface Statement {
    readonly Effect?: string;
    readonly Action?: string | string[];
    readonly Resource?: string | string[];
    readonly Principal?: unknown;
    readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The IAM policy documents in a resource's inputs: policy, assumeRolePolicy and inline policies. */
export function policyDocuments(type: string, props: Record<string, any>): { path: string; statements: Statement[] }[] {
    const texts: { path: string; text: unknown }[] = [];
    if (type === "aws:iam/policy:Policy" || type === "aws:iam/rolePolicy:RolePolicy" || type === "aws:iam/userPolicy:UserPolicy"
        || type === "aws:iam/groupPolicy:GroupPolicy") {
        texts.push({ path: "policy", text: props.policy });
    }
    if (type === "aws:iam/role:Role") {
        texts.push({ path: "assumeRolePolicy", text: props.assumeRolePolicy });
        for (const [i, inline] of (props.inlinePolicies ?? []).entries()) texts.push({ path: `inlinePolicies[${i}].policy`, text: inline?.policy });
    }
    return texts.filter(t => t.text !== undefined).map(({ path, text }) => {
        const document = typeof text === "string" ? JSON.parse(text) : text;
        const statements = document?.Statement;
        return { path, statements: Array.isArray(statements) ? statements : statements ? [statements] : [] };
    });
}

export const list = <T>(value: T | T[] | undefined): T[] => value === undefined ? [] : Array.isArray(value) ? value : [value];

/** The resources a property of a resource came from, by URN (a security group's id in a load balancer's securityGroups). */
export function fromProperty(resource: PolicyResource, property: string): PolicyResource[] {
    return resource.propertyDependencies?.[property] ?? [];
}
