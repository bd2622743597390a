// The proxy fleet: EC2 instances in public subnets that DNAT connections from NLB-2 to NLB-1's public
// addresses and MASQUERADE them, behind NLB-2. Each instance applies the rendered forwarding script at
// every boot; a change of destinations changes the launch template, and the ASG rolls every instance.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Partition } from "../core/partition";
import { Region } from "../proxy/regions";
import { renderArtifact } from "../proxy/render";
import { encodeUserData } from "../proxy/userData";
import { ForwardingSettings } from "../proxy/spec";
import { unhealthyTargetsAlarm } from "./alarms";
import { ec2Role } from "./ec2Role";
import { agentPolicy, FLEET_TAG, fleetMonitoring } from "./fleetMonitoring";
import { drainHook, FleetScalingTargets, INSTANCE_WARMUP_SECONDS, scalingPolicies } from "./fleetScaling";

export interface IptablesProxyFleetArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Public subnets in at least 2 AZs: the proxies reach NLB-1 through the internet gateway, not a NAT
     *  gateway, whose 55,000-connections-per-destination ceiling would cap the whole fleet. */
    readonly subnetIds: pulumi.Input<string>[];
    /** NLB-1's addresses by region (global stack) with each region's weight, dial and priority. Plain: one alarm per region. */
    readonly regions: readonly Region[];
    /** Plain: one listener and target group each. */
    readonly ports: number[];
    /** The forwarding script's settings; its drainSeconds is also the termination hook's heartbeat timeout. */
    readonly forwarding: ForwardingSettings;
    readonly partition: Partition;
    /** Plain: unpinned, its architecture is part of the launch template's name (see below). */
    readonly instanceType: string;
    readonly minSize: pulumi.Input<number>;
    /** The size at creation; with scaling, the policies decide it from then on. */
    readonly desiredSize: pulumi.Input<number>;
    readonly maxSize: pulumi.Input<number>;
    /** Target tracking on the agent's metrics, with these per-proxy targets; none: a fixed size. */
    readonly scaling?: FleetScalingTargets;
    readonly idleTimeoutSeconds: pulumi.Input<number>;
    /** Route 53 zone for NLB-2's record; none when the domain's DNS is managed elsewhere. */
    readonly zoneId?: pulumi.Input<string>;
    /** Full DNS name of NLB-2's alias record, e.g. test.<cnDomainName>. */
    readonly recordName: pulumi.Input<string>;
    /** SNS topic for the unhealthy-proxy alarms; without it the alarms only show in CloudWatch. */
    readonly alarmTopicArn?: pulumi.Input<string>;
    /** The proxies' AMI, pinned; unset, the latest Amazon Linux 2023 is looked up once (see below). */
    readonly amiId?: string;
    /** AWS refuses to delete the load balancer while this is on (the stack's `deletionProtection`). */
    readonly deletionProtection: boolean;
}

/** The AMI architecture an instance type runs: Graviton types arm64, the others x86_64. */
export function amiArchitecture(instanceType: string): "arm64" | "x86_64" {
    // a1 is the first Graviton generation; the others carry a `g` after the generation digit (c7g, m6gd, c7gn).
    return /^(a1|[a-z]+[0-9]+g[a-z0-9-]*)\./.test(instanceType) ? "arm64" : "x86_64";
}

