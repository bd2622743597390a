// An ACM certificate for `*.domain`, validated through a DNS record in Route 53. Every name the system
// serves is one label under the domain (httpbin., nlbtoalb., test., abc.), so the wildcard alone covers
// them and there is exactly one validation record, known before the certificate exists.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export function dnsValidatedCertificate(name: string, domainName: string, zoneId: pulumi.Input<string>,
    parent: pulumi.Resource): pulumi.Output<string> {
    const certificate = new aws.acm.Certificate(name, {
        domainName: `*.${domainName}`,
        validationMethod: "DNS",
        tags: { Name: `*.${domainName}` },
    }, { parent });
    const option = certificate.domainValidationOptions[0];
    const record = new aws.route53.Record(`${name}-validation`, {
        zoneId,
        name: option.resourceRecordName,
        type: option.resourceRecordType,
        records: [option.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
    }, {
        parent,
        // ACM gives every certificate for a name in one account the same validation record, so the global
        // stacks of several regions share it (each writes it, allowOverwrite): destroying one of them must not
        // take it from the others, whose certificates renew through it. Kept in the zone on delete.
        retainOnDelete: true,
    });
    return new aws.acm.CertificateValidation(name, {
        certificateArn: certificate.arn,
        validationRecordFqdns: [record.fqdn],
    }, { parent }).certificateArn;
}
