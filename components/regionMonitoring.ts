// The agent's view of each region (global stack) the proxies forward to: an alarm per region when a proxy
// finds none of its destinations answering, and the dashboard widgets of the regions' health and shares.
// The agent's side is proxy/agent.ts (REGION_METRICS, one put-metric-data call per interval).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { REGION_METRICS } from "../proxy/agent";
import { Region, shareOf } from "../proxy/regions";
import { agentAlarm, AgentAlarmTarget, agentWidget } from "./agentMetrics";

export interface RegionMonitoringArgs extends AgentAlarmTarget {
    /** The regions the proxies forward to: an alarm and a line on the region widgets each. */
    readonly regions: readonly Region[];
}

/**
 * One alarm per configured region: the minimum over the group's proxies of the region's healthy destinations is 0
 * for two minutes (one proxy that reaches none is enough). Named after the region's stack, so adding or removing a
 * region leaves the others' alarms alone. A region drained on purpose (weight x dial 0) keeps its alarm without
 * actions: taking it down then pages nobody (README, "Several global regions").
 */
export function regionAlarms(name: string, args: RegionMonitoringArgs, parent: pulumi.Resource): aws.cloudwatch.MetricAlarm[] {
    return args.regions.map(region => agentAlarm(name, `region-out-${region.name}`, args, {
        description: `A proxy reaches none of the NLB-1 addresses of ${region.name}: its share of new connections moved to the other regions`,
        metricName: REGION_METRICS.healthyDestinations,
        region: region.name,
        statistic: "Minimum",
        comparisonOperator: "LessThanThreshold",
        threshold: 1,
        evaluationPeriods: 2,
        actionsEnabled: shareOf(region) > 0,
    }, parent));
}

/** Dashboard widgets at row y: each region's healthy destinations and share. */
export function regionWidgets(regions: readonly Region[], y: number): object[] {
    return [
        agentWidget("Healthy destinations per region (min over proxies)", regions.map(r => [REGION_METRICS.healthyDestinations, "Minimum", r.name] as const), y, 0),
        agentWidget("Share of new connections per region, % (average over proxies)", regions.map(r => [REGION_METRICS.sharePercent, "Average", r.name] as const), y, 12),
    ];
}
