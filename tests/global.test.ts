// The global stack, run for real under the offline mocks with the values of Pulumi.global.yaml.
import * as assert from "node:assert/strict";
import { DeclaredResource } from "../offline/mocks";
import { OfflineRun, OfflineRunError, runStack } from "../offline/run";
import { one, ofType, strings } from "./stackHelpers";

const CN_HTTPBIN = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/go-httpbin:v2.18.3";

describe("global stack (Pulumi.global.yaml, mocked)", () => {
    let run: OfflineRun;
    let resources: DeclaredResource[];
    before(async () => {
        run = await runStack("global");
        resources = run.resources;
    });

    it("exports exactly the outputs the china stack and users rely on", () => {
        assert.deepEqual(Object.keys(run.outputs).sort(), ["albArn", "albDnsName", "httpbinUrl", "nlbDnsName", "nlbIdleTimeoutSeconds", "nlbListenerPorts", "nlbPublicIps", "nlbSubnets", "nlbUrl"]);
        assert.equal(run.outputs.nlbIdleTimeoutSeconds, 350, "the china stack reads NLB-1's idle timeout");
        for (const listener of ofType(resources, "aws:lb/listener:Listener").filter(l => l.name.startsWith("nlb1-"))) {
            assert.equal(listener.inputs.tcpIdleTimeoutSeconds, 350, `${listener.name} has the published idle timeout`);
        }
        const alb = one(resources, "aws:lb/loadBalancer:LoadBalancer", "httpbin-alb");
        assert.equal(run.outputs.albArn, `arn:aws:mock:us-east-2:123456789012:${alb.name}`);
        assert.match(String(run.outputs.albDnsName), /^httpbin-alb-.*\.elb\.us-east-2\.amazonaws\.com$/);
        assert.match(String(run.outputs.nlbDnsName), /^nlb1-.*\.elb\.us-east-2\.amazonaws\.com$/);
        assert.equal(run.outputs.httpbinUrl, "https://httpbin.poc1009.example.com/");
        assert.equal(run.outputs.nlbUrl, "https://nlbtoalb.poc1009.example.com/");
    });

    it("gives NLB-1 one Elastic IP per subnet mapping, and nlbPublicIps are their addresses, sorted", () => {
        const nlb = one(resources, "aws:lb/loadBalancer:LoadBalancer", "nlb1");
        assert.equal(nlb.inputs.loadBalancerType, "network");
        assert.equal(nlb.inputs.internal, false);
        assert.equal(nlb.inputs.enableCrossZoneLoadBalancing, true);
        const mappings: { subnetId: string; allocationId: string }[] = nlb.inputs.subnetMappings;
        const eips = ofType(resources, "aws:ec2/eip:Eip").filter(e => e.parent?.endsWith("::nlb1"));
        assert.equal(mappings.length, 2);
        assert.equal(eips.length, mappings.length);
        assert.equal(new Set(mappings.map(m => m.subnetId)).size, mappings.length, "one mapping per subnet");
        assert.deepEqual(mappings.map(m => m.allocationId).sort(), eips.map(e => `eipalloc-${e.name}`).sort());
        // The mock gives nlb1-0 203.0.113.100 and nlb1-1 203.0.113.9: sorted as numbers, not as text.
        assert.deepEqual(run.outputs.nlbPublicIps, ["203.0.113.9", "203.0.113.100"]);
    });

    it("forwards each NLB-1 listener to an ALB-type target group on the same port, health-checked through the ALB", () => {
        const albArn = run.outputs.albArn;
        for (const port of [80, 443]) {
            const group = one(resources, "aws:lb/targetGroup:TargetGroup", `nlb1-${port}`);
            assert.equal(group.inputs.targetType, "alb");
            assert.equal(group.inputs.protocol, "TCP");
            assert.equal(group.inputs.port, port);
            assert.equal(group.inputs.healthCheck.protocol, port === 443 ? "HTTPS" : "HTTP");
            assert.equal(group.inputs.healthCheck.path, "/status/200");
            assert.equal(group.inputs.healthCheck.matcher, "200-399");
            const listener = one(resources, "aws:lb/listener:Listener", `nlb1-${port}`);
            assert.equal(listener.inputs.port, port);
            assert.equal(listener.inputs.protocol, "TCP");
            assert.equal(listener.inputs.defaultActions[0].targetGroupArn, `arn:aws:mock:us-east-2:123456789012:nlb1-${port}`);
            const attachment = one(resources, "aws:lb/targetGroupAttachment:TargetGroupAttachment", `nlb1-${port}`);
            assert.equal(attachment.inputs.targetId, albArn);
            assert.equal(attachment.inputs.port, port);
            // Registered only once the ALB has its listeners, and deregistered before they (or it) go.
            for (const listener of ["httpbin-https", "httpbin-http"]) {
                assert.ok(attachment.dependencies.includes(one(resources, "aws:lb/listener:Listener", listener).urn), `depends on ${listener}`);
            }
            assert.ok(attachment.dependencies.includes(one(resources, "aws:lb/loadBalancer:LoadBalancer", "httpbin-alb").urn));
        }
    });

    it("publishes nlbListenerPorts: NLB-1's listener ports, sorted numbers", async () => {
        const nlb1Ports = (r: DeclaredResource[]) => ofType(r, "aws:lb/listener:Listener").filter(l => l.name.startsWith("nlb1-")).map(l => l.inputs.port as number);
        assert.deepEqual(run.outputs.nlbListenerPorts, [80, 443]);
        assert.deepEqual(nlb1Ports(resources).sort((a, b) => a - b), [80, 443]);
        for (const [setting, published] of [["[443]", [443]], ["[443, 80]", [80, 443]]] as const) {
            const other = await runStack("global", { overrides: { "cross-region-proxy:listenerPorts": setting } });
            assert.deepEqual(other.outputs.nlbListenerPorts, published, `listenerPorts ${setting}`);
            assert.deepEqual(nlb1Ports(other.resources).sort((a, b) => a - b), published);
        }
    });

    it("lets the NLB health check reach httpbin on both ALB listeners, whatever the Host header", () => {
        for (const scheme of ["http", "https"]) {
            const rule = one(resources, "aws:lb/listenerRule:ListenerRule", `httpbin-${scheme}-health`);
            assert.deepEqual(rule.inputs.conditions, [{ pathPattern: { values: ["/status/200"] } }]);
            assert.equal(rule.inputs.actions[0].type, "forward");
            assert.match(rule.inputs.actions[0].targetGroupArn, /httpbin-app$/);
        }
        const targets = one(resources, "aws:lb/targetGroup:TargetGroup", "httpbin-app");
        assert.equal(targets.inputs.targetType, "ip");
        assert.equal(targets.inputs.healthCheck.path, "/status/200");
    });

    it("puts both certificates and the wildcard hosts of both domains on the ALB", () => {
        const https = one(resources, "aws:lb/listener:Listener", "httpbin-https");
        assert.equal(https.inputs.protocol, "HTTPS");
        assert.equal(https.inputs.certificateArn, "arn:aws:acm:us-east-2:123456789012:certificate/httpbin-global");
        const extra = one(resources, "aws:lb/listenerCertificate:ListenerCertificate");
        assert.equal(extra.inputs.certificateArn, "arn:aws:acm:us-east-2:123456789012:certificate/httpbin-china");
        const hosts = one(resources, "aws:lb/listenerRule:ListenerRule", "httpbin-https-hosts");
        assert.deepEqual(hosts.inputs.conditions[0].hostHeader.values, ["*.poc1009.example.com", "*.poc1010.example.com"]);
        const redirect = one(resources, "aws:lb/listenerRule:ListenerRule", "httpbin-http-hosts");
        assert.equal(redirect.inputs.actions[0].redirect.protocol, "HTTPS");
    });

    it("validates each certificate with its DNS record in the domain's zone", () => {
        for (const [name, domain] of [["httpbin-global", "poc1009.example.com"], ["httpbin-china", "poc1010.example.com"]]) {
            const certificate = one(resources, "aws:acm/certificate:Certificate", name);
            assert.equal(certificate.inputs.domainName, `*.${domain}`);
            assert.equal(certificate.inputs.validationMethod, "DNS");
            const record = one(resources, "aws:route53/record:Record", `${name}-validation`);
            assert.equal(record.inputs.name, `_0123456789abcdef.${domain}.`);
            assert.equal(record.inputs.type, "CNAME");
            assert.deepEqual(record.inputs.records, ["_fedcba9876543210.mock.acm-validations.aws."]);
            assert.equal(record.inputs.zoneId, `ZMOCK${domain.replace(/\./g, "").toUpperCase().slice(0, 16)}`);
            const validation = one(resources, "aws:acm/certificateValidation:CertificateValidation", name);
            assert.deepEqual(validation.inputs.validationRecordFqdns, [record.inputs.name]);
        }
    });

    it("installs the Load Balancer Controller chart for this cluster, region and VPC", () => {
        const chart = one(resources, "kubernetes:helm.sh/v4:Chart");
        assert.equal(chart.inputs.chart, "aws-load-balancer-controller");
        assert.equal(chart.inputs.repositoryOpts.repo, "https://aws.github.io/eks-charts");
        assert.equal(chart.inputs.values.clusterName, "crp-global");
        assert.equal(chart.inputs.values.region, "us-east-2");
        assert.equal(chart.inputs.values.vpcId, one(resources, "aws:ec2/vpc:Vpc").name + "-id");
        const role = one(resources, "aws:iam/role:Role", "httpbin-lb-controller");
        assert.equal(chart.inputs.values.serviceAccount.annotations["eks.amazonaws.com/role-arn"], `arn:aws:mock:us-east-2:123456789012:${role.name}`);
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        assert.equal(trust.Statement[0].Condition.StringEquals["oidc.eks.us-east-2.amazonaws.com/id/MOCK:sub"], "system:serviceaccount:kube-system:aws-load-balancer-controller");
        const cluster = one(resources, "eks:index:Cluster");
        assert.equal(cluster.inputs.name, "crp-global");
        assert.equal(cluster.inputs.createOidcProvider, true);
    });

    it("binds httpbin's pods to the ALB target group through the controller", () => {
        const binding = one(resources, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding");
        assert.match(binding.inputs.spec.targetGroupARN, /httpbin-app$/);
        assert.deepEqual(binding.inputs.spec.serviceRef, { name: "httpbin", port: 80 });
        const deployment = one(resources, "kubernetes:apps/v1:Deployment");
        assert.ok(deployment.inputs.spec.replicas >= 2);
        const pod = deployment.inputs.spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(pod.containers[0].readinessProbe.httpGet.path, "/status/200");
        assert.ok(pod.containers[0].resources.requests.cpu);
    });

    it("alarms on an unhealthy ALB behind each NLB-1 target group", () => {
        for (const port of [80, 443]) {
            const alarm = one(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", `nlb1-${port}-unhealthy`);
            assert.equal(alarm.inputs.namespace, "AWS/NetworkELB");
            assert.equal(alarm.inputs.metricName, "UnHealthyHostCount");
            assert.deepEqual(alarm.inputs.dimensions, { LoadBalancer: "net/nlb1/0123456789abcdef", TargetGroup: `targetgroup/nlb1-${port}/0123456789abcdef` });
            assert.deepEqual(alarm.inputs.alarmActions, [], "no topic configured");
        }
    });

    it("points httpbin.<domain> at the ALB and nlbtoalb.<domain> at NLB-1", () => {
        assert.equal(one(resources, "aws:route53/record:Record", "httpbin-app").inputs.name, "httpbin.poc1009.example.com");
        assert.equal(one(resources, "aws:route53/record:Record", "nlb1").inputs.name, "nlbtoalb.poc1009.example.com");
    });

    it("spreads the VPC over 2 AZs with subnets tagged for the Load Balancer Controller", () => {
        const subnets = ofType(resources, "aws:ec2/subnet:Subnet");
        const publicSubnets = subnets.filter(s => s.inputs.tags["kubernetes.io/role/elb"] === "1");
        assert.equal(publicSubnets.length, 2);
        assert.equal(new Set(publicSubnets.map(s => s.inputs.availabilityZone)).size, 2);
        assert.equal(subnets.filter(s => s.inputs.tags["kubernetes.io/role/internal-elb"] === "1").length, 2);
    });

    it("uses the aws partition in every ARN of the controller's policy", () => {
        const policy = one(resources, "aws:iam/policy:Policy", "httpbin-lb-controller");
        const arns = strings(JSON.parse(policy.inputs.policy)).filter(s => s.startsWith("arn:"));
        assert.ok(arns.length > 0);
        assert.ok(arns.every(a => a.startsWith("arn:aws:")));
    });
});

describe("global stack in a China region (mocked)", () => {
    it("writes the aws-cn partition into the controller's policy and every ARN it builds", async () => {
        const run = await runStack("global", { overrides: { "aws:region": "cn-north-1", "cross-region-proxy:httpbinImage": CN_HTTPBIN } });
        const policy = one(run.resources, "aws:iam/policy:Policy", "httpbin-lb-controller");
        const arns = strings(JSON.parse(policy.inputs.policy)).filter(s => s.startsWith("arn:"));
        assert.ok(arns.length > 0 && arns.every(a => a.startsWith("arn:aws-cn:")));
        const everything = run.resources.flatMap(r => strings(r.inputs));
        assert.deepEqual(everything.filter(s => s.includes("arn:aws:")), []);
        const node = one(run.resources, "aws:iam/role:Role", "httpbin-node");
        assert.match(node.inputs.assumeRolePolicy, /ec2\.amazonaws\.com\.cn/);
    });

    const existing = {
        vpcId: "vpc-0123456789abcdef0",
        publicSubnetIds: ["subnet-00000000000000001", "subnet-00000000000000002"],
        privateSubnetIds: ["subnet-00000000000000004", "subnet-00000000000000005"],
    };
    const failure = (options: Parameters<typeof runStack>[1]) => runStack("global", options).then(
        () => assert.fail("the run must fail"), (err: unknown) => err as OfflineRunError);

    it("looks up existingVpc's subnets in that VPC before anything is declared", async () => {
        const run = await runStack("global", { overrides: { "cross-region-proxy:existingVpc": JSON.stringify(existing) } });
        const lookups = run.invokes.filter(i => i.token === "aws:ec2/getSubnet:getSubnet");
        assert.deepEqual(lookups.map(l => l.inputs).sort((a, b) => a.id.localeCompare(b.id)),
            [...existing.publicSubnetIds, ...existing.privateSubnetIds].map(id => ({ id, vpcId: existing.vpcId })));
    });

    for (const [what, zones, gist] of [
        ["two public subnets in one zone", { "subnet-00000000000000002": "us-east-2b" }, /publicSubnetIds subnet-00000000000000001 and subnet-00000000000000002 are both in us-east-2b: the load balancers take one subnet per availability zone/],
        ["the private subnets in one zone", { "subnet-00000000000000004": "us-east-2c", "subnet-00000000000000005": "us-east-2c" }, /privateSubnetIds are all in us-east-2c: EKS needs its subnets in at least 2 availability zones/],
        ["a subnet that is not in the VPC", { "subnet-00000000000000005": null }, /subnet-00000000000000005 is not a subnet of vpc-0123456789abcdef0 in this region/],
    ] as const) {
        it(`refuses an existingVpc with ${what}, naming the key, before any resource`, async () => {
            const error = await failure({ overrides: { "cross-region-proxy:existingVpc": JSON.stringify(existing) }, subnetZones: zones });
            assert.ok(error instanceof OfflineRunError, String(error));
            assert.ok(error.message.startsWith("cross-region-proxy:existingVpc: "), error.message);
            assert.match(error.message, gist);
            assert.deepEqual(error.resources.filter(r => r.custom && r.type !== "pulumi:pulumi:StackReference").map(r => r.type), []);
        });
    }

    it("keeps the certificates' validation records on destroy: the global stacks of other regions share them", async () => {
        const run = await runStack("global");
        const records = run.resources.filter(r => r.type === "aws:route53/record:Record" && r.name.endsWith("-validation"));
        assert.equal(records.length, 2);
        assert.ok(records.every(r => r.retainOnDelete && r.inputs.allowOverwrite));
        assert.ok(run.resources.filter(r => r.custom && !r.name.endsWith("-validation")).every(r => !r.retainOnDelete), "nothing else");
    });

    it("replaces NLB-1 delete-first, keeping its Elastic IPs (they do not depend on it)", async () => {
        const run = await runStack("global");
        const nlb = one(run.resources, "aws:lb/loadBalancer:LoadBalancer", "nlb1");
        assert.equal(nlb.deleteBeforeReplace, true);
        const eips = ofType(run.resources, "aws:ec2/eip:Eip").filter(e => e.name.startsWith("nlb1-"));
        assert.ok(eips.length === 2 && eips.every(e => nlb.dependencies.includes(e.urn) && !e.dependencies.includes(nlb.urn)));
        assert.deepEqual(run.outputs.nlbSubnets, ["10.0.0.0/20", "10.0.16.0/20"], "the public subnets' blocks, for the next update's check");
    });

    describe("a subnet change that replaces NLB-1", () => {
        const lastUpdate = { nlbSubnets: ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"] };
        it("is refused while deletion protection is on, naming the key and the way out, before any resource", async () => {
            const error = await failure({ stackOutputs: lastUpdate });
            assert.ok(error instanceof OfflineRunError, String(error));
            assert.match(error.message, /^cross-region-proxy:deletionProtection: the change of vpcCidr or availabilityZoneCount removes 10\.0\.32\.0\/20 from NLB-1's subnets, which replaces NLB-1.*deletionProtection false' and 'pulumi up' first/);
            assert.deepEqual(error.resources.filter(r => r.custom && r.type !== "pulumi:pulumi:StackReference").map(r => r.type), []);
        });
        it("goes ahead with deletion protection off", () =>
            runStack("global", { stackOutputs: lastUpdate, overrides: { "cross-region-proxy:deletionProtection": "false" } }));
        it("goes ahead when subnets are only added (no replacement)", () =>
            runStack("global", { stackOutputs: { nlbSubnets: ["10.0.0.0/20", "10.0.16.0/20"] }, overrides: { "cross-region-proxy:availabilityZoneCount": "3" } }));
        it("names existingVpc when its public subnets change", async () => {
            const error = await failure({
                stackOutputs: { nlbSubnets: ["subnet-00000000000000001", "subnet-00000000000000003"] },
                overrides: { "cross-region-proxy:existingVpc": JSON.stringify(existing) },
            });
            assert.match(error.message, /the change of existingVpc\.publicSubnetIds removes subnet-00000000000000003 from NLB-1's subnets/);
        });
    });

    it("fails, saying why, when the region has fewer zones than availabilityZoneCount (the error is in an apply)", async () => {
        const error = await failure({ availabilityZones: 3, overrides: { "cross-region-proxy:availabilityZoneCount": "4" } });
        assert.ok(error instanceof OfflineRunError, String(error));
        assert.match(error.message, /availabilityZoneCount: the region has 3 available zones, fewer than the 4 asked for/);
    });

    it("uses an existing VPC instead of creating one", async () => {
        const existingVpc = JSON.stringify({
            vpcId: "vpc-0123456789abcdef0",
            publicSubnetIds: ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"],
            privateSubnetIds: ["subnet-00000000000000004", "subnet-00000000000000005"],
        });
        const run = await runStack("global", { overrides: { "cross-region-proxy:existingVpc": existingVpc } });
        assert.equal(ofType(run.resources, "aws:ec2/vpc:Vpc").length, 0);
        const nlb = one(run.resources, "aws:lb/loadBalancer:LoadBalancer", "nlb1");
        assert.deepEqual(nlb.inputs.subnetMappings.map((m: { subnetId: string }) => m.subnetId),
            ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"]);
        assert.equal((run.outputs.nlbPublicIps as string[]).length, 3);
    });
});
