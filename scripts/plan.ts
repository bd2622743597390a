// npm run plan [-- --stack NAME] [--json FILE] [--set [STACK/]namespace:key=value ...] [--stack-dir DIR] (--help)
// The main job without a cloud account: runs the real program of each stack under Pulumi mocks with the
// values of its stack file and prints what it would declare. No cloud call, no credentials, no CLI. The global
// stacks are those the china stack file names (globalStack, or each of globalStacks: several regions).
import * as fs from "node:fs";
import * as path from "node:path";
import { isUsageError, parseFlags } from "../core/cli";
import { InvalidValueError } from "../core/validate";
import { parseGlobalStacks, qualifyStackName } from "../config/china";
import { NAMESPACE, objectConfigSource, optionalList } from "../config/reader";
import { DeclaredResource, DEFAULT_ORGANIZATION } from "../offline/mocks";
import { OfflineRun, PROJECT, readStackConfig, runStack } from "../offline/run";
import { decodeUserData } from "../proxy/userData";

const CHINA = "china";

/** The global stacks a china stack's values name, as written (globalStacks, else globalStack; `global` with destinationIps). */
export function globalStacksOf(china: Record<string, string>): string[] {
    const list = optionalList(objectConfigSource({ globalStacks: china[`${NAMESPACE}:globalStacks`] ?? "" }), "globalStacks");
    return list !== undefined ? parseGlobalStacks(list).map(e => e.stack) : [china[`${NAMESPACE}:globalStack`] ?? "global"];
}

/** The four components of the design, by the role of a stack: the plan names each (or says it is not declared). */
export const DESIGN_COMPONENTS = {
    global: ["HttpbinOnEks", "NlbFrontingAlb"],
    china: ["IptablesProxyFleet", "CloudfrontEdge"],
} as const;

/** The design's components a run declares, as `Name (resource name)`, or `Name (not declared)`. */
export function designComponents(run: OfflineRun): string[] {
    return DESIGN_COMPONENTS[run.stack === CHINA ? "china" : "global"].map(component => {
        const found = run.resources.find(r => r.type === `cross-region-proxy:index:${component}`);
        return `${component} (${found ? found.name : "not declared"})`;
    });
}

/** A global stack's file and run name: the last part of its name (Pulumi.global-use2.yaml for acme/global-use2). */
const stackOfName = (name: string) => name.split("/").pop() ?? name;

/** "a or b", "a, b or c". */
const either = (names: readonly string[]) => names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;


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

