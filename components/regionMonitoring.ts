// The agent's view of each region (global stack) the proxies forward to: an alarm per region when a proxy
// finds none of its destinations answering, and the dashboard widgets of the regions' health and shares.
// The agent's side is proxy/agent.ts (REGION_METRICS, one put-metric-data call per interval).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRICS_NAMESPACE, REGION_DIMENSION, REGION_METRICS } from "../proxy/agent";
import { Region, shareOf } from "../proxy/regions";

export interface RegionMonitoringArgs {
    readonly group: aws.autoscaling.Group;
    readonly regions: readonly Region[];
    readonly alarmTopicArn?: pulumi.Input<string>;
}

/**
 * One alarm per configured region: the minimum over the group's proxies of the region's healthy destinations is 0
 * for two minutes (one proxy that reaches none is enough). Named after the region's stack, so adding or removing a
 * region leaves the others' alarms alone. A region drained on purpose (weight x dial 0) keeps its alarm without
 * actions: taking it down then pages nobody (README, "Several global regions").
 */
export function regionAlarms(name: string, args: RegionMonitoringArgs, parent: pulumi.Resource): aws.cloudwatch.MetricAlarm[] {
    const actions = args.alarmTopicArn === undefined ? [] : [args.alarmTopicArn];
    return args.regions.map(region => new aws.cloudwatch.MetricAlarm(`${name}-region-out-${region.name}`, {
        alarmDescription: pulumi.interpolate`A proxy reaches none of the NLB-1 addresses of ${region.name}: its share of new connections moved to the other regions (Auto Scaling group ${args.group.name}; README, "Operations")`,
        namespace: METRICS_NAMESPACE,
        metricName: REGION_METRICS.healthyDestinations,
        dimensions: { AutoScalingGroupName: args.group.name, [REGION_DIMENSION]: region.name },
        statistic: "Minimum",
        period: 60,
        evaluationPeriods: 2,
        comparisonOperator: "LessThanThreshold",
        threshold: 1,
        treatMissingData: "notBreaching",
        actionsEnabled: shareOf(region) > 0,
        alarmActions: actions,
        okActions: actions,
    }, { parent }));
}

/** Dashboard widgets (GROUP standing for the group's name): each region's healthy destinations and share. */
export function regionWidgets(regions: readonly Region[], y: number): object[] {
    const widget = (title: string, metric: string, stat: string, x: number) => ({
        type: "metric", x, y, width: 12, height: 6,
        properties: {
            title, view: "timeSeries", period: 60, region: aws.config.region,
            metrics: regions.map(r => [METRICS_NAMESPACE, metric, "AutoScalingGroupName", "@GROUP@", REGION_DIMENSION, r.name, { stat, label: r.name }]),
        },
    });
    return [
        widget("Healthy destinations per region (min over proxies)", REGION_METRICS.healthyDestinations, "Minimum", 0),
        widget("Share of new connections per region, % (average over proxies)", REGION_METRICS.sharePercent, "Average", 12),
    ];
}
