// The `china` stack: the proxy fleet behind NLB-2, forwarding to NLB-1's addresses, and CloudFront.
import * as pulumi from "@pulumi/pulumi";
import { ChinaConfig, GlobalStackEntry, parseGlobalStacksOutputs, qualifyGlobalStacks, resolveScaling } from "../config/china";
import { DEFAULT_DIAL, DEFAULT_PRIORITY, DEFAULT_WEIGHT, Region, effectiveDestinations } from "../proxy/regions";
import { CloudfrontEdge } from "../components/CloudfrontEdge";
import { IptablesProxyFleet } from "../components/IptablesProxyFleet";
import { Network } from "../components/Network";
import { subnetLayout } from "../components/subnets";
import { requireReplaceable } from "../config/loadBalancers";
import { InvalidValueError } from "../core/validate";
import { previousOutputs, thisStack } from "./previous";
import { hostedZoneId } from "./zone";

export interface ChinaOutputs {
    destinationIps: pulumi.Output<string[]>;
    /** Each region (global stack) the proxies forward to: its addresses, weight, dial and priority. */
    destinationRegions: pulumi.Output<Region[]>;
    proxyNlbDnsName: pulumi.Output<string>;
    proxyUrl: pulumi.Output<string>;
    /** null when CloudFront is disabled. */
    cloudfrontDomainName: pulumi.Output<string | null>;
    edgeUrl: pulumi.Output<string | null>;
    /** The AMI the proxies run: pin it as proxyAmiId, so that a new Amazon Linux release is a deliberate change. */
    proxyAmiId: pulumi.Output<string | undefined>;
    /** NLB-2's subnets (CIDR blocks): the next update refuses to replace a protected NLB-2. */
    proxyNlbSubnets: pulumi.Output<string[]>;
}

/** The region of a fixed destinationIps list (no global stack to name it after). */
export const DESTINATION_IPS_REGION = "destinationIps";

/**
 * The global stacks' outputs this stack builds on, each read through its own StackReference (named by the stack's
 * qualified name, so a single globalStack keeps its URN) and all checked before anything else is declared: a bad
 * or mismatched global stack fails the update with nothing half-built (a StackReference is no cloud resource).
 */
export async function readGlobalStacks(entries: readonly GlobalStackEntry[], config: ChinaConfig): Promise<Region[]> {
    const stacks = qualifyGlobalStacks(entries, pulumi.getOrganization(), pulumi.getProject());
    const self = stacks.find(entry => entry.qualified === thisStack());
    if (self !== undefined) {
        throw new InvalidValueError(self.key, `names this stack (${self.qualified}): name a global stack`);
    }
    const read = await Promise.all(stacks.map(async entry => {
        const reference = new pulumi.StackReference(entry.qualified);
        const outputs = Object.fromEntries(await Promise.all(["nlbPublicIps", "nlbIdleTimeoutSeconds", "nlbListenerPorts"]
            .map(async name => [name, await reference.getOutputValue(name)] as const)));
        return { entry, outputs };
    }));
    return parseGlobalStacksOutputs(read, config);
}

export async function chinaStack(config: ChinaConfig): Promise<ChinaOutputs> {
    const regions: Region[] = "ips" in config.destinations
        ? [{ name: DESTINATION_IPS_REGION, destinations: config.destinations.ips, weight: DEFAULT_WEIGHT, dial: DEFAULT_DIAL, priority: DEFAULT_PRIORITY }]
        : await readGlobalStacks(config.destinations.globalStacks, config);
    // The scaling targets depend on how many addresses take the new connections, and how evenly: checked now,
    // before any resource.
    const scaling = config.scaling === undefined ? undefined : resolveScaling(config.scaling, effectiveDestinations(regions), config.forwarding).targets;
    // NLB-2's subnets are the public subnets the stack creates, one CIDR block each.
    const nlbSubnets = subnetLayout(config.vpcCidr, config.availabilityZoneCount).publicCidrs;
    requireReplaceable("NLB-2", (await previousOutputs(["proxyNlbSubnets"])).proxyNlbSubnets, nlbSubnets, config.deletionProtection,
        "vpcCidr or availabilityZoneCount");
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
        regions,
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
        destinationIps: pulumi.output(regions.flatMap(r => r.destinations)),
        destinationRegions: pulumi.output(regions),
        proxyNlbDnsName: fleet.nlbDnsName,
        proxyUrl: fleet.url,
        cloudfrontDomainName: edge ? edge.domainName : pulumi.output(null),
        edgeUrl: edge ? edge.url : pulumi.output(null),
        proxyAmiId: fleet.amiId,
        proxyNlbSubnets: pulumi.output(nlbSubnets),
    };
}
