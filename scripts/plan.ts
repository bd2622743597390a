// npm run plan [-- --stack global|china] [--json FILE] [--set namespace:key=value ...]
// The main job without a cloud account: runs the real program of each stack under Pulumi mocks with the
// values of its stack file and prints what it would declare. No cloud call, no credentials, no CLI.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { DeclaredResource } from "../offline/mocks";
import { OfflineRun, runStack } from "../offline/run";

const STACKS = ["global", "china"] as const;
type Stack = typeof STACKS[number];

/** The inputs worth reading in a plan, per resource type; everything else is left out for brevity. */
const SHOWN: Record<string, string[]> = {
    "aws:ec2/vpc:Vpc": ["cidrBlock"],
    "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone"],
    "aws:ec2/securityGroup:SecurityGroup": ["ingress", "egress"],
    "aws:lb/loadBalancer:LoadBalancer": ["loadBalancerType", "internal", "subnetMappings", "subnets", "enableCrossZoneLoadBalancing"],
    "aws:lb/listener:Listener": ["port", "protocol", "certificateArn", "tcpIdleTimeoutSeconds"],
    "aws:lb/listenerRule:ListenerRule": ["priority", "conditions"],
    "aws:lb/listenerCertificate:ListenerCertificate": ["certificateArn"],
    "aws:lb/targetGroup:TargetGroup": ["targetType", "protocol", "port", "healthCheck", "preserveClientIp"],
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": ["targetId", "port"],
    "aws:acm/certificate:Certificate": ["domainName"],
    "aws:route53/record:Record": ["name", "type"],
    "eks:index:Cluster": ["name", "version", "createOidcProvider"],
    "eks:index:ManagedNodeGroup": ["instanceTypes", "scalingConfig"],
    "kubernetes:helm.sh/v4:Chart": ["chart", "version", "values"],
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": ["spec"],
    "aws:ec2/launchTemplate:LaunchTemplate": ["imageId", "instanceType", "metadataOptions"],
    "aws:autoscaling/group:Group": ["minSize", "desiredCapacity", "maxSize", "vpcZoneIdentifiers", "instanceRefresh"],
    "aws:cloudfront/distribution:Distribution": ["aliases", "origins", "defaultCacheBehavior", "viewerCertificate"],
    "aws:iam/serverCertificate:ServerCertificate": ["path", "privateKey"],
    "pulumi:pulumi:StackReference": ["name"],
};

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Secrets print as [secret]; deep values as compact JSON. */
function show(value: unknown): string {
    return JSON.stringify(value, (_, v) => (v && typeof v === "object" && SECRET_SIG_KEY in v ? "[secret]" : v));
}

function shownInputs(resource: DeclaredResource): Record<string, unknown> {
    const keys = SHOWN[resource.type] ?? [];
    return Object.fromEntries(keys.filter(k => resource.inputs[k] !== undefined).map(k => [k, JSON.parse(show(resource.inputs[k]))]));
}

function printTree(run: OfflineRun): void {
    const children = new Map<string | undefined, DeclaredResource[]>();
    for (const r of run.resources) {
        const parent = run.resources.some(p => p.urn === r.parent) ? r.parent : undefined;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const walk = (parent: string | undefined, depth: number) => {
        for (const r of children.get(parent) ?? []) {
            const indent = "  ".repeat(depth + 1);
            console.log(`${indent}+ ${r.type}  ${r.name}`);
            for (const [key, value] of Object.entries(shownInputs(r))) {
                console.log(`${indent}    ${key}: ${show(value)}`);
            }
            walk(r.urn, depth + 1);
        }
    };
    walk(undefined, 0);
}

function report(run: OfflineRun): object {
    return {
        stack: run.stack,
        resources: run.resources.map(r => ({ type: r.type, name: r.name, parent: r.parent, inputs: shownInputs(r) })),
        outputs: run.outputs,
    };
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        args: process.argv.slice(2),
        strict: true,
        options: { stack: { type: "string" }, json: { type: "string" }, set: { type: "string", multiple: true } },
    });
    if (values.stack !== undefined && !(STACKS as readonly string[]).includes(values.stack)) {
        throw new Error(`--stack: expected ${STACKS.join(" or ")}, got '${values.stack}'`);
    }
    const overrides: Record<string, string> = {};
    for (const pair of values.set ?? []) {
        const at = pair.indexOf("=");
        if (at < 1 || !pair.slice(0, at).includes(":")) {
            throw new Error(`--set: expected namespace:key=value, got '${pair}'`);
        }
        overrides[pair.slice(0, at)] = pair.slice(at + 1);
    }
    const wanted: Stack[] = values.stack ? [values.stack as Stack] : [...STACKS];

    console.log("OFFLINE PLAN: the real program under Pulumi mocks. No cloud call was made; IDs, ARNs and");
    console.log("addresses are placeholders (203.0.113.0/24 is a documentation range). `pulumi preview` shows the real plan.\n");
    // The china stack reads NLB-1's addresses from the global stack: feed it the global plan's.
    const globalRun = await runStack("global", { overrides: pick(overrides, "global") });
    const runs: OfflineRun[] = [];
    if (wanted.includes("global")) runs.push(globalRun);
    if (wanted.includes("china")) {
        runs.push(await runStack("china", {
            overrides: pick(overrides, "china"),
            stackOutputs: { nlbPublicIps: globalRun.outputs.nlbPublicIps },
            secretKeys: ["cross-region-proxy:cloudfrontPrivateKey"],
        }));
    }
    for (const run of runs) {
        console.log(`=== stack ${run.stack}: ${run.resources.length} resources (Pulumi.${run.stack}.yaml)`);
        printTree(run);
        console.log(`\n  outputs:`);
        for (const [name, value] of Object.entries(run.outputs)) {
            console.log(`    ${name}: ${show(value)}`);
        }
        if (run.stack === "china") {
            const template = run.resources.find(r => r.type === "aws:ec2/launchTemplate:LaunchTemplate");
            console.log(`\n  proxy user-data (fed with the global plan's nlbPublicIps ${show(globalRun.outputs.nlbPublicIps)}):\n`);
            console.log(Buffer.from(String(template?.inputs.userData ?? ""), "base64").toString("utf8").replace(/^/gm, "    "));
            if (run.outputs.cloudfrontDomainName === null) {
                console.log("  CloudFront: disabled in Pulumi.china.yaml (cross-region-proxy:cloudfrontEnabled); see the README to enable it.");
            }
        }
        console.log("");
    }
    if (values.json) {
        fs.writeFileSync(values.json, JSON.stringify({ offline: true, stacks: runs.map(report) }, null, 2) + "\n");
        console.log(`wrote ${values.json}`);
    }
}

/** --set values apply to the stacks whose config has the key's namespace and role. */
function pick(overrides: Record<string, string>, stack: Stack): Record<string, string> {
    const prefix = `${stack}/`;
    return Object.fromEntries(Object.entries(overrides)
        .filter(([k]) => !k.includes("/") || k.startsWith(prefix))
        .map(([k, v]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, v]));
}

main().catch(err => {
    console.error(`plan: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
