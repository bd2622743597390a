// The `china` stack: the proxy fleet behind NLB-2, forwarding to NLB-1's addresses, and CloudFront.
import * as pulumi from "@pulumi/pulumi";
import { ChinaConfig, GlobalStackInputs, parseGlobalStackOutputs, qualifyStackName, resolveScaling } from "../config/china";
import { CloudfrontEdge } from "../components/CloudfrontEdge";
import { IptablesProxyFleet } from "../components/IptablesProxyFleet";
import { Network } from "../components/Network";
import { hostedZoneId } from "./zone";

export interface ChinaOutputs {
    destinationIps: pulumi.Output<string[]>;
    proxyNlbDnsName: pulumi.Output<string>;
    proxyUrl: pulumi.Output<string>;
    /** null when CloudFront is disabled. */
    cloudfrontDomainName: pulumi.Output<string | null>;
    edgeUrl: pulumi.Output<string | null>;
    /** The AMI the proxies run: pin it as proxyAmiId, so that a new Amazon Linux release is a deliberate change. */
    proxyAmiId: pulumi.Output<string | undefined>;
}

/**
 * The global stack's outputs this stack builds on, read and checked before anything else is declared:
 * a bad global stack fails the update with nothing half-built (a StackReference is no cloud resource).
 */
export async function readGlobalStack(name: string, config: ChinaConfig): Promise<GlobalStackInputs> {
    const globalStack = qualifyStackName(name, pulumi.getOrganization(), pulumi.getProject());
    const reference = new pulumi.StackReference(globalStack);
    const outputs = Object.fromEntries(await Promise.all(["nlbPublicIps", "nlbIdleTimeoutSeconds", "nlbListenerPorts"]
        .map(async name => [name, await reference.getOutputValue(name)] as const)));
    return parseGlobalStackOutputs(globalStack, outputs, config);
}

export async function chinaStack(config: ChinaConfig): Promise<ChinaOutputs> {
    const destinations = "ips" in config.destinations ? config.destinations.ips
        : (await readGlobalStack(config.destinations.globalStack, config)).destinations;
    // The scaling targets depend on how many addresses NLB-1 has: checked now, before any resource.
    const scaling = config.scaling === undefined ? undefined : resolveScaling(config.scaling, destinations.length, config.forwarding).targets;
    const network = new Network("china", {
        cidrBlock: config.vpcCidr,
        availabilityZoneCount: config.availabilityZoneCount,
        privateSubnets: false,
    });
    const zoneId = config.manageDnsRecords ? hostedZoneId(config.cnDomainName, config.hostedZoneId) : undefined;
    const proxyName = `${config.proxyRecordName}.${config.cnDomainName}`;

    const fleet = new IptablesProxyFleet("proxy", {
        vpcId: network.vpcId,
        subnetIds: network.publicSubnetIds,
        destinations,
        ports: config.listenerPorts,
        forwarding: config.forwarding,
        partition: config.partition,
        instanceType: config.instanceType,
        amiId: config.amiId,
        minSize: config.minSize,
        desiredSize: config.desiredSize,
        maxSize: config.maxSize,
        scaling,
        idleTimeoutSeconds: config.idleTimeoutSeconds,
        zoneId,
        recordName: proxyName,
        alarmTopicArn: config.alarmTopicArn,
        deletionProtection: config.deletionProtection,
    });

    const edge = config.edge === undefined ? undefined : new CloudfrontEdge("edge", {
        partition: config.partition,
        alias: `${config.edge.recordName}.${config.cnDomainName}`,
        originDomainName: proxyName,
        certificate: config.edge.certificate,
        zoneId,
    });

    return {
        destinationIps: pulumi.output(destinations),
        proxyNlbDnsName: fleet.nlbDnsName,
        proxyUrl: fleet.url,
        cloudfrontDomainName: edge ? edge.domainName : pulumi.output(null),
        edgeUrl: edge ? edge.url : pulumi.output(null),
        proxyAmiId: fleet.amiId,
    };
}
