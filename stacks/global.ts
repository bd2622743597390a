// The `global` stack: HttpbinOnEks (the platform: EKS, Load Balancer Controller, ALB; and the application on
// it, httpbin) and NLB-1 with Elastic IPs in front of the ALB (NlbFrontingAlb).
import * as pulumi from "@pulumi/pulumi";
import { GlobalConfig } from "../config/global";
import { HttpbinOnEks } from "../components/HttpbinOnEks";
import { Network } from "../components/Network";
import { NlbFrontingAlb } from "../components/NlbFrontingAlb";
import { hostedZoneId } from "./zone";

export interface GlobalOutputs {
    nlbPublicIps: pulumi.Output<string[]>;
    nlbDnsName: pulumi.Output<string>;
    albDnsName: pulumi.Output<string>;
    albArn: pulumi.Output<string>;
    httpbinUrl: pulumi.Output<string>;
    nlbUrl: pulumi.Output<string>;
    /** The china stack keeps its proxies' idle timeout at or below it. */
    nlbIdleTimeoutSeconds: pulumi.Output<number>;
    /** NLB-1's listener ports, sorted: the china stack's proxyListenerPorts must be among them. */
    nlbListenerPorts: pulumi.Output<number[]>;
}

export function globalStack(config: GlobalConfig): GlobalOutputs {
    const network = config.existingVpc !== undefined
        ? {
            vpcId: pulumi.output(config.existingVpc.vpcId),
            publicSubnetIds: config.existingVpc.publicSubnetIds.map(id => pulumi.output(id)),
            privateSubnetIds: config.existingVpc.privateSubnetIds.map(id => pulumi.output(id)),
        }
        : new Network("global", {
            cidrBlock: config.vpcCidr,
            availabilityZoneCount: config.availabilityZoneCount,
            privateSubnets: true,
            publicSubnetTags: { "kubernetes.io/role/elb": "1" },
            privateSubnetTags: { "kubernetes.io/role/internal-elb": "1" },
        });
    const zoneId = hostedZoneId(config.domainName, config.hostedZoneId);

    const service = new HttpbinOnEks("httpbin", {
        vpcId: network.vpcId,
        publicSubnetIds: network.publicSubnetIds,
        privateSubnetIds: network.privateSubnetIds,
        clusterName: config.clusterName,
        kubernetesVersion: config.kubernetesVersion,
        nodeInstanceType: config.nodeInstanceType,
        nodeMinSize: config.nodeMinSize,
        nodeDesiredSize: config.nodeDesiredSize,
        nodeMaxSize: config.nodeMaxSize,
        region: config.region,
        partition: config.partition,
        domainName: config.domainName,
        cnDomainName: config.cnDomainName,
        zoneId,
        cnZoneId: config.cnCertificateArn === undefined ? hostedZoneId(config.cnDomainName, config.cnHostedZoneId) : undefined,
        cnCertificateArn: config.cnCertificateArn,
        lbControllerChartVersion: config.lbControllerChartVersion,
        image: config.httpbinImage,
        replicas: config.httpbinReplicas,
        deletionProtection: config.deletionProtection,
    });

    const nlb = new NlbFrontingAlb("nlb1", {
        vpcId: network.vpcId,
        subnetIds: network.publicSubnetIds,
        albArn: service.albArn,
        ports: config.listenerPorts,
        idleTimeoutSeconds: config.nlbIdleTimeoutSeconds,
        healthCheckPath: service.healthCheckPath,
        zoneId,
        recordName: `nlbtoalb.${config.domainName}`,
        alarmTopicArn: config.alarmTopicArn,
        deletionProtection: config.deletionProtection,
    });

    return {
        nlbPublicIps: nlb.publicIps,
        nlbDnsName: nlb.dnsName,
        albDnsName: service.albDnsName,
        albArn: service.albArn,
        httpbinUrl: service.appUrl,
        nlbUrl: nlb.url,
        nlbIdleTimeoutSeconds: pulumi.output(config.nlbIdleTimeoutSeconds),
        nlbListenerPorts: pulumi.output([...config.listenerPorts].sort((a, b) => a - b)),
    };
}
