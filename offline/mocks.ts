// The fake cloud behind the offline plan and the mocked tests: Pulumi mocks that answer every resource
// and invoke the program makes with deterministic placeholder values, and record what was declared.
// Mocks are process-global, so this is the one module that installs them.
import * as pulumi from "@pulumi/pulumi";
import { dnsSuffix, partitionOf } from "../core/partition";
import { makeUrn } from "./urns";

export interface DeclaredResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly parent?: string;
    readonly custom: boolean;
    /** URNs of the resources this one depends on (explicitly or through the outputs in its inputs). */
    readonly dependencies: readonly string[];
    /** Input names whose changes the engine would ignore (the ignoreChanges option). */
    readonly ignoreChanges: readonly string[];
    /** The deleteBeforeReplace option, and the names of the aliases option (earlier names of this resource). */
    readonly deleteBeforeReplace?: boolean;
    /** The retainOnDelete option: `pulumi destroy` leaves the cloud resource in place. */
    readonly retainOnDelete?: boolean;
    readonly aliasNames?: readonly string[];
    /** The aliases option as the SDK sends it to the engine (offline/urns.ts resolves them as the engine does). */
    readonly aliases?: readonly AliasSpec[];
    /** Per input property, the URNs its value came from (what a policy pack's propertyDependencies holds). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    inputs: Record<string, any>;
    /** The placeholder state the mocks answered with (its `arn`, say): what other resources' inputs link to. */
    outputs?: Record<string, any>;
}

/** One alias as the engine receives it (pulumi/pulumi proto/pulumi/alias.proto): a URN, or a spec whose empty
 *  fields mean "as the resource's own". */
export interface AliasSpec {
    readonly urn?: string;
    readonly name?: string;
    readonly type?: string;
    readonly stack?: string;
    readonly project?: string;
    readonly parentUrn?: string;
    readonly noParent?: boolean;
}

/** A data-source lookup (invoke) the program made, with its inputs. */
export interface Invoke {
    readonly token: string;
    readonly inputs: Record<string, any>;
}

export interface MockWorld {
    readonly region: string;
    /** The global stack's outputs, as a StackReference would read them (every reference, when `stacks` is not given). */
    readonly stackOutputs?: Record<string, unknown>;
    /** Each referenced stack's outputs by its fully qualified name; a reference to a stack not listed reads none. */
    readonly stacks?: Readonly<Record<string, Record<string, unknown>>>;
    /** Which RFC 5737 block the Elastic IPs come from (0: 203.0.113.0/24), so that two global stacks differ. */
    readonly addressBlock?: number;
    /** The Pulumi organization the stack runs in (a DIY backend's is the constant `organization`). */
    readonly organization?: string;
    /** How many zones the region has (default 6, as us-east-1; most regions have 3). */
    readonly availabilityZones?: number;
    /** Availability zones of existing subnets by id (null: no such subnet in that VPC); others answer a zone
     *  picked from the id's last digit. */
    readonly subnetZones?: Record<string, string | null>;
}

/** The organization a stack runs in unless MockWorld says otherwise: a DIY backend's constant. */
export const DEFAULT_ORGANIZATION = "organization";

const EIP_HOSTS = [100, 9, 55, 7, 33, 201];
const DOCUMENTATION_BLOCKS = ["203.0.113", "198.51.100", "192.0.2"];

/** The index-th Elastic IP of a stack whose addresses come from `block`: the three RFC 5737 blocks first, then
 *  203.0.113.0/24 again with hosts above EIP_HOSTS (so that up to 8 global stacks never share an address). */
function mockPublicIp(block: number, index: number): string {
    const host = EIP_HOSTS[index % EIP_HOSTS.length];
    return block < DOCUMENTATION_BLOCKS.length ? `${DOCUMENTATION_BLOCKS[block]}.${host}`
        : `203.0.113.${210 + (block - DOCUMENTATION_BLOCKS.length) * EIP_HOSTS.length + (index % EIP_HOSTS.length)}`;
}

/** The physical name Pulumi's autonaming would give a resource that names none: its name plus a suffix. */
export const autoName = (name: string) => `${name}-0a1b2c3`;
const dnsSuffixOf = (region: string) => dnsSuffix(partitionOf(region));

