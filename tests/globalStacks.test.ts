// Several global regions behind one china stack: the globalStacks setting (pure parsers of config/china.ts), and
// the china stack run under the offline mocks with one StackReference per region, each answered with the outputs
// of the stack it names, in aws-cn and in a global region.
import * as assert from "node:assert/strict";
import { GlobalStackEntry, parseGlobalStacks, parseGlobalStacksOutputs, qualifyGlobalStacks } from "../config/china";
import { NAMESPACE } from "../config/reader";
import { DeclaredResource, autoName } from "../offline/mocks";
import { OfflineRun, OfflineRunError, runStack } from "../offline/run";
import { METRICS_NAMESPACE, REGION_DIMENSION, REGION_METRICS } from "../proxy/agent";
import { MAX_REGIONS } from "../proxy/regions";
import { renderArtifact } from "../proxy/render";
import { decodeUserData } from "../proxy/userData";
import { rejects } from "./assertions";
import { one, ofType, referencedStacks } from "./stackHelpers";

const q = (k: string) => `${NAMESPACE}:${k}`;
const ORG = "organization/cross-region-proxy";
const USE2 = `${ORG}/global-use2`;
/** The china stack's reference to its own last outputs (stacks/previous.ts). */
const SELF = `${ORG}/china`;
const EUC1 = `${ORG}/global-euc1`;
const outputs = (ips: string[], extra: Record<string, unknown> = {}) => ({ nlbPublicIps: ips, nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443], ...extra });
const STACKS = { [USE2]: outputs(["203.0.113.10", "203.0.113.11"]), [EUC1]: outputs(["198.51.100.7", "198.51.100.8", "198.51.100.9"]) };
/** As `pulumi config set --path 'cross-region-proxy:globalStacks[0].stack' global-use2` (and .weight, .dial) writes it. */
const TWO_REGIONS = JSON.stringify([{ stack: "global-use2", weight: 200 }, { stack: "global-euc1", weight: 55, dial: 50 }]);
const CONFIG = { idleTimeoutSeconds: 350, allowPrivateDestinations: false, listenerPorts: [80, 443] };

