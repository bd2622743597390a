// Settings of the `china` stack: where the proxies forward to, how big the fleet is, and the edge.
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { DEFAULT_DIAL, DEFAULT_PRIORITY, DEFAULT_WEIGHT, MAX_REGIONS, Region, RegionInput, requireRegionControls, requireRegions, requireSomeShare } from "../proxy/regions";
import { DEFAULT_NAT_PORT_RANGE, ScalingTargets, scalingTargets } from "../proxy/capacity";
import { CONNTRACK_MAX_LIMITS, DRAIN_SECONDS_LIMITS, ForwardingSettings, forwardingSettings } from "../proxy/spec";
import { EdgeCertificate } from "../components/CloudfrontEdge";
import { CONNTRACK_HIGH_PERCENT } from "../components/fleetMonitoring";
import { FleetScalingTargets } from "../components/fleetScaling";
import { Partition, partitionOf, requireRegion } from "../core/partition";
import { NLB_IDLE_TIMEOUT } from "./global";
import {
    ConfigSource, UNDECRYPTED_SECRET, optionalBoolean, optionalInteger, optionalList, optionalString, optionalTopicArn, optionalZoneId,
    qualified, rejectUnknownKeys, requireString,
} from "./reader";
import {
    InvalidValueError, isAcmCertificateArn, printable, requireDestinations, requireDomainName, requireInstanceType, requireInteger,
    requireLabel, requireOrderedSizes, privateRangeOf, requirePortRange, requirePorts, requirePrivateCidr,
} from "../core/validate";

export interface EdgeConfig {
    readonly recordName: string;
    readonly certificate: EdgeCertificate;
}

export interface ChinaConfig {
    readonly region: string;
    readonly partition: Partition;
    readonly cnDomainName: string;
    /** Whether this stack writes test./abc. in a Route 53 zone of the China account. */
    readonly manageDnsRecords: boolean;
    readonly hostedZoneId?: string;
    /** Where NLB-1's addresses come from: the global stacks' outputs (one region each), or a fixed list. */
    readonly destinations: { readonly globalStacks: GlobalStackEntry[] } | { readonly ips: string[] };
    readonly vpcCidr: string;
    readonly availabilityZoneCount: number;
    readonly proxyRecordName: string;
    readonly instanceType: string;
    /** The proxies' AMI, pinned; undefined: the latest Amazon Linux 2023, read when the launch template is created (again on a change of architecture). */
    readonly amiId?: string;
    readonly minSize: number;
    readonly desiredSize: number;
    readonly maxSize: number;
    /** Target tracking (proxyScaling); undefined: a fixed size. Targets left unset come from the capacity model (resolveScaling). */
    readonly scaling?: ScalingOverrides;
    readonly listenerPorts: number[];
    /** NLB-2 TCP idle timeout; the proxies' conntrack established timeout follows it. */
    readonly idleTimeoutSeconds: number;
    /** Kernel tuning and NAT range of the forwarding script (destinations filled in at deploy time). */
    readonly forwarding: ForwardingSettings;
    /** Undefined when CloudFront is disabled. */
    readonly edge?: EdgeConfig;
    /** SNS topic the alarms notify. */
    readonly alarmTopicArn?: string;
    /** Private destinations allowed (destinationIps or the global stack's nlbPublicIps; see SECURITY.md). */
    readonly allowPrivateDestinations: boolean;
    /** Deletion protection on the load balancers (the `deletionProtection` key, default true). */
    readonly deletionProtection: boolean;
}

/** One global stack (one region: an NLB-1) the proxies forward to, with its share of new connections. */
export interface GlobalStackEntry {
    /** As configured: one of Pulumi's three forms (qualifyStackName resolves it). */
    readonly stack: string;
    readonly weight: number;
    readonly dial: number;
    readonly priority: number;
    /** The config key the entry came from, for messages: `cross-region-proxy:globalStack` or `...:globalStacks[i]`. */
    readonly key: string;
}

/** The scaling targets a user set; the others are derived once the destinations are known. */
export interface ScalingOverrides {
    readonly newConnectionsPerSecond?: number;
    readonly conntrackUsedPercent?: number;
}

