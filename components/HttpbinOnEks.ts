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
import { AlbOnEks, AlbOnEksArgs } from "./AlbOnEks";
import { formerChildrenOf } from "./formerChildren";
import { HEALTH_CHECK_PATH, HTTPBIN_PORT, Httpbin } from "./Httpbin";

/** The platform's settings (AlbOnEks) but what the application decides, and the application's own. */
export interface HttpbinOnEksArgs extends Omit<AlbOnEksArgs, "appPort" | "healthCheckPath" | "appHostName"> {
    readonly image: pulumi.Input<string>;
    readonly replicas: pulumi.Input<number>;
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

        const { image, replicas, ...platformArgs } = args;
        const platform = new AlbOnEks(name, {
            ...platformArgs,
            appPort: HTTPBIN_PORT,
            healthCheckPath: HEALTH_CHECK_PATH,
            appHostName: `httpbin.${args.domainName}`,
        }, moved());
        new Httpbin(name, {
            provider: platform.provider,
            controller: platform.controller,
            targetGroupArn: platform.targetGroupArn,
            albSecurityGroupId: platform.albSecurityGroupId,
            image,
            replicas,
        }, moved());

        this.albArn = platform.albArn;
        this.albDnsName = platform.albDnsName;
        this.healthCheckPath = HEALTH_CHECK_PATH;
        this.appUrl = platform.appUrl;
        this.kubeconfig = platform.kubeconfig;
        this.registerOutputs({ albArn: this.albArn, albDnsName: this.albDnsName, appUrl: this.appUrl, kubeconfig: this.kubeconfig });
    }
}
