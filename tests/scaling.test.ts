// The fleet's scaling and drain (components/fleetScaling.ts, the silent-drop alarms of fleetMonitoring.ts)
// in the china stack under mocks, in aws-cn and in a global region: the target-tracking policies, the
// termination hook, NLB-2's deregistration settings, the alarms, and the order of creation and deletion.
import * as assert from "node:assert/strict";
import { resolveScaling } from "../config/china";
import { SILENT_DROP_ALARMS } from "../components/fleetMonitoring";
import { INSTANCE_WARMUP_SECONDS } from "../components/fleetScaling";
import { DeclaredResource, autoName } from "../offline/mocks";
import { OfflineRun, OfflineRunError, runStack } from "../offline/run";
import { METRICS, METRICS_NAMESPACE } from "../proxy/agent";
import { scalingTargets } from "../proxy/capacity";
import { DRAIN_HOOK_NAME } from "../proxy/drain";
import { DEFAULT_CONNTRACK_MAX, DEFAULT_DRAIN_SECONDS, DEFAULT_TIME_WAIT_TIMEOUT_SECONDS } from "../proxy/spec";
import { decodeUserData } from "../proxy/userData";
import { one, ofType, waitsFor } from "./stackHelpers";

const NLB1 = ["198.51.100.7", "203.0.113.10", "203.0.113.11"];
const GLOBAL_OUTPUTS = { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] };
const GROUP = autoName("proxy-proxy");
const key = (k: string) => `cross-region-proxy:${k}`;

const PARTITIONS = [
    { region: "cn-northwest-1", topic: "arn:aws-cn:sns:cn-northwest-1:123456789012:proxy-alarms" },
    { region: "us-east-1", topic: "arn:aws:sns:us-east-1:123456789012:proxy-alarms" },
];

const china = (region: string, overrides: Record<string, string | undefined> = {}) =>
    runStack("china", { stackOutputs: GLOBAL_OUTPUTS, overrides: { "aws:region": region, ...overrides } });