export const CHINA_KEYS = [
    "role", "cnDomainName", "manageDnsRecords", "hostedZoneId", "globalStack", "globalStacks", "destinationIps", "vpcCidr", "availabilityZoneCount",
    "proxyRecordName", "proxyInstanceType", "proxyMinSize", "proxyDesiredSize", "proxyMaxSize", "proxyListenerPorts",
    "proxyIdleTimeoutSeconds", "proxyNatPorts", "proxyConntrackMax", "cloudfrontEnabled", "cloudfrontRecordName",
    "cloudfrontAcmCertificateArn", "cloudfrontIamCertificateId", "cloudfrontCertificateBody", "cloudfrontCertificateChain",
    "cloudfrontPrivateKey", "alarmTopicArn", "deletionProtection", "allowPrivateDestinations", "proxyAmiId",
    "proxyScaling", "proxyScalingNewConnectionsTarget", "proxyScalingConntrackTarget", "proxyDrainSeconds",
] as const;

/** Pulumi's three forms of a stack name (Pulumi docs, "Stacks"): `stack`, `org/stack` (this project), `org/project/stack`. */
const STACK_NAME = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;

/**
 * The fully qualified name a StackReference takes, from any of Pulumi's three forms: the parts left out are this
 * stack's own organization and project. So the committed `globalStack: global` names the global stack of whatever
 * organization the china stack is deployed in: the workflows' PULUMI_ORGANIZATION on Pulumi Cloud, the constant
 * `organization` on a DIY backend (Pulumi docs, "Stacks": "the orgName portion ... must always be the constant
 * value organization").
 */
export function qualifyStackName(name: string, organization: string, project: string): string {
    const parts = name.split("/");
    return parts.length === 3 ? name : parts.length === 2 ? `${parts[0]}/${project}/${parts[1]}` : `${organization}/${project}/${name}`;
}
const PEM_CERT = /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+\r?\n-----END CERTIFICATE-----\s*$/;
/** A PEM certificate (or chain) that carries no private key: keys belong in the secret only. */
const isCertificatePem = (text: string) => PEM_CERT.test(text) && !/PRIVATE KEY/.test(text);

/** `now` decides whether the CloudFront certificate has expired (tests move the clock). */
export function parseChinaConfig(source: ConfigSource, region: string | undefined, now: Date = new Date()): ChinaConfig {
    rejectUnknownKeys(source, CHINA_KEYS, "china");
    const checkedRegion = requireRegion(region);
    const partition = partitionOf(checkedRegion);
    const cnDomainName = requireDomainName(qualified("cnDomainName"),
        requireString(source, "cnDomainName", "the china domain, e.g. poc1010.example.com"));

    const minSize = optionalInteger(source, "proxyMinSize", 2, 1, 100);
    const desiredSize = optionalInteger(source, "proxyDesiredSize", 2, 1, 100);
    const maxSize = optionalInteger(source, "proxyMaxSize", 4, 1, 100);
    requireOrderedSizes([qualified("proxyMinSize"), qualified("proxyDesiredSize"), qualified("proxyMaxSize")], [minSize, desiredSize, maxSize]);
    const idleTimeoutSeconds = optionalInteger(source, "proxyIdleTimeoutSeconds", NLB_IDLE_TIMEOUT.default, NLB_IDLE_TIMEOUT.min, NLB_IDLE_TIMEOUT.max);
    const natPorts = optionalString(source, "proxyNatPorts");
    const forwarding = forwardingSettings({
        natPorts: natPorts === undefined ? undefined : requirePortRange(qualified("proxyNatPorts"), natPorts),
        conntrackMax: source.get("proxyConntrackMax") === undefined ? undefined : optionalInteger(source, "proxyConntrackMax", 0, CONNTRACK_MAX_LIMITS.min, CONNTRACK_MAX_LIMITS.max),
        // A little longer than the NLB's idle timeout, so the proxy never drops a flow the NLB still holds.
        establishedTimeoutSeconds: idleTimeoutSeconds + 10,
        drainSeconds: source.get("proxyDrainSeconds") === undefined ? undefined
            : optionalInteger(source, "proxyDrainSeconds", 0, DRAIN_SECONDS_LIMITS.min, DRAIN_SECONDS_LIMITS.max),
    });
    const instanceType = requireInstanceType(qualified("proxyInstanceType"), optionalString(source, "proxyInstanceType") ?? "c6i.large", "c6i.large");
    const vpcCidr = requirePrivateCidr(qualified("vpcCidr"), optionalString(source, "vpcCidr") ?? "10.20.0.0/16", "10.20.0.0/16");

    return {
        region: checkedRegion,
        partition,
        cnDomainName,
        manageDnsRecords: optionalBoolean(source, "manageDnsRecords", true),
        hostedZoneId: optionalZoneId(source, "hostedZoneId"),
        destinations: parseDestinations(source),
        vpcCidr,
        availabilityZoneCount: optionalInteger(source, "availabilityZoneCount", 2, 2, 6),
        proxyRecordName: requireLabel(qualified("proxyRecordName"), optionalString(source, "proxyRecordName") ?? "test"),
        instanceType,
        amiId: optionalAmiId(source),
        minSize,
        desiredSize,
        maxSize,
        scaling: parseScaling(source, minSize, maxSize),
        listenerPorts: requirePorts(qualified("proxyListenerPorts"), optionalList(source, "proxyListenerPorts") ?? [80, 443]),
        idleTimeoutSeconds,
        forwarding,
        edge: parseEdge(source, partition, cnDomainName, now),
        alarmTopicArn: optionalTopicArn(source, checkedRegion),
        deletionProtection: optionalBoolean(source, "deletionProtection", true),
        allowPrivateDestinations: optionalBoolean(source, "allowPrivateDestinations", false),
    };
}

