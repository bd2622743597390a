// The `global` stack: HttpbinOnEks (the platform: EKS, Load Balancer Controller, ALB; and the application on
// it, httpbin) and NLB-1 with Elastic IPs in front of the ALB (NlbFrontingAlb).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetLayout } from "../components/subnets";
import { InvalidValueError } from "../core/validate";
import { ExistingVpc, GlobalConfig, requireSubnetZones } from "../config/global";
import { requireReplaceable } from "../config/loadBalancers";
import { qualified } from "../config/reader";
import { HttpbinOnEks } from "../components/HttpbinOnEks";
import { Network } from "../components/Network";
import { NlbFrontingAlb } from "../components/NlbFrontingAlb";
import { previousOutputs } from "./previous";
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
    /** NLB-1's subnets (ids, or CIDR blocks of created ones): the next update refuses to replace a protected NLB-1. */
    nlbSubnets: pulumi.Output<string[]>;
}

/** The subnets NLB-1 maps, as known before anything exists: existingVpc's ids, or the CIDR blocks of the
 *  public subnets the stack creates (a new block is a new subnet). */
export function nlbSubnetKeys(config: GlobalConfig): string[] {
    return config.existingVpc?.publicSubnetIds ?? subnetLayout(config.vpcCidr, config.availabilityZoneCount).publicCidrs;
}

/** existingVpc's subnets as EC2 has them, checked before anything is declared: in that VPC, one public subnet
 *  per zone, private subnets in two zones or more. */
async function checkExistingVpc(vpc: ExistingVpc): Promise<void> {
    const describe = (ids: readonly string[]) => Promise.all(ids.map(id =>
        // Filtered by the VPC too: a subnet of another VPC is not found.
        aws.ec2.getSubnet({ id, vpcId: vpc.vpcId }).then(s => ({ id, availabilityZone: s.availabilityZone }), () => {
            throw new InvalidValueError(qualified("existingVpc"), `${id} is not a subnet of ${vpc.vpcId} in this region (EC2 DescribeSubnets finds none): check the ids`);
        })));
    requireSubnetZones(await describe(vpc.publicSubnetIds), await describe(vpc.privateSubnetIds));
}

export async function globalStack(config: GlobalConfig): Promise<GlobalOutputs> {
    if (config.existingVpc !== undefined) await checkExistingVpc(config.existingVpc);
    const nlbSubnets = nlbSubnetKeys(config);
    const previous = await previousOutputs(["nlbSubnets"]);
    requireReplaceable("NLB-1", previous.nlbSubnets, nlbSubnets, config.deletionProtection,
        config.existingVpc !== undefined ? "existingVpc.publicSubnetIds" : "vpcCidr or availabilityZoneCount");

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
        nlbSubnets: pulumi.output(nlbSubnets),
    };
}
