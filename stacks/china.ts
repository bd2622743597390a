// The `china` stack: the proxy fleet behind NLB-2, forwarding to NLB-1's addresses, and CloudFront.
import * as pulumi from "@pulumi/pulumi";
import { ChinaConfig } from "../config/china";
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
}

/** NLB-1's public addresses as the global stack published them; a clear error when they are missing. */
export function globalStackDestinations(globalStack: string): pulumi.Output<string[]> {
    const reference = new pulumi.StackReference(globalStack);
    // requireOutput fails on a missing output, naming the stack and the output; an empty or malformed one
    // fails here, with what to do about it.
    return reference.requireOutput("nlbPublicIps").apply(ips => {
        if (!Array.isArray(ips) || ips.length === 0) {
            throw new Error(`stack ${globalStack} has an empty nlbPublicIps output: run 'pulumi up' on the global stack first, check cross-region-proxy:globalStack, or set cross-region-proxy:destinationIps`);
        }
        return ips as string[];
    });
}

export function chinaStack(config: ChinaConfig): ChinaOutputs {
    const destinations = "ips" in config.destinations ? pulumi.output(config.destinations.ips)
        : globalStackDestinations(config.destinations.globalStack);
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
        minSize: config.minSize,
        desiredSize: config.desiredSize,
        maxSize: config.maxSize,
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
        destinationIps: destinations,
        proxyNlbDnsName: fleet.nlbDnsName,
        proxyUrl: fleet.url,
        cloudfrontDomainName: edge ? edge.domainName : pulumi.output(null),
        edgeUrl: edge ? edge.url : pulumi.output(null),
    };
}
