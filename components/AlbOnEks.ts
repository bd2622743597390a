// The platform of the global stack: EKS with a managed node group, the AWS Load Balancer Controller, and
// an ALB that answers for both domains (a certificate for each), with one target group for the
// application. The application itself (httpbin, see Httpbin.ts) binds its pods to that target group.
//
// Why Pulumi owns the ALB and the application binds its pods with a TargetGroupBinding, instead of
// letting the controller create the ALB from an Ingress: NLB-1 must attach to the ALB by ARN. A controller
// ALB exists only once the controller has reconciled the Ingress, so the first preview of an empty stack
// would have to look up a load balancer that does not exist yet, and `pulumi destroy` could not order the
// NLB attachment before the ALB. Owned by Pulumi, the ALB, its listeners (both certificates, a host rule
// for both domains) and the NLB attachment are one dependency graph; the controller only registers pod IPs.
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ALB_LISTENERS } from "../core/albListeners";
import { Partition } from "../core/partition";
import { dnsValidatedCertificate } from "./certificate";
import { ec2Role } from "./ec2Role";
import { lbControllerPolicy } from "./lbControllerPolicy";

export interface AlbOnEksArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly publicSubnetIds: pulumi.Input<string>[];
    readonly privateSubnetIds: pulumi.Input<string>[];
    /** Plain: it names the cluster and is a value of the controller's chart. */
    readonly clusterName: string;
    readonly kubernetesVersion: pulumi.Input<string>;
    readonly nodeInstanceType: pulumi.Input<string>;
    readonly nodeMinSize: pulumi.Input<number>;
    readonly nodeDesiredSize: pulumi.Input<number>;
    readonly nodeMaxSize: pulumi.Input<number>;
    /** Plain: the controller's image registry follows the region in aws-cn. */
    readonly region: string;
    readonly partition: Partition;
    readonly domainName: string;
    readonly cnDomainName: string;
    readonly zoneId: pulumi.Input<string>;
    /** Zone of cnDomainName in this account; ignored when cnCertificateArn is given. */
    readonly cnZoneId?: pulumi.Input<string>;
    readonly cnCertificateArn?: pulumi.Input<string>;
    readonly lbControllerChartVersion: pulumi.Input<string>;
    /** The port the application's pods listen on: the target group's. */
    readonly appPort: number;
    /** A path the application answers 200 on: ALB and NLB-1 health checks. */
    readonly healthCheckPath: string;
    /** Full DNS name of the application's alias record on the ALB, e.g. httpbin.<domainName>. */
    readonly appHostName: string;
    /** AWS refuses to delete the load balancer while this is on (the stack's `deletionProtection`). */
    readonly deletionProtection: boolean;
}

const CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller";

/**
 * The controller image's repository: the chart's default (public.ecr.aws) outside China; the China ECR
 * registries the controller's releases list in aws-cn, where public.ecr.aws is not reliably reachable.
 */
export function controllerImageRepository(partition: Partition, region: string): string | undefined {
    if (partition !== "aws-cn") return undefined;
    const account = region === "cn-north-1" ? "918309763551" : "961992271922";
    return `${account}.dkr.ecr.${region}.amazonaws.com.cn/amazon/aws-load-balancer-controller`;
}

/** Host patterns for both domains (ALB wildcards also match deeper names). */
export function hostPatterns(domainName: string, cnDomainName: string): string[] {
    return [`*.${domainName}`, `*.${cnDomainName}`];
}

export class AlbOnEks extends pulumi.ComponentResource {
    /** Carries the listeners as dependencies: NLB-1 registers the ALB only once they exist. */
    public readonly albArn: pulumi.Output<string>;
    public readonly albDnsName: pulumi.Output<string>;
    public readonly albZoneId: pulumi.Output<string>;
    public readonly albSecurityGroupId: pulumi.Output<string>;
    public readonly certificateArns: pulumi.Output<string>[];
    /** The application's target group (IP targets on appPort): bind the pods to it. */
    public readonly targetGroupArn: pulumi.Output<string>;
    /** Kubernetes provider of the cluster, for the application's objects. */
    public readonly provider: k8s.Provider;
    /** The Load Balancer Controller, ready: what a TargetGroupBinding must wait for. */
    public readonly controller: pulumi.Resource;
    public readonly appUrl: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: AlbOnEksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cross-region-proxy:index:AlbOnEks", name, {}, opts);
        const partition = args.partition;

