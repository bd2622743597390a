// The china stack, run for real under the offline mocks with the values of Pulumi.china.yaml, NLB-1's
// addresses read through a mocked StackReference, in aws-cn and in a global region.
import * as assert from "node:assert/strict";
import { ALL_VIEWER_POLICY_ID, CACHING_DISABLED_POLICY_ID } from "../components/CloudfrontEdge";
import { DeclaredResource, autoName } from "../offline/mocks";
import { OfflineRun, OfflineRunError, runStack } from "../offline/run";
import { renderArtifact } from "../proxy/render";
import { decodeUserData } from "../proxy/userData";
import { CERT, KEY } from "./certificates";
import { one, ofType, strings } from "./stackHelpers";

const NLB1 = ["198.51.100.7", "203.0.113.10", "203.0.113.11"];
/** What the global stack publishes, as its StackReference reads it. */
const GLOBAL_OUTPUTS = { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] };
const GLOBAL_STACK = "organization/cross-region-proxy/global";
const PEM = CERT;
const SECRET_KEY = KEY;
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

// These runs write the Route 53 records (the China-account zone topology); the committed file does not.
const china = {
    "cross-region-proxy:manageDnsRecords": "true",
    "cross-region-proxy:cloudfrontEnabled": "true",
    "cross-region-proxy:cloudfrontCertificateBody": PEM,
    "cross-region-proxy:cloudfrontCertificateChain": PEM,
    "cross-region-proxy:cloudfrontPrivateKey": SECRET_KEY,
};
const global = {
    "aws:region": "us-east-1",
    "cross-region-proxy:manageDnsRecords": "true",
    "cross-region-proxy:cloudfrontEnabled": "true",
    "cross-region-proxy:cloudfrontAcmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab",
};

/** The launch template's user-data as cloud-init reads it: base64, then gzip (proxy/userData.ts, encodeUserData). */
function userData(resources: DeclaredResource[]): string {
    const template = one(resources, "aws:ec2/launchTemplate:LaunchTemplate");
    return decodeUserData(template.inputs.userData).text;
}