/** proxyScaling and its target overrides; a fleet that cannot change size cannot scale. */
function parseScaling(source: ConfigSource, minSize: number, maxSize: number): ScalingOverrides | undefined {
    const overrides = {
        newConnectionsPerSecond: optionalTarget(source, "proxyScalingNewConnectionsTarget", 1000000),
        conntrackUsedPercent: optionalTarget(source, "proxyScalingConntrackTarget", CONNTRACK_HIGH_PERCENT - 1),
    };
    if (!optionalBoolean(source, "proxyScaling", true)) {
        const set = (["proxyScalingNewConnectionsTarget", "proxyScalingConntrackTarget"] as const).find(k => source.get(k) !== undefined);
        if (set !== undefined) {
            throw new InvalidValueError(qualified(set), "is a target of the scaling policies, and proxyScaling is false: remove it, or set proxyScaling to true");
        }
        return undefined;
    }
    if (minSize === maxSize) {
        throw new InvalidValueError(qualified("proxyMaxSize"), `equals proxyMinSize (${minSize}): with proxyScaling (on by default) the fleet needs room to scale; raise proxyMaxSize, or set proxyScaling to false for a fixed size`);
    }
    return overrides;
}

function optionalTarget(source: ConfigSource, key: string, max: number): number | undefined {
    return source.get(key) === undefined ? undefined : optionalInteger(source, key, 1, 1, max);
}

/**
 * The scaling policies' targets for this fleet: the capacity model's (scalingTargets, per proxy, with the
 * spec's NAT range, conntrack size and TIME_WAIT; one port carrying the load, the cautious case), or the
 * user's, which must stay below the limit they stand for. Checked with the destinations, before anything
 * is declared.
 */
export function resolveScaling(overrides: ScalingOverrides, destinationCount: number, forwarding: ForwardingSettings): { targets: FleetScalingTargets; model: ScalingTargets } {
    const model = scalingTargets({
        destinations: destinationCount,
        natPortRange: forwarding.natPorts ? forwarding.natPorts.to - forwarding.natPorts.from + 1 : DEFAULT_NAT_PORT_RANGE,
        conntrackMax: forwarding.conntrackMax,
        timeWaitSeconds: forwarding.timeWaitTimeoutSeconds,
    });
    const within = (key: string, value: number | undefined, limit: number, what: string, fallback: number) => {
        if (value !== undefined && value >= limit) {
            throw new InvalidValueError(qualified(key), `${value} is not below ${what} (${limit} for ${destinationCount} destination(s) with these proxy settings; npm run capacity prints it): the fleet would scale only once proxies drop connections; leave it unset for ${fallback}, or lower it`);
        }
        return value ?? fallback;
    };
    return {
        model,
        targets: {
            newConnectionsPerSecond: within("proxyScalingNewConnectionsTarget", overrides.newConnectionsPerSecond,
                model.newConnectionsPerSecond.limit, "the sustained new connections per second one proxy can NAT", model.newConnectionsPerSecond.target),
            conntrackUsedPercent: within("proxyScalingConntrackTarget", overrides.conntrackUsedPercent,
                model.conntrackUsedPercent.limit, "the conntrack fill at which a proxy's NAT ports or table run out", model.conntrackUsedPercent.target),
        },
    };
}

