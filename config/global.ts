// Settings of the `global` stack: where httpbin runs and how NLB-1 fronts its ALB.
import {
    ConfigSource, optionalBoolean, optionalInteger, optionalList, optionalString, optionalTopicArn, optionalZoneId, qualified, rejectUnknownKeys, requireString,
} from "./reader";
import { ALB_LISTENER_PORTS, albListener } from "../core/albListeners";
import { Partition, partitionOf, requireRegion } from "../core/partition";
import {
    InvalidValueError, isAcmCertificateArn, requireDomainName, requireInstanceType, requireOrderedSizes, requirePorts,
    requirePrivateCidr,
} from "../core/validate";

export interface ExistingVpc {
    readonly vpcId: string;
    readonly publicSubnetIds: string[];
    readonly privateSubnetIds: string[];
}

export interface GlobalConfig {
    readonly region: string;
    readonly partition: Partition;
    readonly domainName: string;
    readonly cnDomainName: string;
    /** Route 53 zone of domainName; looked up by name when unset. */
    readonly hostedZoneId?: string;
    /** Route 53 zone (in this account) of cnDomainName, for the certificate's DNS validation. */
    readonly cnHostedZoneId?: string;
    /** An issued certificate for *.cnDomainName, when its zone is not in this account. */
    readonly cnCertificateArn?: string;
    readonly vpcCidr: string;
    readonly availabilityZoneCount: number;
    readonly existingVpc?: ExistingVpc;
    readonly clusterName: string;
    readonly kubernetesVersion: string;
    readonly nodeInstanceType: string;
    readonly nodeMinSize: number;
    readonly nodeDesiredSize: number;
    readonly nodeMaxSize: number;
    readonly httpbinImage: string;
    readonly httpbinReplicas: number;
    readonly lbControllerChartVersion: string;
    /** NLB-1 listener ports; each must be an ALB listener port (80, 443). */
    readonly listenerPorts: number[];
    /** NLB-1's TCP idle timeout; the china stack keeps its proxies' at or below it. */
    readonly nlbIdleTimeoutSeconds: number;
    /** SNS topic the alarms notify. */
    readonly alarmTopicArn?: string;
    /** Deletion protection on the load balancers (the `deletionProtection` key, default true). */
    readonly deletionProtection: boolean;
}

export const GLOBAL_KEYS = [
    "role", "domainName", "cnDomainName", "hostedZoneId", "cnHostedZoneId", "cnCertificateArn", "vpcCidr",
    "availabilityZoneCount", "existingVpc", "clusterName", "kubernetesVersion", "nodeInstanceType", "nodeMinSize",
    "nodeDesiredSize", "nodeMaxSize", "httpbinImage", "httpbinReplicas", "lbControllerChartVersion", "listenerPorts",
    "nlbIdleTimeoutSeconds", "alarmTopicArn", "deletionProtection",
] as const;


/** The TCP idle timeout NLBs take (seconds), and AWS's default: NLB-1's, NLB-2's and the proxies'. */
export const NLB_IDLE_TIMEOUT = { min: 60, max: 6000, default: 350 } as const;

const DEFAULT_HTTPBIN_IMAGE = "ghcr.io/mccutchen/go-httpbin:v2.18.3";
/** EKS standard support: 1.35 until 2027-03-27 (EKS user guide, Kubernetes version lifecycle; 1.33 left it in July 2026). */
export const DEFAULT_KUBERNETES_VERSION = "1.35";
/** Chart aws-load-balancer-controller 3.5.0 ships controller v3.5.0; components/lbControllerPolicy.ts follows that release. */
export const DEFAULT_LB_CONTROLLER_CHART_VERSION = "3.5.0";

const IMAGE = /^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$/;