        // TLS ends at the ALB for both names: users of the global domain, and CloudFront/users of the china
        // domain whose TLS passes untouched through NLB-2, the proxies and NLB-1.
        const certificate = dnsValidatedCertificate(`${name}-global`, args.domainName, args.zoneId, this);
        const cnCertificate = args.cnCertificateArn !== undefined ? pulumi.output(args.cnCertificateArn)
            : dnsValidatedCertificate(`${name}-china`, args.cnDomainName, args.cnZoneId ?? args.zoneId, this);
        this.certificateArns = [certificate, cnCertificate];

        const cluster = new eks.Cluster(`${name}-cluster`, {
            name: args.clusterName,
            version: args.kubernetesVersion,
            vpcId: args.vpcId,
            publicSubnetIds: args.publicSubnetIds,
            privateSubnetIds: args.privateSubnetIds,
            nodeAssociatePublicIpAddress: false,
            skipDefaultNodeGroup: true,
            createOidcProvider: true,
            authenticationMode: eks.AuthenticationMode.Api,
            enabledClusterLogTypes: ["api", "audit", "authenticator"],
        }, { parent: this });

        // The node group's policies must outlive it (EKS managed node group docs): it depends on them.
        const nodeRole = ec2Role(`${name}-node`, partition,
            ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"], this);
        const nodes = new eks.ManagedNodeGroup(`${name}-nodes`, {
            cluster,
            nodeRole: nodeRole.role,
            subnetIds: args.privateSubnetIds,
            instanceTypes: [args.nodeInstanceType],
            scalingConfig: { minSize: args.nodeMinSize, desiredSize: args.nodeDesiredSize, maxSize: args.nodeMaxSize },
            enableIMDSv2: true,
        }, { parent: this, dependsOn: nodeRole.attachments });

        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: cluster.kubeconfigJson, enableServerSideApply: true }, { parent: this });

        // The controller's identity: IRSA, trusted only for its own service account.
        const controllerRole = new aws.iam.Role(`${name}-lb-controller`, {
            assumeRolePolicy: pulumi.all([cluster.oidcProviderArn, cluster.oidcIssuer]).apply(([arn, host]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Federated: arn },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: {
                        StringEquals: {
                            [`${host}:sub`]: `system:serviceaccount:kube-system:${CONTROLLER_SERVICE_ACCOUNT}`,
                            [`${host}:aud`]: "sts.amazonaws.com",
                        },
                    },
                }],
            })),
        }, { parent: this });
        const controllerPolicy = new aws.iam.Policy(`${name}-lb-controller`, {
            description: "AWS Load Balancer Controller (published policy, this partition)",
            policy: JSON.stringify(lbControllerPolicy(partition)),
        }, { parent: this });
        const controllerPermissions = new aws.iam.RolePolicyAttachment(`${name}-lb-controller`, {
            role: controllerRole.name,
            policyArn: controllerPolicy.arn,
        }, { parent: this });

        const imageRepository = controllerImageRepository(partition, args.region);
        // The chart depends on the policy attachment: on `pulumi destroy` the controller keeps its AWS
        // permissions until it is gone, so it can still deregister targets and revoke the security-group
        // rules it added while the application's TargetGroupBinding is deleted (its finalizer waits for that).
        this.controller = new k8s.helm.v4.Chart(`${name}-lb-controller`, {
            chart: "aws-load-balancer-controller",
            version: args.lbControllerChartVersion,
            repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
            namespace: "kube-system",
            values: {
                clusterName: args.clusterName,
                region: args.region,
                vpcId: args.vpcId,
                replicaCount: 2,
                ...(imageRepository === undefined ? {} : { image: { repository: imageRepository } }),
                // The chart's mutating webhook on every Service (failurePolicy Fail, values.yaml of chart
                // 3.5.0) exists to make this controller the default for Services of type LoadBalancer; none
                // is used here, and with it on, a Service created while the controller is not yet ready
                // (first `pulumi up`, or a controller rollout) is refused. Off.
                enableServiceMutatorWebhook: false,
                serviceAccount: {
                    create: true,
                    name: CONTROLLER_SERVICE_ACCOUNT,
                    annotations: { "eks.amazonaws.com/role-arn": controllerRole.arn },
                },
            },
        }, { parent: this, provider: this.provider, dependsOn: [nodes, controllerPermissions] });

        // The ALB: open to the internet on its listener ports (users reach the application directly, and
        // NLB-1 keeps the client address, so the proxies' public addresses arrive here too).
        const albSecurityGroup = new aws.ec2.SecurityGroup(`${name}-alb`, {
            vpcId: args.vpcId,
            description: "ALB: its listener ports from anywhere",
            ingress: ALB_LISTENERS.map(({ port }) => ({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: ["0.0.0.0/0"] })),
            egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
            tags: { Name: `${name}-alb` },
        }, { parent: this });
        const alb = new aws.lb.LoadBalancer(`${name}-alb`, {
            loadBalancerType: "application",
            internal: false,
            subnets: args.publicSubnetIds,
            securityGroups: [albSecurityGroup.id],
            dropInvalidHeaderFields: true,
            enableDeletionProtection: args.deletionProtection,
            tags: { Name: `${name}-alb` },
        }, { parent: this });
        // The target group and the app's record were named <name>-httpbin up to 0.1.0 (HttpbinOnEks.ts).
        const formerAppName = `${name}-httpbin`;
        const appTargets = new aws.lb.TargetGroup(`${name}-app`, {
            targetType: "ip",
            protocol: "HTTP",
            port: args.appPort,
            vpcId: args.vpcId,
            deregistrationDelay: 30,
            healthCheck: { path: args.healthCheckPath, matcher: "200", interval: 10, healthyThreshold: 2, unhealthyThreshold: 3 },
        }, { parent: this, aliases: [{ name: formerAppName }] });
        const notFound = { type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "unknown host" } };
        const hosts = { hostHeader: { values: hostPatterns(args.domainName, args.cnDomainName) } };
        const forward = { type: "forward", targetGroupArn: appTargets.arn };
        const httpsPort = ALB_LISTENERS.find(l => l.protocol === "HTTPS")?.port ?? 443;
        // NLB-1 health checks arrive with the ALB's address as Host: only a path rule lets them reach the
        // application instead of the default 404, which would mark the whole ALB unhealthy.
        const healthCheck = { pathPattern: { values: [args.healthCheckPath] } };
        const listeners = ALB_LISTENERS.map(({ port, protocol }) => {
            const scheme = protocol.toLowerCase();
            const listener = new aws.lb.Listener(`${name}-${scheme}`, {
                loadBalancerArn: alb.arn,
                port,
                protocol,
                ...(protocol === "HTTPS" ? { sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", certificateArn: certificate } : {}),
                defaultActions: [notFound],
            }, { parent: this });
            if (protocol === "HTTPS") {
                // The second certificate is served by SNI for the china domain.
                new aws.lb.ListenerCertificate(`${name}-${scheme}-china`, { listenerArn: listener.arn, certificateArn: cnCertificate }, { parent: this });
            }
            new aws.lb.ListenerRule(`${name}-${scheme}-health`, {
                listenerArn: listener.arn, priority: 10, conditions: [healthCheck], actions: [forward],
            }, { parent: this });
            new aws.lb.ListenerRule(`${name}-${scheme}-hosts`, {
                listenerArn: listener.arn,
                priority: 20,
                conditions: [hosts],
                actions: [protocol === "HTTPS" ? forward : { type: "redirect", redirect: { protocol: "HTTPS", port: String(httpsPort), statusCode: "HTTP_301" } }],
            }, { parent: this });
            return listener;
        });

        new aws.route53.Record(`${name}-app`, {
            zoneId: args.zoneId,
            name: args.appHostName,
            type: "A",
            aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
        }, { parent: this, aliases: [{ name: formerAppName }] });

        // NLB-1 may register the ALB only once it has a listener on the target group's port, and must
        // deregister it before the listeners go: the ARN the component hands out carries them as dependencies.
        this.albArn = pulumi.all([alb.arn, ...listeners.map(l => l.arn)]).apply(([arn]) => arn);
        this.albDnsName = alb.dnsName;
        this.albZoneId = alb.zoneId;
        this.albSecurityGroupId = albSecurityGroup.id;
        this.targetGroupArn = appTargets.arn;
        this.appUrl = pulumi.output(`https://${args.appHostName}/`);
        this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
        this.registerOutputs({
            albArn: this.albArn, albDnsName: this.albDnsName, albZoneId: this.albZoneId, albSecurityGroupId: this.albSecurityGroupId,
            certificateArns: this.certificateArns, targetGroupArn: this.targetGroupArn, appUrl: this.appUrl, kubeconfig: this.kubeconfig,
        });
    }
}