function parseDestinations(source: ConfigSource): ChinaConfig["destinations"] {
    const ips = optionalList(source, "destinationIps");
    const globalStack = optionalString(source, "globalStack");
    const globalStacks = optionalList(source, "globalStacks");
    if (ips !== undefined) {
        return { ips: requirePublicUnlessAllowed(qualified("destinationIps"), requireDestinations(qualified("destinationIps"), ips),
            optionalBoolean(source, "allowPrivateDestinations", false)) };
    }
    if (globalStack !== undefined && globalStacks !== undefined) {
        throw new InvalidValueError(qualified("globalStacks"), "and cross-region-proxy:globalStack are both set: globalStack is a one-region "
            + "globalStacks (weight 100, dial 100); remove globalStack and list that stack in globalStacks");
    }
    if (globalStacks !== undefined) {
        return { globalStacks: parseGlobalStacks(globalStacks) };
    }
    if (globalStack === undefined) {
        throw new InvalidValueError(qualified("globalStack"), "is required (the global stack's name, e.g. global, or <org>/cross-region-proxy/global), "
            + "unless globalStacks lists several or destinationIps lists NLB-1's addresses");
    }
    return { globalStacks: [{ stack: requireStackName(qualified("globalStack"), globalStack), weight: DEFAULT_WEIGHT, dial: DEFAULT_DIAL, priority: DEFAULT_PRIORITY, key: qualified("globalStack") }] };
}

const requireStackName = (key: string, value: unknown): string => {
    if (typeof value !== "string" || !STACK_NAME.test(value)) {
        throw new InvalidValueError(key, `expected a stack name: global (this organization and project), <org>/global or <org>/<project>/global, got '${printable(String(value))}'`);
    }
    return value;
};

const ENTRY_FIELDS = ["stack", "weight", "dial", "priority"] as const;

/**
 * globalStacks as `pulumi config set --path 'cross-region-proxy:globalStacks[0].stack' global-use2` (and a YAML list)
 * writes it: a list of {stack, weight?, dial?, priority?}, or of stack names alone (weight 100, dial 100 %, priority 1).
 */
export function parseGlobalStacks(list: readonly unknown[]): GlobalStackEntry[] {
    const listKey = qualified("globalStacks");
    if (list.length === 0 || list.length > MAX_REGIONS) {
        throw new InvalidValueError(listKey, `has ${list.length} stacks; 1 to ${MAX_REGIONS} global stacks (regions) are supported`);
    }
    const entries = list.map((item, i): GlobalStackEntry => {
        const key = `${listKey}[${i}]`;
        const entry = typeof item === "string" ? { stack: item } : item;
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            throw new InvalidValueError(key, "expected {stack: <name>, weight: 0-255, dial: 0-100, priority: 1-255} (all but stack optional) or a stack name");
        }
        const fields = entry as Record<string, unknown>;
        const unknown = Object.keys(fields).find(f => !(ENTRY_FIELDS as readonly string[]).includes(f));
        if (unknown !== undefined) {
            throw new InvalidValueError(`${key}.${printable(unknown)}`, `is not a field of a global stack entry; expected ${ENTRY_FIELDS.join(", ")}`);
        }
        if (fields.stack === undefined) throw new InvalidValueError(`${key}.stack`, "is required: the global stack's name, e.g. global-use2");
        return { stack: requireStackName(`${key}.stack`, fields.stack), ...requireRegionControls(field => `${key}.${field}`, fields), key };
    });
    requireSomeShare(listKey, entries.map(e => ({ ...e, name: e.stack })));
    return entries;
}

/** The entries with their fully qualified names (the StackReferences' names), each stack listed once. */
export function qualifyGlobalStacks(entries: readonly GlobalStackEntry[], organization: string, project: string): Array<GlobalStackEntry & { readonly qualified: string }> {
    const qualifiedEntries = entries.map(e => ({ ...e, qualified: qualifyStackName(e.stack, organization, project) }));
    qualifiedEntries.forEach((e, i) => {
        const first = qualifiedEntries.findIndex(other => other.qualified === e.qualified);
        if (first < i) {
            throw new InvalidValueError(entryKey(e, "stack"), `names ${e.qualified}, as ${entryKey(qualifiedEntries[first], "stack")} does: list each global stack once`);
        }
    });
    return qualifiedEntries;
}