export function parseGlobalConfig(source: ConfigSource, region: string | undefined, stack: string): GlobalConfig {
    rejectUnknownKeys(source, GLOBAL_KEYS, "global");
    const checkedRegion = requireRegion(region);
    const partition = partitionOf(checkedRegion);
    const domainName = requireDomainName(qualified("domainName"), requireString(source, "domainName", "the global domain, e.g. poc1009.example.com"));
    const cnDomainName = requireDomainName(qualified("cnDomainName"), requireString(source, "cnDomainName", "the china domain, e.g. poc1010.example.com"));
    if (domainName === cnDomainName) {
        throw new InvalidValueError(qualified("cnDomainName"), "must differ from domainName: each domain gets its own certificate and records");
    }
    const cnCertificateArn = optionalString(source, "cnCertificateArn");
    // The ALB takes certificates of its own region only.
    if (cnCertificateArn !== undefined && !isAcmCertificateArn(cnCertificateArn, partition, checkedRegion)) {
        throw new InvalidValueError(qualified("cnCertificateArn"), `expected an ACM certificate ARN such as arn:${partition}:acm:${checkedRegion}:123456789012:certificate/<uuid> (the stack's partition and region)`);
    }
    const vpcCidr = requirePrivateCidr(qualified("vpcCidr"), optionalString(source, "vpcCidr") ?? "10.0.0.0/16", "10.0.0.0/16");
    const nodeMinSize = optionalInteger(source, "nodeMinSize", 2, 1, 100);
    const nodeDesiredSize = optionalInteger(source, "nodeDesiredSize", 2, 1, 100);
    const nodeMaxSize = optionalInteger(source, "nodeMaxSize", 4, 1, 100);
    requireOrderedSizes([qualified("nodeMinSize"), qualified("nodeDesiredSize"), qualified("nodeMaxSize")], [nodeMinSize, nodeDesiredSize, nodeMaxSize]);
    const listenerPorts = requirePorts(qualified("listenerPorts"), optionalList(source, "listenerPorts") ?? [...ALB_LISTENER_PORTS]);
    for (const port of listenerPorts) {
        if (albListener(port) === undefined) {
            throw new InvalidValueError(qualified("listenerPorts"), `port ${port} has no ALB listener: an ALB-type target group must use an ALB listener port (${ALB_LISTENER_PORTS.join(", ")})`);
        }
    }
    const httpbinImage = optionalString(source, "httpbinImage") ?? (partition === "aws-cn" ? undefined : DEFAULT_HTTPBIN_IMAGE);
    if (httpbinImage === undefined) {
        // ghcr.io is not reliably reachable from China regions: the image must come from a registry that is.
        throw new InvalidValueError(qualified("httpbinImage"), `is required in ${partition}: copy ${DEFAULT_HTTPBIN_IMAGE} to a registry the cluster can reach (an ECR repository in ${checkedRegion}) and set its reference, e.g. 123456789012.dkr.ecr.${checkedRegion}.amazonaws.com.cn/go-httpbin:v2.18.3`);
    }
    if (!IMAGE.test(httpbinImage)) {
        throw new InvalidValueError(qualified("httpbinImage"), `expected an image reference with a registry and a tag or digest, such as ${DEFAULT_HTTPBIN_IMAGE}, got '${httpbinImage}'`);
    }
    const clusterName = optionalString(source, "clusterName") ?? `crp-${stack}`;
    if (!/^[a-zA-Z][a-zA-Z0-9-]{0,31}$/.test(clusterName)) {
        throw new InvalidValueError(qualified("clusterName"), `expected 1-32 letters, digits and hyphens starting with a letter, got '${clusterName}'`);
    }
    return {
        region: checkedRegion,
        partition,
        domainName,
        cnDomainName,
        hostedZoneId: optionalZoneId(source, "hostedZoneId"),
        cnHostedZoneId: optionalZoneId(source, "cnHostedZoneId"),
        cnCertificateArn,
        vpcCidr,
        availabilityZoneCount: optionalInteger(source, "availabilityZoneCount", 2, 2, 6),
        existingVpc: parseExistingVpc(source),
        clusterName,
        kubernetesVersion: matching(source, "kubernetesVersion", DEFAULT_KUBERNETES_VERSION, /^1\.[0-9]{2}$/),
        nodeInstanceType: requireInstanceType(qualified("nodeInstanceType"), optionalString(source, "nodeInstanceType") ?? "t3.medium", "t3.medium"),
        nodeMinSize,
        nodeDesiredSize,
        nodeMaxSize,
        httpbinImage,
        httpbinReplicas: optionalInteger(source, "httpbinReplicas", 2, 2, 50),
        lbControllerChartVersion: matching(source, "lbControllerChartVersion", DEFAULT_LB_CONTROLLER_CHART_VERSION, /^[0-9]+\.[0-9]+\.[0-9]+$/),
        listenerPorts,
        nlbIdleTimeoutSeconds: optionalInteger(source, "nlbIdleTimeoutSeconds", NLB_IDLE_TIMEOUT.default, NLB_IDLE_TIMEOUT.min, NLB_IDLE_TIMEOUT.max),
        alarmTopicArn: optionalTopicArn(source, checkedRegion),
        deletionProtection: optionalBoolean(source, "deletionProtection", true),
    };
}

