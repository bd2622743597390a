// Alarms and dashboard widgets on the agent's metrics (proxy/agent.ts, namespace METRICS_NAMESPACE): each per
// Auto Scaling group, the per-region ones also per region (REGION_DIMENSION). Shared by the fleet's monitoring
// (components/fleetMonitoring.ts) and the regions' (components/regionMonitoring.ts).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRICS_NAMESPACE, REGION_DIMENSION } from "../proxy/agent";

export interface AgentAlarmTarget {
    readonly group: aws.autoscaling.Group;
    /** SNS topic for the alarms; without it they only show in CloudWatch. */
    readonly alarmTopicArn?: pulumi.Input<string>;
}

export interface AgentAlarm {
    readonly description: string;
    readonly metricName: string;
    readonly statistic: string;
    readonly comparisonOperator: string;
    readonly threshold: number;
    /** One-minute periods in a row. */
    readonly evaluationPeriods: number;
    /** The region (REGION_DIMENSION) of a per-region metric. */
    readonly region?: string;
    /** false: the alarm changes state without notifying anyone (AWS's default: true). */
    readonly actionsEnabled?: boolean;
}

/**
 * The alarm NAME-SUFFIX on one of the agent's metrics over the group's proxies, in one-minute periods; no data (no
 * proxy sending it) is not breaching. Its actions go to the SNS topic when one is configured.
 */
export function agentAlarm(name: string, suffix: string, target: AgentAlarmTarget, alarm: AgentAlarm, parent: pulumi.Resource): aws.cloudwatch.MetricAlarm {
    const actions = target.alarmTopicArn === undefined ? [] : [target.alarmTopicArn];
    return new aws.cloudwatch.MetricAlarm(`${name}-${suffix}`, {
        alarmDescription: pulumi.interpolate`${alarm.description} (Auto Scaling group ${target.group.name}; README, "Operations")`,
        namespace: METRICS_NAMESPACE,
        metricName: alarm.metricName,
        dimensions: { AutoScalingGroupName: target.group.name, ...(alarm.region === undefined ? {} : { [REGION_DIMENSION]: alarm.region }) },
        statistic: alarm.statistic,
        period: 60,
        evaluationPeriods: alarm.evaluationPeriods,
        comparisonOperator: alarm.comparisonOperator,
        threshold: alarm.threshold,
        treatMissingData: "notBreaching",
        ...(alarm.actionsEnabled === undefined ? {} : { actionsEnabled: alarm.actionsEnabled }),
        alarmActions: actions,
        okActions: actions,
    }, { parent });
}

/** Stands for the group's name in a dashboard body until the name is known (fleetMonitoring puts it in). */
export const GROUP_PLACEHOLDER = "@GROUP@";

/** One line of a widget: a metric, its statistic and, for a per-region metric, the region (also its label). */
export type WidgetMetric = readonly [metric: string, stat: string, region?: string];

/** A 12 x 6 time-series widget of the agent's metrics at (x, y), one-minute periods, with horizontal lines (targets, thresholds). */
export function agentWidget(title: string, metrics: readonly WidgetMetric[], y: number, x: number,
    lines: ReadonlyArray<{ label: string; value: number }> = []): object {
    return {
        type: "metric", x, y, width: 12, height: 6,
        properties: {
            // The dashboard API requires a region per metric widget; the stack's own (aws:region).
            title, view: "timeSeries", period: 60, region: aws.config.region,
            metrics: metrics.map(([metric, stat, region]) => [METRICS_NAMESPACE, metric, "AutoScalingGroupName", GROUP_PLACEHOLDER,
                ...(region === undefined ? [{ stat }] : [REGION_DIMENSION, region, { stat, label: region }])]),
            ...(lines.length ? { annotations: { horizontal: lines } } : {}),
        },
    };
}