/** Placeholder state of a resource: its inputs, plus the outputs AWS (or a remote component) would add. */
function fakeState(type: string, name: string, inputs: Record<string, any>, world: MockWorld, serial: number): Record<string, any> {
    const arn = `arn:${partitionOf(world.region)}:mock:${world.region}:123456789012:${name}`;
    switch (type) {
        case "aws:ec2/eip:Eip":
            // RFC 5737 documentation addresses: placeholders that can never be mistaken for real ones. Taken
            // by the name's index, in an order where sorting as text and as numbers differ (9 < 100).
            return { ...inputs, allocationId: `eipalloc-${name}`, publicIp: mockPublicIp(world.addressBlock ?? 0, Number(/(\d+)$/.exec(name)?.[1] ?? serial)) };
        case "aws:lb/loadBalancer:LoadBalancer":
            return {
                ...inputs, arn, name, arnSuffix: `${inputs.loadBalancerType === "network" ? "net" : "app"}/${name}/0123456789abcdef`,
                dnsName: `${name}-0123456789.elb.${world.region}.${dnsSuffixOf(world.region)}`, zoneId: "ZMOCKELBZONE",
            };
        case "aws:lb/targetGroup:TargetGroup":
            return { ...inputs, arn, name, arnSuffix: `targetgroup/${name}/0123456789abcdef` };
        case "aws:acm/certificate:Certificate":
            return {
                ...inputs, arn: `arn:${partitionOf(world.region)}:acm:${world.region}:123456789012:certificate/${name}`,
                domainValidationOptions: [{
                    domainName: inputs.domainName,
                    resourceRecordName: `_0123456789abcdef.${String(inputs.domainName).replace(/^\*\./, "")}.`,
                    resourceRecordType: "CNAME",
                    resourceRecordValue: "_fedcba9876543210.mock.acm-validations.aws.",
                }],
            };
        case "aws:route53/record:Record":
            return { ...inputs, fqdn: inputs.name };
        case "aws:ec2/launchTemplate:LaunchTemplate":
            return { ...inputs, arn, latestVersion: 1 };
        case "aws:cloudfront/distribution:Distribution":
            // CloudFront's alias zone differs in China (Route 53 developer guide, AliasTarget HostedZoneId).
            return {
                ...inputs, arn, domainName: `d111111abcdef8.cloudfront.${world.region.startsWith("cn-") ? "cn" : "net"}`,
                hostedZoneId: world.region.startsWith("cn-") ? "Z3RFFRIM2A3IF5" : "Z2FDTNDATAQYW2",
            };
        case "aws:iam/serverCertificate:ServerCertificate":
            return { ...inputs, arn, name: `${name}-mock` };
        case "eks:index:Cluster":
            return {
                kubeconfigJson: JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: inputs.name }] }),
                oidcProviderArn: `arn:${partitionOf(world.region)}:iam::123456789012:oidc-provider/oidc.eks.${world.region}.${dnsSuffixOf(world.region)}/id/MOCK`,
                oidcProviderUrl: `https://oidc.eks.${world.region}.${dnsSuffixOf(world.region)}/id/MOCK`,
                oidcIssuer: `oidc.eks.${world.region}.${dnsSuffixOf(world.region)}/id/MOCK`,
            };
        case "pulumi:pulumi:StackReference":
            return { ...inputs, outputs: (world.stacks === undefined ? world.stackOutputs : world.stacks[inputs.name]) ?? {}, secretOutputNames: [] };
        default:
            return { ...inputs, arn, name: inputs.name ?? autoName(name) };
    }
}

function fakeCall(token: string, inputs: Record<string, any>, world: MockWorld): Record<string, any> {
    switch (token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            // Six zones by default, as us-east-1 has: every availabilityZoneCount the config accepts (2-6) can be planned.
            return { names: [..."abcdef"].slice(0, world.availabilityZones ?? 6).map(z => `${world.region}${z}`) };
        case "aws:route53/getZone:getZone":
            return { ...inputs, zoneId: `ZMOCK${String(inputs.name).replace(/[^a-z0-9]/g, "").toUpperCase().slice(0, 16)}` };
        case "aws:ec2/getSubnet:getSubnet": {
            // DescribeSubnets filtered by id and VPC, as the lookup asks: the subnet, in that VPC.
            const zone = world.subnetZones?.[inputs.id];
            if (zone === null) throw new Error(`no matching EC2 Subnet found (${inputs.id} in ${inputs.vpcId})`);
            return { ...inputs, availabilityZone: zone ?? `${world.region}${"abc"[parseInt(String(inputs.id).slice(-1), 16) % 3]}`, vpcId: inputs.vpcId };
        }
        case "aws:ssm/getParameter:getParameter":
            return { ...inputs, value: "ami-0123456789abcdef0", type: "String" };
        default:
            throw new Error(`offline mocks: no fake answer for invoke ${token}`);
    }
}