/** The key of an entry's field: `...:globalStacks[i].weight`; the single globalStack is its own key. */
const entryKey = (entry: Pick<GlobalStackEntry, "key">, field: string) => (entry.key.endsWith("]") ? `${entry.key}.${field}` : entry.key);

function parseEdge(source: ConfigSource, partition: Partition, cnDomainName: string, now: Date): EdgeConfig | undefined {
    if (!optionalBoolean(source, "cloudfrontEnabled", true)) {
        return undefined;
    }
    const recordName = requireLabel(qualified("cloudfrontRecordName"), optionalString(source, "cloudfrontRecordName") ?? "abc");
    const acmArn = optionalString(source, "cloudfrontAcmCertificateArn");
    const iamId = optionalString(source, "cloudfrontIamCertificateId");
    const body = optionalString(source, "cloudfrontCertificateBody");
    if (partition !== "aws-cn") {
        // CloudFront takes ACM certificates from us-east-1 only.
        if (acmArn === undefined || !isAcmCertificateArn(acmArn, partition, "us-east-1")) {
            throw new InvalidValueError(qualified("cloudfrontAcmCertificateArn"), `outside China, CloudFront needs an ACM certificate in us-east-1 for *.<cnDomainName> (arn:${partition}:acm:us-east-1:<account>:certificate/<uuid>)${acmArn ? `, got '${printable(acmArn)}'` : ""}; or set cloudfrontEnabled to false`);
        }
        return { recordName, certificate: { kind: "acm", arn: acmArn } };
    }
    if (acmArn !== undefined) {
        throw new InvalidValueError(qualified("cloudfrontAcmCertificateArn"), "CloudFront in China takes no ACM certificate: set cloudfrontCertificateBody, cloudfrontCertificateChain and the secret cloudfrontPrivateKey (an IAM server certificate), or cloudfrontIamCertificateId");
    }
    if (iamId !== undefined) {
        if (!/^[A-Z0-9]{21}$/.test(iamId)) {
            throw new InvalidValueError(qualified("cloudfrontIamCertificateId"), `expected an IAM server certificate id (21 upper-case letters and digits), got '${iamId}'`);
        }
        return { recordName, certificate: { kind: "iam-existing", id: iamId } };
    }
    if (body === undefined) {
        throw new InvalidValueError(qualified("cloudfrontCertificateBody"), "CloudFront in China needs an IAM server certificate for *.<cnDomainName>: set cloudfrontCertificateBody (PEM), cloudfrontCertificateChain (PEM) and 'pulumi config set --secret cloudfrontPrivateKey < key.pem', or cloudfrontIamCertificateId; or set cloudfrontEnabled to false");
    }
    if (!isCertificatePem(body)) {
        throw new InvalidValueError(qualified("cloudfrontCertificateBody"), "expected a PEM certificate (-----BEGIN CERTIFICATE----- ...) and no private key (that goes in the secret cloudfrontPrivateKey)");
    }
    const chain = optionalString(source, "cloudfrontCertificateChain");
    if (chain !== undefined && !isCertificatePem(chain)) {
        throw new InvalidValueError(qualified("cloudfrontCertificateChain"), "expected PEM certificates (-----BEGIN CERTIFICATE----- ...) and no private key");
    }
    const privateKey = source.getSecret("cloudfrontPrivateKey");
    const keyText = optionalString(source, "cloudfrontPrivateKey");
    if (privateKey === undefined || keyText === undefined) {
        throw new InvalidValueError(qualified("cloudfrontPrivateKey"), "is required with cloudfrontCertificateBody: set it as a secret, 'pulumi config set --secret cloudfrontPrivateKey < key.pem'");
    }
    checkServerCertificate({ body, chain, keyText }, `${recordName}.${cnDomainName}`, now);
    return { recordName, certificate: { kind: "iam-upload", body, chain, privateKey } };
}

/** NLB-1's addresses are public: a private destination makes the proxies a public way into that network. */
function requirePublicUnlessAllowed(key: string, ips: string[], allowPrivate: boolean): string[] {
    const privateIp = ips.find(ip => privateRangeOf(ip) !== undefined);
    if (privateIp !== undefined && !allowPrivate) {
        throw new InvalidValueError(key, `${privateIp} is in ${privateRangeOf(privateIp)}: NLB-1's addresses are public, and a private destination makes the proxies a public way into that network; set ${qualified("allowPrivateDestinations")} to true if that is what you mean (see SECURITY.md)`);
    }
    return ips;
}

