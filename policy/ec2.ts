// EC2: how instances boot (IMDSv2, no key pair, encrypted disks) and what may reach them.
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { fromProperty, list } from "./facts";

const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const INSTANCE = "aws:ec2/instance:Instance";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const encrypted = (value: unknown) => value === true || value === "true";

export const imdsv2Required: ResourceValidationPolicy = {
    name: "ec2-imdsv2-required",
    description: "Launch templates and instances require IMDSv2 session tokens (httpTokens: required).",
    validateResource: (args, report) => {
        if ((args.type === LAUNCH_TEMPLATE || args.type === INSTANCE) && args.props.metadataOptions?.httpTokens !== "required") {
            report("metadataOptions.httpTokens must be \"required\": IMDSv1 lets any SSRF through the instance read its role's credentials");
        }
    },
};

export const noKeyPair: ResourceValidationPolicy = {
    name: "ec2-no-key-pair",
    description: "No EC2 key pair on launch templates, instances or node groups: access is through Session Manager.",
    validateResource: (args, report) => {
        if ((args.type === LAUNCH_TEMPLATE || args.type === INSTANCE) && args.props.keyName !== undefined) {
            report(`keyName '${args.props.keyName}' is set: use Session Manager (the instance role has AmazonSSMManagedInstanceCore) instead of SSH keys`);
        }
        if (args.type === "aws:eks/nodeGroup:NodeGroup" && args.props.remoteAccess?.ec2SshKey !== undefined) {
            report("remoteAccess.ec2SshKey is set: node groups take no SSH key");
        }
    },
};

export const encryptedVolumes: ResourceValidationPolicy = {
    name: "ec2-encrypted-volumes",
    description: "Every EBS volume a launch template, instance or volume declares is encrypted.",
    validateResource: (args, report) => {
        const p = args.props;
        if (args.type === LAUNCH_TEMPLATE) {
            for (const mapping of list<any>(p.blockDeviceMappings)) {
                if (mapping?.ebs !== undefined && !encrypted(mapping.ebs.encrypted)) {
                    report(`blockDeviceMappings ${mapping.deviceName ?? ""}: ebs.encrypted must be "true"`);
                }
            }
        }
        if (args.type === INSTANCE) {
            if (!encrypted(p.rootBlockDevice?.encrypted)) report("rootBlockDevice.encrypted must be true");
            for (const device of list<any>(p.ebsBlockDevices)) {
                if (!encrypted(device?.encrypted)) report(`ebsBlockDevices ${device?.deviceName ?? ""}: encrypted must be true`);
            }
        }
        if (args.type === "aws:ebs/volume:Volume" && !encrypted(p.encrypted)) {
            report("encrypted must be true");
        }
    },
};

/** One ingress rule, whatever resource declares it. */
export interface IngressRule {
    readonly protocol: string;
    readonly fromPort: number;
    readonly toPort: number;
    readonly cidrs: string[];
    /** From another group, a prefix list or the group itself rather than from addresses. */
    readonly fromGroup: boolean;
}

/** The ingress rules a security group, an ingress rule or a security group rule of type ingress declares. */
export function ingressRules(type: string, props: Record<string, any>): IngressRule[] {
    const rule = (protocol: unknown, from: unknown, to: unknown, cidrs: unknown[], fromGroup: boolean): IngressRule => ({
        protocol: String(protocol ?? "").toLowerCase(), fromPort: Number(from ?? 0), toPort: Number(to ?? from ?? 0),
        cidrs: cidrs.filter((c): c is string => typeof c === "string"), fromGroup,
    });
    if (type === SECURITY_GROUP) {
        return list<any>(props.ingress).map(i => rule(i.protocol, i.fromPort, i.toPort,
            [...list(i.cidrBlocks), ...list(i.ipv6CidrBlocks)], list(i.securityGroups).length > 0 || list(i.prefixListIds).length > 0 || i.self === true));
    }
    if (type === INGRESS_RULE) {
        return [rule(props.ipProtocol, props.fromPort, props.toPort, [props.cidrIpv4, props.cidrIpv6],
            props.referencedSecurityGroupId !== undefined || props.prefixListId !== undefined)];
    }
    if (type === GROUP_RULE && props.type === "ingress") {
        return [rule(props.protocol, props.fromPort, props.toPort, [...list(props.cidrBlocks), ...list(props.ipv6CidrBlocks)],
            props.sourceSecurityGroupId !== undefined || props.self === true || list(props.prefixListIds).length > 0)];
    }
    return [];
}

const allProtocols = (rule: IngressRule) => rule.protocol === "-1" || rule.protocol === "all";
const isTcp = (rule: IngressRule) => rule.protocol === "tcp" || rule.protocol === "6";
const covers = (rule: IngressRule, port: number) => allProtocols(rule) || (isTcp(rule) && rule.fromPort <= port && port <= rule.toPort);
const isPublic = (rule: IngressRule) => rule.cidrs.some(c => c === "0.0.0.0/0" || c === "::/0");

export const noSsh: ResourceValidationPolicy = {
    name: "ec2-no-ssh",
    description: "No ingress rule opens TCP 22 to addresses, nor to another group through a range of under 1024 ports that includes 22.",
    validateResource: (args, report) => {
        for (const rule of ingressRules(args.type, args.props)) {
            // All traffic between security groups (EKS node-to-node, say) is not SSH access: no key pair exists.
            const named = isTcp(rule) && rule.fromPort <= 22 && rule.toPort >= 22 && rule.toPort - rule.fromPort < 1024;
            if (covers(rule, 22) && (rule.cidrs.length > 0 || named)) {
                report(`ingress ${rule.protocol} ${rule.fromPort}-${rule.toPort} admits SSH (port 22); use Session Manager`);
            }
        }
    },
};

/**
 * Ports from anywhere are allowed only on an internet-facing load balancer's own group for its listener
 * ports (NLB-2, the ALB). @pulumi/eks opens its groups to each other only (nodes/securitygroup.ts).
 */
function publicPorts(group: PolicyResource, resources: PolicyResource[]): Set<number> {
    const ports = new Set<number>();
    for (const lb of resources.filter(r => r.type === "aws:lb/loadBalancer:LoadBalancer" && r.props.internal !== true)) {
        if (!fromProperty(lb, "securityGroups").some(g => g.urn === group.urn)) continue;
        for (const listener of resources.filter(r => r.type === "aws:lb/listener:Listener")) {
            if (fromProperty(listener, "loadBalancerArn").some(l => l.urn === lb.urn)) ports.add(Number(listener.props.port));
        }
    }
    return ports;
}

export const publicIngressOnlyToListeners: StackValidationPolicy = {
    name: "ec2-public-ingress-only-to-listeners",
    description: "Ingress from 0.0.0.0/0 or ::/0 only to an internet-facing load balancer's own group on its listener ports.",
    validateStack: (args, report) => {
        for (const resource of args.resources) {
            const group = resource.type === SECURITY_GROUP ? resource
                : fromProperty(resource, "securityGroupId")[0];
            for (const rule of ingressRules(resource.type, resource.props).filter(isPublic)) {
                const allowed = group ? publicPorts(group, args.resources) : new Set<number>();
                if (!isTcp(rule) || rule.fromPort !== rule.toPort || !allowed.has(rule.fromPort)) {
                    report(`${resource.name}: ingress ${rule.protocol} ${rule.fromPort}-${rule.toPort} from ${rule.cidrs.join(", ")}; from anywhere only `
                        + `to an internet-facing load balancer's own group on its listener ports (here: ${[...allowed].join(", ") || "none"})`, resource.urn);
                }
            }
        }
    },
};
