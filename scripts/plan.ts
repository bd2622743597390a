// npm run plan [-- --stack global|china] [--json FILE] [--set [global/|china/]namespace:key=value ...] (--help)
// The main job without a cloud account: runs the real program of each stack under Pulumi mocks with the
// values of its stack file and prints what it would declare. No cloud call, no credentials, no CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { isUsageError, parseFlags } from "../core/cli";
import { InvalidValueError } from "../core/validate";
import { DeclaredResource } from "../offline/mocks";
import { OfflineRun, readStackConfig, runStack } from "../offline/run";

const STACKS = ["global", "china"] as const;
type Stack = typeof STACKS[number];

/** A launch template's user-data as cloud-init reads it (gunzipped when gzip), and its size as EC2 counts it. */
export function decodeUserData(base64: string): { text: string; bytes: number; gzipped: boolean } {
    const bytes = Buffer.from(base64, "base64");
    const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
    return { text: (gzipped ? zlib.gunzipSync(bytes) : bytes).toString("utf8"), bytes: bytes.length, gzipped };
}

/** The inputs worth reading in a plan, per resource type; everything else is left out for brevity. */
const SHOWN: Record<string, string[]> = {
    "aws:ec2/vpc:Vpc": ["cidrBlock"],
    "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone"],
    "aws:ec2/securityGroup:SecurityGroup": ["ingress", "egress"],
    "aws:lb/loadBalancer:LoadBalancer": ["loadBalancerType", "internal", "subnetMappings", "subnets", "enableCrossZoneLoadBalancing"],
    "aws:lb/listener:Listener": ["port", "protocol", "certificateArn", "tcpIdleTimeoutSeconds"],
    "aws:lb/listenerRule:ListenerRule": ["priority", "conditions"],
    "aws:lb/listenerCertificate:ListenerCertificate": ["certificateArn"],
    "aws:lb/targetGroup:TargetGroup": ["targetType", "protocol", "port", "healthCheck", "preserveClientIp", "deregistrationDelay", "connectionTermination"],
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": ["targetId", "port"],
    "aws:acm/certificate:Certificate": ["domainName"],
    "aws:route53/record:Record": ["name", "type"],
    "eks:index:Cluster": ["name", "version", "createOidcProvider"],
    "eks:index:ManagedNodeGroup": ["instanceTypes", "scalingConfig"],
    "kubernetes:helm.sh/v4:Chart": ["chart", "version", "values"],
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": ["spec"],
    "aws:ec2/launchTemplate:LaunchTemplate": ["imageId", "instanceType", "metadataOptions"],
    "aws:autoscaling/group:Group": ["minSize", "desiredCapacity", "maxSize", "vpcZoneIdentifiers", "instanceRefresh", "defaultInstanceWarmup"],
    "aws:autoscaling/policy:Policy": ["policyType", "targetTrackingConfiguration"],
    "aws:autoscaling/lifecycleHook:LifecycleHook": ["name", "lifecycleTransition", "heartbeatTimeout", "defaultResult"],
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

