// The AWS side of the proxy agent (components/fleetMonitoring.ts) in the china stack under mocks: the
// instance role's least-privilege policy, instance tags in IMDS, the three alarms and the dashboard.
import * as assert from "node:assert/strict";
import { agentPolicyDocument, FLEET_TAG } from "../components/fleetMonitoring";
import { autoName } from "../offline/mocks";
import { OfflineRun, runStack } from "../offline/run";
import { METRICS, METRICS_NAMESPACE, REGION_METRICS } from "../proxy/agent";
import { one, ofType } from "./stackHelpers";

const NLB1 = ["198.51.100.7", "203.0.113.10", "203.0.113.11"];
const TOPIC = "arn:aws-cn:sns:cn-northwest-1:123456789012:proxy-alarms";

interface Statement { Sid: string; Action: string; Resource: string; Condition?: unknown }

describe("the agent's policy document", () => {
    it("allows metrics in the agent's namespace only, and health reports and lifecycle completions for its own group only", () => {
        const doc = JSON.parse(agentPolicyDocument("aws-cn", "p/china/proxy")) as { Statement: Statement[] };
        const by = (sid: string) => doc.Statement.find(s => s.Sid === sid);
        assert.deepEqual(by("PutAgentMetrics")?.Condition, { StringEquals: { "cloudwatch:namespace": METRICS_NAMESPACE } });
        assert.equal(by("ReportOwnHealth")?.Resource, "arn:aws-cn:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*");
        assert.deepEqual(by("ReportOwnHealth")?.Condition, { StringEquals: { [`autoscaling:ResourceTag/${FLEET_TAG}`]: "p/china/proxy" } });
        assert.equal(by("CompleteOwnLifecycleAction")?.Resource, by("ReportOwnHealth")?.Resource);
        assert.deepEqual(by("CompleteOwnLifecycleAction")?.Condition, by("ReportOwnHealth")?.Condition, "lets go of its own group's instances only");
        assert.deepEqual(doc.Statement.map(s => s.Action).sort(),
            ["autoscaling:CompleteLifecycleAction", "autoscaling:DescribeAutoScalingInstances", "autoscaling:SetInstanceHealth", "cloudwatch:PutMetricData"]);
    });
});

describe("china stack: proxy agent monitoring (mocked)", () => {
    let run: OfflineRun;
    before(async () => {
        run = await runStack("china", { overrides: { "cross-region-proxy:alarmTopicArn": TOPIC }, stackOutputs: { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] } });
    });

    it("gives the proxies' role the agent's policy, scoped to the tag the fleet's Auto Scaling group carries", () => {
        const policy = one(run.resources, "aws:iam/rolePolicy:RolePolicy", "proxy-agent");
        const group = one(run.resources, "aws:autoscaling/group:Group");
        const tag = (group.inputs.tags as Array<{ key: string; value: string }>).find(t => t.key === FLEET_TAG);
        assert.ok(tag, `the group carries ${FLEET_TAG}`);
        assert.equal(policy.inputs.policy, agentPolicyDocument("aws-cn", tag.value));
        const role = one(run.resources, "aws:iam/role:Role", "proxy-proxy");
        assert.ok(policy.dependencies.includes(role.urn), "attached to the proxies' instance role");
        const template = one(run.resources, "aws:ec2/launchTemplate:LaunchTemplate");
        assert.ok(template.dependencies.includes(policy.urn), "no proxy starts before it may report (and none outlives the policy on destroy)");
        assert.ok(!policy.dependencies.includes(group.urn), "the policy does not wait for the group");
    });

    it("exposes the instance tags in IMDS (the agent reads its group there), IMDSv2 only", () => {
        const template = one(run.resources, "aws:ec2/launchTemplate:LaunchTemplate");
        assert.equal(template.inputs.metadataOptions.instanceMetadataTags, "enabled");
        assert.equal(template.inputs.metadataOptions.httpTokens, "required");
    });

    it("alarms on a proxy with no healthy destination, conntrack over 80 %, and any repair, notifying the topic", () => {
        const expected: Record<string, [string, string, string, number]> = {
            "proxy-no-healthy-destination": [METRICS.healthyDestinations, "Minimum", "LessThanThreshold", 1],
            "proxy-conntrack-high": [METRICS.conntrackUsedPercent, "Maximum", "GreaterThanThreshold", 80],
            "proxy-repairs": [METRICS.repairs, "Sum", "GreaterThanThreshold", 0],
        };
        for (const [name, [metric, statistic, operator, threshold]] of Object.entries(expected)) {
            const alarm = one(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", name);
            assert.equal(alarm.inputs.namespace, METRICS_NAMESPACE);
            assert.equal(alarm.inputs.metricName, metric);
            assert.equal(alarm.inputs.statistic, statistic);
            assert.equal(alarm.inputs.comparisonOperator, operator);
            assert.equal(alarm.inputs.threshold, threshold);
            assert.deepEqual(alarm.inputs.dimensions, { AutoScalingGroupName: autoName("proxy-proxy") });
            assert.deepEqual(alarm.inputs.alarmActions, [TOPIC]);
        }
    });

    it("draws every agent metric on one dashboard for the fleet", () => {
        const [dashboard] = ofType(run.resources, "aws:cloudwatch/dashboard:Dashboard");
        const body = JSON.parse(dashboard.inputs.dashboardBody as string) as {
            widgets: Array<{ properties: { region: string; metrics: Array<[string, string, string, string, unknown]> } }>;
        };
        const drawn = new Set(body.widgets.flatMap(w => w.properties.metrics.map(m => m[1])));
        // The region metrics too: one region here, the global stack (tests/globalStacks.test.ts has two).
        assert.deepEqual([...drawn].sort(), [...Object.values(METRICS), ...Object.values(REGION_METRICS)].sort());
        for (const w of body.widgets) {
            assert.equal(w.properties.region, "cn-northwest-1");
            for (const m of w.properties.metrics) assert.deepEqual(m.slice(0, 4), [METRICS_NAMESPACE, m[1], "AutoScalingGroupName", autoName("proxy-proxy")]);
        }
    });
});
