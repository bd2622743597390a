// What the proxy agent needs from AWS and what it gives back: the instance role may put metrics in the
// agent's namespace only, and mark unhealthy or let go (after its drain) only instances of its own group;
// alarms on the agent's metrics and a dashboard of the fleet. The agent's side is proxy/agent.ts.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Partition } from "../core/partition";
import { METRICS, METRICS_NAMESPACE } from "../proxy/agent";
import { ENA_ALLOWANCE_COUNTERS } from "../proxy/fleetSignals";
import { agentAlarm, agentWidget, GROUP_PLACEHOLDER } from "./agentMetrics";
import { regionAlarms, RegionMonitoringArgs, regionWidgets } from "./regionMonitoring";
import { FleetScalingTargets } from "./fleetScaling";

/** ConntrackUsedPercent above which a proxy alarms: new connections will soon be dropped. */
export const CONNTRACK_HIGH_PERCENT = 80;

/** The tag that names a fleet on its Auto Scaling group: the agent's health reports are scoped by it. */
export const FLEET_TAG = "cross-region-proxy:fleet";

export interface FleetMonitoringArgs extends RegionMonitoringArgs {
    /** The scaling policies' targets, drawn on the dashboard; none when the fleet does not scale. */
    readonly scaling?: FleetScalingTargets;
}

/**
 * The instance role's inline policy: least privilege for the agent's three calls (and the group lookup).
 * Health reports are scoped by the fleet's tag, not the group's name: the name is known only once the
 * group exists, and the group's instances must not start before their role can report (the launch
 * template depends on this policy, so it also outlives the instances on destroy).
 */
export function agentPolicyDocument(partition: Partition, fleet: string): string {
    // EC2 Auto Scaling user guide, "Tags for security": autoscaling:ResourceTag/<key> limits actions on groups
    // to those carrying the tag; SetInstanceHealth and CompleteLifecycleAction both take the group as resource
    // with that condition key (Service Authorization Reference, "Actions, resources, and condition keys for
    // Amazon EC2 Auto Scaling").
    const ownGroup = {
        Resource: `arn:${partition}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*`,
        Condition: { StringEquals: { [`autoscaling:ResourceTag/${FLEET_TAG}`]: fleet } },
    };
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                // PutMetricData has no resource type; the namespace condition key is how it is scoped
                // (CloudWatch user guide, "Using condition keys to limit access to CloudWatch namespaces").
                Sid: "PutAgentMetrics",
                Effect: "Allow",
                Action: "cloudwatch:PutMetricData",
                Resource: "*",
                Condition: { StringEquals: { "cloudwatch:namespace": METRICS_NAMESPACE } },
            },
            { Sid: "ReportOwnHealth", Effect: "Allow", Action: "autoscaling:SetInstanceHealth", ...ownGroup },
            // The end of a drain: lets Auto Scaling terminate the instance (proxy/drain.ts).
            { Sid: "CompleteOwnLifecycleAction", Effect: "Allow", Action: "autoscaling:CompleteLifecycleAction", ...ownGroup },
            {
                // Read-only, no resource type: the fallback when the instance tags are not in IMDS.
                Sid: "FindOwnGroup",
                Effect: "Allow",
                Action: "autoscaling:DescribeAutoScalingInstances",
                Resource: "*",
            },
        ],
    });
}

export interface FleetMonitoring {
    readonly alarms: {
        readonly noHealthyDestination: aws.cloudwatch.MetricAlarm;
        readonly conntrackHigh: aws.cloudwatch.MetricAlarm;
        readonly repairs: aws.cloudwatch.MetricAlarm;
        /** One per region, in the regions' order. */
        readonly regionsOut: aws.cloudwatch.MetricAlarm[];
        /** One per silent-drop counter: conntrack's and the ENA allowance counters. */
        readonly silentDrops: Readonly<Record<SilentDrop, aws.cloudwatch.MetricAlarm>>;
    };
    readonly dashboard: aws.cloudwatch.Dashboard;
}

/** The counters of packets a proxy, or EC2 before it, dropped without telling either end. */
export type SilentDrop = "insertFailed" | "drop" | "earlyDrop" | "bwInAllowanceExceeded" | "bwOutAllowanceExceeded"
    | "ppsAllowanceExceeded" | "conntrackAllowanceExceeded" | "linklocalAllowanceExceeded";

/**
 * What each silent-drop alarm says, and the minutes in a row it takes: any drop of a connection's packet by
 * conntrack or by a connection-tracking or link-local allowance is one too many; bandwidth and packet-rate
 * shaping (queued, then dropped) alarms when it lasts two minutes, which a short burst does not.
 */
