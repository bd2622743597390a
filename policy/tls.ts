// TLS on both legs: the ALB's HTTPS listeners and CloudFront's viewer and origin sides.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { list } from "./facts";

/**
 * ELB security policies that offer TLS 1.2 and later only (Elastic Load Balancing guide, "Security
 * policies for your Application Load Balancer"). The default, ELBSecurityPolicy-2016-08, still offers TLS 1.0.
 */
export const TLS12_ELB_POLICIES: readonly string[] = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-1-2-2019-08", "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
];

/** CloudFront viewer security policies of TLSv1.2_2021 or later. */
export const CLOUDFRONT_VIEWER_POLICIES: readonly string[] = ["TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"];

export const albListenerTls: ResourceValidationPolicy = {
    name: "tls-listener-policy",
    description: "HTTPS and TLS listeners use an ELB security policy of TLS 1.2 or later from an allow-list.",
    validateResource: (args, report) => {
        if (args.type !== "aws:lb/listener:Listener" || (args.props.protocol !== "HTTPS" && args.props.protocol !== "TLS")) return;
        if (!TLS12_ELB_POLICIES.includes(args.props.sslPolicy)) {
            report(`sslPolicy '${args.props.sslPolicy ?? "(default ELBSecurityPolicy-2016-08)"}' is not a TLS 1.2+ policy; use one of ${TLS12_ELB_POLICIES.join(", ")}`);
        }
    },
};

export const cloudfrontTls: ResourceValidationPolicy = {
    name: "tls-cloudfront",
    description: "CloudFront: viewer minimum TLSv1.2_2021 or later on our own certificate; custom origins https-only with TLSv1.2 only.",
    validateResource: (args, report) => {
        if (args.type !== "aws:cloudfront/distribution:Distribution") return;
        const viewer = args.props.viewerCertificate ?? {};
        if (viewer.cloudfrontDefaultCertificate === true) {
            report("viewerCertificate.cloudfrontDefaultCertificate allows TLSv1: serve the domain's own certificate");
        }
        if (!CLOUDFRONT_VIEWER_POLICIES.includes(viewer.minimumProtocolVersion)) {
            report(`viewerCertificate.minimumProtocolVersion '${viewer.minimumProtocolVersion ?? ""}' must be one of ${CLOUDFRONT_VIEWER_POLICIES.join(", ")}`);
        }
        for (const origin of list<any>(args.props.origins)) {
            const custom = origin?.customOriginConfig;
            if (custom === undefined) continue;
            const protocols = list<string>(custom.originSslProtocols);
            if (custom.originProtocolPolicy !== "https-only" || protocols.length !== 1 || protocols[0] !== "TLSv1.2") {
                report(`origin ${origin.originId}: customOriginConfig must be originProtocolPolicy https-only with originSslProtocols [TLSv1.2]`);
            }
        }
    },
};