/** The SSM public parameter of the latest Amazon Linux 2023 AMI for an instance type (Graviton: arm64). */
export function al2023AmiParameter(instanceType: string): string {
    return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${amiArchitecture(instanceType)}`;
}

export class IptablesProxyFleet extends pulumi.ComponentResource {
    public readonly nlbDnsName: pulumi.Output<string>;
    public readonly url: pulumi.Output<string>;
    public readonly autoScalingGroupName: pulumi.Output<string>;
    public readonly userData: pulumi.Output<string>;
    /** The AMI the launch template holds: pin it with the china stack's proxyAmiId. */
    public readonly amiId: pulumi.Output<string | undefined>;

    constructor(name: string, args: IptablesProxyFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:IptablesProxyFleet", name, {}, opts);
        // Rendered (and checked once more) before anything is declared.
        this.userData = pulumi.output(renderArtifact("user-data", { regions: args.regions, ports: args.ports, ...args.forwarding },
            { regions: "globalStacks (regions of the proxies)" }));
        const tcp = (port: number) => ({ protocol: "tcp", fromPort: port, toPort: port });

        // NLB-2 has a security group, and the proxies admit that group and nothing else. Client IP
        // preservation stays on (the default for instance targets): a target rule that references the NLB's
        // group admits its traffic even so (NLB guide, "security groups"), and the NLB then allocates no
        // source ports of its own towards each proxy, a ceiling (about 55,000 per target) the proxies'
        // NAT capacity would otherwise hit first.
        const nlbSecurityGroup = new aws.ec2.SecurityGroup(`${name}-nlb`, {
            vpcId: args.vpcId,
            description: "NLB-2: listener ports from anywhere",
            ingress: args.ports.map(port => ({ ...tcp(port), cidrBlocks: ["0.0.0.0/0"] })),
            tags: { Name: `${name}-nlb` },
        }, { parent: this });
        const proxySecurityGroup = new aws.ec2.SecurityGroup(`${name}-proxy`, {
            vpcId: args.vpcId,
            description: "proxies: listener ports from NLB-2 only; out to NLB-1 and HTTPS (SSM, packages)",
            ingress: args.ports.map(port => ({ ...tcp(port), securityGroups: [nlbSecurityGroup.id] })),
            egress: [
                ...args.ports.map(port => ({
                    ...tcp(port),
                    cidrBlocks: args.regions.flatMap(r => r.destinations).map(ip => `${ip}/32`),
                })),
                { ...tcp(443), cidrBlocks: ["0.0.0.0/0"] },
            ],
            tags: { Name: `${name}-proxy` },
        }, { parent: this });
        args.ports.forEach(port => new aws.vpc.SecurityGroupEgressRule(`${name}-nlb-${port}`, {
            securityGroupId: nlbSecurityGroup.id,
            referencedSecurityGroupId: proxySecurityGroup.id,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
        }, { parent: this }));

        // Session Manager only: no key pair, no SSH port.
        // The profile depends on the role's policy attachments, and so does everything launched with it:
        // on destroy, instances go before the permissions they were started with (SSM, for one).
        const role = ec2Role(`${name}-proxy`, args.partition, ["AmazonSSMManagedInstanceCore"], this);
        // The agent's own permissions (metrics, reporting its instance unhealthy) count as attachments too.
        const fleet = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
        const permissions = [...role.attachments, agentPolicy(name, role.role, args.partition, fleet, this)];
        const profile = new aws.iam.InstanceProfile(`${name}-proxy`, { role: role.role.name }, { parent: this, dependsOn: permissions });

        // The AMI must not change on its own: every new launch template version rolls the whole fleet.
        // Pinned (amiId), it changes only when the config does. Unpinned, the SSM "latest" parameter is
        // read, but the template ignores later changes of imageId, so the AMI found at creation stays in the
        // state (ignoreChanges keeps the recorded value in every update, such as new destinations). That
        // alone is not enough: a replaced template would take whatever is latest then, and a deliberate
        // bump would have no lever; hence the pin, shown in the output `proxyAmiId` to copy into the config.
        const imageId = args.amiId !== undefined ? pulumi.output(args.amiId)
            : aws.ssm.getParameterOutput({ name: al2023AmiParameter(args.instanceType) }, { parent: this }).value;
        // The kept AMI would not boot an instance type of the other architecture (c6i -> c7g): every launch
        // fails, and the refresh stalls. So an unpinned arm64 template has its own name: a change of
        // architecture creates a new template, which reads the current AMI of that architecture, and the
        // group moves to it ("a refresh will always be triggered by a change in ... launchTemplate": @pulumi/aws,
        // GroupInstanceRefresh.triggers); the old one goes after (no deleteBeforeReplace). x86_64 keeps the plain name, and
        // a type of the same architecture is a new version in place. Pinned, the pin decides the AMI and the
        // name stays; the alias adopts an unpinned arm64 template, so pinning the AMI it runs rolls nothing.
        const arm64Unpinned = `${name}-proxy-arm64`;
        const templateName = args.amiId === undefined && amiArchitecture(args.instanceType) === "arm64" ? arm64Unpinned : `${name}-proxy`;
        const launchTemplate = new aws.ec2.LaunchTemplate(templateName, {
            imageId,
            instanceType: args.instanceType,
            iamInstanceProfile: { arn: profile.arn },
            // Instance tags in IMDS: the agent reads its Auto Scaling group's name there for its metrics.
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "enabled" },
            networkInterfaces: [{
                associatePublicIpAddress: "true",
                securityGroups: [proxySecurityGroup.id],
                deleteOnTermination: "true",
                // The security group tracks every flow too (its rules are not open to all), by default for
                // 5 days once established: align it with the NLB idle timeout, as the kernel's conntrack is.
                connectionTrackingSpecification: { tcpEstablishedTimeout: args.forwarding.establishedTimeoutSeconds },
            }],
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 8, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
            monitoring: { enabled: true },
            userData: this.userData.apply(text => encodeUserData(text).toString("base64")),
            updateDefaultVersion: true,
            tagSpecifications: [{ resourceType: "instance", tags: { Name: `${name}-proxy` } }],
        }, {
            parent: this, dependsOn: permissions, ignoreChanges: args.amiId === undefined ? ["imageId"] : [],
            aliases: args.amiId === undefined ? [] : [{ name: arm64Unpinned }],
        });

        const nlb = new aws.lb.LoadBalancer(`${name}-nlb`, {
            loadBalancerType: "network",
            internal: false,
            subnets: args.subnetIds,
            securityGroups: [nlbSecurityGroup.id],
            enableCrossZoneLoadBalancing: true,
            enableDeletionProtection: args.deletionProtection,
            tags: { Name: `${name}-nlb` },
        }, {
            parent: this,
            // A subnet removed replaces an NLB (terraform-provider-aws customizeDiffLoadBalancerNLB), and the new
            // one's listeners cannot forward to target groups the old one's still use (a target group belongs to
            // one load balancer: CreateListener fails with TargetGroupAssociationLimit): delete first. The stack
            // refuses such a change while deletion protection is on (config/loadBalancers.ts).
            deleteBeforeReplace: true,
        });
        const targetGroups = args.ports.map(port => {
            // A TCP check on the listener port is DNATed like traffic: it only passes when the proxy
            // forwards and NLB-1 answers, so a proxy that cannot reach NLB-1 leaves the rotation.
            const targets = new aws.lb.TargetGroup(`${name}-${port}`, {
                targetType: "instance",
                protocol: "TCP",
                port,
                vpcId: args.vpcId,
                preserveClientIp: "true",
                // A leaving proxy drains (proxy/drain.ts): NLB-2 stops sending it new connections when Auto
                // Scaling deregisters it, and the deregistration delay is how long Auto Scaling then waits
                // before the termination hook holds the instance; the agent's drain covers the rest. The
                // held connections must outlive the delay: "If the deregistered instance stays healthy and an
                // existing connection is not idle, the load balancer can continue to send traffic to the
                // instance" (NLB user guide, "Deregistration delay"), unless connection termination is on,
                // which resets them when the delay ends (target group attribute
                // deregistration_delay.connection_termination.enabled; @pulumi/aws: default false).
                deregistrationDelay: 60,
                connectionTermination: false,
                // Equal thresholds: NLB TCP checks long required them; the safe choice where features lag (aws-cn).
                healthCheck: { protocol: "TCP", port: "traffic-port", interval: 10, healthyThreshold: 3, unhealthyThreshold: 3 },
            }, { parent: this });
            new aws.lb.Listener(`${name}-${port}`, {
                loadBalancerArn: nlb.arn,
                port,
                protocol: "TCP",
                tcpIdleTimeoutSeconds: args.idleTimeoutSeconds,
                defaultActions: [{ type: "forward", targetGroupArn: targets.arn }],
            }, { parent: this });
            const alarm = unhealthyTargetsAlarm(`${name}-${port}-unhealthy`, nlb, targets, args.alarmTopicArn, this);
            return { targets, alarm };
        });

        const group = new aws.autoscaling.Group(`${name}-proxy`, {
            vpcZoneIdentifiers: args.subnetIds,
            minSize: args.minSize,
            desiredCapacity: args.desiredSize,
            maxSize: args.maxSize,
            launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
            targetGroupArns: targetGroups.map(t => t.targets.arn),
            // EC2, not ELB: NLB-2's check passes only when NLB-1 answers through the proxy, so an outage on
            // the global side would make the ASG replace every healthy proxy over and over. NLB-2 takes a
            // failing proxy out of rotation; the ASG replaces only instances that are broken themselves.
            // An instance refresh therefore watches NLB-2's unhealthy-target alarms instead: a rollout that
            // makes proxies fail their checks stops there. No auto-rollback: the provider points the group
            // at the new launch template version before the refresh starts, so AWS would "roll back" to
            // that same new version (terraform-provider-aws #34189); the README says how to recover.
            healthCheckType: "EC2",
            healthCheckGracePeriod: 120,
            // New proxies count in the scaling metrics once warm (components/fleetScaling.ts); AWS
            // recommends it for target tracking "even if its value is set to 0 seconds".
            defaultInstanceWarmup: INSTANCE_WARMUP_SECONDS,
            // A new launch template version (new destinations, new AMI) replaces every proxy, new ones
            // first: capacity never drops below the desired size during the roll.
            instanceRefresh: {
                strategy: "Rolling",
                preferences: {
                    minHealthyPercentage: 100,
                    maxHealthyPercentage: 200,
                    instanceWarmup: "60",
                    autoRollback: false,
                    alarmSpecification: { alarms: targetGroups.map(t => t.alarm.name) },
                },
            },
            tags: [{ key: "Name", value: `${name}-proxy`, propagateAtLaunch: true }, { key: FLEET_TAG, value: fleet, propagateAtLaunch: false }],
        }, {
            // With scaling, the policies own the desired capacity: Pulumi must not set it back to desiredSize.
            // It would: the provider reads the group's current capacity into the state after every update, and
            // the next `pulumi up` (or one after `pulumi refresh`) would find it differing from desiredSize.
            parent: this, ignoreChanges: args.scaling === undefined ? [] : ["desiredCapacity"],
        });

        // Leaving proxies drain, whatever makes them leave (scale-in, instance refresh, a manual change).
        const hook = drainHook(name, group, args.forwarding.drainSeconds, this);
        if (args.scaling !== undefined) scalingPolicies(name, group, args.scaling, hook, this);

        // The agent's metrics, alarms and dashboard, and its right to report its own instance unhealthy.
        fleetMonitoring(name, { group, alarmTopicArn: args.alarmTopicArn, regions: args.regions, scaling: args.scaling }, this);

        if (args.zoneId !== undefined) {
            new aws.route53.Record(`${name}-nlb`, {
                zoneId: args.zoneId,
                name: args.recordName,
                type: "A",
                aliases: [{ name: nlb.dnsName, zoneId: nlb.zoneId, evaluateTargetHealth: true }],
            }, { parent: this });
        }

        this.nlbDnsName = nlb.dnsName;
        this.url = pulumi.interpolate`https://${args.recordName}/`;
        this.autoScalingGroupName = group.name;
        this.amiId = launchTemplate.imageId;
        this.registerOutputs({ nlbDnsName: this.nlbDnsName, url: this.url, autoScalingGroupName: this.autoScalingGroupName, userData: this.userData, amiId: this.amiId });
    }
}
