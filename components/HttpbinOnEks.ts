// The global stack's service: httpbin on EKS behind an ALB that answers for both domains. Two parts of
// different lifecycles, each a component of its own: AlbOnEks is the platform (cluster, Load Balancer
// Controller, ALB, certificates), Httpbin the application bound to the ALB's target group. This component
// owns the wiring between them, so publishing another service means replacing Httpbin here and nothing else.
//
// URNs of live stacks: in 0.1.0 (2026-11-28) every resource below was a direct child of HttpbinOnEks; 0.2.0
// (2026-11-29) put AlbOnEks and Httpbin at the stack root. Both components therefore answer to their root
// URN (alias with the root as parent, whose children follow by the engine's inherited aliases), and each of
// their children also to its URN directly under this component (formerChildrenOf). tests/urns.test.ts
// checks both layouts against the recorded URNs of each.
import * as pulumi from "@pulumi/pulumi";
import { Partition } from "../core/partition";
import { AlbOnEks } from "./AlbOnEks";
import { formerChildrenOf } from "./formerChildren";
import { HEALTH_CHECK_PATH, HTTPBIN_PORT, Httpbin } from "./Httpbin";

export interface HttpbinOnEksArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly publicSubnetIds: pulumi.Input<string>[];
    readonly privateSubnetIds: pulumi.Input<string>[];
    /** Plain: it names the cluster and is a value of the controller's chart. */
    readonly clusterName: string;
    readonly kubernetesVersion: pulumi.Input<string>;
    readonly nodeInstanceType: pulumi.Input<string>;
    readonly nodeMinSize: pulumi.Input<number>;
    readonly nodeDesiredSize: pulumi.Input<number>;
    readonly nodeMaxSize: pulumi.Input<number>;
    /** Plain: the controller's image registry follows the region in aws-cn. */
    readonly region: string;
    readonly partition: Partition;
    readonly domainName: string;
    readonly cnDomainName: string;
    readonly zoneId: pulumi.Input<string>;
    /** Zone of cnDomainName in this account; ignored when cnCertificateArn is given. */
    readonly cnZoneId?: pulumi.Input<string>;
    readonly cnCertificateArn?: pulumi.Input<string>;
    readonly lbControllerChartVersion: pulumi.Input<string>;
    readonly image: pulumi.Input<string>;
    readonly replicas: pulumi.Input<number>;
    /** AWS refuses to delete the ALB while this is on (the stack's `deletionProtection`). */
    readonly deletionProtection: boolean;
}

export class HttpbinOnEks extends pulumi.ComponentResource {
    /** Carries the ALB's listeners as dependencies: NLB-1 registers the ALB only once they exist. */
    public readonly albArn: pulumi.Output<string>;
    public readonly albDnsName: pulumi.Output<string>;
    /** A path the ALB forwards to the application whatever the Host header: NLB-1's health check. */
    public readonly healthCheckPath: string;
    public readonly appUrl: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: HttpbinOnEksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:HttpbinOnEks", name, {}, opts);
        const moved = (): pulumi.ComponentResourceOptions =>
            ({ parent: this, aliases: [{ parent: pulumi.rootStackResource }], transformations: [formerChildrenOf(this)] });

        const platform = new AlbOnEks(name, {
            vpcId: args.vpcId,
            publicSubnetIds: args.publicSubnetIds,
            privateSubnetIds: args.privateSubnetIds,
            clusterName: args.clusterName,
            kubernetesVersion: args.kubernetesVersion,
            nodeInstanceType: args.nodeInstanceType,
            nodeMinSize: args.nodeMinSize,
            nodeDesiredSize: args.nodeDesiredSize,
            nodeMaxSize: args.nodeMaxSize,
            region: args.region,
            partition: args.partition,
            domainName: args.domainName,
            cnDomainName: args.cnDomainName,
            zoneId: args.zoneId,
            cnZoneId: args.cnZoneId,
            cnCertificateArn: args.cnCertificateArn,
            lbControllerChartVersion: args.lbControllerChartVersion,
            appPort: HTTPBIN_PORT,
            healthCheckPath: HEALTH_CHECK_PATH,
            appHostName: `httpbin.${args.domainName}`,
            deletionProtection: args.deletionProtection,
        }, moved());
        new Httpbin(name, {
            provider: platform.provider,
            controller: platform.controller,
            targetGroupArn: platform.targetGroupArn,
            albSecurityGroupId: platform.albSecurityGroupId,
            image: args.image,
            replicas: args.replicas,
        }, moved());

        this.albArn = platform.albArn;
        this.albDnsName = platform.albDnsName;
        this.healthCheckPath = HEALTH_CHECK_PATH;
        this.appUrl = platform.appUrl;
        this.kubeconfig = platform.kubeconfig;
        this.registerOutputs({ albArn: this.albArn, albDnsName: this.albDnsName, appUrl: this.appUrl, kubeconfig: this.kubeconfig });
    }
}