function matching(source: ConfigSource, k: string, fallback: string, pattern: RegExp): string {
    const value = optionalString(source, k) ?? fallback;
    if (!pattern.test(value)) {
        throw new InvalidValueError(qualified(k), `'${value}' does not look like ${fallback}`);
    }
    return value;
}

function parseExistingVpc(source: ConfigSource): ExistingVpc | undefined {
    const raw = optionalString(source, "existingVpc");
    if (raw === undefined) {
        return undefined;
    }
    const hint = "expected {vpcId: vpc-..., publicSubnetIds: [subnet-..., subnet-...], privateSubnetIds: [subnet-..., subnet-...]}";
    let value: { vpcId?: unknown; publicSubnetIds?: unknown; privateSubnetIds?: unknown };
    try {
        value = JSON.parse(raw);
    } catch {
        throw new InvalidValueError(qualified("existingVpc"), hint);
    }
    const ids = (v: unknown, prefix: string) =>
        Array.isArray(v) && v.length >= 2 && v.every(s => typeof s === "string" && new RegExp(`^${prefix}-[0-9a-f]{8,17}$`).test(s));
    if (typeof value !== "object" || value === null || typeof value.vpcId !== "string" || !/^vpc-[0-9a-f]{8,17}$/.test(value.vpcId)
        || !ids(value.publicSubnetIds, "subnet") || !ids(value.privateSubnetIds, "subnet")) {
        throw new InvalidValueError(qualified("existingVpc"), `${hint}, with at least 2 subnets of each kind in different AZs`);
    }
    const subnets = [...value.publicSubnetIds as string[], ...value.privateSubnetIds as string[]];
    if (new Set(subnets).size !== subnets.length) {
        throw new InvalidValueError(qualified("existingVpc"), "lists a subnet twice: public and private subnets must all differ");
    }
    return { vpcId: value.vpcId, publicSubnetIds: value.publicSubnetIds as string[], privateSubnetIds: value.privateSubnetIds as string[] };
}

/** An existing subnet as EC2 describes it. */
export interface SubnetZone {
    readonly id: string;
    readonly availabilityZone: string;
}

/**
 * The zones existingVpc's subnets are in, as EC2 reports them: NLB-1 and the ALB take one subnet per zone
 * ("You can specify only one subnet per Availability Zone", ELBv2 API CreateLoadBalancer, Subnets), the ALB
 * at least two zones, and EKS wants its subnets in at least two zones (EKS user guide, "VPC and subnet
 * requirements").
 */
export function requireSubnetZones(publicSubnets: readonly SubnetZone[], privateSubnets: readonly SubnetZone[]): void {
    const key = qualified("existingVpc");
    const byZone = new Map<string, string[]>();
    for (const subnet of publicSubnets) byZone.set(subnet.availabilityZone, [...byZone.get(subnet.availabilityZone) ?? [], subnet.id]);
    const shared = [...byZone].find(([, ids]) => ids.length > 1);
    if (shared !== undefined) {
        throw new InvalidValueError(key, `publicSubnetIds ${shared[1].join(" and ")} are both in ${shared[0]}: the load balancers take one subnet per availability zone; list one public subnet per zone`);
    }
    if (byZone.size < 2) {
        throw new InvalidValueError(key, `publicSubnetIds are all in ${[...byZone.keys()].join(", ")}: list public subnets in at least 2 availability zones`);
    }
    const privateZones = new Set(privateSubnets.map(s => s.availabilityZone));
    if (privateZones.size < 2) {
        throw new InvalidValueError(key, `privateSubnetIds are all in ${[...privateZones].join(", ")}: EKS needs its subnets in at least 2 availability zones`);
    }
}
