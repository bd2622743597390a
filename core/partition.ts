// The AWS partition follows from the region: China regions (cn-north-1, cn-northwest-1) are `aws-cn`.
// Resources differ by partition (CloudFront certificates and policies), so this must be known as a plain
// string when the program runs, not as an output of an invoke.
import { InvalidValueError, printable } from "./validate";

export type Partition = "aws" | "aws-cn" | "aws-us-gov";

const REGION = /^(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov)-[a-z]+-[0-9]$/;

export function requireRegion(value: string | undefined): string {
    if (!value || !REGION.test(value)) {
        throw new InvalidValueError("aws:region", `expected an AWS region such as us-east-2 or cn-northwest-1, got '${printable(value ?? "")}': run 'pulumi config set aws:region <region>'`);
    }
    return value;
}

export function partitionOf(region: string): Partition {
    return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}

/** The DNS suffix of service principals and endpoints in a partition. */
export function dnsSuffix(partition: Partition): string {
    return partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
}
