// NLB-1: an internet-facing NLB whose public addresses are Elastic IPs, known before it exists and stable
// for its life, so the china stack can forward to them and allow-lists can name them. Each TCP listener
// forwards to an ALB-type target group on the same port; TLS passes through to the ALB.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALB_LISTENERS, albListener } from "../core/albListeners";
import { unhealthyTargetsAlarm } from "./alarms";

export interface NlbFrontingAlbArgs {
    readonly vpcId: pulumi.Input<string>;
    /** One Elastic IP per subnet: the array's length decides how many addresses exist. */
    readonly subnetIds: pulumi.Input<string>[];
    readonly albArn: pulumi.Input<string>;
    /** Each an ALB listener port (core/albListeners.ts). */
    readonly ports: number[];
    /** A path the ALB forwards to the application whatever the Host header (see AlbOnEks). */
    readonly healthCheckPath: pulumi.Input<string>;
    /** TCP idle timeout of every listener (AWS's default is 350 s). */
    readonly idleTimeoutSeconds: pulumi.Input<number>;
    readonly zoneId: pulumi.Input<string>;
    /** Full DNS name of the alias record, e.g. nlbtoalb.<domainName>. */
    readonly recordName: pulumi.Input<string>;
    /** SNS topic for the unhealthy-ALB alarms; without it the alarms only show in CloudWatch. */
    readonly alarmTopicArn?: pulumi.Input<string>;
    /** AWS refuses to delete the load balancer while this is on (the stack's `deletionProtection`). */
    readonly deletionProtection: boolean;
}

/** The health check protocol of an ALB-type target group on a port: the ALB listener's there (HTTP or HTTPS). */
export function healthCheckProtocol(port: number): "HTTP" | "HTTPS" {
    const listener = albListener(port);
    if (listener === undefined) {
        throw new Error(`NlbFrontingAlb: the ALB has no listener on port ${port} (listeners: ${ALB_LISTENERS.map(l => l.port).join(", ")})`);
    }
    return listener.protocol;
}

export class NlbFrontingAlb extends pulumi.ComponentResource {
    /** The Elastic IPs, sorted, as the china stack consumes them. */
    public readonly publicIps: pulumi.Output<string[]>;
    public readonly dnsName: pulumi.Output<string>;
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: NlbFrontingAlbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:NlbFrontingAlb", name, {}, opts);

        const eips = args.subnetIds.map((_, i) => new aws.ec2.Eip(`${name}-${i}`, {
            domain: "vpc",
            tags: { Name: `${name}-${i}` },
        }, { parent: this }));
        const nlb = new aws.lb.LoadBalancer(name, {
            loadBalancerType: "network",
            internal: false,
            subnetMappings: args.subnetIds.map((subnetId, i) => ({ subnetId, allocationId: eips[i].allocationId })),
            // Every address serves every AZ's ALB node: the proxies spread over all addresses.
            enableCrossZoneLoadBalancing: true,
            enableDeletionProtection: args.deletionProtection,
            tags: { Name: name },
        }, {
            parent: this,
            // A subnet removed or changed replaces an NLB (terraform-provider-aws customizeDiffLoadBalancerNLB), and
            // the new one needs the same Elastic IPs, which the old one holds until it is deleted: delete first.
            // The addresses, and so the china stack's destinations, survive; NLB-1 is down until the new one is
            // active. The stack refuses such a change while deletion protection is on (config/loadBalancers.ts).
            deleteBeforeReplace: true,
        });

        for (const port of args.ports) {
            const targets = new aws.lb.TargetGroup(`${name}-${port}`, {
                targetType: "alb",
                protocol: "TCP",
                port,
                vpcId: args.vpcId,
                healthCheck: {
                    protocol: healthCheckProtocol(port),
                    port: "traffic-port",
                    path: args.healthCheckPath,
                    matcher: "200-399",
                    interval: 10,
                    healthyThreshold: 3,
                    unhealthyThreshold: 3,
                },
            }, { parent: this });
            // Depends on the ALB through albArn, so it is destroyed before the ALB can be.
            const attachment = new aws.lb.TargetGroupAttachment(`${name}-${port}`, {
                targetGroupArn: targets.arn,
                targetId: args.albArn,
                port,
            }, { parent: this });
            new aws.lb.Listener(`${name}-${port}`, {
                loadBalancerArn: nlb.arn,
                port,
                protocol: "TCP",
                tcpIdleTimeoutSeconds: args.idleTimeoutSeconds,
                defaultActions: [{ type: "forward", targetGroupArn: targets.arn }],
            }, { parent: this, dependsOn: [attachment] });
            unhealthyTargetsAlarm(`${name}-${port}-unhealthy`, nlb, targets, args.alarmTopicArn, this);
        }

        new aws.route53.Record(name, {
            zoneId: args.zoneId,
            name: args.recordName,
            type: "A",
            aliases: [{ name: nlb.dnsName, zoneId: nlb.zoneId, evaluateTargetHealth: true }],
        }, { parent: this });

        this.publicIps = pulumi.all(eips.map(e => e.publicIp)).apply(ips => [...ips].sort(compareIpv4));
        this.dnsName = nlb.dnsName;
        this.url = pulumi.interpolate`https://${args.recordName}/`;
        this.registerOutputs({ publicIps: this.publicIps, dnsName: this.dnsName, url: this.url });
    }
}

/** Numeric order of dotted quads, so 9.x sorts before 10.x. */
export function compareIpv4(a: string, b: string): number {
    const value = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
    return value(a) - value(b);
}