for (const { region, topic } of PARTITIONS) {
    describe(`china stack in ${region}: scaling and drain (mocked)`, () => {
        let run: OfflineRun;
        let group: DeclaredResource;
        let hook: DeclaredResource;
        before(async () => {
            run = await china(region, { [key("alarmTopicArn")]: topic });
            group = one(run.resources, "aws:autoscaling/group:Group");
            hook = one(run.resources, "aws:autoscaling/lifecycleHook:LifecycleHook");
        });

        it("tracks new connections per second and conntrack fill per proxy, on the capacity model's targets", () => {
            const model = scalingTargets({ destinations: NLB1.length, conntrackMax: DEFAULT_CONNTRACK_MAX, timeWaitSeconds: DEFAULT_TIME_WAIT_TIMEOUT_SECONDS });
            const expected: Record<string, [string, number]> = {
                "proxy-new-connections": [METRICS.newConnectionsPerSecond, model.newConnectionsPerSecond.target],
                "proxy-conntrack": [METRICS.conntrackUsedPercent, model.conntrackUsedPercent.target],
            };
            assert.deepEqual([model.newConnectionsPerSecond.target, model.conntrackUsedPercent.target], [1382, 35]);
            const policies = ofType(run.resources, "aws:autoscaling/policy:Policy");
            assert.deepEqual(policies.map(p => p.name).sort(), Object.keys(expected).sort());
            for (const policy of policies) {
                const [metricName, target] = expected[policy.name];
                assert.equal(policy.inputs.autoscalingGroupName, GROUP);
                assert.equal(policy.inputs.policyType, "TargetTrackingScaling");
                assert.equal(policy.inputs.estimatedInstanceWarmup, undefined, "the group's default instance warmup applies");
                assert.deepEqual(policy.inputs.targetTrackingConfiguration, {
                    targetValue: target,
                    customizedMetricSpecification: {
                        namespace: METRICS_NAMESPACE, metricName, statistic: "Average",
                        metricDimensions: [{ name: "AutoScalingGroupName", value: GROUP }],
                    },
                });
            }
        });

        it("keeps the group within proxyMinSize..proxyMaxSize, warms new proxies up, and leaves the desired capacity to the policies", () => {
            assert.deepEqual([group.inputs.minSize, group.inputs.desiredCapacity, group.inputs.maxSize], [2, 2, 4]);
            assert.equal(group.inputs.defaultInstanceWarmup, INSTANCE_WARMUP_SECONDS);
            assert.equal(INSTANCE_WARMUP_SECONDS, 180);
            // A second `pulumi up` must not set back what scaling chose: the engine keeps the state's value.
            assert.deepEqual(group.ignoreChanges, ["desiredCapacity"]);
        });

        it("holds a leaving proxy for the drain limit on a termination hook, going on (CONTINUE) if the agent never answers", () => {
            assert.deepEqual(hook.inputs, {
                name: DRAIN_HOOK_NAME, autoscalingGroupName: GROUP, lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
                heartbeatTimeout: DEFAULT_DRAIN_SECONDS, defaultResult: "CONTINUE",
            });
            assert.equal(group.inputs.initialLifecycleHooks, undefined, "its own resource: initial_lifecycle_hook is ForceNew on the group");
        });

        it("lets NLB-2 keep forwarding held connections past the deregistration delay (no connection termination)", () => {
            for (const port of [80, 443]) {
                const targets = one(run.resources, "aws:lb/targetGroup:TargetGroup", `proxy-${port}`);
                assert.equal(targets.inputs.connectionTermination, false);
                assert.equal(targets.inputs.deregistrationDelay, 60);
            }
        });

        it("alarms on every silent-drop counter, summed over the proxies, notifying the topic; missing data (no ENA) is not breaching", () => {
            assert.deepEqual(Object.keys(SILENT_DROP_ALARMS).map(c => METRICS[c as keyof typeof SILENT_DROP_ALARMS]).sort(), [
                "BwInAllowanceExceeded", "BwOutAllowanceExceeded", "ConntrackAllowanceExceeded", "ConntrackDrop", "ConntrackEarlyDrop",
                "ConntrackInsertFailed", "LinklocalAllowanceExceeded", "PpsAllowanceExceeded",
            ]);
            for (const [counter, { suffix, minutes }] of Object.entries(SILENT_DROP_ALARMS)) {
                const alarm = one(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", `proxy-${suffix}`);
                assert.equal(alarm.inputs.namespace, METRICS_NAMESPACE);
                assert.equal(alarm.inputs.metricName, METRICS[counter as keyof typeof SILENT_DROP_ALARMS]);
                assert.deepEqual(alarm.inputs.dimensions, { AutoScalingGroupName: GROUP });
                assert.deepEqual([alarm.inputs.statistic, alarm.inputs.comparisonOperator, alarm.inputs.threshold], ["Sum", "GreaterThanThreshold", 0]);
                assert.equal(alarm.inputs.evaluationPeriods, minutes);
                assert.equal(alarm.inputs.treatMissingData, "notBreaching");
                assert.deepEqual(alarm.inputs.alarmActions, [topic]);
            }
        });

        it("draws the scaling targets on the dashboard", () => {
            const [dashboard] = ofType(run.resources, "aws:cloudwatch/dashboard:Dashboard");
            const body = JSON.parse(dashboard.inputs.dashboardBody as string) as {
                widgets: Array<{ properties: { title: string; annotations?: { horizontal: Array<{ label: string; value: number }> } } }>;
            };
            const lines = (title: RegExp) => body.widgets.find(w => title.test(w.properties.title))?.properties.annotations?.horizontal;
            assert.deepEqual(lines(/^New connections per second/), [{ label: "scaling target", value: 1382 }]);
            assert.deepEqual(lines(/^Conntrack: entries/), [{ label: "scaling target", value: 35 }, { label: "alarm", value: 80 }]);
        });

        it("creates the hook before any scaling policy (nothing scales in undrained) and deletes the policies first", () => {
            assert.ok(hook.dependencies.includes(group.urn) || hook.propertyDependencies.autoscalingGroupName?.includes(group.urn), "the hook names the group");
            for (const policy of ofType(run.resources, "aws:autoscaling/policy:Policy")) {
                assert.ok(waitsFor(run, policy).has(hook.urn), `${policy.name} waits for the hook`);
            }
        });

        it("lets the agent complete the lifecycle action, a grant every instance is launched with and outlives", () => {
            const grant = one(run.resources, "aws:iam/rolePolicy:RolePolicy", "proxy-agent");
            assert.match(grant.inputs.policy, /"autoscaling:CompleteLifecycleAction"/);
            const template = one(run.resources, "aws:ec2/launchTemplate:LaunchTemplate");
            assert.ok(waitsFor(run, template).has(grant.urn) && waitsFor(run, group).has(grant.urn));
        });
    });
}

describe("china stack: scaling settings (mocked)", () => {
    it("proxyScaling=false: a fixed size Pulumi keeps, no policies, still a drain on every termination", async () => {
        const run = await china("cn-northwest-1", { [key("proxyScaling")]: "false", [key("proxyDrainSeconds")]: "900" });
        assert.deepEqual(ofType(run.resources, "aws:autoscaling/policy:Policy"), []);
        assert.deepEqual(one(run.resources, "aws:autoscaling/group:Group").ignoreChanges, []);
        assert.equal(one(run.resources, "aws:autoscaling/lifecycleHook:LifecycleHook").inputs.heartbeatTimeout, 900);
        const template = one(run.resources, "aws:ec2/launchTemplate:LaunchTemplate");
        assert.match(decodeUserData(template.inputs.userData).text, /^ *drain_limit=900$/m, "the agent's limit is the hook's");
        const body = one(run.resources, "aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody as string;
        assert.doesNotMatch(body, /scaling target/);
    });

    it("a second run with another proxyDesiredSize still leaves the desired capacity to the policies", async () => {
        const run = await china("us-east-1", { [key("proxyDesiredSize")]: "3" });
        const group = one(run.resources, "aws:autoscaling/group:Group");
        assert.equal(group.inputs.desiredCapacity, 3, "the size at creation");
        assert.deepEqual(group.ignoreChanges, ["desiredCapacity"], "ignored on update: scaling decides");
    });

    it("takes target overrides below the limits", async () => {
        const run = await china("cn-northwest-1", { [key("proxyScalingNewConnectionsTarget")]: "900", [key("proxyScalingConntrackTarget")]: "40" });
        const targets = Object.fromEntries(ofType(run.resources, "aws:autoscaling/policy:Policy")
            .map(p => [p.name, p.inputs.targetTrackingConfiguration.targetValue]));
        assert.deepEqual(targets, { "proxy-new-connections": 900, "proxy-conntrack": 40 });
    });

    it("refuses a target above its limit for NLB-1's address count before declaring any resource", async () => {
        // One NLB-1 address: a third of the NAT space of three.
        const limit = resolveScaling({}, 1, { conntrackMax: DEFAULT_CONNTRACK_MAX, timeWaitTimeoutSeconds: 70, establishedTimeoutSeconds: 360, connmark: 0x4000, drainSeconds: 300 }).model;
        const error = await runStack("china", {
            stackOutputs: { ...GLOBAL_OUTPUTS, nlbPublicIps: ["203.0.113.10"] },
            overrides: { [key("proxyScalingNewConnectionsTarget")]: String(limit.newConnectionsPerSecond.limit) },
        }).then(() => undefined, (e: unknown) => e);
        assert.ok(error instanceof OfflineRunError, String(error));
        assert.match(error.message, /^cross-region-proxy:proxyScalingNewConnectionsTarget: 921 is not below the sustained new connections per second one proxy can NAT \(921 for 1 destination/);
        assert.deepEqual(error.resources.filter(r => r.custom && r.type !== "pulumi:pulumi:StackReference"), [], "nothing half-built");
    });
});