export const SILENT_DROP_ALARMS: Readonly<Record<SilentDrop, { readonly suffix: string; readonly says: string; readonly minutes: number }>> = {
    insertFailed: { suffix: "conntrack-insert-failed", says: "A proxy dropped new connections: no NAT port found, or a conntrack insert failed (conntrack insert_failed)", minutes: 1 },
    drop: { suffix: "conntrack-drop", says: "A proxy's conntrack dropped packets (conntrack drop)", minutes: 1 },
    earlyDrop: { suffix: "conntrack-early-drop", says: "A proxy's conntrack table was full and evicted connections for new ones (conntrack early_drop)", minutes: 1 },
    bwInAllowanceExceeded: { suffix: "bw-in-allowance", says: "EC2 shaped a proxy's inbound bandwidth (ENA bw_in_allowance_exceeded): a larger instance type or more proxies", minutes: 2 },
    bwOutAllowanceExceeded: { suffix: "bw-out-allowance", says: "EC2 shaped a proxy's outbound bandwidth (ENA bw_out_allowance_exceeded): a larger instance type or more proxies", minutes: 2 },
    ppsAllowanceExceeded: { suffix: "pps-allowance", says: "EC2 shaped a proxy's packets per second (ENA pps_allowance_exceeded): a larger instance type or more proxies", minutes: 2 },
    conntrackAllowanceExceeded: { suffix: "conntrack-allowance", says: "EC2's connection tracking for a proxy's security group was full and dropped packets (ENA conntrack_allowance_exceeded)", minutes: 1 },
    linklocalAllowanceExceeded: { suffix: "linklocal-allowance", says: "A proxy went over the packet rate to link-local services (IMDS, DNS, NTP) and EC2 dropped packets (ENA linklocal_allowance_exceeded)", minutes: 1 },
};

/** The agent's permissions on the proxies' instance role, for the fleet tagged `fleet`. */
export function agentPolicy(name: string, role: aws.iam.Role, partition: Partition, fleet: string, parent: pulumi.Resource): aws.iam.RolePolicy {
    return new aws.iam.RolePolicy(`${name}-agent`, { role: role.name, policy: agentPolicyDocument(partition, fleet) }, { parent });
}

/** Alarms on the agent's metrics and the fleet's dashboard. */
export function fleetMonitoring(name: string, args: FleetMonitoringArgs, parent: pulumi.Resource): FleetMonitoring {

    const alarm = (suffix: string, description: string, metricName: string, statistic: string,
        comparisonOperator: string, threshold: number, evaluationPeriods: number) =>
        agentAlarm(name, suffix, args, { description, metricName, statistic, comparisonOperator, threshold, evaluationPeriods }, parent);
    const alarms = {
        // Minimum over the group's proxies: one proxy whose probes all fail is enough.
        noHealthyDestination: alarm("no-healthy-destination", "A proxy reaches none of NLB-1's addresses and fails open",
            METRICS.healthyDestinations, "Minimum", "LessThanThreshold", 1, 2),
        conntrackHigh: alarm("conntrack-high", `A proxy's conntrack table is over ${CONNTRACK_HIGH_PERCENT} % full`,
            METRICS.conntrackUsedPercent, "Maximum", "GreaterThanThreshold", CONNTRACK_HIGH_PERCENT, 2),
        repairs: alarm("repairs", "A proxy found its forwarding rules or sysctls changed and repaired them",
            METRICS.repairs, "Sum", "GreaterThanThreshold", 0, 1),
        regionsOut: regionAlarms(name, args, parent),
        // Deltas per minute summed over the proxies; a proxy on a non-ENA interface sends no allowance
        // counters, which is missing data: not breaching.
        silentDrops: Object.fromEntries(Object.entries(SILENT_DROP_ALARMS).map(([counter, { suffix, says, minutes }]) =>
            [counter, alarm(suffix, says, METRICS[counter as SilentDrop], "Sum", "GreaterThanThreshold", 0, minutes)])) as Record<SilentDrop, aws.cloudwatch.MetricAlarm>,
    };

    const target = (value: number | undefined) => (value === undefined ? [] : [{ label: "scaling target", value }]);
    const allowances = Object.values(ENA_ALLOWANCE_COUNTERS).map(metric => [metric, "Sum"] as const);
    const body = JSON.stringify({
        widgets: [
            agentWidget("Healthy destinations (min over proxies) and fail open", [[METRICS.healthyDestinations, "Minimum"], [METRICS.failOpen, "Maximum"]], 0, 0),
            agentWidget("Conntrack: entries, limit (max over proxies); % used (average, max)", [[METRICS.conntrackCount, "Maximum"], [METRICS.conntrackMax, "Maximum"],
                [METRICS.conntrackUsedPercent, "Average"], [METRICS.conntrackUsedPercent, "Maximum"]], 0, 12,
            [...target(args.scaling?.conntrackUsedPercent), { label: "alarm", value: CONNTRACK_HIGH_PERCENT }]),
            agentWidget("Silent drops in conntrack: insert_failed, drop, early_drop (sum)", [[METRICS.insertFailed, "Sum"], [METRICS.drop, "Sum"], [METRICS.earlyDrop, "Sum"]], 6, 0),
            agentWidget("Repairs of the owned state (sum)", [[METRICS.repairs, "Sum"]], 6, 12),
            ...regionWidgets(args.regions, 24),
            agentWidget("New connections per second per proxy (average, max)", [[METRICS.newConnectionsPerSecond, "Average"], [METRICS.newConnectionsPerSecond, "Maximum"]], 12, 0,
                target(args.scaling?.newConnectionsPerSecond)),
            agentWidget("Proxies draining on scale-in (sum)", [[METRICS.draining, "Sum"]], 12, 12),
            agentWidget("EC2 allowances exceeded, ENA (sum; none from non-ENA interfaces)", allowances, 18, 0),
        ],
    });
    const dashboard = new aws.cloudwatch.Dashboard(`${name}-proxies`, {
        dashboardName: args.group.name.apply(group => `${group}-proxies`),
        dashboardBody: args.group.name.apply(group => body.split(GROUP_PLACEHOLDER).join(group)),
    }, { parent });
    return { alarms, dashboard };
}
