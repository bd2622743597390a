// The policy pack: each policy against a crafted resource that breaks it and one that keeps it, then
// the whole pack over what both stacks declare under the mocks in both partitions (npm run policy).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { lbControllerPolicy } from "../components/lbControllerPolicy";
import { DeclaredResource } from "../offline/mocks";
import { runStack } from "../offline/run";
import { PolicyConfig, SCENARIOS, checkPolicies, checkScenario, packConfigFor, policyResources } from "../offline/policy";
import { matcherAccepts200 } from "../policy/loadBalancers";
import { policies } from "../policy/policies";
import { USER_DATA_LIMIT } from "../policy/userData";
import { renderArtifact } from "../proxy/render";
import { encodeUserData } from "../proxy/userData";

/** A declared resource; `from` names, per input property, the resources (by name) its value came from. */
interface Crafted { readonly type: string; readonly name?: string; readonly props: Record<string, any>; readonly from?: Record<string, string[]> }

interface Case {
    readonly title: string;
    readonly resources: Crafted[];
    readonly region?: string;
    readonly config?: PolicyConfig;
}

function declare(crafted: Crafted[]): DeclaredResource[] {
    const urn = (c: Crafted, i: number) => `urn:pulumi:test::p::${c.type}::${c.name ?? `r${i}`}`;
    const byName = new Map(crafted.map((c, i) => [c.name ?? `r${i}`, urn(c, i)]));
    return crafted.map((c, i) => ({
        urn: urn(c, i), type: c.type, name: c.name ?? `r${i}`, custom: true, inputs: c.props, ignoreChanges: [],
        dependencies: Object.values(c.from ?? {}).flat().map(n => byName.get(n)!),
        propertyDependencies: Object.fromEntries(Object.entries(c.from ?? {}).map(([k, names]) => [k, names.map(n => byName.get(n)!)])),
    }));
}

const violationsOf = (policy: string, c: Case) =>
    checkPolicies(policyResources(declare(c.resources), c.region ?? "us-east-2"), c.config, [policy]);

