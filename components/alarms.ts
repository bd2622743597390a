// CloudWatch alarms on the NLBs' view of their targets: the first sign that a proxy, or the ALB behind
// NLB-1, stopped answering. Actions go to an SNS topic when one is configured.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Alarms when any target of the group is unhealthy for two minutes in a row. */
export function unhealthyTargetsAlarm(name: string, loadBalancer: aws.lb.LoadBalancer, targetGroup: aws.lb.TargetGroup,
    topicArn: pulumi.Input<string> | undefined, parent: pulumi.Resource): aws.cloudwatch.MetricAlarm {
    const actions = topicArn === undefined ? [] : [topicArn];
    return new aws.cloudwatch.MetricAlarm(name, {
        alarmDescription: pulumi.interpolate`Unhealthy targets in ${targetGroup.name} behind ${loadBalancer.name}`,
        namespace: "AWS/NetworkELB",
        metricName: "UnHealthyHostCount",
        dimensions: { LoadBalancer: loadBalancer.arnSuffix, TargetGroup: targetGroup.arnSuffix },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 2,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        treatMissingData: "notBreaching",
        alarmActions: actions,
        okActions: actions,
    }, { parent });
}