for (const [label, overrides, partition] of [["cn-northwest-1", china, "aws-cn"], ["us-east-1", global, "aws"]] as const) {
    describe(`china stack in ${label} (mocked)`, () => {
        let run: OfflineRun;
        let resources: DeclaredResource[];
        before(async () => {
            run = await runStack("china", {
                overrides,
                stackOutputs: GLOBAL_OUTPUTS,
                secretKeys: ["cross-region-proxy:cloudfrontPrivateKey"],
            });
            resources = run.resources;
        });

        it("reads NLB-1's addresses from the global stack named in the config", () => {
            const references = ofType(resources, "pulumi:pulumi:StackReference").map(r => r.name).sort();
            assert.deepEqual(references, ["organization/cross-region-proxy/china", GLOBAL_STACK],
                "globalStack: global, in the organization and project of this stack; and this stack's last outputs");
            assert.deepEqual(run.outputs.destinationIps, NLB1);
        });

        it("boots every proxy with the rendered script for exactly those addresses", () => {
            // One region, named after the global stack (its metrics' GlobalStack dimension).
            const expected = renderArtifact("user-data", {
                regions: [{ name: GLOBAL_STACK, destinations: NLB1 }], ports: [80, 443], establishedTimeoutSeconds: 360,
            });
            assert.equal(userData(resources), expected);
            for (const ip of NLB1) {
                assert.match(userData(resources), new RegExp(`^# destinations: (\\S+ )*${ip.replace(/\./g, "\\.")}( |$)`, "m"));
            }
        });

        it("launches proxies with IMDSv2 only, no key pair, an encrypted root volume and SSM-only access", () => {
            const template = one(resources, "aws:ec2/launchTemplate:LaunchTemplate");
            assert.equal(template.inputs.metadataOptions.httpTokens, "required");
            assert.equal(template.inputs.networkInterfaces[0].connectionTrackingSpecification.tcpEstablishedTimeout, 360,
                "the security group's flow tracking follows the NLB idle timeout, as conntrack does");
            assert.equal(template.inputs.keyName, undefined);
            assert.equal(template.inputs.blockDeviceMappings[0].ebs.encrypted, "true");
            assert.equal(template.inputs.imageId, "ami-0123456789abcdef0");
            const attachments = ofType(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
            assert.deepEqual(attachments.map(a => a.inputs.policyArn), [`arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`]);
        });

        it("spreads the Auto Scaling group over at least 2 AZs and rolls it when the launch template changes", () => {
            const group = one(resources, "aws:autoscaling/group:Group");
            assert.ok(group.inputs.vpcZoneIdentifiers.length >= 2);
            assert.deepEqual([group.inputs.minSize, group.inputs.desiredCapacity, group.inputs.maxSize], [2, 2, 4]);
            assert.equal(group.inputs.instanceRefresh.strategy, "Rolling");
            assert.equal(group.inputs.instanceRefresh.preferences.minHealthyPercentage, 100, "new proxies first");
            assert.equal(group.inputs.healthCheckType, "EC2", "a global-side outage must not churn the fleet");
            // The provider updates the group's template before the refresh starts: an auto-rollback would
            // return to the new template (terraform-provider-aws #34189). A failing rollout stops instead.
            assert.equal(group.inputs.instanceRefresh.preferences.autoRollback, false);
            assert.deepEqual(group.inputs.instanceRefresh.preferences.alarmSpecification.alarms,
                [80, 443].map(port => autoName(one(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", `proxy-${port}-unhealthy`).name)));
            assert.equal(group.inputs.launchTemplate.version, "1");
            assert.equal(group.inputs.targetGroupArns.length, 2);
            const zones = ofType(resources, "aws:ec2/subnet:Subnet").map(s => s.inputs.availabilityZone);
            assert.equal(new Set(zones).size, 2);
        });

        it("fronts the fleet with NLB-2: TCP listeners, TCP health checks, cross-zone, idle timeout 350 s", () => {
            const nlb = one(resources, "aws:lb/loadBalancer:LoadBalancer", "proxy-nlb");
            assert.equal(nlb.inputs.loadBalancerType, "network");
            assert.equal(nlb.inputs.enableCrossZoneLoadBalancing, true);
            for (const port of [80, 443]) {
                const listener = one(resources, "aws:lb/listener:Listener", `proxy-${port}`);
                assert.equal(listener.inputs.protocol, "TCP");
                assert.equal(listener.inputs.tcpIdleTimeoutSeconds, 350);
                const group = one(resources, "aws:lb/targetGroup:TargetGroup", `proxy-${port}`);
                assert.equal(group.inputs.targetType, "instance");
                assert.equal(group.inputs.port, port);
                assert.equal(group.inputs.healthCheck.protocol, "TCP");
                assert.equal(group.inputs.preserveClientIp, "true");
            }
            assert.equal(one(resources, "aws:route53/record:Record", "proxy-nlb").inputs.name, "test.poc1010.example.com");
        });

        it("admits only the listener ports, from NLB-2's security group", () => {
            const proxy = one(resources, "aws:ec2/securityGroup:SecurityGroup", "proxy-proxy");
            assert.deepEqual(proxy.inputs.ingress.map((r: { fromPort: number }) => r.fromPort), [80, 443]);
            for (const rule of proxy.inputs.ingress) {
                assert.equal(rule.cidrBlocks, undefined);
                assert.deepEqual(rule.securityGroups, ["proxy-nlb-id"]);
            }
            const toNlb1 = proxy.inputs.egress.filter((r: { fromPort: number }) => r.fromPort === 80)[0];
            assert.deepEqual(toNlb1.cidrBlocks, NLB1.map(ip => `${ip}/32`));
        });

        it("serves abc.<cnDomainName> through CloudFront with origin test.<cnDomainName> over TLS 1.2, no caching", () => {
            const distribution = one(resources, "aws:cloudfront/distribution:Distribution");
            assert.deepEqual(distribution.inputs.aliases, ["abc.poc1010.example.com"]);
            const origin = distribution.inputs.origins[0];
            assert.equal(origin.domainName, "test.poc1010.example.com");
            assert.equal(origin.customOriginConfig.originProtocolPolicy, "https-only");
            assert.deepEqual(origin.customOriginConfig.originSslProtocols, ["TLSv1.2"]);
            assert.equal(distribution.inputs.viewerCertificate.minimumProtocolVersion, "TLSv1.2_2021");
            assert.deepEqual(distribution.inputs.defaultCacheBehavior.allowedMethods, ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]);
            assert.equal(one(resources, "aws:route53/record:Record", "edge").inputs.name, "abc.poc1010.example.com");
            assert.match(String(run.outputs.cloudfrontDomainName), /cloudfront/);
            assert.equal(run.outputs.edgeUrl, "https://abc.poc1010.example.com/");
        });

        if (partition === "aws-cn") {
            it("uses an IAM server certificate under /cloudfront/ and forwardedValues with TTL 0, never a cache policy", () => {
                const certificate = one(resources, "aws:iam/serverCertificate:ServerCertificate");
                assert.match(certificate.inputs.path, /^\/cloudfront\//);
                assert.equal(certificate.inputs.certificateBody, PEM.trim());
                assert.equal(certificate.inputs.privateKey[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", "the private key stays a secret");
                const distribution = one(resources, "aws:cloudfront/distribution:Distribution");
                assert.equal(distribution.inputs.viewerCertificate.iamCertificateId, `${certificate.name}-id`);
                assert.equal(distribution.inputs.viewerCertificate.acmCertificateArn, undefined);
                const behaviour = distribution.inputs.defaultCacheBehavior;
                assert.equal(behaviour.cachePolicyId, undefined);
                assert.equal(behaviour.originRequestPolicyId, undefined);
                assert.deepEqual(behaviour.forwardedValues, { queryString: true, headers: ["*"], cookies: { forward: "all" } });
                assert.deepEqual([behaviour.minTtl, behaviour.defaultTtl, behaviour.maxTtl], [0, 0, 0]);
                const record = one(resources, "aws:route53/record:Record", "edge");
                assert.equal(record.inputs.type, "A");
                assert.deepEqual(record.inputs.aliases, [{ name: "d111111abcdef8.cloudfront.cn", zoneId: "Z3RFFRIM2A3IF5", evaluateTargetHealth: false }],
                    "Route 53 aliases to CloudFront in China too, with the zone the distribution reports");
            });

            it("never writes the global partition into an ARN", () => {
                assert.deepEqual(resources.flatMap(r => strings(r.inputs)).filter(s => s.includes("arn:aws:")), []);
                assert.match(one(resources, "aws:iam/role:Role").inputs.assumeRolePolicy, /ec2\.amazonaws\.com\.cn/);
            });
        } else {
            it("uses the ACM certificate and the managed CachingDisabled/AllViewer policies", () => {
                assert.equal(ofType(resources, "aws:iam/serverCertificate:ServerCertificate").length, 0);
                const distribution = one(resources, "aws:cloudfront/distribution:Distribution");
                assert.equal(distribution.inputs.viewerCertificate.acmCertificateArn, global["cross-region-proxy:cloudfrontAcmCertificateArn"]);
                const behaviour = distribution.inputs.defaultCacheBehavior;
                assert.equal(behaviour.cachePolicyId, CACHING_DISABLED_POLICY_ID);
                assert.equal(behaviour.originRequestPolicyId, ALL_VIEWER_POLICY_ID);
                assert.equal(behaviour.forwardedValues, undefined);
                assert.equal(one(resources, "aws:route53/record:Record", "edge").inputs.aliases[0].zoneId, "Z2FDTNDATAQYW2");
            });
        }
    });
}

describe("china stack alarms (mocked)", () => {
    it("alarms on unhealthy proxies behind each NLB-2 target group, notifying the configured topic", async () => {
        const topic = "arn:aws-cn:sns:cn-northwest-1:123456789012:proxy-alarms";
        const run = await runStack("china", { overrides: { "cross-region-proxy:alarmTopicArn": topic }, stackOutputs: GLOBAL_OUTPUTS });
        for (const port of [80, 443]) {
            const alarm = one(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", `proxy-${port}-unhealthy`);
            assert.equal(alarm.inputs.metricName, "UnHealthyHostCount");
            assert.deepEqual(alarm.inputs.dimensions, { LoadBalancer: "net/proxy-nlb/0123456789abcdef", TargetGroup: `targetgroup/proxy-${port}/0123456789abcdef` });
            assert.deepEqual(alarm.inputs.alarmActions, [topic]);
            assert.deepEqual(alarm.inputs.okActions, [topic]);
        }
    });
});

describe("china stack destinations (mocked)", () => {
    it("uses destinationIps instead of the global stack when given", async () => {
        const run = await runStack("china", { overrides: { "cross-region-proxy:destinationIps": "[\"192.0.2.1\",\"192.0.2.2\"]" } });
        assert.deepEqual(ofType(run.resources, "pulumi:pulumi:StackReference").map(r => r.name), ["organization/cross-region-proxy/china"],
            "no reference to a global stack, only to this stack's last outputs");
        assert.deepEqual(run.outputs.destinationIps, ["192.0.2.1", "192.0.2.2"]);
        assert.equal(userData(run.resources), renderArtifact("user-data", { regions: [{ name: "destinationIps", destinations: ["192.0.2.1", "192.0.2.2"] }], ports: [80, 443] }));
    });

    // A bad global stack must leave no half-built china stack: the outputs are checked before anything
    // is declared but the StackReference (no cloud resource).
    const badOutputs: Array<[string, Record<string, unknown>, string, RegExp]> = [
        ["shell characters", { nlbPublicIps: ["203.0.113.10", "$(reboot)"] }, "nlbPublicIps", /'\$\(reboot\)' is not an IPv4 address/],
        ["an IPv6 address", { nlbPublicIps: ["2001:db8::1"] }, "nlbPublicIps", /'2001:db8::1' is not an IPv4 address/],
        ["a CIDR", { nlbPublicIps: ["203.0.113.0/24"] }, "nlbPublicIps", /'203\.0\.113\.0\/24' is not an IPv4 address/],
        ["a private address", { nlbPublicIps: ["203.0.113.10", "10.1.2.3"] }, "nlbPublicIps", /10\.1\.2\.3 is in 10\.0\.0\.0\/8 \(RFC 1918 private\): NLB-1's addresses are public/],
        ["an empty list", { nlbPublicIps: [] }, "nlbPublicIps", /is empty: run 'pulumi up' on the global stack first/],
        ["not a list", { nlbPublicIps: "203.0.113.10" }, "nlbPublicIps", /expected a list of IPv4 addresses, got string/],
        ["no nlbPublicIps", {}, "nlbPublicIps", /is missing: run 'pulumi up' on the global stack first/],
        ["no nlbIdleTimeoutSeconds", { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: undefined }, "nlbIdleTimeoutSeconds", /is missing: run 'pulumi up' on the global stack/],
        ["an idle timeout below the proxies'", { nlbPublicIps: NLB1, nlbIdleTimeoutSeconds: 120 }, "proxyIdleTimeoutSeconds", /350 s is above NLB-1's idle timeout \(120 s/],
        ["no nlbListenerPorts", { nlbPublicIps: NLB1, nlbListenerPorts: undefined }, "nlbListenerPorts", /is missing: run 'pulumi up' on the global stack \(it publishes NLB-1's listener ports/],
        ["listener ports that are not a list", { nlbPublicIps: NLB1, nlbListenerPorts: "80,443" }, "nlbListenerPorts", /expected a list of TCP ports, got string/],
        // NLB-1 on 443 only: the proxies would forward :80 to a closed port (plan --set global/...:listenerPorts=443).
        ["no listener on port 80", { nlbPublicIps: NLB1, nlbListenerPorts: [443] }, "proxyListenerPorts",
            /^cross-region-proxy:proxyListenerPorts: 80 is not among NLB-1's listener ports \(443, output nlbListenerPorts of stack organization\/cross-region-proxy\/global\).*add it to cross-region-proxy:listenerPorts in the global stack/],
    ];
    for (const [shape, outputs, output, gist] of badOutputs) {
        it(`fails on a global stack with ${shape}, naming the output and the stack, before any AWS resource`, async () => {
            const error = await runStack("china", { stackOutputs: { nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443], ...outputs } }).then(
                () => assert.fail("the run must fail"), (err: unknown) => err);
            assert.ok(error instanceof OfflineRunError, String(error));
            const named = output.startsWith("proxy") ? `cross-region-proxy:${output}` : `output ${output} of stack ${GLOBAL_STACK}`;
            assert.ok(error.message.startsWith(`${named}: `), error.message);
            assert.match(error.message, gist);
            assert.ok(error.message.includes(GLOBAL_STACK), "names the global stack");
            assert.deepEqual(error.resources.filter(r => r.type.startsWith("aws:")).map(r => r.type), [], "no AWS resource is registered");
        });
    }

    it("references the global stack in the organization it is deployed in (Pulumi Cloud), and a fully qualified one as written", async () => {
        const inCloud = await runStack("china", { stackOutputs: GLOBAL_OUTPUTS, organization: "acme-corp" });
        assert.ok(inCloud.resources.some(r => r.type === "pulumi:pulumi:StackReference" && r.name === "acme-corp/cross-region-proxy/global"));
        const elsewhere = await runStack("china", {
            stackOutputs: GLOBAL_OUTPUTS, organization: "acme-corp", overrides: { "cross-region-proxy:globalStack": "platform-team/cross-region-proxy/prod-global" },
        });
        assert.ok(elsewhere.resources.some(r => r.type === "pulumi:pulumi:StackReference" && r.name === "platform-team/cross-region-proxy/prod-global"));
    });

    it("refuses to replace a protected NLB-2 (a subnet gone since the last update), naming the key, before any resource", async () => {
        const lastUpdate = { ...GLOBAL_OUTPUTS, proxyNlbSubnets: ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20"] };
        const error = await runStack("china", { stackOutputs: lastUpdate }).then(() => assert.fail("the run must fail"), (err: unknown) => err);
        assert.ok(error instanceof OfflineRunError, String(error));
        assert.match(error.message, /^cross-region-proxy:deletionProtection: the change of vpcCidr or availabilityZoneCount removes 10\.20\.32\.0\/20 from NLB-2's subnets/);
        assert.deepEqual(error.resources.filter(r => r.type.startsWith("aws:")).map(r => r.type), []);
        const run = await runStack("china", { stackOutputs: lastUpdate, overrides: { "cross-region-proxy:deletionProtection": "false" } });
        assert.equal(one(run.resources, "aws:lb/loadBalancer:LoadBalancer", "proxy-nlb").deleteBeforeReplace, true,
            "delete first: the target groups belong to one load balancer at a time");
        assert.deepEqual(run.outputs.proxyNlbSubnets, ["10.20.0.0/20", "10.20.16.0/20"]);
    });

    it("refuses a globalStack that names this stack", async () => {
        const error = await runStack("china", { stackOutputs: GLOBAL_OUTPUTS, overrides: { "cross-region-proxy:globalStack": "china" } })
            .then(() => assert.fail("the run must fail"), (err: unknown) => err as Error);
        assert.match(error.message, /^cross-region-proxy:globalStack: names this stack \(organization\/cross-region-proxy\/china\)/);
    });

    it("accepts proxy listener ports that are a subset of NLB-1's", async () => {
        const run = await runStack("china", { overrides: { "cross-region-proxy:proxyListenerPorts": "[443]" }, stackOutputs: GLOBAL_OUTPUTS });
        assert.deepEqual(ofType(run.resources, "aws:lb/listener:Listener").map(l => l.inputs.port), [443]);
    });

    it("writes no Route 53 record and looks up no zone when the china domain's DNS is managed elsewhere", async () => {
        const run = await runStack("china", {
            overrides: { ...china, "cross-region-proxy:manageDnsRecords": "false" },
            stackOutputs: GLOBAL_OUTPUTS,
            secretKeys: ["cross-region-proxy:cloudfrontPrivateKey"],
        });
        assert.equal(ofType(run.resources, "aws:route53/record:Record").length, 0);
        assert.equal(ofType(run.resources, "aws:cloudfront/distribution:Distribution").length, 1);
        assert.match(String(run.outputs.proxyNlbDnsName), /elb\.cn-northwest-1\.amazonaws\.com\.cn$/, "the CNAME target to create by hand");
    });

    it("creates no CloudFront distribution and outputs null when CloudFront is disabled", async () => {
        const run = await runStack("china", { stackOutputs: GLOBAL_OUTPUTS });
        assert.equal(ofType(run.resources, "aws:cloudfront/distribution:Distribution").length, 0);
        assert.equal(ofType(run.resources, "aws:iam/serverCertificate:ServerCertificate").length, 0);
        assert.equal(run.outputs.cloudfrontDomainName, null);
        assert.equal(run.outputs.edgeUrl, null);
    });
});

describe("china stack launch template across architectures (mocked)", () => {
    const template = async (instanceType: string, amiId?: string) => {
        const overrides: Record<string, string> = { "cross-region-proxy:proxyInstanceType": instanceType };
        if (amiId !== undefined) overrides["cross-region-proxy:proxyAmiId"] = amiId;
        const run = await runStack("china", { overrides, stackOutputs: GLOBAL_OUTPUTS });
        const lt = one(run.resources, "aws:ec2/launchTemplate:LaunchTemplate");
        const group = one(run.resources, "aws:autoscaling/group:Group");
        assert.equal(group.inputs.launchTemplate.id, `${lt.name}-id`, "the group follows the template that exists");
        assert.equal(lt.deleteBeforeReplace, false, "the new template exists before the group moves to it");
        const ssm = run.invokes.filter(i => i.token === "aws:ssm/getParameter:getParameter").map(i => String(i.inputs.name));
        return { urn: lt.urn, aliases: lt.aliasNames, ignoreChanges: lt.ignoreChanges, ssm };
    };

    it("unpinned: a change of architecture is a new template (which reads that architecture's AMI), a type of the same one is not", async () => {
        const [c6i, m6i, c7g] = [await template("c6i.large"), await template("m6i.xlarge"), await template("c7g.large")];
        assert.notEqual(c7g.urn, c6i.urn, "c6i.large -> c7g.large replaces the template: the kept x86_64 AMI cannot boot arm64");
        assert.equal(m6i.urn, c6i.urn, "c6i.large -> m6i.xlarge is a new version of the same template");
        assert.deepEqual(c6i.ignoreChanges, ["imageId"]);
        assert.deepEqual(c7g.ignoreChanges, ["imageId"]);
        assert.deepEqual(c6i.ssm, ["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"]);
        assert.deepEqual(c7g.ssm, ["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"]);
    });

    it("pinned: the pin decides the AMI, the template's name does not depend on the architecture", async () => {
        const [c6i, c7g, unpinned] = [await template("c6i.large", "ami-0123456789abcdef0"), await template("c7g.large", "ami-0fedcba9876543210"),
            await template("c6i.large")];
        assert.equal(c7g.urn, c6i.urn);
        assert.equal(c6i.urn, unpinned.urn, "pinning an x86_64 fleet's AMI keeps its template");
        assert.deepEqual(c7g.ignoreChanges, []);
        assert.deepEqual(c7g.ssm, [], "no AMI lookup");
        // Pinning the AMI an unpinned arm64 fleet runs adopts its template instead of replacing it.
        assert.deepEqual(c7g.aliases, ["proxy-proxy-arm64"]);
        assert.ok((await template("c7g.large")).urn.endsWith("::proxy-proxy-arm64"));
    });
});