interface AliasMessage {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string; getStack(): string; getProject(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
}

function aliasSpec(alias: AliasMessage): AliasSpec {
    const spec = alias.getSpec();
    if (spec === undefined) return { urn: alias.getUrn() };
    const text = (value: string) => (value === "" ? undefined : value);
    return {
        name: text(spec.getName()), type: text(spec.getType()), stack: text(spec.getStack()), project: text(spec.getProject()),
        parentUrn: text(spec.getParenturn()), noParent: spec.getNoparent() || undefined,
    };
}

/**
 * Installs the mocks for one run of the program (stack name, region, referenced outputs) and returns
 * the lists that fill with every resource declared, components included, with its parent's URN, and
 * every data-source lookup made.
 */
export async function installMocks(project: string, stack: string, world: MockWorld): Promise<{ declared: DeclaredResource[]; invokes: Invoke[] }> {
    const declared: DeclaredResource[] = [];
    const invokes: Invoke[] = [];
    let serial = 0;
    await pulumi.runtime.setMocks({
        newResource: args => {
            const record = declared.find(r => r.type === args.type && r.name === args.name);
            const id = args.custom ? `${args.name}-id` : undefined;
            const state = fakeState(args.type, args.name, args.inputs, world, serial++);
            if (record) {
                record.inputs = args.inputs;
                record.outputs = state;
            }
            return { id, state };
        },
        call: args => {
            invokes.push({ token: args.token, inputs: args.inputs });
            return fakeCall(args.token, args.inputs, world);
        },
    }, project, stack, false, world.organization ?? DEFAULT_ORGANIZATION);
    // The mocks API does not pass the parent to newResource: read it off the request on its way in,
    // both for resources the program creates and for those it reads (a StackReference).
    type Request = {
        getParent(): string; getType(): string; getName(): string; getCustom?(): boolean; getDependenciesList?(): string[];
        getIgnorechangesList?(): string[]; getDeletebeforereplace?(): boolean; getRetainondelete?(): boolean;
        getAliasesList?(): AliasMessage[];
        getPropertydependenciesMap?(): { forEach(each: (deps: { getUrnsList(): string[] }, key: string) => void): void };
    };
    type Handler = (req: Request, cb: unknown) => Promise<void>;
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource: Handler;
        readResource: Handler;
        newUrn(parent: string, type: string, name: string): string;
    };
    // The mock monitor names a child after its parent's last type only (runtime/mocks.js newUrn); the engine
    // prefixes the parent's whole qualified type (pkg/resource/deploy/deployment.go generateURN: "use the full
    // qualified type"), which differs from two levels of components down. Every URN recorded here is the
    // engine's: the mock's are translated on the way in.
    const engineUrns = new Map<string, string>();
    const engineUrn = (mockUrn: string) => engineUrns.get(mockUrn) ?? mockUrn;
    for (const method of ["registerResource", "readResource"] as const) {
        const original = monitor[method].bind(monitor);
        monitor[method] = (req, cb) => {
            const parent = req.getParent() ? engineUrn(req.getParent()) : undefined;
            const urn = makeUrn(stack, project, parent, req.getType(), req.getName());
            engineUrns.set(monitor.newUrn(req.getParent(), req.getType(), req.getName()), urn);
            const propertyDependencies: Record<string, string[]> = {};
            req.getPropertydependenciesMap?.().forEach((deps, key) => { propertyDependencies[key] = deps.getUrnsList().map(engineUrn); });
            declared.push({
                urn,
                type: req.getType(),
                name: req.getName(),
                parent,
                custom: req.getCustom ? req.getCustom() : true,
                dependencies: (req.getDependenciesList ? req.getDependenciesList() : []).map(engineUrn),
                ignoreChanges: req.getIgnorechangesList ? req.getIgnorechangesList() : [],
                deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
                retainOnDelete: req.getRetainondelete?.() ?? false,
                aliasNames: (req.getAliasesList?.() ?? []).map(alias => alias.getSpec()?.getName() ?? "").filter(n => n !== ""),
                aliases: (req.getAliasesList?.() ?? []).map(aliasSpec).map(alias =>
                    (alias.parentUrn === undefined ? alias : { ...alias, parentUrn: engineUrn(alias.parentUrn) })),
                propertyDependencies,
                inputs: {},
            });
            return original(req, cb);
        };
    }
    return { declared, invokes };
}