function printTree(run: OfflineRun, say: (line: string) => void): void {
    const children = new Map<string | undefined, DeclaredResource[]>();
    for (const r of run.resources) {
        const parent = run.resources.some(p => p.urn === r.parent) ? r.parent : undefined;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const walk = (parent: string | undefined, depth: number) => {
        for (const r of children.get(parent) ?? []) {
            const indent = "  ".repeat(depth + 1);
            say(`${indent}+ ${r.type}  ${r.name}`);
            for (const [key, value] of Object.entries(shownInputs(r))) {
                say(`${indent}    ${key}: ${show(value)}`);
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

const USAGE = `usage: npm run plan [-- [--stack global|china] [--json FILE] [--set [global/|china/]namespace:key=value ...] [--stack-dir DIR]]

Runs the real program of each stack under Pulumi mocks with the values of its stack file (Pulumi.<stack>.yaml)
and prints the resources it would declare, its outputs and the proxy user-data. No cloud call is made.
  --stack NAME      plan one stack (the china stack is still fed with the global plan's outputs)
  --json FILE       write the plan as JSON to FILE and print nothing else (errors still go to stderr)
  --set K=V         override a config value; without a prefix it applies to every stack file that has
                    the key, with global/ or china/ to that stack only
  --stack-dir DIR   read the stack files from DIR instead of the project directory
  --help            this text
npm takes options before '--' for itself: write 'npm run plan -- --stack china'.`;

export interface PlanOptions {
    readonly stacks: Stack[];
    readonly json?: string;
    readonly overrides: Record<Stack, Record<string, string>>;
    readonly stackDir?: string;
}

/** The command line, strictly (core/cli): unknown, repeated or stray arguments are errors that say what to write. */
export function parsePlanArgs(args: string[], stackFiles: (dir: string | undefined) => Record<Stack, Record<string, string>>): PlanOptions | "help" {
    const { values, positionals, help } = parseFlags(args, {
        stack: { type: "string" }, json: { type: "string" }, set: { type: "string", multiple: true }, "stack-dir": { type: "string" },
    }, true);
    if (help) return "help";
    if (positionals.length > 0) {
        // `npm run plan --stack china` (no `--`): npm keeps --stack for itself and passes `china` on.
        const hint = (STACKS as readonly string[]).includes(positionals[0])
            ? `npm took the option before it for itself: write 'npm run plan -- --stack ${positionals[0]}'`
            : "options go after '--': npm run plan -- --stack china";
        throw new InvalidValueError(`'${positionals[0]}'`, `unexpected argument: ${hint}`);
    }
    if (values.stack !== undefined && !(STACKS as readonly string[]).includes(values.stack)) {
        throw new InvalidValueError("--stack", `expected ${STACKS.join(" or ")}, got '${values.stack}'`);
    }
    const files = stackFiles(values["stack-dir"]);
    const overrides: Record<Stack, Record<string, string>> = { global: {}, china: {} };
    for (const pair of values.set ?? []) {
        const at = pair.indexOf("=");
        const target = at < 0 ? pair : pair.slice(0, at);
        const slash = target.indexOf("/");
        const key = target.slice(slash + 1);
        if (at < 1 || !/^[^:\s/]+:[^:\s/]+$/.test(key)) {
            throw new InvalidValueError("--set", `expected [global/|china/]namespace:key=value, got '${pair}'`);
        }
        const value = pair.slice(at + 1);
        if (slash >= 0) {
            const prefix = target.slice(0, slash);
            if (!(STACKS as readonly string[]).includes(prefix)) {
                throw new InvalidValueError("--set", `unknown stack '${prefix}/' in '${pair}': expected global/ or china/`);
            }
            overrides[prefix as Stack][key] = value;
            continue;
        }
        const holders = STACKS.filter(stack => key in files[stack]);
        if (holders.length === 0) {
            throw new InvalidValueError("--set", `no stack file sets ${key}: say which stack it is for, e.g. --set china/${key}=${value}`);
        }
        for (const stack of holders) overrides[stack][key] = value;
    }
    return { stacks: values.stack ? [values.stack as Stack] : [...STACKS], json: values.json, overrides, stackDir: values["stack-dir"] };
}

const stackFile = (stack: Stack, dir: string | undefined) => dir === undefined ? undefined : path.join(dir, `Pulumi.${stack}.yaml`);

/** What a reader of the plan must know that the tree does not show: a component left out, and why. */
function notes(run: OfflineRun, config: Record<string, string>): string[] {
    if (run.stack !== "china") return [];
    const notes: string[] = [];
    if (run.outputs.cloudfrontDomainName === null) {
        notes.push("CloudfrontEdge: disabled by cloudfrontEnabled=false. To plan it: --set china/cross-region-proxy:cloudfrontEnabled=true"
            + " --set china/cross-region-proxy:cloudfrontIamCertificateId=ASCAEXAMPLEEXAMPLE000 (README, \"China stack\").");
    }
    if (config["cross-region-proxy:proxyAmiId"] === undefined) {
        notes.push("proxyAmiId: not pinned. The first `pulumi up` takes the latest Amazon Linux 2023 AMI and keeps it; pin the one it"
            + " reports (output proxyAmiId; here a placeholder) with `pulumi config set cross-region-proxy:proxyAmiId <ami-id>`,"
            + " so that a new AMI is a deliberate change that rolls the fleet.");
    }
    return notes;
}

async function main(): Promise<void> {
    const options = parsePlanArgs(process.argv.slice(2), dir => ({
        global: readStackConfig("global", stackFile("global", dir)).values,
        china: readStackConfig("china", stackFile("china", dir)).values,
    }));
    if (options === "help") {
        console.log(USAGE);
        return;
    }
    // --json runs are quiet: the file is the result, stdout stays empty, errors go to stderr.
    const say = options.json ? () => undefined : (line = "") => console.log(line);

    say("OFFLINE PLAN: the real program under Pulumi mocks. No cloud call was made; IDs, ARNs and");
    say("addresses are placeholders (203.0.113.0/24 is a documentation range). `pulumi preview` shows the real plan.\n");
    // The china stack reads NLB-1's addresses and idle timeout from the global stack: feed it the global plan's.
    const globalRun = await runStack("global", { overrides: options.overrides.global, stackFile: stackFile("global", options.stackDir) });
    const runs: OfflineRun[] = [];
    if (options.stacks.includes("global")) runs.push(globalRun);
    if (options.stacks.includes("china")) {
        runs.push(await runStack("china", {
            overrides: options.overrides.china,
            stackOutputs: globalRun.outputs,
            secretKeys: ["cross-region-proxy:cloudfrontPrivateKey"],
            stackFile: stackFile("china", options.stackDir),
        }));
    }
    for (const run of runs) {
        say(`=== stack ${run.stack}: ${run.resources.length} resources (Pulumi.${run.stack}.yaml)`);
        printTree(run, say);
        say(`\n  outputs:`);
        for (const [name, value] of Object.entries(run.outputs)) {
            say(`    ${name}: ${show(value)}`);
        }
        for (const note of notes(run, run.config)) say(`\n  ${note}`);
        if (run.stack === "china") {
            const template = run.resources.find(r => r.type === "aws:ec2/launchTemplate:LaunchTemplate");
            const userData = decodeUserData(String(template?.inputs.userData ?? ""));
            say(`\n  proxy user-data (fed with the global plan's nlbPublicIps ${show(globalRun.outputs.nlbPublicIps)}; ` +
                `${userData.gzipped ? `gzipped in the launch template, ${userData.bytes} bytes, decompressed here` : `${userData.bytes} bytes`}):\n`);
            say(userData.text.replace(/^/gm, "    "));
        }
        say();
    }
    if (options.json) {
        fs.writeFileSync(options.json, JSON.stringify({ offline: true, stacks: runs.map(report) }, null, 2) + "\n");
    }
}

if (require.main === module) {
    // Bad flags exit 2 with the usage (core/cli conventions); a stack that fails to plan exits 1.
    main().catch(err => {
        const usage = isUsageError(err) && (err instanceof InvalidValueError ? err.key.startsWith("-") || err.key.startsWith("'") : true);
        console.error(`plan: ${err instanceof Error ? err.message : String(err)}${usage ? `\n${USAGE}` : ""}`);
        process.exit(usage ? 2 : 1);
    });
}
