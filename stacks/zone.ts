// The public Route 53 zone a stack writes its records in: given by id, or looked up by name. A lookup is
// safe on the first preview of an empty stack, because the zone exists before the stack does.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export function hostedZoneId(domainName: string, zoneId: string | undefined): pulumi.Output<string> {
    return zoneId !== undefined ? pulumi.output(zoneId)
        : aws.route53.getZoneOutput({ name: domainName, privateZone: false }).zoneId;
}
