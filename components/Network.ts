// A VPC spread over several AZs: public subnets (internet gateway) and, optionally, private subnets with
// one NAT gateway per AZ so that losing an AZ never cuts the others' egress.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetLayout } from "./subnets";

export interface NetworkArgs {
    /** Plain values: they decide how many subnets exist, which must be known before any output resolves. */
    readonly cidrBlock: string;
    readonly availabilityZoneCount: number;
    readonly privateSubnets: boolean;
    /** Tags each public subnet also carries (the Load Balancer Controller looks for kubernetes.io/role/elb). */
    readonly publicSubnetTags?: Record<string, string>;
    readonly privateSubnetTags?: Record<string, string>;
}

/**
 * A subnet's id that carries its route table association, hence the route table and its gateway: whatever
 * takes it (an internet-facing load balancer, an Elastic IP mapping, instances with public addresses)
 * is created after the internet gateway and destroyed before it, which AWS requires (a gateway cannot be
 * detached while public addresses are mapped in the VPC: DependencyViolation).
 */
function routed(subnet: aws.ec2.Subnet, association: aws.ec2.RouteTableAssociation): pulumi.Output<string> {
    return pulumi.all([subnet.id, association.id]).apply(([id]) => id);
}

export class Network extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly publicSubnetIds: pulumi.Output<string>[];
    public readonly privateSubnetIds: pulumi.Output<string>[];

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:Network", name, {}, opts);
        const layout = subnetLayout(args.cidrBlock, args.availabilityZoneCount);
        const zones = aws.getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, { parent: this });
        const zone = (i: number) => zones.names.apply(names => {
            if (names.length < args.availabilityZoneCount) {
                throw new Error(`availabilityZoneCount: the region has ${names.length} available zones, fewer than the ${args.availabilityZoneCount} asked for`);
            }
            return names[i];
        });

        const vpc = new aws.ec2.Vpc(name, {
            cidrBlock: args.cidrBlock,
            enableDnsHostnames: true,
            enableDnsSupport: true,
            tags: { Name: name },
        }, { parent: this });
        const igw = new aws.ec2.InternetGateway(name, { vpcId: vpc.id, tags: { Name: name } }, { parent: this });
        const publicRoutes = new aws.ec2.RouteTable(`${name}-public`, {
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
            tags: { Name: `${name}-public` },
        }, { parent: this });

        const publicSubnets = layout.publicCidrs.map((cidrBlock, i) => {
            const subnet = new aws.ec2.Subnet(`${name}-public-${i}`, {
                vpcId: vpc.id,
                cidrBlock,
                availabilityZone: zone(i),
                mapPublicIpOnLaunch: false,
                tags: { Name: `${name}-public-${i}`, ...args.publicSubnetTags },
            }, { parent: this });
            const association = new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, { parent: this });
            return routed(subnet, association);
        });

        const privateSubnets = !args.privateSubnets ? [] : layout.privateCidrs.map((cidrBlock, i) => {
            const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, { parent: this });
            const nat = new aws.ec2.NatGateway(`${name}-${i}`, {
                subnetId: publicSubnets[i],
                allocationId: eip.id,
                tags: { Name: `${name}-${i}` },
            }, { parent: this, dependsOn: [igw] });
            const routes = new aws.ec2.RouteTable(`${name}-private-${i}`, {
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
                tags: { Name: `${name}-private-${i}` },
            }, { parent: this });
            const subnet = new aws.ec2.Subnet(`${name}-private-${i}`, {
                vpcId: vpc.id,
                cidrBlock,
                availabilityZone: zone(i),
                tags: { Name: `${name}-private-${i}`, ...args.privateSubnetTags },
            }, { parent: this });
            const association = new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: routes.id }, { parent: this });
            return routed(subnet, association);
        });

        this.vpcId = vpc.id;
        this.publicSubnetIds = publicSubnets;
        this.privateSubnetIds = privateSubnets;
        this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
    }
}
