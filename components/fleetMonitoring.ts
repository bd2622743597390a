// What the proxy agent needs from AWS and what it gives back: the instance role may put metrics in the
// agent's namespace only and mark only instances of its own group unhealthy; alarms on the agent's metrics
// and a dashboard of the fleet. The agent's side is proxy/agent.ts.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Partition } from "../core/partition";
import { METRICS, METRICS_NAMESPACE } from "../proxy/agent";
import { Region } from "../proxy/regions";
import { regionAlarms, regionWidgets } from "./regionMonitoring";

/** The tag that names a fleet on its Auto Scaling group: the agent's health reports are scoped by it. */
export const FLEET_TAG = "cross-region-proxy:fleet";

export interface FleetMonitoringArgs {
    readonly group: aws.autoscaling.Group;
    /** The regions the proxies forward to: an alarm and a line on the region widgets each. */
    readonly regions: readonly Region[];
    /** SNS topic for the alarms; without it they only show in CloudWatch. */
    readonly alarmTopicArn?: pulumi.Input<string>;
}

/**
 * The instance role's inline policy: least privilege for the agent's two calls (and the group lookup).
 * Health reports are scoped by the fleet's tag, not the group's name: the name is known only once the
 * group exists, and the group's instances must not start before their role can report (the launch
 * template depends on this policy, so it also outlives the instances on destroy).
 */
export function agentPolicyDocument(partition: Partition, fleet: string): string {
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
            {
                Sid: "ReportOwnHealth",
                Effect: "Allow",
                Action: "autoscaling:SetInstanceHealth",
                Resource: `arn:${partition}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*`,
                // EC2 Auto Scaling user guide, "Tags for security": autoscaling:ResourceTag/<key> limits
                // actions on groups to those carrying the tag.
                Condition: { StringEquals: { [`autoscaling:ResourceTag/${FLEET_TAG}`]: fleet } },
            },
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
    };
    readonly dashboard: aws.cloudwatch.Dashboard;
}

/** The agent's permissions on the proxies' instance role, for the fleet tagged `fleet`. */
export function agentPolicy(name: string, role: aws.iam.Role, partition: Partition, fleet: string, parent: pulumi.Resource): aws.iam.RolePolicy {
    return new aws.iam.RolePolicy(`${name}-agent`, { role: role.name, policy: agentPolicyDocument(partition, fleet) }, { parent });
}

/** Alarms on the agent's metrics and the fleet's dashboard. */
export function fleetMonitoring(name: string, args: FleetMonitoringArgs, parent: pulumi.Resource): FleetMonitoring {

    const actions = args.alarmTopicArn === undefined ? [] : [args.alarmTopicArn];
    const alarm = (suffix: string, description: string, metricName: string, statistic: string,
        comparisonOperator: string, threshold: number, evaluationPeriods: number) =>
        new aws.cloudwatch.MetricAlarm(`${name}-${suffix}`, {
            alarmDescription: pulumi.interpolate`${description} (Auto Scaling group ${args.group.name}; README, "Operations")`,
            namespace: METRICS_NAMESPACE,
            metricName,
            dimensions: { AutoScalingGroupName: args.group.name },
            statistic,
            period: 60,
            evaluationPeriods,
            comparisonOperator,
            threshold,
            treatMissingData: "notBreaching",
            alarmActions: actions,
            okActions: actions,
        }, { parent });
    const alarms = {
        // Minimum over the group's proxies: one proxy whose probes all fail is enough.
        noHealthyDestination: alarm("no-healthy-destination", "A proxy reaches none of NLB-1's addresses and fails open",
            METRICS.healthyDestinations, "Minimum", "LessThanThreshold", 1, 2),
        conntrackHigh: alarm("conntrack-high", "A proxy's conntrack table is over 80 % full",
            METRICS.conntrackUsedPercent, "Maximum", "GreaterThanThreshold", 80, 2),
        repairs: alarm("repairs", "A proxy found its forwarding rules or sysctls changed and repaired them",
            METRICS.repairs, "Sum", "GreaterThanThreshold", 0, 1),
        regionsOut: regionAlarms(name, args, parent),
    };

    const widget = (title: string, metrics: Array<[string, string]>, y: number, x: number) => ({
        type: "metric", x, y, width: 12, height: 6,
        properties: {
            // The dashboard API requires a region per metric widget; the stack's own (aws:region).
            title, view: "timeSeries", period: 60, region: aws.config.region,
            metrics: metrics.map(([metric, stat]) => [METRICS_NAMESPACE, metric, "AutoScalingGroupName", "@GROUP@", { stat }]),
        },
    });
    const body = JSON.stringify({
        widgets: [
            widget("Healthy destinations (min over proxies) and fail open", [[METRICS.healthyDestinations, "Minimum"], [METRICS.failOpen, "Maximum"]], 0, 0),
            widget("Conntrack: entries, limit, % used (max over proxies)", [[METRICS.conntrackCount, "Maximum"], [METRICS.conntrackMax, "Maximum"], [METRICS.conntrackUsedPercent, "Maximum"]], 0, 12),
            widget("Conntrack insert_failed and drop (sum)", [[METRICS.insertFailed, "Sum"], [METRICS.drop, "Sum"]], 6, 0),
            widget("Repairs of the owned state (sum)", [[METRICS.repairs, "Sum"]], 6, 12),
            ...regionWidgets(args.regions, 12),
        ],
    });
    const dashboard = new aws.cloudwatch.Dashboard(`${name}-proxies`, {
        dashboardName: args.group.name.apply(group => `${group}-proxies`),
        dashboardBody: args.group.name.apply(group => body.split("@GROUP@").join(group)),
    }, { parent });
    return { alarms, dashboard };
}