/** What the china stack reads from the global stack, checked before it declares anything. */
export interface GlobalStackInputs {
    readonly destinations: string[];
    /** NLB-1's TCP idle timeout: a flow idle longer dies there, whatever the proxies allow. */
    readonly nlbIdleTimeoutSeconds: number;
    /** NLB-1's listener ports: the proxies forward each of theirs to the same port there. */
    readonly nlbListenerPorts: number[];
}

/**
 * The global stack's outputs `nlbPublicIps`, `nlbIdleTimeoutSeconds` and `nlbListenerPorts`, checked with the
 * rules of destinationIps, proxyIdleTimeoutSeconds and proxyListenerPorts; a bad global stack fails here,
 * naming the output and the stack.
 */
export function parseGlobalStackOutputs(stack: string, outputs: Record<string, unknown>,
    config: Pick<ChinaConfig, "idleTimeoutSeconds" | "allowPrivateDestinations" | "listenerPorts">): GlobalStackInputs {
    const output = (name: string) => `output ${name} of stack ${stack}`;
    const fix = "run 'pulumi up' on the global stack first, check cross-region-proxy:globalStack, or set cross-region-proxy:destinationIps";
    const since = (what: string) => `run 'pulumi up' on the global stack (it publishes NLB-1's ${what} since this version)`;
    const present = (name: string, hint: string): unknown => {
        const value = outputs[name];
        if (value === undefined || value === null) throw new InvalidValueError(output(name), `is missing: ${hint}`);
        return value;
    };
    const list = (name: string, hint: string, of: string): unknown[] => {
        const value = present(name, hint);
        if (!Array.isArray(value)) throw new InvalidValueError(output(name), `expected a list of ${of}, got ${typeof value}: ${fix}`);
        return value;
    };
    const ips = list("nlbPublicIps", fix, "IPv4 addresses");
    if (ips.length === 0) {
        throw new InvalidValueError(output("nlbPublicIps"), `is empty: ${fix}`);
    }
    const destinations = requirePublicUnlessAllowed(output("nlbPublicIps"), requireDestinations(output("nlbPublicIps"), ips), config.allowPrivateDestinations);
    const nlbIdleTimeoutSeconds = requireInteger(output("nlbIdleTimeoutSeconds"), present("nlbIdleTimeoutSeconds", since("idle timeout")),
        NLB_IDLE_TIMEOUT.min, NLB_IDLE_TIMEOUT.max);
    requireIdleWithin(config.idleTimeoutSeconds, nlbIdleTimeoutSeconds, stack);
    const nlbListenerPorts = requirePorts(output("nlbListenerPorts"), list("nlbListenerPorts", since("listener ports"), "TCP ports"));
    requirePortsWithin(config.listenerPorts, nlbListenerPorts, stack);
    return { destinations, nlbIdleTimeoutSeconds, nlbListenerPorts };
}

/**
 * Every global stack's outputs checked (parseGlobalStackOutputs, naming the stack), then the regions as a whole
 * (requireRegions): no address in two regions, at most MAX_DESTINATIONS in all. The regions' names are the
 * stacks' qualified names, the metric dimension and the alarm of each region.
 */
export function parseGlobalStacksOutputs(stacks: ReadonlyArray<{ readonly entry: GlobalStackEntry & { readonly qualified: string }; readonly outputs: Record<string, unknown> }>,
    config: Pick<ChinaConfig, "idleTimeoutSeconds" | "allowPrivateDestinations" | "listenerPorts">): Region[] {
    const inputs: RegionInput[] = stacks.map(({ entry, outputs }) => ({
        name: entry.qualified, destinations: parseGlobalStackOutputs(entry.qualified, outputs, config).destinations,
        weight: entry.weight, dial: entry.dial, priority: entry.priority,
    }));
    const listKey = stacks.length === 1 ? stacks[0].entry.key : qualified("globalStacks");
    return requireRegions(listKey, (i, field) => field === "destinations" ? `output nlbPublicIps of stack ${stacks[i].entry.qualified}`
        : entryKey(stacks[i].entry, field === "name" ? "stack" : field), inputs);
}

