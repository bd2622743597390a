// CloudFront in front of NLB-2: no caching, everything the viewer sends is forwarded, TLS on both legs.
// China's CloudFront takes no ACM certificate and no cache or origin request policy: there the viewer
// certificate is an IAM server certificate under /cloudfront/ and the legacy forwardedValues disable
// caching; elsewhere the managed CachingDisabled and AllViewer policies and an ACM certificate do.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Partition } from "../core/partition";

/** How CloudFront presents the china domain: ACM in global regions, an IAM server certificate in aws-cn. */
export type EdgeCertificate =
    | { readonly kind: "acm"; readonly arn: string }
    | { readonly kind: "iam-upload"; readonly body: string; readonly chain?: string; readonly privateKey: pulumi.Output<string> }
    | { readonly kind: "iam-existing"; readonly id: string };

export interface CloudfrontEdgeArgs {
    readonly partition: Partition;
    /** The viewer-facing name, e.g. abc.<cnDomainName>. */
    readonly alias: string;
    /** NLB-2 under a name the ALB's certificate covers (test.<cnDomainName>), not the NLB's own name. */
    readonly originDomainName: pulumi.Input<string>;
    readonly certificate: EdgeCertificate;
    /** Route 53 zone for the alias record; none when the domain's DNS is managed elsewhere. */
    readonly zoneId?: pulumi.Input<string>;
}

/** Managed policies, global regions only. */
export const CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
export const ALL_VIEWER_POLICY_ID = "216adef6-5c7f-47e4-b989-5492eafa07d3";
const ORIGIN_ID = "nlb2";
const ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"];

export class CloudfrontEdge extends pulumi.ComponentResource {
    public readonly domainName: pulumi.Output<string>;
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: CloudfrontEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:CloudfrontEdge", name, {}, opts);
        const china = args.partition === "aws-cn";
        if (china === (args.certificate.kind === "acm")) {
            throw new Error(`CloudfrontEdge: a ${args.certificate.kind} certificate cannot serve CloudFront in partition ${args.partition}`);
        }

        const viewerCertificate = { sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" };
        const certificate = args.certificate;
        const certificateRef = certificate.kind === "acm" ? { acmCertificateArn: certificate.arn }
            : certificate.kind === "iam-existing" ? { iamCertificateId: certificate.id }
                : {
                    iamCertificateId: new aws.iam.ServerCertificate(name, {
                        namePrefix: `${name}-`,
                        path: `/cloudfront/${pulumi.getProject()}/`,
                        certificateBody: certificate.body,
                        certificateChain: certificate.chain,
                        privateKey: certificate.privateKey,
                    }, { parent: this }).id,
                };

        const behaviour = {
            targetOriginId: ORIGIN_ID,
            viewerProtocolPolicy: "redirect-to-https",
            allowedMethods: ALL_METHODS,
            cachedMethods: ["GET", "HEAD"],
            compress: false,
            ...(china
                ? {
                    forwardedValues: { queryString: true, headers: ["*"], cookies: { forward: "all" } },
                    minTtl: 0, defaultTtl: 0, maxTtl: 0,
                }
                : { cachePolicyId: CACHING_DISABLED_POLICY_ID, originRequestPolicyId: ALL_VIEWER_POLICY_ID }),
        };

        const distribution = new aws.cloudfront.Distribution(name, {
            enabled: true,
            comment: `cross-region-proxy edge for ${args.alias}`,
            aliases: [args.alias],
            isIpv6Enabled: false,
            origins: [{
                originId: ORIGIN_ID,
                domainName: args.originDomainName,
                customOriginConfig: {
                    httpPort: 80,
                    httpsPort: 443,
                    originProtocolPolicy: "https-only",
                    originSslProtocols: ["TLSv1.2"],
                    originReadTimeout: 30,
                    originKeepaliveTimeout: 5,
                },
            }],
            defaultCacheBehavior: behaviour,
            restrictions: { geoRestriction: { restrictionType: "none" } },
            viewerCertificate: { ...viewerCertificate, ...certificateRef },
        }, { parent: this });

        // An alias record in both partitions: Route 53 aliases to CloudFront in China too, with China's own
        // CloudFront zone (Z3RFFRIM2A3IF5, not the global Z2FDTNDATAQYW2). The distribution reports its
        // zone as `hostedZoneId`, so no literal has to be right for the partition.
        if (args.zoneId !== undefined) {
            new aws.route53.Record(name, {
                zoneId: args.zoneId,
                name: args.alias,
                type: "A",
                aliases: [{ name: distribution.domainName, zoneId: distribution.hostedZoneId, evaluateTargetHealth: false }],
            }, { parent: this });
        }

        this.domainName = distribution.domainName;
        this.url = pulumi.output(`https://${args.alias}/`);
        this.registerOutputs({ domainName: this.domainName, url: this.url });
    }
}