/** What a resource is for, where its type and name do not say it. */
function purpose(run: OfflineRun, r: DeclaredResource): string {
    return r.type === "pulumi:pulumi:StackReference" && r.name.endsWith(`/${run.stack}`)
        ? "   (this stack's outputs of its last update: the subnets its NLB had)" : "";
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
            say(`${indent}+ ${r.type}  ${r.name}${purpose(run, r)}`);
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

const USAGE = `usage: npm run plan [-- [--stack NAME] [--json FILE] [--set [STACK/]namespace:key=value ...] [--stack-dir DIR]]

Runs the real program of each stack under Pulumi mocks with the values of its stack file (Pulumi.<stack>.yaml)
and prints the resources it would declare, its outputs and the proxy user-data. No cloud call is made. The
stacks are china and the global stacks its file names (globalStack, or each of globalStacks: several regions,
e.g. --stack-dir tests/fixtures/multi-region), each fed to the china stack through its StackReference.
  --stack NAME      plan one stack: china or a global stack (the china stack is still fed with the global plans' outputs)
  --json FILE       write the plan as JSON to FILE and print nothing else (errors still go to stderr)
  --set K=V         override a config value; without a prefix it applies to every stack file that has
                    the key, with STACK/ (china/, global/, ...) to that stack only
  --stack-dir DIR   read the stack files from DIR instead of the project directory
  --help            this text
npm takes options before '--' for itself: write 'npm run plan -- --stack china'.`;

export interface PlanOptions {
    /** The global stacks the china stack names, as written, in order. */
    readonly globalStacks: string[];
    /** The stacks to print: their run names (china, and the last part of each global stack's name). */
    readonly stacks: string[];
    readonly json?: string;
    /** By run name. */
    readonly overrides: Record<string, Record<string, string>>;
    readonly stackDir?: string;
}

/**
 * The command line, strictly (core/cli): unknown, repeated or stray arguments are errors that say what to write.
 * `readStack(name, dir)` reads a stack file's values; the china file (with its --set overrides) names the global stacks.
 */
export function parsePlanArgs(args: string[], readStack: (stack: string, dir: string | undefined) => Record<string, string>): PlanOptions | "help" {
    const { values, positionals, help } = parseFlags(args, {
        stack: { type: "string" }, json: { type: "string" }, set: { type: "string", multiple: true }, "stack-dir": { type: "string" },
    }, true);
    if (help) return "help";
    const pairs = (values.set ?? []).map(pair => {
        const at = pair.indexOf("=");
        const target = at < 0 ? pair : pair.slice(0, at);
        const slash = target.indexOf("/");
        const key = target.slice(slash + 1);
        if (at < 1 || !/^[^:\s/]+:[^:\s/]+$/.test(key)) {
            throw new InvalidValueError("--set", `expected [STACK/]namespace:key=value (STACK: china, global, ...), got '${pair}'`);
        }
        return { pair, stack: slash >= 0 ? target.slice(0, slash) : undefined, key, value: pair.slice(at + 1) };
    });
    const dir = values["stack-dir"];
    const china = { ...readStack(CHINA, dir), ...Object.fromEntries(pairs.filter(p => p.stack === CHINA).map(p => [p.key, p.value])) };
    const globalStacks = globalStacksOf(china);
    const stacks = [...globalStacks.map(stackOfName), CHINA];
    if (positionals.length > 0) {
        // `npm run plan --stack china` (no `--`): npm keeps --stack for itself and passes `china` on.
        const hint = stacks.includes(positionals[0])
            ? `npm took the option before it for itself: write 'npm run plan -- --stack ${positionals[0]}'`
            : "options go after '--': npm run plan -- --stack china";
        throw new InvalidValueError(`'${positionals[0]}'`, `unexpected argument: ${hint}`);
    }
    if (values.stack !== undefined && !stacks.includes(values.stack)) {
        throw new InvalidValueError("--stack", `expected ${either(stacks)}, got '${values.stack}'`);
    }
    const files = Object.fromEntries(stacks.map(stack => [stack, stack === CHINA ? china : readStack(stack, dir)]));
    const overrides: Record<string, Record<string, string>> = Object.fromEntries(stacks.map(stack => [stack, {}]));
    for (const { pair, stack, key, value } of pairs) {
        if (stack !== undefined) {
            if (!stacks.includes(stack)) {
                throw new InvalidValueError("--set", `unknown stack '${stack}/' in '${pair}': expected ${either(stacks.map(s => `${s}/`))}`);
            }
            overrides[stack][key] = value;
            continue;
        }
        const holders = stacks.filter(s => key in files[s]);
        if (holders.length === 0) {
            throw new InvalidValueError("--set", `no stack file sets ${key}: say which stack it is for, e.g. --set china/${key}=${value}`);
        }
        for (const s of holders) overrides[s][key] = value;
    }
    return { globalStacks, stacks: values.stack ? [values.stack] : stacks, json: values.json, overrides, stackDir: dir };
}

const stackFile = (stack: string, dir: string | undefined) => dir === undefined ? undefined : path.join(dir, `Pulumi.${stack}.yaml`);

/** What a reader of the plan must know that the tree does not show: a component left out, and why. */
function notes(run: OfflineRun, config: Record<string, string>): string[] {
    if (run.stack !== CHINA) return [];
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
    const options = parsePlanArgs(process.argv.slice(2), (stack, dir) => readStackConfig(stack, stackFile(stack, dir)).values);
    if (options === "help") {
        console.log(USAGE);
        return;
    }
    // --json runs are quiet: the file is the result, stdout stays empty, errors go to stderr.
    const say = options.json ? () => undefined : (line = "") => console.log(line);

    say("OFFLINE PLAN: the real program under Pulumi mocks. No cloud call was made; IDs, ARNs and");
    say("addresses are placeholders (203.0.113.0/24 is a documentation range). `pulumi preview` shows the real plan.\n");
    // The china stack reads NLB-1's addresses, listener ports and idle timeout from each global stack: feed it the
    // global plans', each from its own RFC 5737 block (two regions never share an address), by qualified name.
    const globalRuns: OfflineRun[] = [];
    for (const [block, name] of options.globalStacks.entries()) {
        const stack = stackOfName(name);
        globalRuns.push(await runStack(stack, { overrides: options.overrides[stack], stackFile: stackFile(stack, options.stackDir), addressBlock: block }));
    }
    const runs: OfflineRun[] = globalRuns.filter(run => options.stacks.includes(run.stack));
    if (options.stacks.includes(CHINA)) {
        runs.push(await runStack(CHINA, {
            overrides: options.overrides[CHINA],
            stacks: Object.fromEntries(options.globalStacks.map((name, i) => [qualifyStackName(name, DEFAULT_ORGANIZATION, PROJECT), globalRuns[i].outputs])),
            secretKeys: ["cross-region-proxy:cloudfrontPrivateKey"],
            stackFile: stackFile(CHINA, options.stackDir),
        }));
    }
    for (const run of runs) {
        say(`=== stack ${run.stack}: ${run.resources.length} resources (Pulumi.${run.stack}.yaml)`);
        say(`  components of the design: ${designComponents(run).join(", ")}`);
        printTree(run, say);
        say(`\n  outputs:`);
        for (const [name, value] of Object.entries(run.outputs)) {
            say(`    ${name}: ${show(value)}`);
        }
        for (const note of notes(run, run.config)) say(`\n  ${note}`);
        if (run.stack === CHINA) {
            const template = run.resources.find(r => r.type === "aws:ec2/launchTemplate:LaunchTemplate");
            const userData = decodeUserData(String(template?.inputs.userData ?? ""));
            const fed = globalRuns.map(g => `${g.stack}'s nlbPublicIps ${show(g.outputs.nlbPublicIps)}`).join(", ");
            say(`\n  proxy user-data (${userData.bytes} bytes gzipped, shown as cloud-init reads it; fed with the global plans' outputs: ${fed}):\n`);
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