const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const LB = "aws:lb/loadBalancer:LoadBalancer";
const LISTENER = "aws:lb/listener:Listener";
const TG = "aws:lb/targetGroup:TargetGroup";
const CF = "aws:cloudfront/distribution:Distribution";
const tcp = (port: number, cidr = "0.0.0.0/0") => ({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: [cidr] });
const template = (extra: Record<string, any>) => ({ metadataOptions: { httpTokens: "required" }, ...extra });
const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");
const policyDoc = (statement: object) => JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
const publicNlb = (port: number, rule: object, internal = false): Crafted[] => [
    { type: SG, name: "nlb-sg", props: { ingress: [rule] } },
    { type: LB, name: "nlb", props: { loadBalancerType: "network", internal, securityGroups: ["sg-1"] }, from: { securityGroups: ["nlb-sg"] } },
    { type: LISTENER, name: "l", props: { port, protocol: "TCP" }, from: { loadBalancerArn: ["nlb"] } },
];
const fronting = (lb: Record<string, any>): Crafted[] => [
    { type: TG, name: "to-alb", props: { targetType: "alb", protocol: "TCP", port: 443 } },
    { type: LB, name: "nlb1", props: { loadBalancerType: "network", internal: false, ...lb } },
    { type: LISTENER, name: "l", props: { port: 443 }, from: { loadBalancerArn: ["nlb1"], defaultActions: ["to-alb"] } },
];
const albTargets = (healthCheck: object): Crafted[] => [{ type: TG, props: { targetType: "alb", protocol: "TCP", port: 443, healthCheck } }];
const distribution = (viewer: object, origin: object): Crafted[] => [{
    type: CF, props: {
        viewerCertificate: { minimumProtocolVersion: "TLSv1.2_2021", sslSupportMethod: "sni-only", ...viewer },
        origins: [{ originId: "nlb2", domainName: "test.example.com", customOriginConfig: { originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"], ...origin } }],
    },
}];
const userData = (script: string | Buffer): Crafted[] => [{ type: LT, props: template({ userData: b64(script) }) }];
const gzip = (text: string) => zlib.gzipSync(Buffer.from(text));
const rendered = renderArtifact("user-data", { destinations: ["203.0.113.10"], ports: [80, 443] });

/** Per policy: resources that must be reported, then resources that must pass. */
const CASES: Record<string, { bad: Case[]; good: Case[] }> = {
    "ec2-imdsv2-required": {
        bad: [{ title: "httpTokens optional", resources: [{ type: LT, props: { metadataOptions: { httpTokens: "optional" } } }] },
            { title: "an instance without metadataOptions", resources: [{ type: "aws:ec2/instance:Instance", props: {} }] }],
        good: [{ title: "httpTokens required", resources: [{ type: LT, props: template({}) }] }],
    },
    "ec2-no-key-pair": {
        bad: [{ title: "a launch template with keyName", resources: [{ type: LT, props: template({ keyName: "ops" }) }] },
            { title: "a node group with an SSH key", resources: [{ type: "aws:eks/nodeGroup:NodeGroup", props: { remoteAccess: { ec2SshKey: "ops" } } }] }],
        good: [{ title: "no keyName", resources: [{ type: LT, props: template({}) }] }],
    },
    "ec2-encrypted-volumes": {
        bad: [{ title: "an unencrypted EBS mapping", resources: [{ type: LT, props: template({ blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 8 } }] }) }] },
            { title: "an unencrypted volume", resources: [{ type: "aws:ebs/volume:Volume", props: { size: 8 } }] }],
        good: [{ title: "encrypted: \"true\"", resources: [{ type: LT, props: template({ blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }] }) }] }],
    },
    "ec2-no-ssh": {
        bad: [{ title: "22 from a private range", resources: [{ type: SG, props: { ingress: [tcp(22, "10.0.0.0/8")] } }] },
            { title: "all traffic from addresses", resources: [{ type: "aws:ec2/securityGroupRule:SecurityGroupRule", props: { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["192.0.2.0/24"] } }] },
            { title: "a 20-25 rule from another group", resources: [{ type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", props: { ipProtocol: "tcp", fromPort: 20, toPort: 25, referencedSecurityGroupId: "sg-1" } }] }],
        good: [{ title: "443 from addresses, all traffic between groups", resources: [
            { type: SG, props: { ingress: [tcp(443, "10.0.0.0/8")] } },
            { type: "aws:ec2/securityGroupRule:SecurityGroupRule", props: { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, self: true } }] }],
    },
    "ec2-public-ingress-only-to-listeners": {
        bad: [{ title: "443 from anywhere on a group no load balancer uses", resources: [{ type: SG, props: { ingress: [tcp(443)] } }] },
            { title: "a port the load balancer does not listen on", resources: publicNlb(443, tcp(8080)) },
            { title: "an internal load balancer's group", resources: publicNlb(443, tcp(443), true) },
            { title: "a separate ::/0 ingress rule to a group of no load balancer", resources: [
                { type: SG, name: "g", props: {} },
                { type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", props: { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv6: "::/0" }, from: { securityGroupId: ["g"] } }] }],
        good: [{ title: "the NLB's own group on its listener port", resources: publicNlb(443, tcp(443)) },
            { title: "a separate rule to the NLB's group on its listener port", resources: [...publicNlb(443, tcp(443, "10.0.0.0/16")),
                { type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", props: { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" }, from: { securityGroupId: ["nlb-sg"] } }] }],
    },
    "partition-arns": {
        bad: [{ title: "arn:aws: in aws-cn", region: "cn-northwest-1", resources: [{ type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", props: { policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } }] },
            { title: "arn:aws-cn: in aws", resources: [{ type: "aws:sns/topicSubscription:TopicSubscription", props: { topic: "arn:aws-cn:sns:cn-north-1:123456789012:t" } }] },
            { title: "no region on the provider", region: "", resources: [{ type: "aws:ec2/vpc:Vpc", props: {} }] }],
        good: [{ title: "arn:aws-cn: in aws-cn", region: "cn-north-1", resources: [{ type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", props: { policyArn: "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore" } }] }],
    },
    "partition-service-principals": {
        bad: [{ title: "ec2.amazonaws.com in aws-cn", region: "cn-northwest-1", resources: [{ type: "aws:iam/role:Role", props: { assumeRolePolicy: policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }) } }] },
            { title: "a .com.cn principal in aws", resources: [{ type: "aws:iam/role:Role", props: { assumeRolePolicy: policyDoc({ Effect: "Allow", Principal: { Service: ["ec2.amazonaws.com.cn"] }, Action: "sts:AssumeRole" }) } }] }],
        good: [{ title: "ec2.amazonaws.com.cn in aws-cn", region: "cn-north-1", resources: [{ type: "aws:iam/role:Role", props: { assumeRolePolicy: policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com.cn" }, Action: "sts:AssumeRole" }) } }] }],
    },
    "tls-listener-policy": {
        bad: [{ title: "HTTPS with the default policy", resources: [{ type: LISTENER, props: { protocol: "HTTPS", port: 443 } }] },
            { title: "HTTPS with ELBSecurityPolicy-2016-08", resources: [{ type: LISTENER, props: { protocol: "HTTPS", port: 443, sslPolicy: "ELBSecurityPolicy-2016-08" } }] }],
        good: [{ title: "ELBSecurityPolicy-TLS13-1-2-2021-06, and plain HTTP", resources: [
            { type: LISTENER, props: { protocol: "HTTPS", port: 443, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" } },
            { type: LISTENER, props: { protocol: "HTTP", port: 80 } }] }],
    },
    "tls-cloudfront": {
        bad: [{ title: "viewer TLSv1.2_2019", resources: distribution({ minimumProtocolVersion: "TLSv1.2_2019" }, {}) },
            { title: "the default certificate", resources: distribution({ cloudfrontDefaultCertificate: true }, {}) },
            { title: "origin match-viewer", resources: distribution({}, { originProtocolPolicy: "match-viewer" }) },
            { title: "origin TLSv1.1 too", resources: distribution({}, { originSslProtocols: ["TLSv1.1", "TLSv1.2"] }) }],
        good: [{ title: "TLSv1.2_2021, https-only, TLSv1.2", resources: distribution({}, {}) }],
    },
    "lb-nlb-to-alb-elastic-ips": {
        bad: [{ title: "subnets without Elastic IPs", resources: fronting({ subnets: ["subnet-1", "subnet-2"] }) },
            { title: "a mapping without allocationId", resources: fronting({ subnetMappings: [{ subnetId: "subnet-1", allocationId: "eipalloc-1" }, { subnetId: "subnet-2" }] }) }],
        good: [{ title: "every subnet mapped to an Elastic IP", resources: fronting({ subnetMappings: [{ subnetId: "subnet-1", allocationId: "eipalloc-1" }] }) }],
    },
    "lb-alb-target-health-check": {
        bad: [{ title: "a TCP check", resources: albTargets({ protocol: "TCP", path: "/status/200", matcher: "200" }) },
            { title: "a matcher without 200", resources: albTargets({ protocol: "HTTPS", path: "/status/200", matcher: "300-399" }) },
            { title: "no path", resources: albTargets({ protocol: "HTTP", matcher: "200" }) }],
        good: [{ title: "HTTPS on a path, 200-399", resources: albTargets({ protocol: "HTTPS", path: "/status/200", matcher: "200-399" }) }],
    },
    "lb-deletion-protection": {
        bad: [{ title: "unset while the stack wants it", resources: [{ type: LB, props: { loadBalancerType: "network" } }] },
            { title: "on while the stack turned it off", config: { "lb-deletion-protection": { deletionProtection: false } }, resources: [{ type: LB, props: { enableDeletionProtection: true } }] }],
        good: [{ title: "on by default", resources: [{ type: LB, props: { enableDeletionProtection: true } }] },
            { title: "off when the stack says so", config: { "lb-deletion-protection": { deletionProtection: false } }, resources: [{ type: LB, props: { enableDeletionProtection: false } }] }],
    },
    "iam-no-wildcard-action-on-all-resources": {
        bad: [{ title: "* on *", resources: [{ type: "aws:iam/policy:Policy", props: { policy: policyDoc({ Effect: "Allow", Action: "*", Resource: "*" }) } }] },
            { title: "ec2:* on * in an inline role policy", resources: [{ type: "aws:iam/role:Role", props: { inlinePolicies: [{ policy: policyDoc({ Effect: "Allow", Action: ["ec2:*"], Resource: ["*"] }) }] } }] }],
        good: [{ title: "named and read-only actions on *, a whole service on one ARN", resources: [
            { type: "aws:iam/policy:Policy", props: { policy: policyDoc({ Effect: "Allow", Action: ["ec2:Describe*", "ec2:CreateTags"], Resource: "*" }) } },
            { type: "aws:iam/rolePolicy:RolePolicy", props: { policy: policyDoc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::bucket/*" }) } }] },
        ...(["aws", "aws-cn"] as const).map(partition => ({ title: `the Load Balancer Controller's published policy (${partition})`, region: partition === "aws" ? "us-east-2" : "cn-north-1",
            resources: [{ type: "aws:iam/policy:Policy", props: { policy: JSON.stringify(lbControllerPolicy(partition)) } }] }))],
    },
    "iam-put-metric-data-namespace": {
        bad: [{ title: "PutMetricData without a condition", resources: [{ type: "aws:iam/rolePolicy:RolePolicy", props: { policy: policyDoc({ Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*" }) } }] },
            { title: "cloudwatch:* without a condition", resources: [{ type: "aws:iam/policy:Policy", props: { policy: policyDoc({ Effect: "Allow", Action: ["cloudwatch:*"], Resource: "*" }) } }] }],
        good: [{ title: "PutMetricData in one namespace", resources: [{ type: "aws:iam/rolePolicy:RolePolicy", props: { policy: policyDoc({
            Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "CrossRegionProxy" } },
        }) } }] }],
    },
    "user-data-size": {
        bad: [{ title: "16 KiB + 1 byte", resources: userData("#".repeat(USER_DATA_LIMIT + 1)) }],
        good: [{ title: "exactly 16 KiB", resources: userData("#".repeat(USER_DATA_LIMIT)) },
            { title: "gzip of 64 KiB that compresses under 16 KiB", resources: userData(gzip("#".repeat(4 * USER_DATA_LIMIT))) }],
    },
    "user-data-no-table-flush": {
        bad: [
            ...["iptables -F", "iptables -t nat -F", "iptables -w -X", "sudo iptables --flush; echo", "iptables-restore < /etc/rules", "ip6tables-restore -w <<<\"$r\"", "nft flush ruleset"]
                .map(line => ({ title: line, resources: userData(`#!/bin/bash\nset -e\n${line}\n`) })),
            { title: "iptables -t nat -F inside gzip", resources: userData(gzip("#!/bin/bash\niptables -t nat -F\n")) },
            {
                title: "iptables -t nat -F inside a gz+b64 write_files entry (how the proxy's scripts are stored)",
                resources: userData(`#cloud-config\nwrite_files:\n  - path: /usr/local/sbin/x\n    encoding: gz+b64\n    content: ${gzip("#!/bin/bash\niptables -t nat -F\n").toString("base64")}\n`),
            },
            {
                title: "iptables-restore without --noflush in the rendered script, stored as the user-data stores it",
                resources: userData(encodeUserData(rendered.replace("iptables-restore -w --noflush", "iptables-restore -w"))),
            },
        ],
        good: [{ title: "our own chain, --noflush, a name in a list", resources: userData("#!/bin/bash\niptables -F CRPROXY-FORWARD\niptables-restore -w --noflush <<<\"$r\"\nfor t in iptables iptables-restore; do command -v $t; done\n") },
            { title: "the rendered proxy user-data, as the launch template holds it (gzipped)", resources: userData(encodeUserData(rendered)) }],
    },
};

describe("policy pack", () => {
    it("has a violating and a passing case for every policy, and nothing else", () => {
        assert.deepEqual(Object.keys(CASES).sort(), policies.map(p => p.name).sort());
    });

    for (const [policy, { bad, good }] of Object.entries(CASES)) {
        describe(policy, () => {
            for (const c of bad) {
                it(`reports ${c.title}`, async () => {
                    const violations = await violationsOf(policy, c);
                    assert.ok(violations.length > 0, `${policy} passed ${c.title}`);
                    assert.ok(violations.every(v => v.policy === policy && v.message.length > 0));
                });
            }
            for (const c of good) {
                it(`passes ${c.title}`, async () => assert.deepEqual(await violationsOf(policy, c), []));
            }
        });
    }

    describe("matcherAccepts200", () => {
        for (const ok of ["200", "200-399", "200,302", "200-200"]) it(`accepts ${ok}`, () => assert.ok(matcherAccepts200(ok)));
        for (const bad of ["", "300-399", "100-200", "200-500", "2xx", "200,", undefined]) it(`refuses ${JSON.stringify(bad)}`, () => assert.ok(!matcherAccepts200(bad)));
    });
});

describe("npm run policy: the pack over both stacks in both partitions (mocked)", () => {
    for (const scenario of SCENARIOS) {
        it(`passes ${scenario.label}`, async () => assert.deepEqual(await checkScenario(scenario), []));
    }

    it("follows deletionProtection: false to every load balancer, and the pack expects it", async () => {
        for (const base of [SCENARIOS[0], SCENARIOS[2]]) {
            const scenario = { ...base, options: { ...base.options, overrides: { ...base.options.overrides, "cross-region-proxy:deletionProtection": "false" } } };
            assert.deepEqual(await checkScenario(scenario), [], scenario.label);
            const run = await runStack(scenario.stack, scenario.options);
            const lbs = run.resources.filter(r => r.type === "aws:lb/loadBalancer:LoadBalancer");
            assert.ok(lbs.length > 0 && lbs.every(lb => lb.inputs.enableDeletionProtection === false), scenario.label);
        }
    });
});

describe("the pack in the workflows", () => {
    const workflow = (name: string) => fs.readFileSync(path.join(__dirname, "..", ".github", "workflows", name), "utf8");

    it("previews both stacks with the pack on pull requests from this repository only", () => {
        const text = workflow("pull-request.yml");
        assert.match(text, /if: github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
        assert.match(text, /- stack: global[\s\S]*- stack: china/);
        assert.match(text, /command: preview\n\s+stack-name: \$\{\{ vars\.PULUMI_ORGANIZATION \}\}\/cross-region-proxy\/\$\{\{ matrix\.stack \}\}\n\s+policyPacks: policy\n/);
    });

    it("deploys global, then china, each behind its environment and with the pack", () => {
        const text = workflow("deploy.yml");
        for (const stack of ["global", "china"]) {
            assert.match(text, new RegExp(`environment: ${stack}\\n[\\s\\S]*?command: up\\n\\s+stack-name: \\$\\{\\{ vars\\.PULUMI_ORGANIZATION \\}\\}/cross-region-proxy/${stack}\\n\\s+policyPacks: policy\\n`));
        }
        assert.match(text, /up-china:\n\s+needs: up-global\n/);
    });

    it("gives the pack the deletion protection the stack file asks for", () => {
        assert.deepEqual(packConfigFor({}), { "lb-deletion-protection": { deletionProtection: true } });
        assert.deepEqual(packConfigFor({ "cross-region-proxy:deletionProtection": "false" }), { "lb-deletion-protection": { deletionProtection: false } });
    });
});