describe("globalStacks (config)", () => {
    it("reads a list of objects as pulumi config set --path writes it, numbers or strings, with the defaults filled", () => {
        assert.deepStrictEqual(parseGlobalStacks([{ stack: "global-use2", weight: 200 }, { stack: "acme/global-euc1", weight: "55", dial: "50", priority: 2 }, "o/p/global-apne1"]), [
            { stack: "global-use2", weight: 200, dial: 100, priority: 1, key: q("globalStacks[0]") },
            { stack: "acme/global-euc1", weight: 55, dial: 50, priority: 2, key: q("globalStacks[1]") },
            { stack: "o/p/global-apne1", weight: 100, dial: 100, priority: 1, key: q("globalStacks[2]") },
        ]);
    });

    it("refuses a bad entry, naming the entry's field", () => {
        rejects(() => parseGlobalStacks([]), q("globalStacks"), /has 0 stacks; 1 to 8 global stacks \(regions\) are supported/);
        rejects(() => parseGlobalStacks(Array.from({ length: MAX_REGIONS + 1 }, (_, i) => `g${i}`)), q("globalStacks"), /has 9 stacks/);
        rejects(() => parseGlobalStacks([{ stack: "a" }, { weight: 5 }]), q("globalStacks[1].stack"), /is required/);
        rejects(() => parseGlobalStacks([{ stack: "a", wieght: 5 }]), q("globalStacks[0].wieght"), /is not a field of a global stack entry; expected stack, weight, dial, priority/);
        rejects(() => parseGlobalStacks([{ stack: "a/b/c/d" }]), q("globalStacks[0].stack"), /expected a stack name/);
        rejects(() => parseGlobalStacks([{ stack: "$(reboot)" }]), q("globalStacks[0].stack"), /expected a stack name/);
        rejects(() => parseGlobalStacks([{ stack: "a", weight: 256 }]), q("globalStacks[0].weight"), /from 0 to 255, got '256'/);
        rejects(() => parseGlobalStacks([{ stack: "a", dial: 101 }]), q("globalStacks[0].dial"), /from 0 to 100, got '101'/);
        rejects(() => parseGlobalStacks([{ stack: "a", priority: 0 }]), q("globalStacks[0].priority"), /from 1 to 255/);
        rejects(() => parseGlobalStacks([42]), q("globalStacks[0]"), /expected \{stack: <name>, weight: 0-255/);
        rejects(() => parseGlobalStacks([{ stack: "a", weight: 0 }, { stack: "b", dial: 0 }]), q("globalStacks"),
            /every region's weight x dial is 0 \(a: 0 x 100 %, b: 100 x 0 %\): no region would take new connections/);
    });

    it("refuses a stack listed twice once the names are qualified", () => {
        const entries = parseGlobalStacks(["global", "organization/global"]);
        rejects(() => qualifyGlobalStacks(entries, "organization", "cross-region-proxy"), q("globalStacks[1].stack"),
            /names organization\/cross-region-proxy\/global, as cross-region-proxy:globalStacks\[0\]\.stack does: list each global stack once/);
        assert.deepEqual(qualifyGlobalStacks(entries, "acme", "cross-region-proxy").map(e => e.qualified),
            ["acme/cross-region-proxy/global", "organization/cross-region-proxy/global"]);
    });

    describe("the stacks' outputs, checked together", () => {
        const read = (list: unknown[], stacks: Record<string, Record<string, unknown>>) =>
            qualifyGlobalStacks(parseGlobalStacks(list), "organization", "cross-region-proxy").map(entry => ({ entry, outputs: stacks[entry.qualified] ?? {} }));
        const check = (list: unknown[], stacks: Record<string, Record<string, unknown>>, config = CONFIG) => parseGlobalStacksOutputs(read(list, stacks), config);

        it("gives each stack a region named by its qualified name, with its weight, dial and priority", () => {
            assert.deepEqual(check(JSON.parse(TWO_REGIONS), STACKS), [
                { name: USE2, destinations: ["203.0.113.10", "203.0.113.11"], weight: 200, dial: 100, priority: 1 },
                { name: EUC1, destinations: ["198.51.100.7", "198.51.100.8", "198.51.100.9"], weight: 55, dial: 50, priority: 1 },
            ]);
        });

        it("refuses an address two stacks publish, naming both", () =>
            rejects(() => check(["global-use2", "global-euc1"], { ...STACKS, [EUC1]: outputs(["198.51.100.7", "203.0.113.11"]) }),
                `output nlbPublicIps of stack ${EUC1}`, new RegExp(`203\\.0\\.113\\.11 is also a destination of region ${USE2}: two regions cannot share an address`)));

        it("refuses a second region that does not listen on every proxy port, or idles out sooner, naming that stack", () => {
            rejects(() => check(["global-use2", "global-euc1"], { ...STACKS, [EUC1]: outputs(["198.51.100.7"], { nlbListenerPorts: [443] }) }),
                q("proxyListenerPorts"), new RegExp(`80 is not among NLB-1's listener ports \\(443, output nlbListenerPorts of stack ${EUC1}\\)`));
            rejects(() => check(["global-use2", "global-euc1"], { ...STACKS, [EUC1]: outputs(["198.51.100.7"], { nlbIdleTimeoutSeconds: 120 }) }),
                q("proxyIdleTimeoutSeconds"), new RegExp(`350 s is above NLB-1's idle timeout \\(120 s, output nlbIdleTimeoutSeconds of stack ${EUC1}\\)`));
            rejects(() => check(["global-use2", "global-euc1"], { [USE2]: STACKS[USE2] }), `output nlbPublicIps of stack ${EUC1}`, /is missing: run 'pulumi up' on the global stack first/);
        });

        it("refuses more than 32 destinations in all (EC2's user-data limit), naming the key and each stack's count", () => {
            const six = (third: number) => outputs(Array.from({ length: 6 }, (_, i) => `203.0.${third}.${i + 1}`));
            const stacks = Object.fromEntries(Array.from({ length: 6 }, (_, k) => [`${ORG}/g${k}`, six(k)]));
            assert.equal(check(Array.from({ length: 5 }, (_, k) => `g${k}`), stacks).flatMap(r => r.destinations).length, 30);
            rejects(() => check(Array.from({ length: 6 }, (_, k) => `g${k}`), stacks), q("globalStacks"),
                /has 36 destinations in all \(organization\/cross-region-proxy\/g0: 6, .*\); at most 32 are supported \(EC2's 16 KiB user-data limit\)/);
        });

        it("names globalStack itself for a single stack", () => {
            const single: GlobalStackEntry[] = [{ stack: "global", weight: 100, dial: 100, priority: 1, key: q("globalStack") }];
            const entry = qualifyGlobalStacks(single, "organization", "cross-region-proxy")[0];
            assert.deepEqual(parseGlobalStacksOutputs([{ entry, outputs: outputs(["203.0.113.10"]) }], CONFIG).map(r => r.name), [`${ORG}/global`]);
        });
    });
});

/** The launch template's user-data as cloud-init reads it. */
const userData = (resources: DeclaredResource[]) =>
    decodeUserData(one(resources, "aws:ec2/launchTemplate:LaunchTemplate").inputs.userData).text;
const global = { "aws:region": "us-east-1" };

for (const [label, overrides] of [["cn-northwest-1", {}], ["us-east-1", global]] as const) {
    describe(`china stack with two global regions in ${label} (mocked)`, () => {
        let run: OfflineRun;
        const topic = `arn:${label.startsWith("cn-") ? "aws-cn" : "aws"}:sns:${label}:123456789012:alarms`;
        before(async () => {
            run = await runStack("china", {
                overrides: { ...overrides, [q("globalStack")]: undefined, [q("globalStacks")]: TWO_REGIONS, [q("alarmTopicArn")]: topic }, stacks: STACKS,
            });
        });

        it("reads each global stack through its own StackReference, answered with that stack's outputs", () => {
            assert.deepEqual(referencedStacks(run.resources, SELF).map(r => r.name), [USE2, EUC1]);
            assert.deepEqual(run.outputs.destinationIps, [...STACKS[USE2].nlbPublicIps, ...STACKS[EUC1].nlbPublicIps]);
            assert.deepEqual((run.outputs.destinationRegions as Array<{ name: string; weight: number; dial: number }>).map(r => [r.name, r.weight, r.dial]),
                [[USE2, 200, 100], [EUC1, 55, 50]]);
        });

        it("boots every proxy with the rendered programs for both regions, and lets them reach every address", () => {
            assert.equal(userData(run.resources), renderArtifact("user-data", {
                regions: [{ name: USE2, destinations: STACKS[USE2].nlbPublicIps, weight: 200 }, { name: EUC1, destinations: STACKS[EUC1].nlbPublicIps, weight: 55, dial: 50 }],
                ports: [80, 443], establishedTimeoutSeconds: 360,
            }));
            assert.match(userData(run.resources), /^# regions: organization\/cross-region-proxy\/global-use2 \(2\) organization\/cross-region-proxy\/global-euc1 \(3\)$/m);
            const egress = one(run.resources, "aws:ec2/securityGroup:SecurityGroup", "proxy-proxy").inputs.egress as Array<{ fromPort: number; cidrBlocks: string[] }>;
            assert.deepEqual(egress.find(r => r.fromPort === 80)?.cidrBlocks, [...STACKS[USE2].nlbPublicIps, ...STACKS[EUC1].nlbPublicIps].map(ip => `${ip}/32`));
        });

        it("alarms per region when a proxy reaches none of its addresses, named after the region's stack", () => {
            for (const region of [USE2, EUC1]) {
                const alarm = one(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", `proxy-region-out-${region}`);
                assert.equal(alarm.inputs.namespace, METRICS_NAMESPACE);
                assert.equal(alarm.inputs.metricName, REGION_METRICS.healthyDestinations);
                assert.deepEqual(alarm.inputs.dimensions, { AutoScalingGroupName: autoName("proxy-proxy"), [REGION_DIMENSION]: region });
                assert.deepEqual([alarm.inputs.statistic, alarm.inputs.comparisonOperator, alarm.inputs.threshold], ["Minimum", "LessThanThreshold", 1]);
                assert.deepEqual(alarm.inputs.alarmActions, [topic]);
                assert.equal(alarm.inputs.actionsEnabled, true);
            }
            assert.equal(ofType(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter(a => a.name.startsWith("proxy-region-out-")).length, 2, "one per region");
        });

        it("draws each region's healthy destinations and share on the fleet's dashboard", () => {
            const body = JSON.parse(one(run.resources, "aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody as string) as {
                widgets: Array<{ properties: { title: string; region: string; metrics: unknown[][] } }>;
            };
            const perRegion = body.widgets.filter(w => w.properties.metrics.some(m => m[4] === REGION_DIMENSION));
            assert.deepEqual(perRegion.map(w => w.properties.metrics.map(m => [m[1], m[5]])), [
                [[REGION_METRICS.healthyDestinations, USE2], [REGION_METRICS.healthyDestinations, EUC1]],
                [[REGION_METRICS.sharePercent, USE2], [REGION_METRICS.sharePercent, EUC1]],
            ]);
            for (const w of perRegion) {
                assert.equal(w.properties.region, label);
                for (const m of w.properties.metrics) assert.deepEqual(m.slice(2, 4), ["AutoScalingGroupName", autoName("proxy-proxy")]);
            }
        });
    });
}

describe("china stack with several global regions: checks and lifecycle (mocked)", () => {
    const runWith = (globalStacks: unknown[], stacks: Record<string, Record<string, unknown>>, extra: Record<string, string> = {}) =>
        runStack("china", { overrides: { [q("globalStack")]: undefined, [q("globalStacks")]: JSON.stringify(globalStacks), ...extra }, stacks });

    const failures: Array<[string, unknown[], Record<string, Record<string, unknown>>, string, RegExp]> = [
        ["an address of two regions", ["global-use2", "global-euc1"], { ...STACKS, [EUC1]: outputs(["203.0.113.10"]) },
            `output nlbPublicIps of stack ${EUC1}`, /is also a destination of region/],
        ["a second region without port 80", ["global-use2", "global-euc1"], { ...STACKS, [EUC1]: outputs(["198.51.100.7"], { nlbListenerPorts: [443] }) },
            q("proxyListenerPorts"), new RegExp(`output nlbListenerPorts of stack ${EUC1}`)],
        ["a second region whose NLB-1 idles out sooner", ["global-use2", "global-euc1"], { ...STACKS, [EUC1]: outputs(["198.51.100.7"], { nlbIdleTimeoutSeconds: 60 }) },
            q("proxyIdleTimeoutSeconds"), new RegExp(`output nlbIdleTimeoutSeconds of stack ${EUC1}`)],
        ["a stack named twice", ["global-use2", `${USE2}`], STACKS, q("globalStacks[1].stack"), /list each global stack once/],
        ["a stack that published nothing", ["global-use2", "global-apne1"], STACKS, `output nlbPublicIps of stack ${ORG}/global-apne1`, /is missing/],
        ["33 addresses in all (one past the user-data budget)", Array.from({ length: 6 }, (_, k) => `g${k}`),
            Object.fromEntries(Array.from({ length: 6 }, (_, k) => [`${ORG}/g${k}`, outputs(Array.from({ length: k < 5 ? 6 : 3 }, (_, i) => `203.0.${k}.${i + 1}`))])),
            q("globalStacks"), /has 33 destinations in all .*at most 32 are supported/],
    ];
    for (const [what, list, stacks, key, gist] of failures) {
        it(`fails on ${what}, naming ${key}, before any AWS resource`, async () => {
            const error = await runWith(list, stacks).then(() => assert.fail("the run must fail"), (err: unknown) => err);
            assert.ok(error instanceof OfflineRunError, String(error));
            assert.ok(error.message.startsWith(`${key}: `), error.message);
            assert.match(error.message, gist);
            assert.deepEqual(error.resources.filter(r => r.type.startsWith("aws:")).map(r => r.type), [], "no AWS resource is registered");
        });
    }

    it("refuses globalStack and globalStacks together", async () => {
        const error = await runStack("china", { overrides: { [q("globalStacks")]: TWO_REGIONS }, stacks: STACKS }).then(() => assert.fail("must fail"), (err: unknown) => err);
        assert.match(String((error as Error).message), /^cross-region-proxy:globalStacks: and cross-region-proxy:globalStack are both set/);
    });

    it("keeps the single globalStack's StackReference (same name, same URN) and gives it one region alarm", async () => {
        const single = await runStack("china", { stacks: { [`${ORG}/global`]: STACKS[USE2] } });
        const [reference, ...others] = referencedStacks(single.resources, SELF);
        assert.deepEqual(others, []);
        assert.equal(reference.urn, `urn:pulumi:china::cross-region-proxy::pulumi:pulumi:StackReference::${ORG}/global`);
        assert.deepEqual(ofType(single.resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter(a => a.name.startsWith("proxy-region-out-")).map(a => a.name),
            [`proxy-region-out-${ORG}/global`]);
    });

    it("adding a region keeps every resource of the first (only the new region's alarm is added)", async () => {
        const before = await runWith(["global-use2"], STACKS);
        const after = await runWith(["global-use2", { stack: "global-euc1", weight: 10 }], STACKS);
        const urns = (run: OfflineRun) => run.resources.map(r => r.urn).sort();
        assert.deepEqual(urns(after).filter(u => !urns(before).includes(u)).map(u => u.split("::").pop()).sort(),
            [EUC1, `proxy-region-out-${EUC1}`].sort());
        assert.deepEqual(urns(before).filter(u => !urns(after).includes(u)), []);
    });

    it("keeps a drained region's alarm, without actions (taking it down pages nobody)", async () => {
        const run = await runWith([{ stack: "global-use2" }, { stack: "global-euc1", dial: 0 }], STACKS);
        assert.equal(one(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", `proxy-region-out-${EUC1}`).inputs.actionsEnabled, false);
        assert.equal(one(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", `proxy-region-out-${USE2}`).inputs.actionsEnabled, true);
    });

    it("with destinationIps, one region named destinationIps and no StackReference", async () => {
        const run = await runStack("china", { overrides: { [q("destinationIps")]: "[\"192.0.2.1\",\"192.0.2.2\"]" } });
        assert.equal(referencedStacks(run.resources, SELF).length, 0);
        assert.deepEqual(run.outputs.destinationRegions, [{ name: "destinationIps", destinations: ["192.0.2.1", "192.0.2.2"], weight: 100, dial: 100, priority: 1 }]);
        one(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", "proxy-region-out-destinationIps");
    });
});