/**
 * Each proxy port is forwarded to the same port on NLB-1: one NLB-1 lacks is a dead end, the agent (healthy
 * only when every port answers) fails open for good, and NLB-2's unhealthy alarm for it stops every refresh.
 */
export function requirePortsWithin(proxyListenerPorts: number[], nlbListenerPorts: number[], stack: string): void {
    const missing = proxyListenerPorts.filter(port => !nlbListenerPorts.includes(port));
    if (missing.length > 0) {
        throw new InvalidValueError(qualified("proxyListenerPorts"),
            `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not among NLB-1's listener ports (${nlbListenerPorts.join(", ")}, output nlbListenerPorts of stack ${stack}): the proxies forward each port to the same port on NLB-1; remove ${missing.length === 1 ? "it" : "them"}, or add ${missing.length === 1 ? "it" : "them"} to cross-region-proxy:listenerPorts in the global stack`);
    }
}

/** The proxies (and NLB-2) must not keep a flow idle longer than NLB-1 does: NLB-1 would drop it first. */
export function requireIdleWithin(proxyIdleTimeoutSeconds: number, nlbIdleTimeoutSeconds: number, stack: string): void {
    if (proxyIdleTimeoutSeconds > nlbIdleTimeoutSeconds) {
        throw new InvalidValueError(qualified("proxyIdleTimeoutSeconds"),
            `${proxyIdleTimeoutSeconds} s is above NLB-1's idle timeout (${nlbIdleTimeoutSeconds} s, output nlbIdleTimeoutSeconds of stack ${stack}): idle flows would die at NLB-1 first; lower it, or raise cross-region-proxy:nlbIdleTimeoutSeconds in the global stack`);
    }
}

function optionalAmiId(source: ConfigSource): string | undefined {
    const value = optionalString(source, "proxyAmiId");
    if (value !== undefined && !/^ami-([0-9a-f]{8}|[0-9a-f]{17})$/.test(value)) {
        throw new InvalidValueError(qualified("proxyAmiId"), `expected an AMI id such as ami-0123456789abcdef0 (Amazon Linux 2023, the architecture of proxyInstanceType), got '${printable(value)}'`);
    }
    return value;
}

/** The PEM blocks of a certificate chain, each parsed; a block that does not parse fails with the key's name. */
function parseCertificates(key: string, pem: string): X509Certificate[] {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block, i) => {
        try {
            return new X509Certificate(block);
        } catch {
            throw new InvalidValueError(qualified(key), `certificate ${i + 1} is not a valid X.509 certificate (the PEM does not parse)`);
        }
    });
}

/**
 * The certificate CloudFront would serve, checked before anything is uploaded: it parses, covers the
 * viewer name, has not expired, and the private key belongs to it. The key is a secret: it is compared,
 * never printed (no message carries its text or the parser's error on it). Offline runs cannot decrypt it
 * (UNDECRYPTED_SECRET), so they skip the key comparison only.
 */
export function checkServerCertificate(pems: { body: string; chain?: string; keyText: string }, viewerName: string, now: Date): void {
    const [certificate] = parseCertificates("cloudfrontCertificateBody", pems.body);
    if (pems.chain !== undefined) parseCertificates("cloudfrontCertificateChain", pems.chain);
    if (certificate.checkHost(viewerName) === undefined) {
        throw new InvalidValueError(qualified("cloudfrontCertificateBody"), `does not cover ${viewerName} (the CloudFront alias; subject ${certificate.subject.replace(/\n/g, ", ")}, names ${certificate.subjectAltName ?? "none"}): use a certificate for *.<cnDomainName>`);
    }
    if (new Date(certificate.validTo) <= now) {
        throw new InvalidValueError(qualified("cloudfrontCertificateBody"), `expired on ${certificate.validTo}: renew it`);
    }
    if (pems.keyText === UNDECRYPTED_SECRET) {
        return;
    }
    let publicKey: Buffer;
    try {
        publicKey = createPublicKey(createPrivateKey(pems.keyText)).export({ type: "spki", format: "der" });
    } catch {
        throw new InvalidValueError(qualified("cloudfrontPrivateKey"), "is not a PEM private key (unencrypted, e.g. -----BEGIN PRIVATE KEY-----)");
    }
    if (!publicKey.equals(certificate.publicKey.export({ type: "spki", format: "der" }))) {
        throw new InvalidValueError(qualified("cloudfrontPrivateKey"), "does not belong to cloudfrontCertificateBody (their public keys differ)");
    }
}
