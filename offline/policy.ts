// Runs the policy pack over what the real program declares under the mocks, as the engine would during
// `pulumi preview --policy-pack policy`: each resource's recorded inputs, its aws provider's region,
// and its property dependencies for the stack-wide policies.
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../policy/policies";
import { DeclaredResource } from "./mocks";
import { CLOUDFRONT_IN_CHINA } from "./certificate";
import { RunOptions, readStackConfig, runStack } from "./run";

export interface Violation {
    readonly policy: string;
    readonly resource: string;
    readonly message: string;
}

/** Policy config (`--policy-pack-config`), by policy name. */
export type PolicyConfig = Record<string, Record<string, unknown>>;

class NotApplicable extends Error {}

function configOf(policy: ResourceValidationPolicy | StackValidationPolicy, config: PolicyConfig): () => any {
    const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).map(([k, schema]) => [k, (schema as { default?: unknown }).default]));
    return () => ({ ...defaults, ...config[policy.name] });
}

/** The resources as the engine hands them to policies, their aws provider carrying the stack's region. */
export function policyResources(declared: readonly DeclaredResource[], region: string): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const provider = { type: "pulumi:providers:aws", name: "default", urn: "urn:pulumi:offline::provider::pulumi:providers:aws::default", props: { region } };
    for (const r of declared) {
        byUrn.set(r.urn, {
            type: r.type, name: r.name, urn: r.urn, props: r.inputs,
            opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } },
            provider: r.type.startsWith("aws:") ? provider : undefined,
            dependencies: [], propertyDependencies: {},
            isType: cls => (cls as unknown as { __pulumiType?: string }).__pulumiType === r.type,
            asType: () => undefined,
        });
    }
    const find = (urns: readonly string[]) => urns.map(u => byUrn.get(u)).filter((p): p is PolicyResource => p !== undefined);
    for (const r of declared) {
        const resource = byUrn.get(r.urn)!;
        resource.parent = r.parent ? byUrn.get(r.parent) : undefined;
        resource.dependencies = find(r.dependencies);
        resource.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, urns]) => [k, find(urns)]));
    }
    return [...byUrn.values()];
}

/** Every violation the pack reports for these resources; `only` restricts the run to some policies. */
export async function checkPolicies(resources: readonly PolicyResource[], config: PolicyConfig = {}, only?: readonly string[]): Promise<Violation[]> {
    const violations: Violation[] = [];
    const notApplicable = (): never => { throw new NotApplicable(); };
    for (const policy of policies.filter(p => only === undefined || only.includes(p.name))) {
        const getConfig = configOf(policy, config);
        const run = async (resource: string, check: () => Promise<void> | void) => {
            try {
                await check();
            } catch (e) {
                if (!(e instanceof NotApplicable)) throw e;
            }
            return resource;
        };
        if ("validateStack" in policy && policy.validateStack) {
            const validate = policy.validateStack;
            await run("stack", () => validate({ resources: [...resources], stackTags: new Map(), getConfig, notApplicable },
                (message, urn) => violations.push({ policy: policy.name, resource: urn ?? "stack", message })));
        }
        if ("validateResource" in policy && policy.validateResource) {
            const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
            for (const resource of resources) {
                const args: ResourceValidationArgs = {
                    type: resource.type, props: resource.props, urn: resource.urn, name: resource.name, opts: resource.opts,
                    provider: resource.provider, stackTags: new Map(), getConfig, notApplicable,
                    isType: resource.isType, asType: () => undefined,
                };
                for (const validate of validations) {
                    await run(resource.urn, () => validate(args, message => violations.push({ policy: policy.name, resource: resource.urn, message })));
                }
            }
        }
    }
    return violations;
}


export interface Scenario {
    readonly label: string;
    readonly stack: string;
    readonly options: RunOptions;
}

/** Both stacks in both partitions, CloudFront on in the china stack (it is off in Pulumi.china.yaml). */
export const SCENARIOS: readonly Scenario[] = [
    { label: "global in us-east-2 (aws)", stack: "global", options: {} },
    {
        label: "global in cn-north-1 (aws-cn)", stack: "global",
        options: { overrides: { "aws:region": "cn-north-1", "cross-region-proxy:httpbinImage": "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/go-httpbin:v2.18.3" } },
    },
    {
        label: "china in cn-northwest-1 (aws-cn), CloudFront on", stack: "china", options: {
            overrides: CLOUDFRONT_IN_CHINA.overrides,
            secretKeys: [...CLOUDFRONT_IN_CHINA.secretKeys],
            stackOutputs: { nlbPublicIps: ["198.51.100.7", "203.0.113.10"], nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] },
        },
    },
    {
        label: "china in us-east-1 (aws), CloudFront on", stack: "china", options: {
            overrides: {
                "aws:region": "us-east-1",
                "cross-region-proxy:cloudfrontEnabled": "true",
                "cross-region-proxy:cloudfrontAcmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab",
            },
            stackOutputs: { nlbPublicIps: ["198.51.100.7", "203.0.113.10"], nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] },
        },
    },
    {
        // Several global regions: an alarm per region, the user-data of both (README, "Several global regions").
        label: "china in cn-northwest-1 (aws-cn), two global regions", stack: "china", options: {
            overrides: {
                "cross-region-proxy:globalStack": undefined,
                "cross-region-proxy:globalStacks": JSON.stringify([{ stack: "global-use2", weight: 200 }, { stack: "global-euc1", weight: 55, dial: 50 }]),
            },
            stacks: {
                "organization/cross-region-proxy/global-use2": { nlbPublicIps: ["203.0.113.10", "203.0.113.11"], nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] },
                "organization/cross-region-proxy/global-euc1": { nlbPublicIps: ["198.51.100.7", "198.51.100.8", "198.51.100.9"], nlbIdleTimeoutSeconds: 350, nlbListenerPorts: [80, 443] },
            },
        },
    },
];

/** The pack's config that a stack's settings imply (what `--policy-pack-config` takes): deletion protection as the stack sets it. */
export function packConfigFor(stackConfig: Record<string, string | undefined>): PolicyConfig {
    return { "lb-deletion-protection": { deletionProtection: stackConfig["cross-region-proxy:deletionProtection"] !== "false" } };
}

/** Runs a stack under the mocks and the pack over it, with the policy config the stack's own settings imply. */
export async function checkScenario(scenario: Scenario): Promise<Violation[]> {
    const config = { ...readStackConfig(scenario.stack).values, ...scenario.options.overrides };
    const run = await runStack(scenario.stack, scenario.options);
    return checkPolicies(policyResources(run.resources, config["aws:region"] ?? ""), packConfigFor(config));
}
