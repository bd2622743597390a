// The proxy fleet's size follows its load, on the agent's own figures, and a proxy leaves only once its held
// connections have drained. The agent's side is proxy/agent.ts and proxy/drain.ts; the targets come from
// the capacity model (proxy/capacity.ts, scalingTargets).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRICS, METRICS_NAMESPACE } from "../proxy/agent";
import { DRAIN_HOOK_NAME } from "../proxy/drain";

/** Per-proxy targets of the two target-tracking policies. */
export interface FleetScalingTargets {
    /** NewConnectionsPerSecond, averaged over the group's proxies. */
    readonly newConnectionsPerSecond: number;
    /** ConntrackUsedPercent, averaged over the group's proxies. */
    readonly conntrackUsedPercent: number;
}

/**
 * Seconds before a new proxy's figures count (the group's default instance warmup). A proxy is InService as
 * soon as EC2 runs it; then it boots and installs its packages (about a minute on Amazon Linux 2023), NLB-2
 * needs 3 passing checks 10 s apart before it sends it connections, and its first data point covers a whole
 * metrics interval (60 s) of traffic: about 150 s, rounded up. Counted earlier, its near-zero figures would
 * pull the average down and hold back a scale-out still needed.
 */
export const INSTANCE_WARMUP_SECONDS = 180;

/**
 * The termination hook: Auto Scaling holds a leaving proxy in Terminating:Wait until the agent completes the
 * action, or for the heartbeat timeout (the drain limit), then goes on (CONTINUE) whatever the agent did.
 * Its own resource, not the group's initialLifecycleHooks: the provider marks initial_lifecycle_hook ForceNew
 * (terraform-provider-aws internal/service/autoscaling/group.go), so adding it to a live stack, or changing
 * the drain limit later, would replace the whole group; a hook resource is updated in place. The @pulumi/aws
 * docs warn that such a hook arrives after the group's first instances: that matters for a launch hook, not
 * for a termination hook, which Auto Scaling consults when an instance terminates. The scaling policies wait
 * for it, so no scale-in comes first; an instance refresh only starts in a later update; on destroy it goes
 * before the group, so a destroy does not wait for drains.
 */
export function drainHook(name: string, group: aws.autoscaling.Group, drainSeconds: number, parent: pulumi.Resource): aws.autoscaling.LifecycleHook {
    return new aws.autoscaling.LifecycleHook(`${name}-drain`, {
        name: DRAIN_HOOK_NAME,
        autoscalingGroupName: group.name,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        heartbeatTimeout: drainSeconds,
        defaultResult: "CONTINUE",
    }, { parent });
}

/**
 * Two target-tracking policies on the agent's metrics, statistic Average over the group's proxies (each
 * proxy sends one data point a minute with the group's name as dimension): new connections per second and
 * conntrack fill, the two limits of a NAT proxy (docs/capacity.md). With several target-tracking policies
 * Auto Scaling scales out when any asks and scales in only when all agree; it never leaves minSize..maxSize
 * (EC2 Auto Scaling user guide, "Target tracking scaling policies"). No warm-up of their own: the group's
 * default instance warmup applies ("Set the default instance warmup for an Auto Scaling group"). While
 * scaling in, Auto Scaling counts terminating (draining) instances as current capacity, and a draining proxy
 * sends no scaling figures (proxy/agent.ts): a drain does not itself cause the next scale-in.
 */
export function scalingPolicies(name: string, group: aws.autoscaling.Group, targets: FleetScalingTargets,
    hook: aws.autoscaling.LifecycleHook, parent: pulumi.Resource): aws.autoscaling.Policy[] {
    const policy = (suffix: string, metricName: string, targetValue: number) => new aws.autoscaling.Policy(`${name}-${suffix}`, {
        autoscalingGroupName: group.name,
        policyType: "TargetTrackingScaling",
        targetTrackingConfiguration: {
            targetValue,
            customizedMetricSpecification: {
                namespace: METRICS_NAMESPACE,
                metricName,
                metricDimensions: [{ name: "AutoScalingGroupName", value: group.name }],
                statistic: "Average",
            },
        },
    }, { parent, dependsOn: [hook] });
    return [
        policy("new-connections", METRICS.newConnectionsPerSecond, targets.newConnectionsPerSecond),
        policy("conntrack", METRICS.conntrackUsedPercent, targets.conntrackUsedPercent),
    ];
}
